"""The pull feed's epoch: a one-row table whose random id every cursor carries.

A cursor's position (txid, seq) holds only while the cluster's transaction ids go on from where the feed's rows were
written. A restore into a fresh cluster, a point-in-time recovery, or a failover that lost commits breaks that
(docs/scaling.md, "Restores and failovers"). `flask restore` and `flask feed new-epoch` renumber the feed into the
cluster's current transaction and start a new epoch here; server/services/pull.py starts a device over when its
cursor is of another epoch, or from before this revision (two parts, no epoch). So after this upgrade every device's
next pull is one full pull of its scope, in its objects' latest state.

Revision ID: 20261204_14
Revises: 20261204_13
Create Date: 2026-12-04 20:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '20261204_14'
down_revision = '20261204_13'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sync_feed',
    sa.Column('id', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('epoch', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.CheckConstraint('id', name=op.f('ck_sync_feed_one_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_feed'))
    )
    # The first epoch. A database restored from a backup made before this revision gets it here too, after the
    # restore has renumbered its feed, so the cursors given out before that backup start over as well.
    op.execute("INSERT INTO sync_feed (reason) VALUES ('migration 20261204_14')")


def downgrade():
    op.drop_table('sync_feed')
