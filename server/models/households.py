"""Households and their members, located in a natural village (details grow with reconciliation)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import Computed, Date, DateTime, ForeignKey, Index, LargeBinary, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, created_at, uuid_pk


class Household(Base):
    __tablename__ = "household"

    id: Mapped[uuid.UUID] = uuid_pk()
    area_code: Mapped[str] = mapped_column(ForeignKey("area.code"))
    # Every large table carries the county, so it can later be distributed by county.
    county_code: Mapped[str] = mapped_column(String(6), Computed("left(area_code, 6)"))
    # Not unique: two devices may record one real household twice; the duplicate check flags it, nothing is refused.
    household_no: Mapped[str | None] = mapped_column(String(40))
    householder_name: Mapped[str | None] = mapped_column(String(100))
    location: Mapped[WKBElement | None] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    # The record as imported (registry, demo), version 1 of its state; visits build on it, rebuilds start from it.
    registry: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Of the visits that made the current version: case-tier flags (a candidate case opens on them) and watch-tier
    # ones (the follow-up list, no case), domain.md 3.15.
    risk_flags: Mapped[list[str]] = mapped_column(ARRAY(String(64)), server_default="{}")
    watch_flags: Mapped[list[str]] = mapped_column(ARRAY(String(64)), server_default="{}")
    # The latest generation of its merge (sync.merge.Tail), so a push merges an in-order visit onto it instead of
    # replaying them all; NULL until a push about a known household keeps it. Only reconciliation reads it.
    merge_tail: Mapped[dict[str, Any] | None] = mapped_column(JSONB, deferred=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())

    members: Mapped[list[Person]] = relationship(back_populates="household", cascade="all, delete-orphan")

    __table_args__ = (
        Index("ix_household_area_code_household_no", "area_code", "household_no"),
        Index("ix_household_area_code_pattern", "area_code", postgresql_ops={"area_code": "text_pattern_ops"}),
        Index("ix_household_county_code", "county_code"),
        Index("ix_household_location", "location", postgresql_using="gist"),
    )


class Person(Base):
    __tablename__ = "person"

    id: Mapped[uuid.UUID] = uuid_pk()
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("household.id", ondelete="CASCADE"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    name: Mapped[str] = mapped_column(String(100))
    sex: Mapped[str | None] = mapped_column(String(10))
    birth_date: Mapped[date | None] = mapped_column(Date)
    relation_to_head: Mapped[str | None] = mapped_column(String(40))
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    # How visits find this person again: the keyed hash of the ID number, else name and birth year.
    person_key: Mapped[str | None] = mapped_column(String(200))
    id_card_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)  # core.pii: never stored in clear
    id_card_hash: Mapped[bytes | None] = mapped_column(LargeBinary, index=True)
    created_at: Mapped[datetime] = created_at()

    household: Mapped[Household] = relationship(back_populates="members")

    __table_args__ = (UniqueConstraint("household_id", "person_key"),)
