"""Areas: the administrative hierarchy from province to natural village, keyed by division code."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, created_at, enum_type


class AreaLevel(StrEnum):
    province = "province"
    prefecture = "prefecture"
    county = "county"
    township = "township"
    admin_village = "admin_village"
    natural_village = "natural_village"


# Digits of the code at each level: the NBS statistical code (2/4/6/9/12) extended by three
# digits for natural villages (domain.md 2.2 and 2.3), so a prefix names every area below it.
CODE_LENGTH = {
    AreaLevel.province: 2,
    AreaLevel.prefecture: 4,
    AreaLevel.county: 6,
    AreaLevel.township: 9,
    AreaLevel.admin_village: 12,
    AreaLevel.natural_village: 15,
}

PARENT_LEVEL = {
    AreaLevel.prefecture: AreaLevel.province,
    AreaLevel.county: AreaLevel.prefecture,
    AreaLevel.township: AreaLevel.county,
    AreaLevel.admin_village: AreaLevel.township,
    AreaLevel.natural_village: AreaLevel.admin_village,
}

_LENGTH_CASE = " ".join(f"WHEN '{level.value}' THEN {n}" for level, n in CODE_LENGTH.items())


class Area(Base):
    """One area of the hierarchy; `retired_at` marks one that a complete official file no longer has.

    A retired area is never deleted: households, villages, submissions, assignments and history keep its code, and
    scopes that name it still read them. It is still sent to phones, as an area change with `retired: true`, so they
    show its households and stop offering it for new ones; a push placing a new household or village in it is
    accepted and flagged `area_retired` for the supervisor. `GET /areas` leaves it out unless asked
    (`include_retired`), the map does not draw it, and no new assignment may name it. An import whose file has it
    again un-retires it (server/services/area_import.py).
    """

    __tablename__ = "area"

    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    level: Mapped[AreaLevel] = mapped_column(enum_type(AreaLevel, "area_level"))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("area.code"), index=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    boundary: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False)
    )
    centroid: Mapped[WKBElement | None] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())
    # Retired rather than deleted: codes are the keys of households, villages, submissions and history, which stay.
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]+$'", name="code_digits"),
        CheckConstraint(f"length(code) = CASE level {_LENGTH_CASE} END", name="code_length_matches_level"),
        CheckConstraint(
            "parent_code IS NULL OR left(code, length(parent_code)) = parent_code", name="code_extends_parent"
        ),
        CheckConstraint("boundary IS NULL OR ST_IsValid(boundary)", name="boundary_valid"),
        Index("ix_area_code_pattern", "code", postgresql_ops={"code": "text_pattern_ops"}),
        Index("ix_area_boundary", "boundary", postgresql_using="gist"),
    )
