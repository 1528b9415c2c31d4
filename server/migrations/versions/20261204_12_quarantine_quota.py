"""An index on each device's quarantined submissions, for the quota that keeps quarantine from being free storage.

Revision ID: 20261204_12
Revises: 20261204_11
Create Date: 2026-12-04 15:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '20261204_12'
down_revision = '20261204_11'
branch_labels = None
depends_on = None


def upgrade():
    # Every push that quarantines an item counts its device's quarantine of the last day.
    op.create_index('ix_submission_quarantined_device', 'submission', ['device_id', 'received_at'], unique=False,
                    postgresql_where=sa.text("state = 'quarantined'"))


def downgrade():
    op.drop_index('ix_submission_quarantined_device', table_name='submission',
                  postgresql_where=sa.text("state = 'quarantined'"))
