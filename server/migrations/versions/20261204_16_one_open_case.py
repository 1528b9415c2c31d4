"""At most one open monitoring case per household, held by the database: the risk rules open a case with
INSERT ... ON CONFLICT against this index, which holds whatever the planner's statistics say.

Revision ID: 20261204_16
Revises: 20261204_15
Create Date: 2026-12-04 18:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '20261204_16'
down_revision = '20261204_15'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('uq_monitoring_case_open', 'monitoring_case', ['household_id'], unique=True,
                    postgresql_where=sa.text('closed_at IS NULL'))


def downgrade():
    op.drop_index('uq_monitoring_case_open', table_name='monitoring_case', postgresql_where=sa.text('closed_at IS NULL'))
