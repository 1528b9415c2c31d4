"""Reading one layer of an area file (GeoJSON, GeoPackage, Shapefile, CSV): its features, cells, geometries, CRS and
text encoding."""

from __future__ import annotations

import codecs
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
# CGCS2000 longitude/latitude (2-D and 3-D), the official datum of Chinese maps: it stays within centimetres of
# WGS 84, far below what a boundary or a phone's GPS can tell apart, so its coordinates are taken as they are.
CGCS2000_NAMES = frozenset({"EPSG:4490", "EPSG:4480"})
# CGCS2000 / Gauss-Kruger, 6- and 3-degree zones, with and without the zone number in the false easting: the
# projected CRSs of surveyed boundaries (metres), which need reprojecting rather than taking as they are.
CGCS2000_GAUSS_KRUGER = range(4491, 4555)

# Accepted attribute names per column, case-insensitive, best first: ours, then how officials ship them. Shapefiles
# cut field names to 10 characters, so "parent_code" arrives as "parent_cod". The NBS lists (统计用区划代码 and
# 城乡划分代码) head their columns 统计用区划代码 or 代码 and 名称; the 行政区 (XZQ) layer of the Third National Land
# Survey has XZQDM and XZQMC. Other columns (城乡分类代码, areas, dates) are not read.
COLUMNS = {
    "code": ("code", "统计用区划代码", "区划代码", "行政区划代码", "代码", "xzqdm"),
    "level": ("level", "级别"),
    "name_zh": ("name_zh", "name", "名称", "区划名称", "xzqmc"),
    "name_en": ("name_en", "英文名称"),
    "parent_code": ("parent_code", "parent_cod", "上级代码", "上级区划代码"),
}
# Without a level column the level follows from the code's length (area_import).
REQUIRED = ("code", "name_zh")
NAME_MAX = 200
DIGITS = re.compile(r"[0-9]+")

# These formats hold UTF-8 text by definition; an --encoding would garble them without a trace.
UTF8_DRIVERS = frozenset({"GeoJSON", "GeoJSONSeq", "GPKG", "FlatGeobuf"})
SHAPEFILE = "ESRI Shapefile"
# The DBF header's language driver id (code page byte); 0 means the file does not say.
DBF_LANGUAGE_DRIVER = 29
# GBK (or UTF-8) bytes read as Latin-1 give letters of the Latin-1 Supplement where Chinese characters were meant.
LATIN1_SUPPLEMENT = re.compile("[\u0080-\u00ff]")
CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
GARBLED_SHOWN = 3

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
    driver: str = ""
    has_geometry: bool = True
    encoding: str | None = None  # as given with --encoding; None: as the file says, or GDAL's default
    declares_encoding: bool | None = None  # a Shapefile's .cpg or code page byte; None: not a Shapefile, or unknown

    @property
    def geographic_crs(self) -> str | None:
        """How the coordinates were taken as WGS 84 without being WGS 84: "no CRS", "CGCS2000", or None."""
        if not self.has_geometry or not any(feature.geometry is not None for feature in self.features):
            return None
        if self.crs is None:
            return "no CRS"
        return "CGCS2000" if self.crs in CGCS2000_NAMES else None


def file_problem(reason: str) -> AreaImportFailed:
    return AreaImportFailed([RowProblem(0, None, reason)])


