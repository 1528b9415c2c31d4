"""All-or-nothing import of administrative areas from a GIS file or an NBS list: check every row first, then upsert
the rows that differ from what is stored.

Retired areas. Codes are never deleted: households, villages, submissions, assignments and history name them. A file
given with --retire-missing is complete under its top codes (its rows under no other row), so every stored area
there that it lacks, at its own levels and everything under those, is retired (area.retired_at) in the same
transaction as the upsert, and only when every other check passed; one that the file has again is un-retired by the
upsert, in any import. The report counts and names both. A row under a retired parent is refused, whether the parent
was retired before or this file would retire it: no current area lies under a retired one. What a retired area
means elsewhere:

- pull feed (sync.pull): retiring and un-retiring are UPDATEs of `area`, whose trigger feeds `sync_change`; the area
  change carries `retired` (true or false), added beside its fields as protocol.md allows. Phones keep a retired area
  for the households in it and stop offering it for new ones.
- push (sync.flags): a retired code is still a known area, so nothing a device sent is refused or lost for it; a
  submission that places a new household or village in it, or moves a household into it, is accepted and flagged
  `area_retired` for the supervisor (devices that pulled before the retirement still offer it). Visits to
  households and villages already there are accepted as before, without a flag.
- GET /areas leaves retired areas out unless `include_retired=true`, and then gives `retired_at`; GET /areas/{code}
  answers for a retired area too, with its `retired_at`, since records still name it.
- map tiles (server.services.tiles): the areas layer does not draw retired areas, nor does the map's extent count
  them; households and submissions in them are drawn as before.
- assignments: no new assignment may name a retired area (assigning one of its households still works).
- scope: a user whose scope names a retired code keeps it and reads that area's records as before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point
from sqlalchemy import func, null, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.errors import AreaImportFailed
from server.models import Area, AreaLevel, AuditOutcome
from server.models.areas import CODE_LENGTH, PARENT_LEVEL
from server.services import area_retire, audit
from server.services.area_files import (
    AreaLayer,
    Feature,
    RowProblem,
    ValueRefused,
    area_shape,
    code_label,
    code_or_none,
    crs_problems,
    encoding_problems,
    is_missing,
    read_code,
    read_layer,
    read_name,
)

__all__ = ["ImportReport", "RowProblem", "import_areas", "unpadded"]

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

# The lengths at which the segments of a code end (province 2, prefecture 4, county 6, township 9, village 12, and our
# natural village 15). No area's own segment is all zeros, so zeros that end a code are padding: the NBS tables write
# every code with 12 digits (a township 532922100000), other lists with 6 (a county 532922, Dali 532900).
SEGMENT_ENDS = area_retire.SEGMENT_ENDS
LEVEL_OF_LENGTH = {length: level for level, length in CODE_LENGTH.items()}

T = TypeVar("T")


@dataclass(frozen=True)
class ImportOptions:
    """How to read the file and what it stands for: the choices of `flask areas import`."""

    layer: str | None = None
    encoding: str | None = None  # of a Shapefile or CSV that does not say its own
    trim_padded: bool = False  # trim the zero padding of codes (532922100000 -> 532922100) rather than refuse them
    retire_missing: bool = False  # the file is complete under its top codes: what it lacks there is retired


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
    padded_code: str | None = None  # the code as written, when its zero padding was trimmed


@dataclass(frozen=True)
class ImportReport:
    source: str
    levels: dict[AreaLevel, int]
    created: int
    updated: int
    unchanged: int = 0
    taken_as_wgs84: str | None = None  # "no CRS" or "CGCS2000": the coordinates were taken as WGS 84
    crs: str | None = None
    without_geometry: bool = False  # an attribute-only layer: an NBS list, a GeoPackage table
    trimmed: tuple[tuple[str, str], ...] = ()  # (as written, as stored) of every code whose padding was trimmed
    encoding: str | None = None
    retire_checked: tuple[str, ...] | None = None  # the top codes --retire-missing looked under
    retired: tuple[tuple[str, str], ...] = ()  # (code, name) of the areas --retire-missing retired
    already_retired: int = 0  # areas the file lacks that were retired before
    unretired: tuple[tuple[str, str], ...] = ()  # (code, name) of retired areas the file has again

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        parts = ", ".join(f"{n} {LABELS[level][n != 1]}" for level, n in self.levels.items() if n)
        notes = "".join(f" {note}" for note in self._notes())
        return (f"Imported {self.total} areas from {self.source}: {parts} "
                f"(created {self.created}, updated {self.updated}, unchanged {self.unchanged}).{notes}")

    def _notes(self) -> Iterator[str]:
        if self.taken_as_wgs84 == "no CRS":
            yield "The file has no CRS; its coordinates were taken as WGS 84."
        elif self.taken_as_wgs84 == "CGCS2000":
            yield (f"The file is in CGCS2000 ({self.crs}); its coordinates were taken as WGS 84 (EPSG:4326), "
                   "from which CGCS2000 differs by centimetres.")
        if self.without_geometry:
            yield "The layer has no geometry: boundaries and centroids were left empty (stored ones were kept)."
        if self.encoding:
            yield f"Text was read as {self.encoding}."
        if self.trimmed:
            written, stored = self.trimmed[0]
            yield f"Trimmed the zero padding of {len(self.trimmed)} code(s), e.g. {written} to {stored}."
        if self.unretired:
            yield f"Un-retired {len(self.unretired)} area(s) that the file has again ({_named(self.unretired)})."
        if self.retire_checked is None:
            return
        under = area_retire.shown(self.retire_checked)
        if self.retired:
            yield (f"--retire-missing: retired {len(self.retired)} area(s) under {under} that the file no longer has "
                   f"({_named(self.retired)}); their households, villages and history keep their codes.")
        elif self.already_retired:
            yield (f"--retire-missing: none to retire; the {self.already_retired} stored area(s) under {under} that "
                   "the file lacks were retired before.")
        else:
            yield f"--retire-missing: every stored area under {under} is in the file; none to retire."


def import_areas(session: Session, path: Path, *, actor: str, layer: str | None = None, encoding: str | None = None,
                 trim_padded: bool = False, retire_missing: bool = False) -> ImportReport:
    """Imports every area of one layer, or none of them; inserts new codes and updates known ones that differ.

    A row whose values are all as stored is not written at all, so that re-importing an unchanged file sends no
    area to the phones again (the pull feed's triggers on `area` fire on every row an UPDATE touches).
    Never commits: the caller commits or rolls back.

    Raises:
        AreaImportFailed: the file cannot be read, or a row is wrong; `problems` lists every
            problem found, and nothing has been written.
    """
    options = ImportOptions(layer, encoding, trim_padded, retire_missing)
    source = read_layer(path, options.layer, options.encoding)
    rows, problems = _check(session, source, options.trim_padded)
    # Only a file whose every row passed says what is missing: a refused row is not yet in it.
    retiring = area_retire.plan(session, rows) if options.retire_missing and not problems else None
    if retiring is not None:
        problems += area_retire.problems(rows, retiring)
    if problems:
        raise AreaImportFailed(problems)
    written = _write(session, rows, with_name_en="name_en" in source.columns)
    retired = area_retire.retire(session, retiring) if retiring is not None else ()
    report = _report(source, options, rows, written, retiring, retired)
    audit.record(session, "areas.import", AuditOutcome.success, actor=actor, target=source.file, details={
        "layer": source.layer, "created": report.created, "updated": report.updated, "unchanged": report.unchanged,
        "levels": {level.value: n for level, n in report.levels.items() if n}, "crs": source.crs,
        "encoding": options.encoding, "trimmed": len(report.trimmed), "retire_missing": options.retire_missing,
        "retired": len(report.retired), "unretired": len(report.unretired),
    })
    return report


@dataclass(frozen=True)
class Written:
    created: int
    updated: int
    unretired: tuple[tuple[str, str], ...]  # (code, name) of the updated areas that were retired


def _report(source: AreaLayer, options: ImportOptions, rows: Sequence[AreaRow], written: Written,
            retiring: area_retire.Plan | None, retired: tuple[tuple[str, str], ...]) -> ImportReport:
    levels = Counter(row.level for row in rows)
    return ImportReport(
        source.file if options.layer is None else f"{source.file} (layer {source.layer})",
        {level: levels[level] for level in AreaLevel}, written.created, written.updated,
        unchanged=len(rows) - written.created - written.updated, taken_as_wgs84=source.geographic_crs, crs=source.crs,
        without_geometry=not source.has_geometry, trimmed=tuple((row.padded_code, row.code) for row in rows if row.padded_code),
        encoding=options.encoding, retire_checked=None if retiring is None else retiring.tops, retired=retired,
        already_retired=0 if retiring is None else retiring.already_retired, unretired=written.unretired,
    )


def _check(session: Session, source: AreaLayer, trim_padded: bool) -> tuple[list[AreaRow], list[RowProblem]]:
    rows: list[AreaRow] = []
    problems = crs_problems(source) + encoding_problems(source)
    has_level = "level" in source.columns
    for feature in source.features:
        row, reasons = _check_feature(feature, trim_padded=trim_padded, has_level=has_level)
        problems += [RowProblem(feature.row, code_label(feature), reason) for reason in reasons]
        if row is not None:
            rows.append(row)
    problems += _duplicates(source.features, trim_padded)
    # A child whose parent row is refused for its padding is not also refused for an unknown parent.
    in_file = {code for feature in source.features if (code := _file_code(feature, trim_padded=True))}
    problems += _unknown_parents(session, rows, in_file)
    return rows, sorted(problems, key=lambda problem: problem.row)


def _check_feature(feature: Feature, *, trim_padded: bool, has_level: bool) -> tuple[AreaRow | None, list[str]]:
    """The row ready to write, or every reason it is refused."""
    reasons: list[str] = []

    def take(check: Callable[[], T]) -> T | None:
        try:
            return check()
        except ValueRefused as bad:
            reasons.append(str(bad))
            return None

    values = feature.values
    code, padded = take(lambda: _code(values.get("code"), trim_padded=trim_padded)) or (None, None)
    level = take(lambda: _level(values.get("level"))) if has_level else take(lambda: _level_of_code(code))
    parent = take(lambda: _parent(code, level, values.get("parent_code"), trim_padded)) if code and level else None
    name_zh = take(lambda: read_name(values.get("name_zh"), required=True))
    name_en = take(lambda: read_name(values.get("name_en"), required=False))
    shape = take(lambda: area_shape(feature))
    if reasons or code is None or level is None or name_zh is None or shape is None:
        return None, reasons
    return AreaRow(feature.row, code, level, parent, name_zh, name_en, *shape, padded_code=padded), []


def unpadded(code: str) -> str | None:
    """The code without the zeros that pad it to a longer level's length, or None when it is not padded."""
    if len(code) not in SEGMENT_ENDS:
        return None
    return next((code[:end] for end in SEGMENT_ENDS if end < len(code) and not code[end:].strip("0")), None)


def _code(value: Any, *, trim_padded: bool, column: str = "code") -> tuple[str, str | None]:
    """The code, and the code as written when its zero padding was trimmed.

    Raises:
        ValueRefused: not a code, or padded and not to be trimmed.
    """
    written = read_code(value)
    trimmed = unpadded(written)
    if trimmed is None:
        return written, None
    if not trim_padded:
        level = LABELS[LEVEL_OF_LENGTH[len(trimmed)]][0]
        raise ValueRefused(f"{column} {written} looks padded with zeros to {len(written)} digits: the {level}'s code "
                           f"is {trimmed} ({len(trimmed)} digits); write it so, or run again with --trim-padded "
                           f"(编码疑似补零，应为 {trimmed})")
    return trimmed, written


def _file_code(feature: Feature, *, trim_padded: bool) -> str | None:
    """The code a row stands for, as stored if it is imported (trimmed when asked), even if the row is refused."""
    code = code_or_none(feature.values.get("code"))
    if code is None or not trim_padded:
        return code
    return unpadded(code) or code


def _level_of_code(code: str | None) -> AreaLevel | None:
    """The level a code's length gives, in a file without a level column (an NBS list)."""
    if code is None:
        return None
    if len(code) not in LEVEL_OF_LENGTH:
        raise ValueRefused(f"code {code} has {len(code)} digits, the length of no level "
                           f"({', '.join(map(str, SEGMENT_ENDS))}); correct it, or add a level column "
                           "(编码位数不符，无法判断级别)")
    return LEVEL_OF_LENGTH[len(code)]


def _level(value: Any) -> AreaLevel:
    if is_missing(value):
        raise ValueRefused("missing level (缺少级别)")
    text = str(value).strip().lower().replace(" ", "_").replace("-", "_")
    try:
        return AreaLevel(text)
    except ValueError:
        raise ValueRefused(f"unknown level '{value}'; use one of {', '.join(AreaLevel)} (级别无效)") from None


def _parent(code: str, level: AreaLevel, given: Any, trim_padded: bool) -> str | None:
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
    parent, _written = _code(given, trim_padded=trim_padded, column="parent_code")
    if not code.startswith(parent):
        raise ValueRefused(f"code {code} does not start with its parent code {parent} (编码须以上级编码开头)")
    if parent != expected:
        raise ValueRefused(f"parent {parent} is not a {LABELS[parent_level][0]}: the parent of a "
                           f"{LABELS[level][0]} has a {CODE_LENGTH[parent_level]}-digit code, here {expected} "
                           "(上级级别不符)")
    return parent


def _duplicates(features: Sequence[Feature], trim_padded: bool) -> list[RowProblem]:
    first: dict[str, int] = {}
    problems = []
    for feature in features:
        code = _file_code(feature, trim_padded=trim_padded)
        if code is None:
            continue
        if code in first:
            problems.append(RowProblem(feature.row, code_label(feature),
                                       f"duplicate code: also on row {first[code]} (编码重复)"))
        else:
            first[code] = feature.row
    return problems


def _unknown_parents(session: Session, rows: Sequence[AreaRow], in_file: set[str]) -> list[RowProblem]:
    """Rows whose parent is not in the file and is not a current stored area: unknown, or retired."""
    wanted = sorted({row.parent_code for row in rows if row.parent_code and row.parent_code not in in_file})
    retired: dict[str, bool] = {}
    for batch in _batches(wanted):
        query = select(Area.code, Area.retired_at.is_not(None)).where(Area.code.in_(batch))
        retired.update(session.execute(query).tuples().all())
    return [RowProblem(row.row, row.code, _parent_problem(row.parent_code, retired.get(row.parent_code)))
            for row in rows
            if row.parent_code and row.parent_code not in in_file and retired.get(row.parent_code) is not False]


def _parent_problem(parent: str, retired: bool | None) -> str:
    if retired is None:
        return f"unknown parent {parent}: it is neither in this file nor in the database (上级区划不存在)"
    # No current area lies under a retired one: the file that brings a child back brings its parent back too.
    return (f"parent {parent} is retired (an official file no longer had it); add its row to this file to import it "
            "again, or correct the parent (上级区划已撤销)")


def _write(session: Session, rows: Sequence[AreaRow], *, with_name_en: bool) -> Written:
    """Upserts the rows, parents first; counts the created and the updated (the rest are unchanged), and names the
    retired ones that the upsert made current again."""
    ordered = sorted(rows, key=lambda row: (len(row.code), row.code))
    created = updated = 0
    unretired: list[tuple[str, str]] = []
    for batch in _batches(ordered):
        known = dict(session.execute(select(Area.code, Area.retired_at.is_not(None))
                                     .where(Area.code.in_([row.code for row in batch]))).tuples().all())
        written = set(session.scalars(_upsert(batch, with_name_en=with_name_en)))
        updated += sum(code in known for code in written)
        created += sum(code not in known for code in written)
        unretired += [(row.code, row.name_zh) for row in batch if row.code in written and known.get(row.code)]
    return Written(created, updated, tuple(unretired))


def _upsert(batch: Sequence[AreaRow], *, with_name_en: bool) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE of the rows whose values differ from the stored ones, RETURNING their codes."""
    statement = insert(Area).values([
        {
            "code": row.code, "level": row.level, "parent_code": row.parent_code, "name_zh": row.name_zh,
            "name_en": row.name_en, "boundary": _geometry(row.boundary), "centroid": _geometry(row.centroid),
        }
        for row in batch
    ])
    new = statement.excluded
    # A file without geometry (or without name_en) updates names only and keeps what is stored.
    changes: dict[str, Any] = {
        "name_zh": new.name_zh,
        "boundary": func.coalesce(new.boundary, Area.boundary),
        "centroid": func.coalesce(new.centroid, Area.centroid),
        "retired_at": null(),  # the file has the area: it is current again, if it was retired
    }
    if with_name_en:
        changes["name_en"] = new.name_en
    # An UPDATE that changes nothing would still fire the feed's trigger and re-send the area to every phone.
    stored = tuple_(*(Area.__table__.c[column] for column in changes))
    differs = stored.is_distinct_from(tuple_(*changes.values()))
    return (statement.on_conflict_do_update(index_elements=[Area.code], set_={**changes, "updated_at": func.now()},
                                            where=differs)
            .returning(Area.code))


def _named(areas: Sequence[tuple[str, str]]) -> str:
    return area_retire.shown([f"{code} {name}" for code, name in areas])


def _geometry(shape: MultiPolygon | Point | None) -> Any:
    return None if shape is None else from_shape(shape, srid=SRID)


def _batches(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]
