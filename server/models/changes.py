"""The pull feed: one row per changed object, moved to the end of the feed each time the object changes.

Rows are written by database triggers (migrations 20261202_05 and _08), so every path that changes an area,
household, village, assignment, review or form version feeds devices, the CLI and bulk loads included. `txid` is the writing
transaction's id: pulls return only rows whose transaction is older than every transaction still running, so a
cursor never passes a place that an open transaction may still fill (protocol.md, pull guarantee 1).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Computed, DateTime, Index, String, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from server.models.base import Base


class Xid8(UserDefinedType):
    """PostgreSQL's 64-bit transaction id; read and written as text, compared in SQL."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "xid8"


ischema_names["xid8"] = Xid8  # so that reflection (and the migration test's comparison) knows the type


class SyncChange(Base):
    __tablename__ = "sync_change"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, server_default=text("nextval('sync_change_seq')"))
    txid: Mapped[str] = mapped_column(Xid8, server_default=text("pg_current_xact_id()"))
    # Who may see it: an area (by code prefix), one user, or the roles that use a form; null means no limit.
    area_code: Mapped[str | None] = mapped_column(String(15))
    user_id: Mapped[uuid.UUID | None] = mapped_column()
    roles: Mapped[list[str] | None] = mapped_column(ARRAY(String(20)))
    # So that a pull walks only its reader's counties (core.scope.in_scope_by_county), each in feed order.
    county_code: Mapped[str | None] = mapped_column(String(6), Computed("left(area_code, 6)"))

    __table_args__ = (
        Index("ix_sync_change_position", "txid", "seq"),
        # A reader's rows with an area, county by county in feed order; the area code is a key column so that a
        # township's or a village's prefix is matched in the index, without reading the county's other rows.
        Index("ix_sync_change_county_position", "county_code", "txid", "seq", "area_code",
              postgresql_ops={"area_code": "text_pattern_ops"}, postgresql_where=text("county_code IS NOT NULL")),
        # Rows with no area: those addressed to one user (reviews of their submissions), and the few addressed to
        # no one (forms, by role).
        Index("ix_sync_change_user_position", "user_id", "txid", "seq",
              postgresql_where=text("area_code IS NULL AND user_id IS NOT NULL")),
        Index("ix_sync_change_unaddressed_position", "txid", "seq",
              postgresql_where=text("area_code IS NULL AND user_id IS NULL")),
    )


class SyncFeed(Base):
    """The feed's epoch, one row (migration 20261204_14): a cursor's (txid, seq) means something only in its epoch.

    A restore into another cluster, a point-in-time recovery or a failover that lost commits leaves positions that
    the cluster's transaction ids no longer follow. `flask restore` and `flask feed new-epoch` then renumber the feed
    and start a new epoch (server/services/pull.py: new_epoch); a cursor of another epoch starts its device over.
    """

    __tablename__ = "sync_feed"

    id: Mapped[bool] = mapped_column(primary_key=True, server_default=text("true"))
    epoch: Mapped[uuid.UUID] = mapped_column(server_default=text("gen_random_uuid()"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    reason: Mapped[str] = mapped_column(String(40))  # what started it: the migration, `flask restore`, `flask feed new-epoch`

    __table_args__ = (CheckConstraint("id", name="one_row"),)
