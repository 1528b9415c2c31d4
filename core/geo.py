"""The one crossing point between payload coordinates ({lat, lon}) and PostGIS geometry (EPSG:4326)."""

from __future__ import annotations

from typing import Any

from geoalchemy2 import WKTElement
from sqlalchemy import ColumnElement, func

SRID = 4326


def point(lat: float, lon: float) -> WKTElement:
    """A PostGIS point from a payload position; geometry is longitude first."""
    return WKTElement(f"POINT({lon!r} {lat!r})", srid=SRID)


def latlon_columns(column: Any) -> tuple[ColumnElement[float], ColumnElement[float]]:
    """SQL expressions giving (lat, lon) of a point column."""
    return func.ST_Y(column), func.ST_X(column)


def latlon(lat: float | None, lon: float | None) -> dict[str, float] | None:
    return None if lat is None or lon is None else {"lat": lat, "lon": lon}


def bbox_columns(column: Any) -> tuple[ColumnElement[float], ...]:
    """SQL expressions giving (west, south, east, north) of a geometry column."""
    return func.ST_XMin(column), func.ST_YMin(column), func.ST_XMax(column), func.ST_YMax(column)


# About 10 m at Yunnan's latitudes: a phone tells "in the village or not" from it, at a fraction of the points.
SIMPLIFY_DEGREES = 0.0001


def simplified_geojson(column: Any) -> ColumnElement[str]:
    """SQL giving a boundary as GeoJSON text, simplified (its topology kept) and to 6 decimals (about 0.1 m)."""
    return func.ST_AsGeoJSON(func.ST_SimplifyPreserveTopology(column, SIMPLIFY_DEGREES), 6)
