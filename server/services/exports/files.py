"""Layers written to a file: GeoPackage, GeoJSON, Shapefile and KML by GDAL, CSV and XLSX by the standard library and
openpyxl, each streamed a batch at a time from a server-side cursor so memory does not grow with the rows.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import shapely
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from pyogrio.raw import write_arrow
from sqlalchemy.orm import Session

from core.clock import CHINA
from core.errors import InvalidInput
from server.services.exports.layers import Kind, Layer, Shape

# Rows fetched, converted and written at a time. A row of the households layer is some 110 Python objects, so a batch
# of 20,000 held about 150 MB: at 2,000, a million households export at ogr2ogr's rate in 277 MB at the peak instead
# of 455 (bench/export_bench.py).
BATCH_ROWS = 2_000
XLSX_MAX_ROWS = 1_048_575  # a sheet's rows below its header; more go on to a continued sheet
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # ASVS 1.2.10: a cell that a spreadsheet would run as a formula

Progress = Callable[[int], None]


class Format(StrEnum):
    gpkg = "gpkg"
    geojson = "geojson"
    csv = "csv"
    shp = "shp"
    kml = "kml"
    xlsx = "xlsx"
    json = "json"  # for the pages: each layer's columns with their labels, and its rows as objects


@dataclass(frozen=True)
class Written:
    """What a file holds: its name as the reader downloads it, its media type, and the rows of each layer."""

    filename: str
    media_type: str
    rows: dict[str, int]


MEDIA_TYPES = {
    Format.gpkg: "application/geopackage+sqlite3",
    Format.geojson: "application/geo+json",
    Format.csv: "text/csv",  # Flask adds "; charset=utf-8" to a text type
    Format.kml: "application/vnd.google-earth.kml+xml",
    Format.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.json: "application/json",
}
ZIP = "application/zip"

_ARROW = {Kind.text: pa.string(), Kind.integer: pa.int64(), Kind.decimal: pa.float64(), Kind.date: pa.date32(),
          Kind.boolean: pa.bool_(), Kind.datetime: pa.timestamp("ms", tz="UTC")}
_GDAL = {Format.gpkg: "GPKG", Format.geojson: "GeoJSON", Format.shp: "ESRI Shapefile", Format.kml: "KML"}
_EXTENSIONS = {Format.geojson: "geojson", Format.shp: "shp"}
# GeoPackage 1.3: its R-tree triggers are the ones GDAL before 3.7 (Debian 12's, and QGIS builds on it) reads and
# validates; 1.4 changed them, and nothing of 1.4 is needed here.
_GDAL_DATASET_OPTIONS: dict[Format, dict[str, str]] = {Format.gpkg: {"VERSION": "1.3"}}
_GDAL_LAYER_OPTIONS: dict[Format, dict[str, str]] = {
    Format.geojson: {"RFC7946": "YES"},  # its "name" member (a foreign member RFC 7946 allows) names the layer
    Format.shp: {"ENCODING": "UTF-8"},  # and so a .cpg that says so
}


Opener = Callable[[Any, bytes | None], Any]  # a stored value and the context its seal is bound to -> clear text


def batches(session: Session, layer: Layer, opened: Opener | None = None) -> Iterator[list[Sequence[Any]]]:
    """The layer's rows in its order, BATCH_ROWS at a time, from a server-side cursor. `opened` turns sealed values
    of the columns marked sealed into clear text (an unmasked export only)."""
    offset = layer.shape is not None
    sealed = [i + offset for i, c in enumerate(layer.columns) if c.sealed] if opened else []
    context = layer.names.index(layer.seal_context) + offset if sealed and layer.seal_context else None
    # Options of this statement only: set on the connection, they would turn the audit row's INSERT into a cursor too.
    result = session.execute(layer.query.order_by(*layer.order),
                             execution_options={"stream_results": True, "yield_per": BATCH_ROWS})
    for part in result.partitions():
        if not sealed:
            yield part
            continue
        rows = [list(row) for row in part]
        for row in rows:
            bound = None if context is None or row[context] is None else uuid.UUID(str(row[context])).bytes
            for i in sealed:
                row[i] = opened(row[i], bound)  # type: ignore[misc]
        yield rows


def write(session: Session, layers: Sequence[Layer], fmt: Format, directory: Path, stem: str,
          progress: Progress | None = None, opened: Opener | None = None) -> tuple[Path, Written]:
    """Writes the layers into one file in `directory` (a zip where the format holds one layer per file), and returns
    its path and what it holds."""
    if fmt is Format.kml and not any(layer.shape for layer in layers):
        raise InvalidInput("KML holds places: this export has no layer with a geometry. Choose CSV or XLSX. "
                           "KML 只能保存有位置的图层，此导出没有带几何的图层，请选择 CSV 或 XLSX。",
                           code="format_not_possible")
    counted = _Counter(progress)
    with tempfile.TemporaryDirectory(dir=directory) as work:
        files = _WRITERS[fmt](session, layers, Path(work), counted, opened)
        if len(files) == 1 and fmt is not Format.shp:
            target, media_type = directory / f"{stem}.{fmt.value}", MEDIA_TYPES[fmt]
            shutil.move(files[0], target)
        else:  # a Shapefile is several files; GeoJSON and CSV hold one layer each
            target, media_type = directory / f"{stem}.{fmt.value}.zip", ZIP
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in files:
                    archive.write(path, path.name)
    return target, Written(target.name, media_type, counted.rows)


class _Counter:
    def __init__(self, progress: Progress | None):
        self.progress = progress
        self.rows: dict[str, int] = {}

    def __call__(self, layer: Layer, rows: int) -> None:
        self.rows[layer.name] = self.rows.get(layer.name, 0) + rows
        if self.progress:
            self.progress(rows)


# GDAL formats


def _schema(layer: Layer, names: Sequence[str]) -> pa.Schema:
    fields = [pa.field("geometry", pa.binary())] if layer.shape else []
    return pa.schema(fields + [pa.field(name, _ARROW[c.kind]) for name, c in zip(names, layer.columns, strict=True)])


def _record_batches(session: Session, layer: Layer, schema: pa.Schema, counted: _Counter,
                    opened: Opener | None) -> Iterator[pa.RecordBatch]:
    for rows in batches(session, layer, opened):
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
        arrays = [pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)]
        yield pa.record_batch(arrays, schema=schema)
        counted(layer, len(rows))


def _gdal(fmt: Format) -> Callable[..., list[Path]]:
    def writer(session: Session, layers: Sequence[Layer], work: Path, counted: _Counter,
               opened: Opener | None) -> list[Path]:
        shared = work / f"layer.{fmt.value}"  # GeoPackage and KML hold every layer in one file
        files: list[Path] = []
        for layer in layers:
            if fmt is Format.kml and layer.shape is None:
                continue  # a table without places: in the CSV and XLSX exports, not in KML
            names = _short_names(layer) if fmt is Format.shp else layer.names
            schema = _schema(layer, names)
            path = shared if fmt in (Format.gpkg, Format.kml) else work / f"{layer.name}.{_EXTENSIONS[fmt]}"
            reader = pa.RecordBatchReader.from_batches(schema, _record_batches(session, layer, schema, counted, opened))
            write_arrow(reader, str(path), layer=layer.name, driver=_GDAL[fmt],
                        geometry_name="geometry" if layer.shape else None,
                        geometry_type=layer.shape.value if layer.shape else None,
                        crs="EPSG:4326" if layer.shape else None, append=path.exists(),
                        layer_options=_GDAL_LAYER_OPTIONS.get(fmt),
                        dataset_options=None if path.exists() else _GDAL_DATASET_OPTIONS.get(fmt))
            if fmt is Format.shp:
                files += sorted(work.glob(f"{layer.name}.*"))
                files.append(_name_table(work, layer, names))
            elif path not in files:
                files.append(path)
        return files
    return writer


def _short_names(layer: Layer) -> list[str]:
    """Field names DBF can hold (10 characters), unique within the layer; `<layer>_fields.csv` keeps the long ones."""
    names: list[str] = []
    for column in layer.columns:
        short = column.name[:10]
        n = 1
        while short in names:
            short = f"{column.name[:7]}_{n:02d}"
            n += 1
        names.append(short)
    return names


def _name_table(work: Path, layer: Layer, names: Sequence[str]) -> Path:
    path = work / f"{layer.name}_fields.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        table = csv.writer(out)
        table.writerow(["field", "name", "label_zh", "label_en"])
        for short, column in zip(names, layer.columns, strict=True):
            table.writerow([short, column.name, column.label.get("zh", ""), column.label.get("en", "")])
    return path


# Tables: CSV and XLSX, with the place as lon/lat (a point) or WKT (a boundary)


def escaped(value: Any) -> Any:
    """A text cell a spreadsheet would take as a formula, made plain text with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):  # an aggregate of PostgreSQL numerics (a median)
        return float(value)
    raise TypeError(f"{type(value).__name__} is not exported as JSON")


