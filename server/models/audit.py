"""The audit log: one append-only table; a trigger refuses UPDATE, DELETE and TRUNCATE."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, String, func
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, enum_type


class AuditOutcome(StrEnum):
    success = "success"
    failure = "failure"
    denied = "denied"
    throttled = "throttled"


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # Statement time, not transaction time, so rows of one long transaction keep their order in time.
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    actor: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(300))
    area_code: Mapped[str | None] = mapped_column(String(15))
    outcome: Mapped[AuditOutcome] = mapped_column(enum_type(AuditOutcome, "audit_outcome"))
    address: Mapped[str | None] = mapped_column(INET)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")

    __table_args__ = (
        # Serves the login throttle: failures per account and per address in a time window.
        Index("ix_audit_log_action_target_at", "action", "target", "at"),
        Index("ix_audit_log_action_address_at", "action", "address", "at"),
    )
