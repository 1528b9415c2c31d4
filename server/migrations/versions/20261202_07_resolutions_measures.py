"""Supervisors' conflict resolutions, applied on every replay, and assistance measures on monitoring cases.

Revision ID: 20261202_07
Revises: 20261202_06
Create Date: 2026-12-02 08:39:33.318707

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '20261202_07'
down_revision = '20261202_06'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('conflict_resolution',
    sa.Column('entity_type', sa.String(length=20), nullable=False),
    sa.Column('entity_id', sa.String(length=40), nullable=False),
    sa.Column('property', sa.String(length=200), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('value', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('resolved_by', sa.Uuid(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.ForeignKeyConstraint(['resolved_by'], ['app_user.id'], name=op.f('fk_conflict_resolution_resolved_by_app_user')),
    sa.PrimaryKeyConstraint('entity_type', 'entity_id', 'property', 'base_version', name=op.f('pk_conflict_resolution'))
    )
    op.create_table('assistance_measure',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('household_id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=True),
    sa.Column('measure_type', sa.String(length=32), nullable=False),
    sa.Column('measure_scope', sa.String(length=16), nullable=True),
    sa.Column('measure_date', sa.Date(), nullable=True),
    sa.Column('amount_yuan', sa.Numeric(), nullable=True),
    sa.Column('responsible_person', sa.String(length=50), nullable=True),
    sa.Column('submission_uuid', sa.Uuid(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sa.Uuid(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['monitoring_case.id'], name=op.f('fk_assistance_measure_case_id_monitoring_case')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_assistance_measure_household_id_household')),
    sa.ForeignKeyConstraint(['recorded_by'], ['app_user.id'], name=op.f('fk_assistance_measure_recorded_by_app_user')),
    sa.ForeignKeyConstraint(['submission_uuid'], ['submission.uuid'], name=op.f('fk_assistance_measure_submission_uuid_submission')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assistance_measure')),
    sa.UniqueConstraint('submission_uuid', 'position', name=op.f('uq_assistance_measure_submission_uuid_position'))
    )
    with op.batch_alter_table('assistance_measure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assistance_measure_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assistance_measure_household_id'), ['household_id'], unique=False)



def downgrade():
    with op.batch_alter_table('assistance_measure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assistance_measure_household_id'))
        batch_op.drop_index(batch_op.f('ix_assistance_measure_case_id'))

    op.drop_table('assistance_measure')
    op.drop_table('conflict_resolution')
