"""Submissions as received, and the conflicting resends kept beside them.

Revision ID: 20261123_03
Revises: 20261123_02
Create Date: 2026-11-23 19:42:05.281326

"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '20261123_03'
down_revision = '20261123_02'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('submission',
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('state', sa.Enum('accepted', 'quarantined', name='submission_state', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('errors', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('form_id', sa.String(length=64), nullable=True),
    sa.Column('form_version', sa.Integer(), nullable=True),
    sa.Column('subject_type', sa.String(length=20), nullable=True),
    sa.Column('subject_id', sa.Uuid(), nullable=True),
    sa.Column('area_code', sa.String(length=15), nullable=True),
    sa.Column('county_code', sa.String(length=6), sa.Computed('left(area_code, 6)', ), nullable=True),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('supersedes', sa.Uuid(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('device_id', sa.String(length=200), nullable=False),
    sa.Column('token_id', sa.Uuid(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('clock_skew_seconds', sa.Float(), nullable=True),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('gps_accuracy_m', sa.Float(), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.CheckConstraint("content_sha256 ~ '^[0-9a-f]{64}$'", name=op.f('ck_submission_sha256_hex')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_submission_user_id_app_user')),
    sa.PrimaryKeyConstraint('uuid', name=op.f('pk_submission'))
    )
    op.create_index('ix_submission_area_code_pattern', 'submission', ['area_code'], unique=False, postgresql_ops={'area_code': 'text_pattern_ops'})
    op.create_index('ix_submission_county_code_received_at', 'submission', ['county_code', 'received_at'], unique=False)
    op.create_index('ix_submission_location', 'submission', ['location'], unique=False, postgresql_using='gist')

    op.create_table('submission_conflict',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('submission_uuid', sa.Uuid(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('device_id', sa.String(length=200), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['submission_uuid'], ['submission.uuid'], name=op.f('fk_submission_conflict_submission_uuid_submission')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_submission_conflict_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_conflict'))
    )
    op.create_index(op.f('ix_submission_conflict_submission_uuid'), 'submission_conflict', ['submission_uuid'], unique=False)



def downgrade():
    op.drop_table("submission_conflict")
    op.drop_table("submission")
