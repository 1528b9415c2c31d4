"""Map tiles made by PostGIS (Mapbox Vector Tiles, ST_AsMVT): households, the review queue's submissions and the
areas' own boundaries, each read with the reader's scope, so a county's 50,000 points never reach the browser whole.

Below CLUSTER_BELOW_ZOOM the points of a tile are counted into cells of CELL tile units (a few screen pixels), each
drawn as one circle with its count: what a page shows at county zoom is at most a few thousand cells, not every
household. Submissions, four times as many, are counted by natural village below VILLAGE_ZOOM, each count drawn at
the village's centroid (or, for a code no area places, amid its submissions' fixes): a county's tile is then a few
hundred rows, made from a GROUP BY instead of a projection of every point (bench/review_bench.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Text, and_, cast, func, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core import geo
from core.scope import in_scope
from server.models import Area, AreaLevel, Household, ReviewState, Submission
from server.services.auth import Principal
from server.services.review_queue import QueueFilter, where

EXTENT = 4096  # tile units across a tile (the MVT default)
BUFFER = 64  # tile units drawn beyond the edge, so circles cut by it are whole on both tiles
CELL = 48  # tile units per cell when counting: about 6 pixels of a 512-pixel tile
CLUSTER_BELOW_ZOOM = 14  # from zoom 14 (about 10 m a pixel) every point is drawn on its own
VILLAGE_ZOOM = 12  # below it (a township or more on the screen), submissions are counted by natural village
# The finest areas a tile shows at each zoom: a county's villages only once they are big enough to tell apart.
_LEVELS_BY_ZOOM = ((13, tuple(AreaLevel)), (10, (AreaLevel.county, AreaLevel.township, AreaLevel.admin_village)),
                   (0, (AreaLevel.prefecture, AreaLevel.county, AreaLevel.township)))


def households(session: Session, viewer: Principal, z: int, x: int, y: int, area_code: str | None,
               flag: str | None) -> bytes:
    """Households of the reader's areas in one tile: layer "households", each with its id and whether a risk flag of
    either tier holds; counted cells ("count", "flagged") below CLUSTER_BELOW_ZOOM."""
    clauses = [in_scope(Household.area_code, viewer.scope)]
    if area_code is not None:
        clauses.append(Household.area_code.startswith(area_code, autoescape=True))
    if flag is not None:
        clauses.append(Household.risk_flags.any(flag) | Household.watch_flags.any(flag))
    flagged = (func.cardinality(Household.risk_flags) + func.cardinality(Household.watch_flags)) > 0
    return _tile(session, "households", z, x, y, Household.location, clauses,
                 {"id": cast(Household.id, Text), "flagged": flagged})


def submissions(session: Session, viewer: Principal, z: int, x: int, y: int, queue: QueueFilter) -> bytes:
    """The review queue's submissions in one tile, with the list's filter: layer "submissions", each with its uuid and
    review state; counted cells ("count", "flagged" = pending) below CLUSTER_BELOW_ZOOM, counted by village (at its
    centroid, those without a fix too) below VILLAGE_ZOOM."""
    if z < VILLAGE_ZOOM:
        return _by_village(session, z, x, y, where(queue, viewer.scope))
    return _tile(session, "submissions", z, x, y, Submission.location, where(queue, viewer.scope),
                 {"uuid": cast(Submission.uuid, Text), "review_state": Submission.review_state,
                  "flagged": Submission.review_state == ReviewState.pending})


def areas(session: Session, viewer: Principal, z: int, x: int, y: int) -> bytes:
    """The boundaries of the reader's current areas, as a plain background when no tile server is configured: layer
    "areas" with each area's code, level and Chinese name, the finer levels only at closer zoom. A retired area is not
    drawn: an official file no longer has it, and its successor's boundary may cover the same ground."""
    levels = next(shown for from_zoom, shown in _LEVELS_BY_ZOOM if z >= from_zoom)
    envelope = func.ST_TileEnvelope(z, x, y)
    geometry = func.ST_AsMVTGeom(func.ST_Transform(Area.boundary, 3857), envelope, EXTENT, BUFFER)
    rows = (select(geometry.label("geom"), Area.code.label("code"), Area.level.label("level"), Area.name_zh.label("name"))
            .where(in_scope(Area.code, viewer.scope), Area.level.in_(levels), Area.retired_at.is_(None),
                   Area.boundary.op("&&")(func.ST_Transform(envelope, 4326))).subquery())
    return _encode(session, select(rows).where(rows.c.geom.is_not(None)), "areas")


