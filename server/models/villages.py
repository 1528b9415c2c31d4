"""Villages as surveyed: the current infrastructure state of a natural or administrative village, by area code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Computed, DateTime, ForeignKey, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base


class Village(Base):
    __tablename__ = "village"

    area_code: Mapped[str] = mapped_column(ForeignKey("area.code"), primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6), Computed("left(area_code, 6)"), index=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    # The village forms' flags (domain.md 4.3) that held in the visits of the current version, for the supervisor map.
    risk_flags: Mapped[list[str]] = mapped_column(ARRAY(String(64)), server_default="{}")
    merge_tail: Mapped[dict[str, Any] | None] = mapped_column(JSONB, deferred=True)  # as Household.merge_tail
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())
