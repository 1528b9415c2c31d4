"""Flags raised by the automatic checks (GPS, clock, duplicates): on a submission and, where it applies, its entity."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base


class Flag(Base):
    __tablename__ = "flag"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64))  # e.g. gps_outside_village (domain.md 6.2)
    submission_uuid: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("submission.uuid"), index=True)
    entity_type: Mapped[str | None] = mapped_column(String(20))
    entity_id: Mapped[str | None] = mapped_column(String(40))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())

    __table_args__ = (
        Index("ix_flag_entity", "entity_type", "entity_id"),
        Index("ix_flag_code_submission_uuid", "code", "submission_uuid", postgresql_where=text("submission_uuid IS NOT NULL")),
    )
