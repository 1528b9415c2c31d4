"""Reading one layer of an area file (GeoJSON, GeoPackage, Shapefile): its features, cells, geometries and CRS."""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyogrio
import pyogrio.raw
import shapely
from pyogrio import errors as ogr_errors
from shapely.errors import GEOSException
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from core.errors import AreaImportFailed

# GDAL names a GeoJSON file with heights EPSG:4979 (WGS 84 3-D); its longitude/latitude are the same.
WGS84_NAMES = frozenset({"EPSG:4326", "OGC:CRS84", "EPSG:4979", "OGC:CRS84h"})

# Accepted attribute names per column, case-insensitive, best first. Shapefiles cut field
# names to 10 characters, so "parent_code" arrives as "parent_cod".
COLUMNS = {
    "code": ("code",),
    "level": ("level",),
    "name_zh": ("name_zh", "name"),
    "name_en": ("name_en",),
    "parent_code": ("parent_code", "parent_cod"),
}
REQUIRED = ("code", "level", "name_zh")
NAME_MAX = 200
DIGITS = re.compile(r"[0-9]+")

_READ_ERRORS = (
    ogr_errors.DataSourceError, ogr_errors.DataLayerError, ogr_errors.FieldError,
    ogr_errors.FeatureError, ogr_errors.GeometryError, ogr_errors.CRSError,
)


@dataclass(frozen=True)
class RowProblem:
    """One reason the file cannot be imported; row 0 is the file as a whole."""

    row: int
    code: str | None
    reason: str

    def __str__(self) -> str:
        if self.row == 0:
            return f"file: {self.reason}"
        where = f"row {self.row} (code {self.code})" if self.code else f"row {self.row}"
        return f"{where}: {self.reason}"


class ValueRefused(Exception):
    """One value of a row is refused; the message is the reason shown to the user."""


@dataclass(frozen=True)
class Feature:
    row: int
    values: dict[str, Any]
    geometry: BaseGeometry | None
    geometry_error: str | None = None


@dataclass(frozen=True)
class AreaLayer:
    file: str
    layer: str
    crs: str | None
    columns: frozenset[str]
    features: list[Feature]


def file_problem(reason: str) -> AreaImportFailed:
    return AreaImportFailed([RowProblem(0, None, reason)])


def read_layer(path: Path, layer: str | None) -> AreaLayer:
    """Reads the features of one layer, with attributes under the canonical column names.

    Raises:
        AreaImportFailed: the file is missing or unreadable, the layer is missing or ambiguous,
            a required column is missing, or the layer is empty.
    """
    if not path.exists():
        raise file_problem(f"file not found: {path} (文件不存在)")
    try:
        layer = _choose_layer(path, layer)
        info = pyogrio.read_info(str(path), layer=layer)
        _meta, _fids, geometries, field_data = pyogrio.raw.read(str(path), layer=layer)
    except _READ_ERRORS as error:
        raise file_problem(
            f"cannot read {path.name}: {error}; use GeoJSON, GeoPackage or Shapefile (无法读取文件)"
        ) from error
    names = _map_columns([str(name) for name in info["fields"]])
    if len(geometries) == 0:
        raise file_problem(f"layer '{layer}' has no features (图层为空)")
    features = [
        _feature(index + 1, {column: field_data[i][index] for column, i in names.items()}, wkb)
        for index, wkb in enumerate(geometries)
    ]
    return AreaLayer(path.name, layer, info["crs"], frozenset(names), features)


def _choose_layer(path: Path, layer: str | None) -> str:
    # Reading an unnamed layer of a multi-layer file would silently take the first one.
    available = [str(name) for name, _kind in pyogrio.list_layers(str(path))]
    if layer is not None:
        if layer not in available:
            raise file_problem(f"no layer '{layer}' in {path.name}; its layers are: {', '.join(available)}")
        return layer
    if len(available) != 1:
        raise file_problem(
            f"{path.name} has {len(available)} layers ({', '.join(available)}); choose one with --layer"
        )
    return available[0]


def _map_columns(fields: list[str]) -> dict[str, int]:
    """Canonical column -> index in the field data.

    Raises:
        AreaImportFailed: a required column is missing.
    """
    by_lower: dict[str, int] = {}
    for index, field in enumerate(fields):
        by_lower.setdefault(field.lower(), index)
    found = {}
    for column, aliases in COLUMNS.items():
        index = next((by_lower[alias] for alias in aliases if alias in by_lower), None)
        if index is not None:
            found[column] = index
    missing = [" or ".join(COLUMNS[column]) for column in REQUIRED if column not in found]
    if missing:
        raise file_problem(
            f"missing column(s): {'; '.join(missing)}; the layer has: {', '.join(fields) or 'no columns'} (缺少字段)"
        )
    return found


def _feature(row: int, values: dict[str, Any], wkb: bytes | None) -> Feature:
    if wkb is None:
        return Feature(row, values, None)
    try:
        geometry = shapely.from_wkb(wkb)
    except GEOSException as error:
        # GDAL passes unclosed rings through; GEOS refuses to build them.
        return Feature(row, values, None, f"unreadable geometry: {error}")
    # The boundary column is 2-D; a Z or M value would be refused by PostGIS.
    geometry = shapely.force_2d(geometry)
    return Feature(row, values, None if geometry.is_empty else geometry)


