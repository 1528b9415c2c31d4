"""Risk flags in tiers (domain.md 3.15): watch-tier flags apart from the case-tier risk_flags, on submissions and
households; and the village forms' flags (4.3) on the village.

Submissions stored before keep every flag in risk_flags until `flask entities rebuild` works them out again.

Revision ID: 20261204_18
Revises: 20261204_17
Create Date: 2026-12-04 18:20:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '20261204_18'
down_revision = '20261204_17'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('submission', sa.Column('watch_flags', sa.ARRAY(sa.String(length=64)), nullable=True))
    op.add_column('household', sa.Column('watch_flags', sa.ARRAY(sa.String(length=64)), server_default='{}',
                                         nullable=False))
    op.add_column('village', sa.Column('risk_flags', sa.ARRAY(sa.String(length=64)), server_default='{}',
                                       nullable=False))


def downgrade():
    op.drop_column('village', 'risk_flags')
    op.drop_column('household', 'watch_flags')
    op.drop_column('submission', 'watch_flags')
