"""Pull: assignments, review decisions, and the change feed that triggers keep for devices.

Revision ID: 20261202_05
Revises: 20261123_04
Create Date: 2026-12-02 03:20:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '20261202_05'
down_revision = '20261123_04'
branch_labels = None
depends_on = None

# One statement-level trigger function for every fed table. Its arguments are SQL expressions over the
# statement's new rows: the object's id, and who may see it (area code, one user, roles). A changed object's
# row is moved to the end of the feed (new seq, this transaction's id), so only its latest state is pulled.
FEED_CHANGE = """
CREATE FUNCTION feed_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'INSERT INTO sync_change (kind, object_id, area_code, user_id, roles) '
        'SELECT DISTINCT ON (object_id) * FROM (SELECT %L::varchar AS kind, (%s)::varchar AS object_id, '
        '(%s)::varchar AS area_code, (%s)::uuid AS user_id, (%s)::varchar[] AS roles FROM new_rows) AS changed '
        'ON CONFLICT (kind, object_id) DO UPDATE SET seq = nextval(''sync_change_seq''), '
        'txid = pg_current_xact_id(), area_code = EXCLUDED.area_code, user_id = EXCLUDED.user_id, '
        'roles = EXCLUDED.roles',
        TG_ARGV[0], TG_ARGV[1], TG_ARGV[2], TG_ARGV[3], TG_ARGV[4]);
    RETURN NULL;
END
$$;
"""

# table: (kind, object id, area code, user id, roles); a transition table allows one event per trigger.
FED = {
    "area": ("area", "code", "code", "NULL", "NULL"),
    "household": ("household", "id", "area_code", "NULL", "NULL"),
    "assignment": ("assignment", "id", "area_code", "assignee_id", "NULL"),
    "submission_review": ("review", "submission_uuid", "NULL",
                          "(SELECT s.user_id FROM submission AS s WHERE s.uuid = new_rows.submission_uuid)", "NULL"),
    "form_version": ("form", "form_id || '/' || version", "NULL", "NULL", "roles"),
}
EVENTS = ("insert", "update")


def _triggers() -> list[tuple[str, str, str]]:
    """(table, event, the trigger's arguments as SQL string literals); reviews and forms are only ever inserted."""
    return [(table, event, ", ".join("'" + arg.replace("'", "''") + "'" for arg in args))
            for table, args in FED.items() for event in EVENTS
            if event == "insert" or table not in ("submission_review", "form_version")]


def upgrade():
    op.create_table('assignment',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('assignee_id', sa.Uuid(), nullable=False),
    sa.Column('area_code', sa.String(length=15), nullable=False),
    sa.Column('county_code', sa.String(length=6), sa.Computed('left(area_code, 6)', ), nullable=False),
    sa.Column('household_id', sa.Uuid(), nullable=True),
    sa.Column('form_id', sa.String(length=64), nullable=False),
    sa.Column('round', sa.String(length=40), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('state', sa.Enum('open', 'cancelled', name='assignment_state', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['area.code'], name=op.f('fk_assignment_area_code_area')),
    sa.ForeignKeyConstraint(['assignee_id'], ['app_user.id'], name=op.f('fk_assignment_assignee_id_app_user')),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_assignment_created_by_app_user')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_assignment_household_id_household')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment'))
    )
    op.create_index(op.f('ix_assignment_assignee_id'), 'assignment', ['assignee_id'], unique=False)
    op.create_index('ix_assignment_county_code', 'assignment', ['county_code'], unique=False)
    op.create_table('submission_review',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('submission_uuid', sa.Uuid(), nullable=False),
    sa.Column('decision', sa.Enum('approved', 'rejected', name='review_decision', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('reviewer_id', sa.Uuid(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.ForeignKeyConstraint(['reviewer_id'], ['app_user.id'], name=op.f('fk_submission_review_reviewer_id_app_user')),
    sa.ForeignKeyConstraint(['submission_uuid'], ['submission.uuid'], name=op.f('fk_submission_review_submission_uuid_submission')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_review'))
    )
    op.create_index(op.f('ix_submission_review_submission_uuid'), 'submission_review', ['submission_uuid'], unique=False)
    op.execute("""
CREATE TRIGGER submission_review_no_update_delete BEFORE UPDATE OR DELETE ON submission_review
    FOR EACH ROW EXECUTE FUNCTION refuse_row_change();
""")
    op.execute("""
CREATE SEQUENCE sync_change_seq AS bigint;
CREATE TABLE sync_change (
    kind varchar(20) NOT NULL,
    object_id varchar(100) NOT NULL,
    seq bigint NOT NULL DEFAULT nextval('sync_change_seq'),
    txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    area_code varchar(15),
    user_id uuid,
    roles varchar(20)[],
    CONSTRAINT pk_sync_change PRIMARY KEY (kind, object_id)
);
CREATE INDEX ix_sync_change_position ON sync_change (txid, seq);
""")
    op.execute(FEED_CHANGE)
    for table, event, args in _triggers():
        op.execute(f"CREATE TRIGGER {table}_feed_{event} AFTER {event.upper()} ON {table} "
                   f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION feed_change({args})")
    # What an existing installation already holds goes into the feed once.
    op.execute("""
INSERT INTO sync_change (kind, object_id, area_code, user_id, roles)
SELECT 'area', code, code, NULL::uuid, NULL::varchar[] FROM area
UNION ALL SELECT 'household', id::varchar, area_code, NULL, NULL FROM household
UNION ALL SELECT 'form', form_id || '/' || version, NULL, NULL, roles FROM form_version
""")


def downgrade():
    for table, event, _ in _triggers():
        op.execute(f"DROP TRIGGER {table}_feed_{event} ON {table}")
    op.execute("DROP FUNCTION feed_change()")
    op.execute("DROP TABLE sync_change; DROP SEQUENCE sync_change_seq")
    op.drop_index(op.f('ix_submission_review_submission_uuid'), table_name='submission_review')
    op.drop_table('submission_review')
    op.drop_index('ix_assignment_county_code', table_name='assignment')
    op.drop_index(op.f('ix_assignment_assignee_id'), table_name='assignment')
    op.drop_table('assignment')
