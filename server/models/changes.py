"""The pull feed: one row per changed object, moved to the end of the feed each time the object changes.

Rows are written by database triggers (migrations 20261202_05 and _08), so every path that changes an area,
household, village, assignment, review or form version feeds devices, the CLI and bulk loads included. `txid` is the writing
transaction's id: pulls return only rows whose transaction is older than every transaction still running, so a
cursor never passes a place that an open transaction may still fill (protocol.md, pull guarantee 1).
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, Index, String, text
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

    __table_args__ = (Index("ix_sync_change_position", "txid", "seq"),)
