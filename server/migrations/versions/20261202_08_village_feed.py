"""Villages in the pull feed: the village table feeds sync_change like households, scoped by its area code.

Revision ID: 20261202_08
Revises: 20261202_07
Create Date: 2026-12-02 10:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '20261202_08'
down_revision = '20261202_07'
branch_labels = None
depends_on = None

# feed_change() of 20261202_05: kind, object id, area code, user id, roles (SQL over the statement's new rows).
ARGS = "'village', 'area_code', 'area_code', 'NULL', 'NULL'"
EVENTS = ("insert", "update")


def upgrade():
    for event in EVENTS:
        op.execute(f"CREATE TRIGGER village_feed_{event} AFTER {event.upper()} ON village "
                   f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION feed_change({ARGS})")
    # The villages an installation already holds go into the feed once.
    op.execute("INSERT INTO sync_change (kind, object_id, area_code) SELECT 'village', area_code, area_code FROM village")


def downgrade():
    for event in EVENTS:
        op.execute(f"DROP TRIGGER village_feed_{event} ON village")
    # The code before this revision has no renderer for the kind.
    op.execute("DELETE FROM sync_change WHERE kind = 'village'")
