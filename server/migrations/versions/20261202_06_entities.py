"""Entities: households, people and villages as reconciliation makes them, with versions and conflicts.

Revision ID: 20261202_06
Revises: 20261202_05
Create Date: 2026-12-02 04:02:29.440217

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '20261202_06'
down_revision = '20261202_05'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('flag',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('submission_uuid', sa.Uuid(), nullable=True),
    sa.Column('entity_type', sa.String(length=20), nullable=True),
    sa.Column('entity_id', sa.String(length=40), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.ForeignKeyConstraint(['submission_uuid'], ['submission.uuid'], name=op.f('fk_flag_submission_uuid_submission')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag'))
    )
    op.create_index('ix_flag_entity', 'flag', ['entity_type', 'entity_id'], unique=False)
    op.create_index(op.f('ix_flag_submission_uuid'), 'flag', ['submission_uuid'], unique=False)
    op.create_table('monitoring_case',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('household_id', sa.Uuid(), nullable=False),
    sa.Column('state', sa.Enum('candidate', 'identified', 'assisted', 'risk_eliminated', 'dismissed', name='monitoring_state', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_monitoring_case_household_id_household')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_case'))
    )
    op.create_index(op.f('ix_monitoring_case_household_id'), 'monitoring_case', ['household_id'], unique=False)
    op.create_table('monitoring_event',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('from_state', sa.String(length=32), nullable=True),
    sa.Column('to_state', sa.String(length=32), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_monitoring_event_actor_id_app_user')),
    sa.ForeignKeyConstraint(['case_id'], ['monitoring_case.id'], name=op.f('fk_monitoring_event_case_id_monitoring_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_event'))
    )
    op.create_index(op.f('ix_monitoring_event_case_id'), 'monitoring_event', ['case_id'], unique=False)
    op.create_table('entity_conflict',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('entity_type', sa.String(length=20), nullable=False),
    sa.Column('entity_id', sa.String(length=40), nullable=False),
    sa.Column('property', sa.String(length=200), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('base_value', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('candidates', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('resolved', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entity_conflict'))
    )
    with op.batch_alter_table('entity_conflict', schema=None) as batch_op:
        batch_op.create_index('ix_entity_conflict_entity', ['entity_type', 'entity_id'], unique=False)

    op.create_table('entity_version',
    sa.Column('entity_type', sa.String(length=20), nullable=False),
    sa.Column('entity_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('submission_uuids', postgresql.ARRAY(sa.String(length=36)), nullable=False),
    sa.Column('changes', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('entity_type', 'entity_id', 'version', name=op.f('pk_entity_version'))
    )
    op.create_table('village',
    sa.Column('area_code', sa.String(length=15), nullable=False),
    sa.Column('county_code', sa.String(length=6), sa.Computed('left(area_code, 6)', ), nullable=False),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['area.code'], name=op.f('fk_village_area_code_area')),
    sa.PrimaryKeyConstraint('area_code', name=op.f('pk_village'))
    )
    with op.batch_alter_table('village', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_village_county_code'), ['county_code'], unique=False)

    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.alter_column('household_no',
               existing_type=sa.VARCHAR(length=40),
               nullable=True)
        batch_op.drop_constraint(batch_op.f('uq_household_area_code_household_no'), type_='unique')
        batch_op.create_index('ix_household_area_code_household_no', ['area_code', 'household_no'], unique=False)
        batch_op.add_column(sa.Column('registry', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
        batch_op.add_column(sa.Column('risk_flags', postgresql.ARRAY(sa.String(length=64)), server_default='{}', nullable=False))

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('id_card_encrypted', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('id_card_hash', sa.LargeBinary(), nullable=True))
        batch_op.create_index(batch_op.f('ix_person_id_card_hash'), ['id_card_hash'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_person_household_id_person_key'), ['household_id', 'person_key'])

    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entity_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('evidence', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
        batch_op.add_column(sa.Column('risk_flags', postgresql.ARRAY(sa.String(length=64)), nullable=True))
        batch_op.create_index(batch_op.f('ix_submission_entity_id'), ['entity_id'], unique=False)



def downgrade():
    op.drop_table('monitoring_event')
    op.drop_table('monitoring_case')
    op.drop_table('flag')
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_entity_id'))
        batch_op.drop_column('risk_flags')
        batch_op.drop_column('evidence')
        batch_op.drop_column('entity_id')

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_person_household_id_person_key'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_person_id_card_hash'))
        batch_op.drop_column('id_card_hash')
        batch_op.drop_column('id_card_encrypted')
        batch_op.drop_column('person_key')

    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.drop_column('risk_flags')
        batch_op.drop_column('registry')
        batch_op.drop_index('ix_household_area_code_household_no')
        batch_op.create_unique_constraint(batch_op.f('uq_household_area_code_household_no'), ['area_code', 'household_no'], postgresql_nulls_not_distinct=False)
        batch_op.alter_column('household_no',
               existing_type=sa.VARCHAR(length=40),
               nullable=False)

    with op.batch_alter_table('village', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_village_county_code'))

    op.drop_table('village')
    op.drop_table('entity_version')
    with op.batch_alter_table('entity_conflict', schema=None) as batch_op:
        batch_op.drop_index('ix_entity_conflict_entity')

    op.drop_table('entity_conflict')
