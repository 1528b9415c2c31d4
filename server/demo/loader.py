"""Writes the generated demo into the database in batches; the caller commits."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core.errors import Conflict
from server.demo import parameters, profiles, report
from server.demo.accounts import ACCOUNTS
from server.demo.areas import AreaRow, generate_areas
from server.demo.cases import DemoCase
from server.demo.dali import PREFECTURE
from server.demo.households import generate_households
from server.demo.report import DemoReport
from server.demo.sizes import DemoSize
from server.demo.villages import generate_villages
from server.models import (
    Area,
    AreaLevel,
    AssistanceMeasure,
    Household,
    MonitoringCase,
    MonitoringEvent,
    Person,
    Role,
    User,
    Village,
)
from server.services.users import create_user

# Rows per INSERT batch: large enough for psycopg's pipelined executemany, small enough for memory.
BATCH = 5_000
PROGRESS_EVERY = 50_000
# The tables of a batch, parents first: members, cases and measures refer to their household, events to their case.
TABLES = (Household, Person, MonitoringCase, MonitoringEvent, AssistanceMeasure)
# The demo supervisor's county gets a case in every state (profiles.py), so that their lists show each.
SHOWCASE_COUNTY = next(account.areas[0] for account in ACCOUNTS if account.role is Role.supervisor)
# Areas named in the refusal to load beside real ones.
REAL_AREAS_SHOWN = 3


def is_loaded(session: Session) -> bool:
    """True when the demo prefecture (大理州 5329) is in the database, loaded or imported."""
    return session.scalar(select(Area.code).where(Area.code == PREFECTURE[0])) is not None


def load(
    session: Session, *, seed: int, size: DemoSize, actor: str, progress: Callable[[str], None]
) -> DemoReport:
    """Adds the demo areas, accounts, yearly parameters, households with their members, incomes and monitoring cases,
    and the villages' infrastructure; flushes but never commits.

    Raises:
        Conflict: the prefecture is already there (a previous load, or an import of the real areas), or the database
            holds other areas, which can only be real ones.
    """
    if is_loaded(session):
        raise Conflict(_prefecture_there(session))
    _refuse_real_areas(session)
    started = time.monotonic()
    areas = generate_areas(seed, size)
    counts = _insert_areas(session, areas, progress)
    # The accounts come before the households: the supervisors are the ones who took the cases' steps.
    actors = _create_accounts(session, actor)
    progress(f"accounts: {len(ACCOUNTS)}")
    parameters.load(session, actor=actor)
    natural_villages = [area for area in areas if area.level is AreaLevel.natural_village]
    households, people = _insert_households(session, seed, size, natural_villages, actors, progress)
    villages = generate_villages(seed, natural_villages, [a for a in areas if a.level is AreaLevel.admin_village])
    _insert(session, Village, villages)
    progress(f"villages: {len(villages):,}")
    return DemoReport(size.name, seed, counts, households, people, ACCOUNTS, time.monotonic() - started,
                      report.count(session))


def _prefecture_there(session: Session) -> str:
    """Why the prefecture is there: a load writes the demo accounts with it, an import of Dali's real areas does not."""
    usernames = [account.username for account in ACCOUNTS]
    if session.scalar(select(User.id).where(User.username.in_(usernames)).limit(1)) is not None:
        return (f"Area {PREFECTURE[0]} ({PREFECTURE[1]}) already exists: the demo is loaded. Use --if-empty to skip, "
                "or load into an empty database.")
    return (f"区划 {PREFECTURE[0]}（{PREFECTURE[1]}）已从真实文件导入，演示数据不能装入其中 · Area {PREFECTURE[0]} "
            f"({PREFECTURE[1]}) already exists without the demo accounts: Dali's real areas were imported, and the "
            "demo would put made-up households, villages and accounts with published passwords among them. Load the "
            "demo into an empty database.")