def _tile(session: Session, layer: str, z: int, x: int, y: int, location: Any, clauses: list[ColumnElement[bool]],
          properties: dict[str, ColumnElement[Any]]) -> bytes:
    envelope = func.ST_TileEnvelope(z, x, y)
    geometry = func.ST_AsMVTGeom(func.ST_Transform(location, 3857), envelope, EXTENT, BUFFER)
    # Points are read with the tile's buffer, so a circle on its edge is drawn whole on both tiles; a cell is read
    # without it, or it would be counted on two tiles. The 4326 box serves the spatial index; ST_AsMVTGeom then cuts.
    margin = BUFFER / EXTENT if z >= CLUSTER_BELOW_ZOOM else 0.0
    read = func.ST_TileEnvelope(z, x, y, func.ST_MakeEnvelope(-20037508.342789244, -20037508.342789244,
                                                              20037508.342789244, 20037508.342789244, 3857), margin)
    inside = and_(location.op("&&")(func.ST_Transform(read, 4326)), *clauses)
    if z >= CLUSTER_BELOW_ZOOM:
        points = select(geometry.label("geom"), *(value.label(name) for name, value in properties.items())).where(inside)
        rows = points.subquery()
        return _encode(session, select(rows).where(rows.c.geom.is_not(None)), layer)
    points = select(geometry.label("geom"), properties["flagged"].label("flagged")).where(inside).subquery()
    cell = func.ST_SnapToGrid(points.c.geom, CELL)
    cells = (select(cell.label("geom"), func.count().label("count"),
                    func.count().filter(points.c.flagged).label("flagged"))
             .where(points.c.geom.is_not(None)).group_by(cell))
    return _encode(session, cells, layer)


def _by_village(session: Session, z: int, x: int, y: int, clauses: list[ColumnElement[bool]]) -> bytes:
    envelope = func.ST_TileEnvelope(z, x, y)
    counted = (select(Submission.area_code, func.count().label("count"),
                      func.count().filter(Submission.review_state == ReviewState.pending).label("flagged"),
                      func.avg(func.ST_X(Submission.location)).label("lon"),
                      func.avg(func.ST_Y(Submission.location)).label("lat"))
               .where(*clauses).group_by(Submission.area_code).subquery())
    # The village's own point; for a code the areas do not place, the middle of its submissions' fixes.
    middle = func.ST_SetSRID(func.ST_MakePoint(counted.c.lon, counted.c.lat), 4326)  # averaged, not collected: cheap
    where_drawn = func.coalesce(Area.centroid, func.ST_PointOnSurface(Area.boundary), middle)
    cells = (select(func.ST_AsMVTGeom(func.ST_Transform(where_drawn, 3857), envelope, EXTENT, BUFFER).label("geom"),
                    counted.c.count, counted.c.flagged)
             .select_from(counted).outerjoin(Area, Area.code == counted.c.area_code)
             .where(where_drawn.op("&&")(func.ST_Transform(envelope, 4326)))).subquery()
    return _encode(session, select(cells).where(cells.c.geom.is_not(None)), "submissions")


def _encode(session: Session, rows: Select[Any], layer: str) -> bytes:
    tile = rows.subquery("tile")
    return bytes(session.scalar(select(func.ST_AsMVT(literal_column("tile"), layer, EXTENT, "geom")).select_from(tile))
                 or b"")


def extent(session: Session, viewer: Principal, area_code: str | None) -> list[float] | None:
    """Where the map opens: [west, south, east, north] of the reader's areas (or of the one filtered to), from the
    boundaries of the current ones (as drawn) and, where none has one, from the households; None when neither is known."""
    scope = in_scope(Area.code, viewer.scope)
    narrowed = Area.code.startswith(area_code, autoescape=True) if area_code else scope
    box = session.execute(select(*geo.bbox_columns(func.ST_Extent(Area.boundary)))
                          .where(scope, narrowed, Area.retired_at.is_(None))).one()
    if box[0] is None:
        households = [in_scope(Household.area_code, viewer.scope)]
        if area_code:
            households.append(Household.area_code.startswith(area_code, autoescape=True))
        box = session.execute(select(*geo.bbox_columns(func.ST_Extent(Household.location))).where(*households)).one()
    return None if box[0] is None else [float(value) for value in box]