def _as_is(value: Any) -> Any:
    return value


def _place_headers(layer: Layer) -> list[str]:
    if layer.shape is Shape.point:
        return ["lon", "lat"]
    return ["wkt"] if layer.shape else []


def _table_rows(session: Session, layer: Layer, counted: _Counter, opened: Opener | None,
                escape: bool = True) -> Iterator[list[Any]]:
    """Rows with their place first (lon and lat, or WKT), text cells escaped for a spreadsheet unless told."""
    plain = escaped if escape else _as_is
    for rows in batches(session, layer, opened):
        if layer.shape:
            shapes = shapely.from_wkb([row[0] for row in rows])
            if layer.shape is Shape.point:
                places = zip(shapely.get_x(shapes).tolist(), shapely.get_y(shapes).tolist(), strict=True)
                places = [[None, None] if shape is None else [round(x, 7), round(y, 7)]
                          for shape, (x, y) in zip(shapes, places, strict=True)]
            else:
                places = [[None if shape is None else shapely.to_wkt(shape, rounding_precision=7)] for shape in shapes]
            values: Iterator[list[Any]] = (place + [plain(v) for v in row[1:]]
                                           for place, row in zip(places, rows, strict=True))
        else:
            values = ([plain(v) for v in row] for row in rows)
        yield from values
        counted(layer, len(rows))