def area_shape(feature: Feature) -> tuple[MultiPolygon | None, Point | None]:
    """(boundary, centroid) of a feature; a point is taken as the centroid of an area without a boundary.

    Raises:
        ValueRefused: the geometry is unreadable, of another type, or not valid.
    """
    if feature.geometry_error:
        raise ValueRefused(feature.geometry_error)
    geometry = feature.geometry
    if geometry is None or isinstance(geometry, Point):
        return None, geometry
    if isinstance(geometry, Polygon):
        geometry = MultiPolygon([geometry])
    if not isinstance(geometry, MultiPolygon):
        raise ValueRefused(f"geometry must be a Polygon, MultiPolygon or Point, not {geometry.geom_type} (边界须为面)")
    # Refused rather than repaired: an automatic fix can silently change which households fall inside.
    reason = shapely.is_valid_reason(geometry)
    if reason != "Valid Geometry":
        raise ValueRefused(f"invalid geometry: {reason}; repair it in the GIS and export again (边界几何无效)")
    return geometry, shapely.point_on_surface(geometry)


def is_missing(value: Any) -> bool:
    """Whether a cell is empty: null, NaN or blank."""
    if value is None:
        return True
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return value != value  # NaN: how pyogrio reports a null in a numeric column
    return isinstance(value, str) and not value.strip()


def read_code(value: Any) -> str:
    """The code as a string of digits.

    Raises:
        ValueRefused: missing, fractional, or not only digits.
    """
    # Codes often arrive as numbers (numeric GeoJSON or Shapefile columns), and a numeric column
    # holding a null comes back as floats, so a whole float is as good as an integer.
    if is_missing(value):
        raise ValueRefused("missing code (缺少编码)")
    if isinstance(value, numbers.Integral):
        text = str(int(value))
    elif isinstance(value, numbers.Real):
        if not float(value).is_integer():
            raise ValueRefused(f"code {value} is not a whole number; a code has digits only (编码只能是数字)")
        text = str(int(value))
    else:
        text = str(value).strip()
    if not DIGITS.fullmatch(text):
        raise ValueRefused(f"code '{text}' must contain digits only (编码只能是数字)")
    return text


def code_or_none(value: Any) -> str | None:
    try:
        return read_code(value)
    except ValueRefused:
        return None


def code_label(feature: Feature) -> str | None:
    """The code as written in the file, to name the row even when the code itself is wrong."""
    value = feature.values.get("code")
    if is_missing(value):
        return None
    return code_or_none(value) or str(value).strip()


def read_name(value: Any, *, required: bool) -> str | None:
    """The trimmed name, or None when an optional name is empty.

    Raises:
        ValueRefused: a required name is missing, or a name is too long.
    """
    if is_missing(value):
        if required:
            raise ValueRefused("missing name: fill in the name or name_zh column (缺少名称)")
        return None
    text = str(value).strip()
    if len(text) > NAME_MAX:
        raise ValueRefused(f"name '{text[:20]}...' has {len(text)} characters; at most {NAME_MAX} (名称过长)")
    return text


def crs_problems(layer: AreaLayer) -> list[RowProblem]:
    """File-level problems with the coordinate reference system: only WGS 84 longitude/latitude is accepted."""
    west, south, east, north = _bounds(layer)
    in_range = -180 <= west and east <= 180 and -90 <= south and north <= 90
    bounds = f"{west:.6g}, {south:.6g}, {east:.6g}, {north:.6g}"
    if layer.crs is None and not in_range:
        return [RowProblem(0, None, f"no CRS in the file and coordinates ({bounds}) are not longitude/latitude; "
                                    "export the layer in EPSG:4326 (WGS 84) (坐标系须为 WGS 84)")]
    if layer.crs is not None and layer.crs not in WGS84_NAMES:
        return [RowProblem(0, None, f"wrong CRS: {_short(layer.crs)}; export the layer in EPSG:4326 (WGS 84) "
                                    "(坐标系须为 WGS 84)")]
    if not in_range:
        return [RowProblem(0, None, f"coordinates ({bounds}) are outside longitude/latitude range although the "
                                    "file declares WGS 84; export the layer in EPSG:4326 (WGS 84) (坐标超出经纬度范围)")]
    return []


def _bounds(layer: AreaLayer) -> tuple[float, float, float, float]:
    geometries = [feature.geometry for feature in layer.features if feature.geometry is not None]
    if not geometries:
        return (0.0, 0.0, 0.0, 0.0)
    west, south, east, north = (float(value) for value in shapely.total_bounds(geometries))
    if any(math.isnan(value) for value in (west, south, east, north)):
        return (0.0, 0.0, 0.0, 0.0)
    return west, south, east, north


def _short(crs: str) -> str:
    # A CRS without an authority code comes back as a long WKT string.
    return crs if len(crs) <= 80 else crs[:77] + "..."
