"""Area queries, always scoped: a page of areas (the current ones, unless retired ones are asked for), one area."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core import geo
from core.errors import NotFound
from core.scope import in_scope
from server.models import Area, AreaLevel


@dataclass(frozen=True)
class AreaView:
    code: str
    level: AreaLevel
    parent_code: str | None
    name: dict[str, str | None]
    centroid: dict[str, float] | None
    bbox: list[float] | None
    retired_at: datetime | None


def _select(scope: Sequence[str]) -> Select[Any]:
    lat, lon = geo.latlon_columns(Area.centroid)
    return select(Area.code, Area.level, Area.parent_code, Area.name_zh, Area.name_en, Area.retired_at, lat, lon,
                  *geo.bbox_columns(Area.boundary)).where(in_scope(Area.code, scope))


def _view(row: Any) -> AreaView:
    code, level, parent, zh, en, retired_at, lat, lon, *box = row
    return AreaView(code, level, parent, {"zh": zh, "en": en}, geo.latlon(lat, lon),
                    None if box[0] is None else [float(v) for v in box], retired_at)


def list_areas(
    session: Session, scope: Sequence[str], *, level: str | None = None, parent_code: str | None = None,
    after: str | None = None, limit: int = 100, include_retired: bool = False,
) -> tuple[list[AreaView], bool]:
    """One keyset page of the areas in scope, ordered by code; returns the page and whether more follow.

    Retired areas (server.models.areas.Area) are left out unless `include_retired`: a list offers areas to work in.
    """
    query = _select(scope).order_by(Area.code).limit(limit + 1)
    if not include_retired:
        query = query.where(Area.retired_at.is_(None))
    if level is not None:
        query = query.where(Area.level == AreaLevel(level))
    if parent_code is not None:
        query = query.where(Area.parent_code == parent_code)
    if after is not None:
        query = query.where(Area.code > after)
    rows = session.execute(query).all()
    return [_view(row) for row in rows[:limit]], len(rows) > limit


def get_area(session: Session, scope: Sequence[str], code: str) -> AreaView:
    """One area in scope, retired or not: households and history still name a retired code.

    Raises:
    NotFound: no such area in the caller's scope (out of scope looks the same as absent).
    """
    row = session.execute(_select(scope).where(Area.code == code)).one_or_none()
    if row is None:
        raise NotFound(f"No area {code} in your scope.")
    return _view(row)
