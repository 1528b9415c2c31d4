"""What reconciliation derives besides the current state: each entity's versions and conflicts, and their resolutions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base


class EntityVersion(Base):
    """One version of a household or village: the submissions that made it and what they changed."""

    __tablename__ = "entity_version"

    entity_type: Mapped[str] = mapped_column(String(20), primary_key=True)  # household, village
    entity_id: Mapped[str] = mapped_column(String(40), primary_key=True)  # a household's uuid, a village's area code
    version: Mapped[int] = mapped_column(primary_key=True)
    submission_uuids: Mapped[list[str]] = mapped_column(ARRAY(String(36)))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)  # property: [before, after]


class EntityConflict(Base):
    """A property two devices changed to different values from the same base version; kept for a supervisor."""

    __tablename__ = "entity_conflict"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    entity_type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(40))
    property: Mapped[str] = mapped_column(String(200))
    base_version: Mapped[int] = mapped_column()
    base_value: Mapped[Any] = mapped_column(JSONB, nullable=True)
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)  # [{device_id, value, uuid}]
    resolved: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (Index("ix_entity_conflict_entity", "entity_type", "entity_id"),)


class ConflictResolution(Base):
    """A supervisor's choice for a conflict: evidence the merge applies in that conflict's generation, on every replay."""

    __tablename__ = "conflict_resolution"

    entity_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    property: Mapped[str] = mapped_column(String(200), primary_key=True)
    base_version: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[Any] = mapped_column(JSONB, nullable=True)
    resolved_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    comment: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())
