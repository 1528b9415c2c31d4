"""Published form versions, immutable once stored.

Revision ID: 20261123_02
Revises: 20261123_01
Create Date: 2026-11-23 18:57:02.185177

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '20261123_02'
down_revision = '20261123_01'
branch_labels = None
depends_on = None


IMMUTABLE = """
CREATE TRIGGER form_version_no_update_delete BEFORE UPDATE OR DELETE ON form_version
    FOR EACH ROW EXECUTE FUNCTION refuse_row_change();
"""


def upgrade():
    op.create_table('form_version',
    sa.Column('form_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=20), nullable=False),
    sa.Column('roles', postgresql.ARRAY(sa.String(length=20)), nullable=False),
    sa.Column('title_zh', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('definition', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('published_by', sa.String(length=200), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f('ck_form_version_sha256_hex')),
    sa.CheckConstraint("subject IN ('household', 'village')", name=op.f('ck_form_version_subject_known')),
    sa.CheckConstraint('version > 0', name=op.f('ck_form_version_version_positive')),
    sa.PrimaryKeyConstraint('form_id', 'version', name=op.f('pk_form_version'))
    )
    op.execute(IMMUTABLE)


def downgrade():
    op.drop_table('form_version')
