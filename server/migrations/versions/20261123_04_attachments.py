"""Attachments of submissions, stored by content hash.

Revision ID: 20261123_04
Revises: 20261123_03
Create Date: 2026-11-23 20:25:26.941832

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '20261123_04'
down_revision = '20261123_03'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attachment',
    sa.Column('submission_uuid', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f('ck_attachment_sha256_hex')),
    sa.ForeignKeyConstraint(['submission_uuid'], ['submission.uuid'], name=op.f('fk_attachment_submission_uuid_submission')),
    sa.PrimaryKeyConstraint('submission_uuid', 'name', name=op.f('pk_attachment'))
    )


def downgrade():
    op.drop_table('attachment')
