"""All-or-nothing import of administrative areas from a GIS file: check every row first, then upsert."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.errors import AreaImportFailed
from server.models import Area, AreaLevel, AuditOutcome
from server.models.areas import CODE_LENGTH, PARENT_LEVEL
from server.services import audit
from server.services.area_files import (
    AreaLayer,
    Feature,
    RowProblem,
    ValueRefused,
    area_shape,
    code_label,
    code_or_none,
    crs_problems,
    is_missing,
    read_code,
    read_layer,
    read_name,
)

__all__ = ["ImportReport", "RowProblem", "import_areas"]

SRID = 4326
# Rows per INSERT statement: seven parameters a row stays far below PostgreSQL's 65,535.
BATCH = 1000

LABELS = {
    AreaLevel.province: ("province", "provinces"),
    AreaLevel.prefecture: ("prefecture", "prefectures"),
    AreaLevel.county: ("county", "counties"),
    AreaLevel.township: ("township", "townships"),
    AreaLevel.admin_village: ("administrative village", "administrative villages"),
    AreaLevel.natural_village: ("natural village", "natural villages"),
}

T = TypeVar("T")


@dataclass(frozen=True)
class AreaRow:
    row: int
    code: str
    level: AreaLevel
    parent_code: str | None
    name_zh: str
    name_en: str | None
    boundary: MultiPolygon | None
    centroid: Point | None


@dataclass(frozen=True)
class ImportReport:
    source: str
    levels: dict[AreaLevel, int]
    created: int
    updated: int
    assumed_wgs84: bool = False

    @property
    def total(self) -> int:
        return self.created + self.updated

    def summary(self) -> str:
        parts = ", ".join(f"{n} {LABELS[level][n != 1]}" for level, n in self.levels.items() if n)
        note = " The file has no CRS; its coordinates were taken as WGS 84." if self.assumed_wgs84 else ""
        return (f"Imported {self.total} areas from {self.source}: {parts} "
                f"(created {self.created}, updated {self.updated}).{note}")


def import_areas(session: Session, path: Path, *, layer: str | None = None, actor: str) -> ImportReport:
    """Imports every area of one layer, or none of them; inserts new codes and updates known ones.

    Never commits: the caller commits or rolls back.

    Raises:
        AreaImportFailed: the file cannot be read, or a row is wrong; `problems` lists every
            problem found, and nothing has been written.
    """
    source = read_layer(path, layer)
    rows, problems = _check(session, source)
    if problems:
        raise AreaImportFailed(problems)
    created = _write(session, rows, with_name_en="name_en" in source.columns)
    levels = Counter(row.level for row in rows)
    report = ImportReport(
        source.file if layer is None else f"{source.file} (layer {source.layer})",
        {level: levels[level] for level in AreaLevel}, created, len(rows) - created, source.crs is None,
    )
    audit.record(session, "areas.import", AuditOutcome.success, actor=actor, target=source.file, details={
        "layer": source.layer, "created": report.created, "updated": report.updated,
        "levels": {level.value: n for level, n in report.levels.items() if n},
    })
    return report


def _check(session: Session, source: AreaLayer) -> tuple[list[AreaRow], list[RowProblem]]:
    rows: list[AreaRow] = []
    problems = crs_problems(source)
    for feature in source.features:
        row, reasons = _check_feature(feature)
        problems += [RowProblem(feature.row, code_label(feature), reason) for reason in reasons]
        if row is not None:
            rows.append(row)
    problems += _duplicates(source.features)
    in_file = {code for feature in source.features if (code := code_or_none(feature.values.get("code")))}
    problems += _unknown_parents(session, rows, in_file)
    return rows, sorted(problems, key=lambda problem: problem.row)


def _check_feature(feature: Feature) -> tuple[AreaRow | None, list[str]]:
    """The row ready to write, or every reason it is refused."""
    reasons: list[str] = []

    def take(check: Callable[[], T]) -> T | None:
        try:
            return check()
        except ValueRefused as bad:
            reasons.append(str(bad))
            return None

    values = feature.values
    code = take(lambda: read_code(values.get("code")))
    level = take(lambda: _level(values.get("level")))
    parent = take(lambda: _parent(code, level, values.get("parent_code"))) if code and level else None
    name_zh = take(lambda: read_name(values.get("name_zh"), required=True))
    name_en = take(lambda: read_name(values.get("name_en"), required=False))
    shape = take(lambda: area_shape(feature))
    if reasons or code is None or level is None or name_zh is None or shape is None:
        return None, reasons
    return AreaRow(feature.row, code, level, parent, name_zh, name_en, *shape), []


def _level(value: Any) -> AreaLevel:
    if is_missing(value):
        raise ValueRefused("missing level (缺少级别)")
    text = str(value).strip().lower().replace(" ", "_").replace("-", "_")
    try:
        return AreaLevel(text)
    except ValueError:
        raise ValueRefused(f"unknown level '{value}'; use one of {', '.join(AreaLevel)} (级别无效)") from None


def _parent(code: str, level: AreaLevel, given: Any) -> str | None:
    """The parent's code: the code's prefix of the parent level's length, or the one given, if it agrees."""
    if len(code) != CODE_LENGTH[level]:
        raise ValueRefused(f"code {code} has {len(code)} digits but a {LABELS[level][0]} code has "
                           f"{CODE_LENGTH[level]} (编码位数与级别不符)")
    if level not in PARENT_LEVEL:
        if not is_missing(given):
            raise ValueRefused(f"a province has no parent, but parent_code is {given} (省级没有上级)")
        return None
    parent_level = PARENT_LEVEL[level]
    expected = code[: CODE_LENGTH[parent_level]]
    if is_missing(given):
        return expected
    parent = read_code(given)
    if not code.startswith(parent):
        raise ValueRefused(f"code {code} does not start with its parent code {parent} (编码须以上级编码开头)")
    if parent != expected:
        raise ValueRefused(f"parent {parent} is not a {LABELS[parent_level][0]}: the parent of a "
                           f"{LABELS[level][0]} has a {CODE_LENGTH[parent_level]}-digit code, here {expected} "
                           "(上级级别不符)")
    return parent


