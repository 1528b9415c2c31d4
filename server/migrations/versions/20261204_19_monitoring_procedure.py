"""The monitoring procedure of domain.md 3.13 step by step: the states between candidate and identified and before
elimination, each event's step (checked), date and details, the case's risk types, channel, notice and the device
time it opened from, and measures tied to the risks they answer with their status.

Events recorded before get their step from the state they moved to.

Revision ID: 20261204_19
Revises: 20261204_18
Create Date: 2026-12-04 18:50:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '20261204_19'
down_revision = '20261204_18'
branch_labels = None
depends_on = None

STATES = ('candidate', 'village_reviewed', 'township_checked', 'identified', 'assisted', 'elimination_noticed',
          'long_term_follow_up', 'risk_eliminated', 'dismissed')
OLD_STATES = ('candidate', 'identified', 'assisted', 'risk_eliminated', 'dismissed')
STEPS = ('opened', 'village_review', 'township_check', 'identify', 'dismiss', 'assist', 'review_elimination',
         'withdraw_elimination', 'eliminate', 'follow_up_long_term')
# The step each state was reached by, for the events of the old procedure.
STEP_OF_STATE = {'candidate': 'opened', 'identified': 'identify', 'assisted': 'assist', 'risk_eliminated': 'eliminate',
                 'dismissed': 'dismiss'}


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    op.drop_constraint(op.f('ck_monitoring_case_monitoring_state'), 'monitoring_case', type_='check')
    op.create_check_constraint(op.f('ck_monitoring_case_monitoring_state'), 'monitoring_case', _in('state', STATES))
    op.add_column('monitoring_case', sa.Column('risk_types', sa.ARRAY(sa.String(length=32)), server_default='{}',
                                               nullable=False))
    op.add_column('monitoring_case', sa.Column('channel', sa.String(length=32), nullable=True))
    op.add_column('monitoring_case', sa.Column('opened_from', sa.DateTime(timezone=True), nullable=True))
    op.add_column('monitoring_case', sa.Column('notice_started_on', sa.Date(), nullable=True))
    op.add_column('monitoring_case', sa.Column('notice_days', sa.Integer(), nullable=True))
    # Cases opened before: from their opening, as near as is known.
    op.execute("UPDATE monitoring_case SET opened_from = opened_at")

    op.add_column('monitoring_event', sa.Column('step', sa.String(length=32), nullable=True))
    cases = " ".join(f"WHEN '{state}' THEN '{step}'" for state, step in STEP_OF_STATE.items())  # this file's constants
    op.execute(f"UPDATE monitoring_event SET step = CASE to_state {cases} END")  # nosec B608 (constants above)
    op.alter_column('monitoring_event', 'step', nullable=False)
    op.create_check_constraint(op.f('ck_monitoring_event_case_step'), 'monitoring_event', _in('step', STEPS))
    op.create_check_constraint(op.f('ck_monitoring_event_event_from_state'), 'monitoring_event', _in('from_state', STATES))
    op.create_check_constraint(op.f('ck_monitoring_event_event_to_state'), 'monitoring_event', _in('to_state', STATES))
    op.add_column('monitoring_event', sa.Column('step_date', sa.Date(), nullable=True))
    op.add_column('monitoring_event', sa.Column('details', sa.dialects.postgresql.JSONB(), server_default='{}',
                                                nullable=False))

    op.add_column('assistance_measure', sa.Column('risk_types', sa.ARRAY(sa.String(length=32)), server_default='{}',
                                                  nullable=False))
    op.add_column('assistance_measure', sa.Column('status', sa.String(length=32), server_default='in_progress',
                                                  nullable=False))
    op.create_check_constraint(op.f('ck_assistance_measure_measure_status'), 'assistance_measure',
                               _in('status', ('planned', 'in_progress', 'done')))


def downgrade():
    op.drop_constraint(op.f('ck_assistance_measure_measure_status'), 'assistance_measure', type_='check')
    op.drop_column('assistance_measure', 'status')
    op.drop_column('assistance_measure', 'risk_types')
    op.drop_column('monitoring_event', 'details')
    op.drop_column('monitoring_event', 'step_date')
    op.drop_constraint(op.f('ck_monitoring_event_event_to_state'), 'monitoring_event', type_='check')
    op.drop_constraint(op.f('ck_monitoring_event_event_from_state'), 'monitoring_event', type_='check')
    op.drop_constraint(op.f('ck_monitoring_event_case_step'), 'monitoring_event', type_='check')
    op.drop_column('monitoring_event', 'step')
    for column in ('notice_days', 'notice_started_on', 'opened_from', 'channel', 'risk_types'):
        op.drop_column('monitoring_case', column)
    op.drop_constraint(op.f('ck_monitoring_case_monitoring_state'), 'monitoring_case', type_='check')
    op.create_check_constraint(op.f('ck_monitoring_case_monitoring_state'), 'monitoring_case', _in('state', OLD_STATES))