def read_layer(path: Path, layer: str | None, encoding: str | None = None) -> AreaLayer:
    """Reads the features of one layer, with attributes under the canonical column names.

    A layer without geometry (a GeoPackage table, a CSV list) gives features without geometry.
    `encoding` is the text encoding of a Shapefile or CSV that does not say its own (pyogrio's `encoding=`).

    Raises:
        AreaImportFailed: the file is missing or unreadable, the encoding unknown, wrong for the format or not the
            file's, the layer is missing or ambiguous, a required column is missing, or the layer is empty.
    """
    if not path.exists():
        raise file_problem(f"file not found: {path} (文件不存在)")
    _check_encoding_name(encoding)
    try:
        layer = _choose_layer(path, layer)
        info = pyogrio.read_info(str(path), layer=layer, encoding=encoding)
        _refuse_encoding_of_utf8_format(info["driver"], encoding)
        _meta, _fids, geometries, field_data = pyogrio.raw.read(str(path), layer=layer, encoding=encoding)
    except _READ_ERRORS as error:
        raise file_problem(
            f"cannot read {path.name}: {error}; use GeoJSON, GeoPackage, Shapefile or CSV (无法读取文件)"
        ) from error
    except UnicodeDecodeError as error:
        raise _undecodable(path, encoding, error) from error
    names = _map_columns([str(name) for name in info["fields"]])
    count = _feature_count(geometries, field_data)
    if count == 0:
        raise file_problem(f"layer '{layer}' has no features (图层为空)")
    features = [
        _feature(index + 1, {column: field_data[i][index] for column, i in names.items()},
                 None if geometries is None else geometries[index])
        for index in range(count)
    ]
    declares = _shapefile_declares_encoding(path, layer) if info["driver"] == SHAPEFILE else None
    return AreaLayer(path.name, layer, info["crs"], frozenset(names), features, info["driver"], geometries is not None,
                     encoding, declares)


def _feature_count(geometries: Any, field_data: list[Any]) -> int:
    # pyogrio gives no geometry array at all for a layer without geometry.
    if geometries is not None:
        return len(geometries)
    return len(field_data[0]) if field_data else 0


def _check_encoding_name(encoding: str | None) -> None:
    if encoding is None:
        return
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise file_problem(f"unknown encoding '{encoding}'; files made in China are usually GBK (or GB18030), "
                           "otherwise UTF-8 (未知的字符编码)") from None


def _refuse_encoding_of_utf8_format(driver: str, encoding: str | None) -> None:
    if encoding is None or driver not in UTF8_DRIVERS or codecs.lookup(encoding).name in ("utf-8", "utf-8-sig"):
        return
    raise file_problem(f"a {driver} file holds UTF-8 text by definition; --encoding {encoding} would garble it. "
                       "--encoding is for Shapefiles and CSV files only; leave it out (此格式固定为 UTF-8，无需 --encoding)")


def _undecodable(path: Path, encoding: str | None, error: UnicodeDecodeError) -> AreaImportFailed:
    if encoding is None:
        return file_problem(f"the text of {path.name} is not UTF-8 ({error.reason} at byte {error.start}); if it was "
                            "saved in China it is probably GBK: run again with --encoding GBK (文件不是 UTF-8 编码，"
                            "请加 --encoding GBK)")
    if codecs.lookup(error.encoding).name != codecs.lookup(encoding).name:
        # GDAL recodes by its own (iconv) names: one Python knows and it does not comes through undecoded, as UTF-8.
        return file_problem(f"GDAL does not know the encoding name '{encoding}'; write it as GDAL does, e.g. GBK, "
                            "GB18030, CP936, UTF-8 or ISO-8859-1 (无法识别的字符编码名称)")
    return file_problem(f"the text of {path.name} is not {encoding} ({error.reason} at byte {error.start}); run again "
                        "with the encoding it was saved in, e.g. --encoding GBK, GB18030 or UTF-8 (字符编码不符)")


