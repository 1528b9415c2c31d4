"""Browser sessions on the server: signing out, idling or ageing ends a session even for a cookie copied earlier.

Revision ID: 20261204_11
Revises: 20261202_10
Create Date: 2026-12-04 12:36:40

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '20261204_11'
down_revision = '20261202_10'
branch_labels = None
depends_on = None


def upgrade():
    # Cookies signed before this revision carry only a user id; they name no row here, so those
    # browsers simply sign in again.
    op.create_table('web_session',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('secret_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.Enum('signed_out', 'idle', 'too_old', 'user_disabled', name='session_end_reason', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('address', postgresql.INET(), nullable=True),
    sa.CheckConstraint('(ended_at IS NULL) = (end_reason IS NULL)', name=op.f('ck_web_session_ended_with_reason')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_web_session_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_session')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_web_session_secret_hash'))
    )
    op.create_index(op.f('ix_web_session_user_id'), 'web_session', ['user_id'], unique=False)


def downgrade():
    # Dropping the table drops its index; every browser signs in again after an upgrade.
    op.drop_table('web_session')
