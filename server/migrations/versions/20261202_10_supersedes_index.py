"""An index on the submissions that correct another, for the question "is this one corrected?".

Revision ID: 20261202_10
Revises: 20261202_09
Create Date: 2026-12-02 09:50:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '20261202_10'
down_revision = '20261202_09'
branch_labels = None
depends_on = None


def upgrade():
    # Without it, recording a push's assistance measures scanned every submission once per visit.
    op.create_index('ix_submission_supersedes', 'submission', ['supersedes'], unique=False,
                    postgresql_where=sa.text('supersedes IS NOT NULL'))


def downgrade():
    op.drop_index('ix_submission_supersedes', table_name='submission', postgresql_where=sa.text('supersedes IS NOT NULL'))
