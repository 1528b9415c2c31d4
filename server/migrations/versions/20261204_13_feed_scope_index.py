"""The pull feed read by county: sync_change.county_code and indexes that walk one reader's rows in feed order.

The feed was read through (txid, seq) alone, with scope as a filter, so a first pull read the whole province's feed
(1.2 s on 6 million rows, docs/scaling.md). sync/pull.py now reads the reader's rows with an area county by county,
and the rows without an area addressed to the reader or to no one, each from an index in (txid, seq) order, and
merges them (bench/pull_bench.py).

Adding the stored column rewrites the table under an exclusive lock: a minute or so for 10 million rows.

Revision ID: 20261204_13
Revises: 20261204_12
Create Date: 2026-12-04 18:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '20261204_13'
down_revision = '20261204_12'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('sync_change', sa.Column('county_code', sa.String(length=6), sa.Computed('left(area_code, 6)'),
                                           nullable=True))
    op.create_index('ix_sync_change_county_position', 'sync_change', ['county_code', 'txid', 'seq', 'area_code'],
                    unique=False, postgresql_ops={'area_code': 'text_pattern_ops'},
                    postgresql_where=sa.text('county_code IS NOT NULL'))
    op.create_index('ix_sync_change_user_position', 'sync_change', ['user_id', 'txid', 'seq'], unique=False,
                    postgresql_where=sa.text('area_code IS NULL AND user_id IS NOT NULL'))
    op.create_index('ix_sync_change_unaddressed_position', 'sync_change', ['txid', 'seq'], unique=False,
                    postgresql_where=sa.text('area_code IS NULL AND user_id IS NULL'))


def downgrade():
    op.drop_index('ix_sync_change_unaddressed_position', table_name='sync_change')
    op.drop_index('ix_sync_change_user_position', table_name='sync_change')
    op.drop_index('ix_sync_change_county_position', table_name='sync_change')
    op.drop_column('sync_change', 'county_code')
