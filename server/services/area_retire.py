"""Retirement of the stored areas that a complete official file no longer has (`flask areas import --retire-missing`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.scope import in_scope
from server.models import Area
from server.models.areas import CODE_LENGTH
from server.services.area_files import RowProblem

# The lengths at which the segments of a code end: a code's prefix of one of them is an area above it.
SEGMENT_ENDS = sorted(CODE_LENGTH.values())
# Codes named in a report or a problem; the count says how many more.
SHOWN = 5
# Codes per UPDATE: far below PostgreSQL's 65,535 parameters.
BATCH = 1000

T = TypeVar("T")


class FileRow(Protocol):
    """What retirement reads of a checked row of the file (server.services.area_import.AreaRow)."""

    @property
    def row(self) -> int: ...

    @property
    def code(self) -> str: ...

    @property
    def parent_code(self) -> str | None: ...


@dataclass(frozen=True)
class Plan:
    """What a complete file retires: checked before anything is written, carried out after the upsert."""

    tops: tuple[str, ...]  # the file's top codes, under which it is complete
    to_retire: tuple[tuple[str, str], ...]  # (code, name) of the stored areas it lacks that are not retired yet
    already_retired: int  # areas it lacks that were retired before


def plan(session: Session, rows: Sequence[FileRow]) -> Plan:
    """The areas that `rows`, a complete file, retires; the rows must have passed every other check."""
    tops = top_codes(rows)
    missing = _missing_areas(session, rows, tops)
    return Plan(tops, tuple((code, name) for code, name, retired in missing if not retired),
                sum(retired for _code, _name, retired in missing))


def problems(rows: Sequence[FileRow], retiring: Plan) -> list[RowProblem]:
    """Rows the plan would leave under a retired parent: a complete file that has a village has its township too."""
    gone = {code for code, _name in retiring.to_retire}
    return [RowProblem(row.row, row.code, f"its parent {row.parent_code} is not in this file, so --retire-missing "
                                          f"would retire it; add the row of {row.parent_code}, or run without "
                                          "--retire-missing (上级区划不在文件中，将被撤销)")
            for row in rows if row.parent_code in gone]


def retire(session: Session, retiring: Plan) -> tuple[tuple[str, str], ...]:
    """Sets retired_at on the planned areas; returns (code, name) of those it retired.

    One UPDATE per batch fires the area feed's statement trigger (migration 20261202_05), so each retired area
    reaches the phones in scope as an area change with `retired: true` (sync.pull).
    """
    names = dict(retiring.to_retire)
    retired: set[str] = set()
    for batch in _batches(list(names)):
        # retired_at IS NULL: an area retired meanwhile keeps the date it was first retired on.
        retired.update(session.scalars(update(Area).where(Area.code.in_(batch), Area.retired_at.is_(None))
                                       .values(retired_at=func.now(), updated_at=func.now()).returning(Area.code)))
    return tuple((code, name) for code, name in retiring.to_retire if code in retired)


def top_codes(rows: Sequence[FileRow]) -> tuple[str, ...]:
    """The codes of the file's top rows: those under no other row of the file (whose parent may yet be missing)."""
    in_file = {row.code for row in rows}
    return tuple(sorted(row.code for row in rows
                        if not any(row.code[:end] in in_file for end in SEGMENT_ENDS if end < len(row.code))))


def _missing_areas(session: Session, rows: Sequence[FileRow], tops: Sequence[str]) -> list[tuple[str, str, bool]]:
    """(code, name, retired already) of the stored areas under the top codes that a complete file lacks: those it does
    not have at the levels from its highest to its lowest, and everything under them. A file of counties says nothing
    of townships, so the townships of counties it still has stay."""
    in_file = {row.code for row in rows}
    lengths = {len(row.code) for row in rows}  # a checked row's code has its level's length
    stored = session.execute(select(Area.code, Area.name_zh, Area.retired_at.is_not(None))
                             .where(in_scope(Area.code, tops)).order_by(Area.code)).all()
    gone = {code for code, _name, _retired in stored if min(lengths) <= len(code) <= max(lengths) and code not in in_file}
    return [(code, name, retired) for code, name, retired in stored
            if code not in in_file and any(code[:end] in gone for end in SEGMENT_ENDS if end <= len(code))]


def shown(codes: Sequence[str]) -> str:
    """The first few codes, and how many more."""
    first = ", ".join(codes[:SHOWN])
    return first if len(codes) <= SHOWN else f"{first} and {len(codes) - SHOWN} more"


def _batches(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]
