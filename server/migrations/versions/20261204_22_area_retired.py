"""Retired areas: area.retired_at, set by `flask areas import --retire-missing` for the areas a complete official file
no longer has, instead of deleting codes that households, villages and history still name.

Adding the nullable column rewrites no row, so the area feed's UPDATE trigger does not fire and no phone is sent its
areas again; a later retirement or un-retirement is an UPDATE, and reaches phones as an area change.

Revision ID: 20261204_22
Revises: 20261204_21
Create Date: 2026-12-04 23:48:04.649716

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '20261204_22'
down_revision = '20261204_21'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('area', sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    # Retired areas become current again: the version below knows no other kind.
    op.drop_column('area', 'retired_at')
