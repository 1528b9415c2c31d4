"""Export jobs: a planner's large export made in the background, its progress, and the file it left to download.

Revision ID: 20261204_21
Revises: 20261204_20
Create Date: 2026-12-04 23:23:28.799662

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '20261204_21'
down_revision = '20261204_20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('export_job',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', 'expired', name='export_state', native_enum=False, create_constraint=True, length=32), server_default='queued', nullable=False),
    sa.Column('request', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('rows_total', sa.BigInteger(), nullable=True),
    sa.Column('rows_done', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('media_type', sa.String(length=100), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('layers', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('error', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_export_job_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_job'))
    )
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.create_index('ix_export_job_user_created', ['user_id', 'created_at'], unique=False)
        batch_op.create_index('ix_export_job_waiting', ['created_at'], unique=False, postgresql_where=sa.text("state IN ('queued', 'running')"))



def downgrade():
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.drop_index('ix_export_job_waiting', postgresql_where=sa.text("state IN ('queued', 'running')"))
        batch_op.drop_index('ix_export_job_user_created')

    op.drop_table('export_job')