def _csv(session: Session, layers: Sequence[Layer], work: Path, counted: _Counter,
         opened: Opener | None) -> list[Path]:
    files = []
    for layer in layers:
        path = work / f"{layer.name}.csv"
        # UTF-8 with a byte-order mark: Excel then shows Chinese instead of guessing the system's code page.
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            table = csv.writer(out)
            table.writerow(_place_headers(layer) + layer.names)
            for row in _table_rows(session, layer, counted, opened):
                table.writerow(row)
        files.append(path)
    return files


def _xlsx(session: Session, layers: Sequence[Layer], work: Path, counted: _Counter,
          opened: Opener | None) -> list[Path]:
    book = Workbook(write_only=True)  # rows go to a temporary file as they are appended, not into memory
    about = book.create_sheet("字段说明 Columns")
    about.append(["sheet", "column", "名称", "label"])
    for layer in layers:
        sheets = _Sheets(book, layer)
        for row in _table_rows(session, layer, counted, opened):
            sheets.append([_cell(v) for v in row])
        sheets.close()
        for column in layer.columns:
            about.append([layer.name, column.name, column.label.get("zh", ""), column.label.get("en", "")])
    path = work / "layer.xlsx"
    book.save(path)
    return [path]


class _Sheets:
    """One layer's sheets: a data table headed by column names, or a ledger (Layer.ledger) as a county office prints
    it, titled, headed by the Chinese labels and numbered (序号); a sheet full goes on in a continued one."""

    def __init__(self, book: Workbook, layer: Layer):
        self.book, self.layer = book, layer
        self.sheet: Any = None
        self.rows, self.part, self.number = XLSX_MAX_ROWS, 0, 0

    def _start(self) -> None:
        layer = self.layer
        self.part += 1
        self.sheet = self.book.create_sheet((layer.name if self.part == 1 else f"{layer.name} ({self.part})")[:31])
        headers: list[Any] = _place_headers(layer) + layer.names
        if layer.ledger:
            labels = [c.label.get("zh") or c.name for c in layer.columns]
            headers = [_bold(self.sheet, h) for h in ["序号", *_place_headers(layer), *labels]]
            for letter, text in zip(_letters(), ["序号", *labels], strict=False):
                self.sheet.column_dimensions[letter].width = min(40, max(8, 2.2 * len(text)))
            title = WriteOnlyCell(self.sheet, value=layer.title.get("zh", layer.name))
            title.font = Font(bold=True, size=14)
            self.sheet.append([title])
        self.sheet.freeze_panes = "A3" if layer.ledger else "A2"
        self.sheet.append(headers)
        self.rows = 0

    def append(self, row: list[Any]) -> None:
        if self.rows >= XLSX_MAX_ROWS:
            self._start()
        self.number += 1
        self.sheet.append([self.number, *row] if self.layer.ledger else row)
        self.rows += 1

    def close(self) -> None:
        if self.sheet is None:
            self._start()


def _bold(sheet: Any, text: str) -> Any:
    cell = WriteOnlyCell(sheet, value=text)
    cell.font = Font(bold=True)
    return cell


def _letters() -> Iterator[str]:
    for i in range(1, 16384):
        yield get_column_letter(i)


def _json(session: Session, layers: Sequence[Layer], work: Path, counted: _Counter,
          opened: Opener | None) -> list[Path]:
    """{"layers": [{"name", "title", "columns": [{"name", "kind", "label"}], "rows": [{...}]}]}, written a row at a
    time; a point is its lon and lat, a boundary its WKT (pages draw boundaries from the map tiles)."""
    path = work / "layer.json"
    with path.open("wb") as out:
        out.write(b'{"layers":[')
        for n, layer in enumerate(layers):
            columns = [{"name": name, "kind": "decimal", "label": {}} for name in _place_headers(layer)]
            columns += [{"name": c.name, "kind": c.kind.value, "label": dict(c.label)} for c in layer.columns]
            head = {"name": layer.name, "title": dict(layer.title), "columns": columns}
            out.write((b"," if n else b"") + orjson.dumps(head)[:-1] + b',"rows":[')
            names = [c["name"] for c in columns]
            for i, row in enumerate(_table_rows(session, layer, counted, opened, escape=False)):
                out.write((b"," if i else b"") + orjson.dumps(dict(zip(names, row, strict=True)), default=_number))
            out.write(b"]}")
        out.write(b"]}")
    return [path]


def _cell(value: Any) -> Any:
    # Excel keeps no time zone: a time is written as China time, the time the county works in.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(CHINA).replace(tzinfo=None)
    return value


_WRITERS: dict[Format, Callable[..., list[Path]]] = {
    Format.gpkg: _gdal(Format.gpkg), Format.geojson: _gdal(Format.geojson), Format.shp: _gdal(Format.shp),
    Format.kml: _gdal(Format.kml), Format.csv: _csv, Format.xlsx: _xlsx, Format.json: _json,
}
