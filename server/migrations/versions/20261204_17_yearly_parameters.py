"""Yearly monitoring thresholds per province, prefecture or county: the monitoring line, the rural dibao standard and
the watch line, re-set every year (domain.md 3.4), instead of fixed numbers in the form definition.

Revision ID: 20261204_17
Revises: 20261204_16
Create Date: 2026-12-04 20:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '20261204_17'
down_revision = '20261204_16'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('yearly_parameter',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=15), nullable=False),
    sa.Column('monitoring_line', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('dibao_standard', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('watch_line', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('set_by', sa.String(length=200), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.CheckConstraint('year BETWEEN 2014 AND 2100', name=op.f('ck_yearly_parameter_year_range')),
    sa.CheckConstraint('length(area_code) IN (2, 4, 6)', name=op.f('ck_yearly_parameter_area_level')),
    sa.CheckConstraint('monitoring_line > 0', name=op.f('ck_yearly_parameter_monitoring_line_positive')),
    sa.CheckConstraint('dibao_standard > 0', name=op.f('ck_yearly_parameter_dibao_standard_positive')),
    sa.CheckConstraint('watch_line > 0', name=op.f('ck_yearly_parameter_watch_line_positive')),
    sa.CheckConstraint("source ~ '[^[:space:]]'", name=op.f('ck_yearly_parameter_source_given')),
    sa.ForeignKeyConstraint(['area_code'], ['area.code'], name=op.f('fk_yearly_parameter_area_code_area')),
    sa.PrimaryKeyConstraint('year', 'area_code', name=op.f('pk_yearly_parameter'))
    )


def downgrade():
    op.drop_table('yearly_parameter')