def _refuse_real_areas(session: Session) -> None:
    """Refuses a database that holds areas without the demo's prefecture: the demo always writes its prefecture with
    its other areas, in one transaction, so these came from elsewhere (`flask areas import`) and are real.

    Raises:
        Conflict: there are such areas; the demo's made-up households, villages and accounts with published
            passwords would sit among real ones, in the same lists, maps, scopes and phones.
    """
    count = session.scalar(select(func.count()).select_from(Area))
    if not count:
        return
    shown = session.execute(select(Area.code, Area.name_zh).order_by(Area.code).limit(REAL_AREAS_SHOWN)).all()
    named = ", ".join(f"{code} {name}" for code, name in shown) + (", ..." if count > len(shown) else "")
    raise Conflict(f"数据库已有 {count} 个真实区划（{named}），演示数据不能装入其中 · The database already holds {count} "
                   f"areas that are not the demo's ({named}), imported from real files: the demo would put made-up "
                   "households, villages and accounts with published passwords among them. Load the demo into an "
                   "empty database.")


def _insert_areas(session: Session, areas: list[AreaRow], progress: Callable[[str], None]) -> dict[AreaLevel, int]:
    counts: dict[AreaLevel, int] = {}
    for level in AreaLevel:
        rows = [area.values() for area in areas if area.level is level]
        _insert(session, Area, rows)
        counts[level] = len(rows)
        progress(f"{level.value}: {len(rows):,} areas")
    return counts


def _create_accounts(session: Session, actor: str) -> dict[str, uuid.UUID]:
    """Creates the demo accounts; returns who takes monitoring steps where: a county's demo supervisor, else the admin
    (key "")."""
    users = {account.username: create_user(session, account.username, account.role, account.areas, account.password,
                                           actor=actor, display_name=account.display_name)
             for account in ACCOUNTS}
    session.flush()
    actors = {"": next(users[a.username].id for a in ACCOUNTS if a.role is Role.admin)}
    actors |= {area: users[a.username].id for a in ACCOUNTS if a.role is Role.supervisor for area in a.areas}
    return actors


def _insert_households(
    session: Session, seed: int, size: DemoSize, natural_villages: list[AreaRow], actors: dict[str, uuid.UUID],
    progress: Callable[[str], None],
) -> tuple[int, int]:
    total_households = total_people = 0
    for batch in _batches(seed, size, natural_villages, actors):
        for model, rows in zip(TABLES, batch, strict=True):
            _insert(session, model, rows)
        before, total_households = total_households, total_households + len(batch[0])
        total_people += len(batch[1])
        if total_households // PROGRESS_EVERY > before // PROGRESS_EVERY:
            progress(f"households: {total_households:,} so far")
    progress(f"households: {total_households:,}, people: {total_people:,}")
    return total_households, total_people


def _batches(
    seed: int, size: DemoSize, natural_villages: list[AreaRow], actors: dict[str, uuid.UUID]
) -> Iterator[tuple[list[dict[str, Any]], ...]]:
    """Rows of TABLES in batches of about BATCH households, whole villages at a time."""
    per_village = size.households_per_natural_village
    dealt = profiles.assign(seed, [v.code for v in natural_villages], per_village, SHOWCASE_COUNTY)
    batch: tuple[list[dict[str, Any]], ...] = tuple([] for _ in TABLES)
    for n, village in enumerate(natural_villages):
        actor_id = actors.get(village.code[:6], actors[""])
        for household in generate_households(seed, village, dealt[n * per_village:(n + 1) * per_village], actor_id):
            _add(batch, household.values, household.members, household.case)
        if len(batch[0]) >= BATCH:
            yield batch
            batch = tuple([] for _ in TABLES)
    if batch[0]:
        yield batch


def _add(batch: tuple[list[dict[str, Any]], ...], household: dict[str, Any], members: Sequence[dict[str, Any]],
         case: DemoCase | None) -> None:
    batch[0].append(household)
    batch[1].extend(members)
    if case is not None:
        batch[2].append(case.case)
        batch[3].extend(case.events)
        batch[4].extend(case.measures)


def _insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    # Core on the table, not the ORM bulk path: a fifth faster, and these rows need no identity map.
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model.__table__), rows[start:start + BATCH])
