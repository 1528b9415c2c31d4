"""Layers read as GeoJSON features a keyset page at a time, in the reader's scope and masked: the OGC API – Features side."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import JSON, ColumnElement, Subquery, cast, func, or_, select
from sqlalchemy.orm import Session

from core.errors import BadCursor, NotFound
from core.masking import ExportView
from server import paging
from server.services import tiles
from server.services.auth import Principal
from server.services.exports import indicators
from server.services.exports.datasets import Filters, ReviewFilter, households, villages
from server.services.exports.layers import Kind, Layer

GEOMETRY = "geometry"  # the label Layer.query gives its geometry


@dataclass(frozen=True)
class Collection:
    """A layer as the endpoint offers it, and where the reader's areas lie ([west, south, east, north]; None unknown)."""

    layer: Layer
    extent: list[float] | None


@dataclass(frozen=True)
class Page:
    features: list[dict[str, Any]]
    number_matched: int | None  # counted on the first page only (see `page`)
    cursor: str | None  # opaque, after the last feature; None on the last page


Source = Callable[[Filters, ExportView], list[Layer]]


def _sources() -> dict[str, Source]:
    """What builds each collection (a layer is a statement until executed, but a statement takes some milliseconds to
    build: a page builds only its own)."""
    sources: dict[str, Source] = {"households": households, "natural_villages": villages, "admin_villages": villages}
    for level in indicators.LEVELS:
        sources[f"indicators_{level}"] = partial(indicators.indicator_layers, levels=(level,))
    return sources


def _layer(viewer: Principal, name: str, area_code: str | None = None,
           review: ReviewFilter = ReviewFilter.approved) -> Layer:
    source = _sources().get(name)
    # OGC API readers get the masked view whatever their role: a live layer is not a path for personal data.
    found = [] if source is None else source(Filters(tuple(viewer.scope), area_code, review), ExportView(viewer.role))
    layer = next((layer for layer in found if layer.name == name), None)
    if layer is None:
        raise NotFound(f"No collection {name!r}. 没有数据集 {name}。", code="collection_not_found")
    return layer


def collections(session: Session, viewer: Principal) -> list[Collection]:
    """The collections the reader may open, each with the extent of the reader's areas."""
    filters, view, extent = Filters(tuple(viewer.scope)), ExportView(viewer.role), tiles.extent(session, viewer, None)
    sources = list(dict.fromkeys(_sources().values()))  # villages makes two collections, each indicator call one
    return [Collection(layer, extent) for source in sources for layer in source(filters, view)]


def collection(session: Session, viewer: Principal, name: str) -> Collection:
    """Raises:
    NotFound: no collection of that id.
    """
    return Collection(_layer(viewer, name), tiles.extent(session, viewer, None))


def page(session: Session, viewer: Principal, name: str, *, area_code: str | None = None,
         review: ReviewFilter = ReviewFilter.approved, bbox: tuple[float, float, float, float] | None = None,
         cursor: str | None = None, limit: int = 100) -> Page:
    """Up to `limit` features of the collection in key order after the cursor's position, within `bbox` (CRS84, west
    > east across the antimeridian).

    numberMatched is counted on the first page (no cursor) only: counting runs the layer's whole statement, and QGIS
    and GDAL read the count from the first page; counted again on every page, reading a layer would cost one full
    read per page.

    Raises:
        NotFound: no collection of that id, or `area_code` is outside the reader's areas.
        BadCursor: the cursor is not one this collection gave out.
    """
    layer = _layer(viewer, name, area_code, review)
    rows = _labelled(layer)
    key = rows.c[layer.key_name]
    inside = [] if bbox is None or layer.shape is None else [_within(rows, bbox)]
    after = _position(layer, cursor)
    statement = (select(*_columns(layer, rows)).where(*inside, *([] if after is None else [key > after]))
                 .order_by(key).limit(limit + 1))
    found = [_feature(layer, row) for row in session.execute(statement)]
    shown = found[:limit]
    matched = None if cursor is not None else session.scalar(select(func.count()).select_from(rows).where(*inside))
    more = len(found) > limit
    return Page(shown, matched, paging.encode([shown[-1]["id"]]) if more else None)


def feature(session: Session, viewer: Principal, name: str, feature_id: str,
            review: ReviewFilter = ReviewFilter.approved) -> dict[str, Any]:
    """One feature by its id, read with the reader's scope in the same statement.

    Raises:
        NotFound: no collection of that id, or no such feature in the reader's areas (the same answer for both).
    """
    layer = _layer(viewer, name, review=review)
    rows = _labelled(layer)
    value = _key_value(layer, feature_id)
    row = None if value is None else session.execute(
        select(*_columns(layer, rows)).where(rows.c[layer.key_name] == value)).one_or_none()
    if row is None:
        raise NotFound(f"No feature {feature_id} in {name} in your areas. 您的工作范围内没有此要素。")
    return _feature(layer, row)


def _labelled(layer: Layer) -> Subquery:
    """The layer's statement as a subquery whose columns carry the layer's names: a text column such as
    `h.household_no` is otherwise named by its text. PostgreSQL flattens it, so the scope and keyset still reach the
    tables' own columns."""
    names = ([GEOMETRY] if layer.shape else []) + layer.names
    columns = [column.label(name) for column, name in zip(layer.query.selected_columns, names, strict=True)]
    return layer.query.with_only_columns(*columns, maintain_column_froms=True).subquery("f")


def _columns(layer: Layer, rows: Subquery) -> list[ColumnElement[Any]]:
    # GeoJSON is made by PostGIS; psycopg hands it over as a dict.
    geometry = (cast(func.ST_AsGeoJSON(func.ST_GeomFromWKB(rows.c[GEOMETRY], 4326)), JSON) if layer.shape
                else cast(None, JSON))
    return [geometry.label(GEOMETRY), *(rows.c[name] for name in layer.names)]


def _within(rows: Subquery, bbox: tuple[float, float, float, float]) -> ColumnElement[bool]:
    west, south, east, north = bbox
    geometry = func.ST_GeomFromWKB(rows.c[GEOMETRY], 4326)
    boxes = [(west, east)] if west <= east else [(west, 180.0), (-180.0, east)]  # OGC: west > east spans the antimeridian
    return or_(*(geometry.op("&&")(func.ST_MakeEnvelope(w, south, e, north, 4326)) for w, e in boxes))


def _key_kind(layer: Layer) -> Kind:
    return next(column.kind for column in layer.columns if column.name == layer.key_name)


def _key_value(layer: Layer, text: str) -> str | int | None:
    """A feature id from a URL as the key's type; None when it cannot be one (then no feature has it)."""
    if _key_kind(layer) is not Kind.integer:
        return text
    return int(text) if text.isascii() and text.lstrip("-").isdigit() and len(text) < 19 else None


def _position(layer: Layer, cursor: str | None) -> str | int | None:
    position = paging.decode(cursor, list)
    if position is None:
        return None
    expected = int if _key_kind(layer) is Kind.integer else str
    if len(position) != 1 or type(position[0]) is not expected:
        raise BadCursor()
    return position[0]


def _feature(layer: Layer, row: Any) -> dict[str, Any]:
    properties = {name: _value(value) for name, value in zip(layer.names, row[1:], strict=True)}
    return {"type": "Feature", "id": properties[layer.key_name], "geometry": row[0], "properties": properties}


def _value(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value
