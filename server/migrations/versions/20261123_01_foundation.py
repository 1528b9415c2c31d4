"""Foundation: areas, users and scope, device tokens, audit log, households and people.

Revision ID: 20261123_01
Revises: 
Create Date: 2026-11-23 18:26:47.412296

"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '20261123_01'
down_revision = None
branch_labels = None
depends_on = None


# One trigger function for every table whose rows never change once written (audit_log here,
# form_version and later submissions too); the database refuses, whatever the role.
REFUSE_ROW_CHANGE = """
CREATE FUNCTION refuse_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows never change: % refused', TG_TABLE_NAME, TG_OP;
END
$$;
"""
APPEND_ONLY = """
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_row_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_row_change();
"""


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute(REFUSE_ROW_CHANGE)
    op.create_table('app_user',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('role', sa.Enum('admin', 'supervisor', 'planner', 'enumerator', name='role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('username', name=op.f('uq_app_user_username'))
    )
    op.create_table('area',
    sa.Column('code', sa.String(length=15), nullable=False),
    sa.Column('level', sa.Enum('province', 'prefecture', 'county', 'township', 'admin_village', 'natural_village', name='area_level', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('parent_code', sa.String(length=15), nullable=True),
    sa.Column('name_zh', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=True),
    sa.Column('boundary', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('centroid', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("code ~ '^[0-9]+$'", name=op.f('ck_area_code_digits')),
    sa.CheckConstraint("length(code) = CASE level WHEN 'province' THEN 2 WHEN 'prefecture' THEN 4 WHEN 'county' THEN 6 WHEN 'township' THEN 9 WHEN 'admin_village' THEN 12 WHEN 'natural_village' THEN 15 END", name=op.f('ck_area_code_length_matches_level')),
    sa.CheckConstraint('boundary IS NULL OR ST_IsValid(boundary)', name=op.f('ck_area_boundary_valid')),
    sa.CheckConstraint('parent_code IS NULL OR left(code, length(parent_code)) = parent_code', name=op.f('ck_area_code_extends_parent')),
    sa.ForeignKeyConstraint(['parent_code'], ['area.code'], name=op.f('fk_area_parent_code_area')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_area'))
    )
    op.create_index('ix_area_boundary', 'area', ['boundary'], unique=False, postgresql_using='gist')
    op.create_index('ix_area_code_pattern', 'area', ['code'], unique=False, postgresql_ops={'code': 'text_pattern_ops'})
    op.create_index(op.f('ix_area_parent_code'), 'area', ['parent_code'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=300), nullable=True),
    sa.Column('area_code', sa.String(length=15), nullable=True),
    sa.Column('outcome', sa.Enum('success', 'failure', 'denied', 'throttled', name='audit_outcome', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('address', postgresql.INET(), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index('ix_audit_log_action_address_at', 'audit_log', ['action', 'address', 'at'], unique=False)
    op.create_index('ix_audit_log_action_target_at', 'audit_log', ['action', 'target', 'at'], unique=False)
    op.execute(APPEND_ONLY)

    op.create_table('device_token',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('device_id', sa.String(length=200), nullable=False),
    sa.Column('device_label', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['revoked_by'], ['app_user.id'], name=op.f('fk_device_token_revoked_by_app_user')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_device_token_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_device_token_token_hash'))
    )
    op.create_index(op.f('ix_device_token_user_id'), 'device_token', ['user_id'], unique=False)

    op.create_table('household',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('area_code', sa.String(length=15), nullable=False),
    sa.Column('county_code', sa.String(length=6), sa.Computed('left(area_code, 6)', ), nullable=False),
    sa.Column('household_no', sa.String(length=40), nullable=False),
    sa.Column('householder_name', sa.String(length=100), nullable=True),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['area.code'], name=op.f('fk_household_area_code_area')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household')),
    sa.UniqueConstraint('area_code', 'household_no', name=op.f('uq_household_area_code_household_no'))
    )
    op.create_index('ix_household_area_code_pattern', 'household', ['area_code'], unique=False, postgresql_ops={'area_code': 'text_pattern_ops'})
    op.create_index('ix_household_county_code', 'household', ['county_code'], unique=False)
    op.create_index('ix_household_location', 'household', ['location'], unique=False, postgresql_using='gist')

    op.create_table('user_area',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('area_code', sa.String(length=15), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['area.code'], name=op.f('fk_user_area_area_code_area')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_area_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'area_code', name=op.f('pk_user_area'))
    )
    op.create_table('person',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('household_id', sa.Uuid(), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('sex', sa.String(length=10), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('relation_to_head', sa.String(length=40), nullable=True),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_person_household_id_household'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person'))
    )
    op.create_index(op.f('ix_person_household_id'), 'person', ['household_id'], unique=False)



def downgrade():
    # Dropping a table drops its indexes and triggers with it.
    for table in ("person", "household", "user_area", "device_token", "audit_log", "area", "app_user"):
        op.drop_table(table)
    op.execute("DROP FUNCTION refuse_row_change()")