def _duplicates(features: Sequence[Feature]) -> list[RowProblem]:
    first: dict[str, int] = {}
    problems = []
    for feature in features:
        code = code_or_none(feature.values.get("code"))
        if code is None:
            continue
        if code in first:
            problems.append(RowProblem(feature.row, code, f"duplicate code: also on row {first[code]} (编码重复)"))
        else:
            first[code] = feature.row
    return problems


def _unknown_parents(session: Session, rows: Sequence[AreaRow], in_file: set[str]) -> list[RowProblem]:
    wanted = sorted({row.parent_code for row in rows if row.parent_code and row.parent_code not in in_file})
    known: set[str] = set()
    for batch in _batches(wanted):
        known.update(session.scalars(select(Area.code).where(Area.code.in_(batch))))
    return [
        RowProblem(row.row, row.code, f"unknown parent {row.parent_code}: it is neither in this file nor in the "
                                      "database (上级区划不存在)")
        for row in rows
        if row.parent_code and row.parent_code not in in_file and row.parent_code not in known
    ]


def _write(session: Session, rows: Sequence[AreaRow], *, with_name_en: bool) -> int:
    """Upserts the rows, parents first, and returns how many were new."""
    ordered = sorted(rows, key=lambda row: (len(row.code), row.code))
    created = 0
    for batch in _batches(ordered):
        codes = [row.code for row in batch]
        created += len(codes) - len(session.scalars(select(Area.code).where(Area.code.in_(codes))).all())
        session.execute(_upsert(batch, with_name_en=with_name_en))
    return created


def _upsert(batch: Sequence[AreaRow], *, with_name_en: bool) -> Any:
    statement = insert(Area).values([
        {
            "code": row.code, "level": row.level, "parent_code": row.parent_code, "name_zh": row.name_zh,
            "name_en": row.name_en, "boundary": _geometry(row.boundary), "centroid": _geometry(row.centroid),
        }
        for row in batch
    ])
    new = statement.excluded
    # A file without geometry (or without name_en) updates names only and keeps what is stored.
    changes = {
        "name_zh": new.name_zh,
        "boundary": func.coalesce(new.boundary, Area.boundary),
        "centroid": func.coalesce(new.centroid, Area.centroid),
        "updated_at": func.now(),
    }
    if with_name_en:
        changes["name_en"] = new.name_en
    return statement.on_conflict_do_update(index_elements=[Area.code], set_=changes)


def _geometry(shape: MultiPolygon | Point | None) -> Any:
    return None if shape is None else from_shape(shape, srid=SRID)


def _batches(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]