def _shapefile_declares_encoding(path: Path, layer: str) -> bool | None:
    """Whether a Shapefile says its code page, by a .cpg file or the language driver byte of its .dbf.

    None when its .dbf is not found next to it (a zipped Shapefile, say).
    """
    stem = path / layer if path.is_dir() else path.with_suffix("")
    if any(stem.with_name(f"{stem.name}{suffix}").is_file() for suffix in (".cpg", ".CPG")):
        return True
    dbf = next((candidate for suffix in (".dbf", ".DBF")
                if (candidate := stem.with_name(f"{stem.name}{suffix}")).is_file()), None)
    if dbf is None:
        return None
    with dbf.open("rb") as header:
        head = header.read(DBF_LANGUAGE_DRIVER + 1)
    return len(head) > DBF_LANGUAGE_DRIVER and head[DBF_LANGUAGE_DRIVER] != 0


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
        by_lower.setdefault(field.strip().lower(), index)
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
    """File-level problems with the coordinate reference system: WGS 84 or CGCS2000 longitude/latitude is accepted."""
    west, south, east, north = _bounds(layer)
    in_range = -180 <= west and east <= 180 and -90 <= south and north <= 90
    bounds = f"{west:.6g}, {south:.6g}, {east:.6g}, {north:.6g}"
    if layer.crs is None and not in_range:
        return [RowProblem(0, None, f"no CRS in the file and coordinates ({bounds}) are not longitude/latitude; "
                                    "export the layer in EPSG:4326 (WGS 84) (坐标系须为 WGS 84)")]
    if layer.crs is not None and layer.crs not in WGS84_NAMES | CGCS2000_NAMES:
        return [RowProblem(0, None, f"wrong CRS: {_short(layer.crs)}; export the layer in EPSG:4326 (WGS 84) "
                                    f"longitude/latitude{_projected(layer.crs, in_range, bounds)}: reproject it, e.g. "
                                    f"ogr2ogr -t_srs EPSG:4326 out.gpkg {layer.file} (坐标系须为 WGS 84 或 CGCS2000 经纬度，"
                                    "请先转换坐标)")]
    if not in_range:
        return [RowProblem(0, None, f"coordinates ({bounds}) are outside longitude/latitude range although the "
                                    f"file declares {_short(layer.crs or '')}; export the layer in EPSG:4326 (WGS 84) "
                                    "(坐标超出经纬度范围)")]
    return []


def _projected(crs: str, in_range: bool, bounds: str) -> str:
    """Why the CRS is no longer longitude/latitude, when it can be told without a CRS library."""
    authority, _, number = crs.partition(":")
    if authority == "EPSG" and number.isdigit() and int(number) in CGCS2000_GAUSS_KRUGER:
        return f"; {crs} is CGCS2000 / Gauss-Kruger, projected in metres ({bounds})"
    if crs.startswith(("PROJCRS", "PROJCS")) or not in_range:
        return f"; it is a projected CRS, in metres ({bounds})"
    return ""


def encoding_problems(layer: AreaLayer) -> list[RowProblem]:
    """A file-level problem when Chinese names look garbled: text read in the wrong encoding, which no row check sees.

    GDAL reads a Shapefile without a .cpg file or code page byte as Latin-1, so the GBK names of one made in China
    come out as letters such as 'Ñúå¨ÒÍ'; stored, they would reach every phone like that.
    """
    garbled = [(feature.row, name) for feature in layer.features
               if isinstance(name := feature.values.get("name_zh"), str) and looks_garbled(name)]
    if not garbled:
        return []
    shown = "; ".join(f"row {row}: '{name.strip()[:20]}'" for row, name in garbled[:GARBLED_SHOWN])
    found = f"{len(garbled)} name(s) look garbled ({shown})"
    if layer.encoding is not None:
        return [RowProblem(0, None, f"{found} when read as {layer.encoding}; run again with the encoding the file was "
                                    "saved in, e.g. --encoding GBK or GB18030 (名称乱码：字符编码不符)")]
    if layer.declares_encoding is False:
        cpg = Path(layer.file).with_suffix(".cpg").name
        return [RowProblem(0, None, f"{found}: the Shapefile has no .cpg file and no code page in its .dbf, so its text "
                                    "was read as Latin-1. Files made in China are usually GBK: run again with "
                                    f"--encoding GBK, or put a file {cpg} containing GBK next to it "
                                    "(名称乱码：文件未注明编码，请加 --encoding GBK)")]
    return [RowProblem(0, None, f"{found} in the encoding the file declares; if its text is GBK, run again with "
                                "--encoding GBK (名称乱码：请用 --encoding 指定文件的实际编码)")]


def looks_garbled(name: str) -> bool:
    """A Chinese name with Latin-1 letters and no Chinese character: bytes decoded in the wrong encoding."""
    return LATIN1_SUPPLEMENT.search(name) is not None and CJK.search(name) is None


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
