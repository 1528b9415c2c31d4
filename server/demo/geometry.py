"""Demo geometry: Voronoi subdivision of a parent polygon, random points inside it, and EWKB for PostGIS."""

from __future__ import annotations

import math
import random

import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

SRID = 4326
# Household locations are stored to 1e-6 degree (about 10 cm), checked inside after rounding.
POINT_DECIMALS = 6
MAX_TRIES = 100_000


def as_multipolygon(geometry: BaseGeometry) -> MultiPolygon:
    """The polygonal parts of an overlay result (which may carry stray lines or points) as one MultiPolygon."""
    # get_parts twice flattens a GeometryCollection that holds MultiPolygons.
    parts = shapely.get_parts(shapely.get_parts(geometry))
    return MultiPolygon([part for part in parts if isinstance(part, Polygon) and not part.is_empty])


def random_point(shape: BaseGeometry, rng: random.Random) -> tuple[float, float]:
    """A uniformly random point strictly inside `shape` (rejection sampling in its bounding box)."""
    shapely.prepare(shape)
    min_x, min_y, max_x, max_y = shape.bounds
    for _ in range(MAX_TRIES):
        x, y = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
        if shapely.contains_xy(shape, x, y):
            return x, y
    raise ValueError("no random point found inside the shape; is it degenerate?")


def spread_points(shape: BaseGeometry, count: int, rng: random.Random, candidates: int = 8) -> list[tuple[float, float]]:
    """`count` points inside `shape`, each the best of a few candidates (farthest from those already chosen).

    Plain uniform points make Voronoi cells of wildly different sizes; best-candidate sampling keeps
    them comparable, the way real townships are, while still looking irregular.
    """
    points = [random_point(shape, rng)]
    while len(points) < count:
        options = [random_point(shape, rng) for _ in range(candidates)]
        points.append(max(options, key=lambda p: min(math.dist(p, q) for q in points)))
    return points


def subdivide(parent: MultiPolygon, seeds: list[tuple[float, float]]) -> list[MultiPolygon]:
    """The Voronoi cells of `seeds` clipped to `parent`, in the order of the seeds: they tile the parent."""
    if len(seeds) == 1:
        return [parent]
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=parent, ordered=True)
    return [as_multipolygon(cell.intersection(parent)) for cell in cells.geoms]


def points_around(shape: BaseGeometry, centre: Point, count: int, rng: random.Random) -> list[tuple[float, float]]:
    """`count` points inside `shape` gathered around `centre`, as houses cluster in a hamlet.

    A Gaussian spread of a fifth of the shape's size, rejected outside it; coordinates are rounded
    before the inside test so the stored point is the tested one.
    """
    shapely.prepare(shape)
    sigma = 0.2 * math.sqrt(shape.area)
    points: list[tuple[float, float]] = []
    for _ in range(MAX_TRIES):
        if len(points) == count:
            return points
        x = round(rng.gauss(centre.x, sigma), POINT_DECIMALS)
        y = round(rng.gauss(centre.y, sigma), POINT_DECIMALS)
        if shapely.contains_xy(shape, x, y):
            points.append((x, y))
    raise ValueError("could not place the points inside the shape")


def ewkb(geometry: BaseGeometry) -> str:
    """Hex EWKB with SRID 4326: exact coordinates (WKT would round them), and PostGIS reads it as text."""
    return shapely.to_wkb(shapely.set_srid(geometry, SRID), hex=True, include_srid=True)


def ewkt_point(x: float, y: float) -> str:
    return f"SRID={SRID};POINT({x:.{POINT_DECIMALS}f} {y:.{POINT_DECIMALS}f})"
