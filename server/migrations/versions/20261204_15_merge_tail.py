"""The latest generation of each household's and village's merge, kept so that a push merges an in-order visit onto it
instead of replaying every visit (sync.merge.Tail; NULL: the next push replays and keeps it).

Revision ID: 20261204_15
Revises: 20261204_14
Create Date: 2026-12-04 15:10:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '20261204_15'
down_revision = '20261204_14'
branch_labels = None
depends_on = None

TABLES = ("household", "village")


def upgrade():
    for table in TABLES:
        op.add_column(table, sa.Column('merge_tail', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
        # Rewritten by every push that touches the entity, like properties (20261202_09).
        op.execute(f"ALTER TABLE {table} ALTER COLUMN merge_tail SET COMPRESSION lz4")


def downgrade():
    for table in TABLES:
        op.drop_column(table, 'merge_tail')
