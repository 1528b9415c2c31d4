"""The review queue: a third decision (has_issues), each submission's review state and count of files still missing,
and the indexes that page the queue newest first and filter it by state, flag and completeness.

A submission's review state is its latest decision; its missing files are those it declared that are not stored.

Revision ID: 20261204_20
Revises: 20261204_19
Create Date: 2026-12-04 21:10:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '20261204_20'
down_revision = '20261204_19'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_constraint(op.f('ck_submission_review_review_decision'), 'submission_review', type_='check')
    op.create_check_constraint(op.f('ck_submission_review_review_decision'), 'submission_review',
                               "decision IN ('approved', 'rejected', 'has_issues')")
    op.add_column('submission', sa.Column('review_state', sa.String(length=32), server_default='pending', nullable=False))
    op.create_check_constraint(op.f('ck_submission_review_state'), 'submission',
                               "review_state IN ('pending', 'approved', 'rejected', 'has_issues')")
    op.add_column('submission', sa.Column('attachments_missing', sa.SmallInteger(), server_default='0', nullable=False))
    op.execute("""
        UPDATE submission AS s SET review_state = latest.decision
        FROM (SELECT DISTINCT ON (submission_uuid) submission_uuid, decision FROM submission_review
              ORDER BY submission_uuid, id DESC) AS latest
        WHERE latest.submission_uuid = s.uuid""")
    op.execute("""
        UPDATE submission AS s SET attachments_missing = declared.n - (
            SELECT count(*) FROM attachment AS a WHERE a.submission_uuid = s.uuid AND a.name = ANY(declared.names))
        FROM (SELECT uuid, count(DISTINCT name) AS n, array_agg(DISTINCT name) AS names
              FROM submission, jsonb_array_elements(payload -> 'attachments') AS a, LATERAL (SELECT a ->> 'name') AS x(name)
              WHERE jsonb_typeof(payload -> 'attachments') = 'array' AND jsonb_typeof(a) = 'object' AND name IS NOT NULL
              GROUP BY uuid) AS declared
        WHERE declared.uuid = s.uuid""")
    op.create_index('ix_submission_received_at_uuid', 'submission', ['received_at', 'uuid'])
    op.create_index('ix_submission_review_state_received_at', 'submission', ['review_state', 'received_at', 'uuid'])
    op.create_index('ix_submission_incomplete', 'submission', ['received_at'],
                    postgresql_where=sa.text('attachments_missing > 0'))
    op.create_index('ix_flag_code_submission_uuid', 'flag', ['code', 'submission_uuid'],
                    postgresql_where=sa.text('submission_uuid IS NOT NULL'))


def downgrade():
    op.drop_index('ix_flag_code_submission_uuid', table_name='flag')
    op.drop_index('ix_submission_incomplete', table_name='submission')
    op.drop_index('ix_submission_review_state_received_at', table_name='submission')
    op.drop_index('ix_submission_received_at_uuid', table_name='submission')
    op.drop_column('submission', 'attachments_missing')
    op.drop_constraint(op.f('ck_submission_review_state'), 'submission', type_='check')
    op.drop_column('submission', 'review_state')
    # Decisions are append-only (a trigger refuses changes): has_issues stays allowed for the rows that hold it.
