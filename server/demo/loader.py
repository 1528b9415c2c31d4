"""Writes the generated demo into the database in batches; the caller commits."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.errors import Conflict
from server.demo.accounts import ACCOUNTS, DemoAccount
from server.demo.areas import AreaRow, generate_areas
from server.demo.dali import PREFECTURE, PROVINCE
from server.demo.households import generate_households
from server.demo.sizes import DemoSize
from server.models import Area, AreaLevel, Household, Person
from server.services.users import create_user

# Rows per INSERT batch: large enough for psycopg's pipelined executemany, small enough for memory.
BATCH = 5_000
PROGRESS_EVERY = 50_000


@dataclass(frozen=True)
class DemoReport:
    size: str
    seed: int
    areas: dict[AreaLevel, int]
    households: int
    people: int
    accounts: list[DemoAccount]
    seconds: float

    def summary(self) -> str:
        lines = [f"Loaded the Dali demo (size {self.size}, seed {self.seed}) in {self.seconds:.1f} s."]
        lines += [f"  {level.value:<16} {count:>9,}" for level, count in self.areas.items()]
        lines += [f"  {'households':<16} {self.households:>9,}", f"  {'people':<16} {self.people:>9,}"]
        lines.append(f"  {len(self.accounts)} demo accounts: see `flask demo accounts`")
        return "\n".join(lines)


def is_loaded(session: Session) -> bool:
    """True when the demo prefecture (大理州 5329) is in the database, loaded or imported."""
    return session.scalar(select(Area.code).where(Area.code == PREFECTURE[0])) is not None


def load(
    session: Session, *, seed: int, size: DemoSize, actor: str, progress: Callable[[str], None]
) -> DemoReport:
    """Adds the demo areas, households, members and accounts; flushes but never commits.

    Raises:
        Conflict: the prefecture is already there (a previous load, or an import of the real areas).
    """
    if is_loaded(session):
        raise Conflict(f"Area {PREFECTURE[0]} ({PREFECTURE[1]}) already exists: the demo is loaded or Dali was "
                       "imported. Use --if-empty to skip, or load into an empty database.")
    started = time.monotonic()
    areas = generate_areas(seed, size)
    counts = _insert_areas(session, areas, progress)
    natural_villages = [area for area in areas if area.level is AreaLevel.natural_village]
    households, people = _insert_households(session, seed, size, natural_villages, progress)
    for account in ACCOUNTS:
        create_user(session, account.username, account.role, account.areas, account.password,
                    actor=actor, display_name=account.display_name)
    progress(f"accounts: {len(ACCOUNTS)}")
    return DemoReport(size.name, seed, counts, households, people, ACCOUNTS, time.monotonic() - started)


def _insert_areas(session: Session, areas: list[AreaRow], progress: Callable[[str], None]) -> dict[AreaLevel, int]:
    # The province may exist already, from an import of other prefectures: keep that one.
    province_exists = session.scalar(select(Area.code).where(Area.code == PROVINCE[0])) is not None
    counts: dict[AreaLevel, int] = {}
    for level in AreaLevel:
        rows = [area.values() for area in areas if area.level is level]
        if level is AreaLevel.province and province_exists:
            rows = []
        _insert(session, Area, rows)
        counts[level] = len(rows)
        progress(f"{level.value}: {len(rows):,} areas")
    return counts


def _insert_households(
    session: Session, seed: int, size: DemoSize, natural_villages: list[AreaRow], progress: Callable[[str], None]
) -> tuple[int, int]:
    total_households = total_people = 0
    for households, members in _batches(seed, size, natural_villages):
        # Households first: their members refer to them.
        _insert(session, Household, households)
        _insert(session, Person, members)
        before, total_households = total_households, total_households + len(households)
        total_people += len(members)
        if total_households // PROGRESS_EVERY > before // PROGRESS_EVERY:
            progress(f"households: {total_households:,} so far")
    progress(f"households: {total_households:,}, people: {total_people:,}")
    return total_households, total_people


def _batches(
    seed: int, size: DemoSize, natural_villages: list[AreaRow]
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Household and member rows in batches of about BATCH households, whole villages at a time."""
    households: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    for village in natural_villages:
        for household in generate_households(seed, village, size.households_per_natural_village):
            households.append(household.values)
            members.extend(household.members)
        if len(households) >= BATCH:
            yield households, members
            households, members = [], []
    if households:
        yield households, members


def _insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    # Core on the table, not the ORM bulk path: a fifth faster, and these rows need no identity map.
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model.__table__), rows[start:start + BATCH])
