"""Pull feed at scale: `.venv/bin/python bench/pull_bench.py [--rows 10000000 --runs 5 --explain]`.

Makes a scratch database (migrated, forms published, small demo) and adds one administrative village of 500
households with their members (the demo's generator) in 漾濞 (532922), and enumerators of its township and of the
village. Then it times, through the Flask test client with a real device token, as a phone sees it:

  (a) a first pull of the township enumerator, every page of 500;
  (b) one page of 500 from the start of its feed, and one from a cursor in the middle of it;
  (c) a daily pull that has nothing new for it (with a campaign day's changes elsewhere in the province);

each from the request to the answer's bytes (the test client's reading of the JSON is the phone's work, not counted),

and, in process, the feed's two statements alone (one page of 500 and the held-back check, as `sync/pull.py: pull`
runs them) for readers at every level: village, township, county, prefecture and province.

Each figure is the median (and the fastest) of --runs runs, first with the feed as the demo leaves it, then after
--rows synthetic feed rows are added in SQL (generate_series): households in 129 counties of the province, natural
villages under townships the demo has not got, 30 % review rows addressed to 30,000 other users, 1 % assignments.
After the fill, 100 of the village's households are visited again, so the reader's feed ends after every other row;
the feed's indexes are rebuilt and the table vacuumed, as autovacuum would leave it. The two columns side by side show
whether a pull is slower with the rows there. The scratch database is dropped at the end. The machine's cores are
shared with PostgreSQL, so run it on a quiet machine and read the spread of a few runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geoalchemy2.shape import to_shape  # noqa: E402 - after the path set-up, so the script runs from anywhere
from sqlalchemy import Engine, create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.exc import ProgrammingError  # noqa: E402

from server.app import create_app  # noqa: E402
from server.demo.areas import AreaRow  # noqa: E402
from server.demo.households import generate_households  # noqa: E402
from server.extensions import db  # noqa: E402
from server.models import Area, AreaLevel, Household, Person, Role  # noqa: E402
from server.services import users  # noqa: E402
from sync import pull as feed  # noqa: E402
from tools import live_server  # noqa: E402

COUNTY = "532922"  # 漾濞, a county of the small demo
HOUSEHOLDS = 500
REVISITED = 100  # of the village's households, visited again after the fill: the reader's feed ends after it
PASSWORD = "walnut-village-pull-bench-2026"  # noqa: S105 - an account of the scratch database only
PAGE = 500
# Yunnan's prefectures; with Dali's twelve counties, enough generated county codes under them to make 129.
PREFECTURES = ("5301", "5303", "5304", "5305", "5306", "5307", "5308", "5309", "5323", "5325", "5326", "5328",
               "5331", "5333", "5334")
COUNTIES = 129
FILL_CHUNK = 200_000
# Synthetic rows, row i of generate_series: one in ten a review to another user (three in ten), one in a hundred an
# assignment, the rest households; areas under townships 400-409, which the demo does not have.
FILL = """
INSERT INTO sync_change (kind, object_id, area_code, user_id)
SELECT CASE WHEN i % 10 < 3 THEN 'review' WHEN i % 100 = 3 THEN 'assignment' ELSE 'household' END,
       md5(i::text)::uuid::text,
       CASE WHEN i % 10 < 3 THEN NULL ELSE
           (CAST(:counties AS text[]))[1 + i % cardinality(CAST(:counties AS text[]))]
           || (400 + (i / 129) % 10)::text || lpad((1 + (i / 1290) % 10)::text, 3, '0')
           || lpad((1 + (i / 12900) % 8)::text, 3, '0') END,
       CASE WHEN i % 10 < 3 OR i % 100 = 3 THEN md5('user' || (i % 30000)::text)::uuid END
FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS i
"""
# A campaign day elsewhere: households changed after the reader's last pull (feed_change() moves their rows so), in
# DAY_TRANSACTIONS transactions (pushes), each a share of rows spread over the province.
DAY = """
UPDATE sync_change SET seq = nextval('sync_change_seq'), txid = pg_current_xact_id()
WHERE kind = 'household' AND object_id IN (
    SELECT md5(i::text)::uuid::text FROM generate_series(CAST(:first AS bigint), CAST(:rows AS bigint),
                                                         CAST(:stride AS bigint)) AS i)
"""
DAY_TRANSACTIONS = 200


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="synthetic feed rows (default 10,000,000)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each figure; the median is printed")
    parser.add_argument("--day", type=int, default=55_000,
                        help="changes elsewhere before the daily pull, in 200 transactions (default 55,000: a campaign day)")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN (ANALYZE, BUFFERS) of the township reader's statements with the rows")
    return parser.parse_args()


@dataclass(frozen=True)
class Village:
    code: str
    township: str
    households: int
    members: int


@dataclass
class Figures:
    """One phase's medians and fastest runs in ms, by name, and what each counted."""

    ms: dict[str, tuple[float, float]]
    notes: dict[str, str]


def median_ms(runs: int, measure: Callable[[], Any], device: Device | None = None) -> tuple[tuple[float, float], Any]:
    """The median and the least time of `runs` calls, and the last call's result: wall time, or with a device the
    time its requests took to be answered."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        if device:
            device.answering_ms = 0.0
        result = measure()
        times.append(device.answering_ms if device else (time.perf_counter() - started) * 1000)
    return (statistics.median(times), min(times)), result


def add_village(app) -> Village:
    """500 households with their members in the first administrative village of COUNTY, and its enumerators."""
    with app.app_context():
        session = db.session
        village = session.scalar(select(Area).where(Area.level == AreaLevel.admin_village, Area.code.startswith(COUNTY))
                                 .order_by(Area.code).limit(1))
        naturals = session.scalars(select(Area).where(Area.parent_code == village.code).order_by(Area.code)).all()
        households, members = [], []
        for index, natural in enumerate(naturals):
            row = AreaRow(natural.code, natural.level, natural.parent_code, natural.name_zh, natural.name_en or "",
                          to_shape(natural.boundary))
            count = HOUSEHOLDS // len(naturals) + (index < HOUSEHOLDS % len(naturals))
            for household in generate_households(7, row, count):  # another seed than the demo's: new ids
                households.append(household.values)
                members.extend(household.members)
        session.execute(insert(Household.__table__), households)
        session.execute(insert(Person.__table__), members)
        users.create_user(session, "bench_township", Role.enumerator, [village.parent_code], PASSWORD, actor="bench")
        users.create_user(session, "bench_village", Role.enumerator, [village.code], PASSWORD, actor="bench")
        session.commit()
        return Village(village.code, village.parent_code, len(households), len(members))


def counties(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        dali = list(connection.scalars(text("SELECT code FROM area WHERE level = 'county' ORDER BY code")))
    others = [f"{prefecture}{21 + n:02d}" for n in range(9) for prefecture in PREFECTURES]
    return dali + others[:COUNTIES - len(dali)]


def fill(engine: Engine, rows: int, codes: list[str]) -> None:
    """`rows` synthetic feed rows, with the feed's indexes (whatever the migrations made) dropped and built again.

    The server may be shared: a transaction with an id holds back every database's feed while it runs, so the rows go
    in by FILL_CHUNK a transaction, and the indexes are built CONCURRENTLY (which takes no transaction id).
    """
    with engine.connect() as connection:
        indexes = connection.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'sync_change' "
            "AND indexname <> 'pk_sync_change'")).all()
        for name, _ in indexes:
            connection.execute(text(f'DROP INDEX "{name}"'))
        connection.commit()
        for first in range(1, rows + 1, FILL_CHUNK):
            connection.execute(text(FILL), {"counties": codes, "first": first, "last": min(first + FILL_CHUNK - 1, rows)})
            connection.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("SET maintenance_work_mem = '512MB'"))
        for _, definition in indexes:
            connection.execute(text(definition.replace("CREATE INDEX ", "CREATE INDEX CONCURRENTLY ", 1)))
    vacuum(engine)


def vacuum(engine: Engine) -> None:
    """The feed as autovacuum leaves it; then a checkpoint where the role may, so that writing out the fill does not
    compete with the timed runs."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM (ANALYZE) sync_change"))
        connection.execute(text("VACUUM (ANALYZE) household"))
        try:
            connection.execute(text("CHECKPOINT"))
        except ProgrammingError:  # not a superuser nor in pg_checkpoint
            pass


def revisit(engine: Engine, village: Village) -> None:
    """REVISITED of the village's households get a new version: their feed rows move to the end of the feed."""
    with engine.begin() as connection:
        connection.execute(text(
            "UPDATE household SET version = version + 1 WHERE id IN (SELECT id FROM household WHERE area_code LIKE "
            ":prefix ORDER BY id LIMIT :count)"), {"prefix": village.code + "%", "count": REVISITED})


def day_of_changes(engine: Engine, rows: int, changes: int) -> int:
    if not rows or not changes:
        return 0
    step = max(1, rows * 2 // (3 * changes))  # about two rows in three are households
    moved = 0
    for push in range(DAY_TRANSACTIONS):
        with engine.begin() as connection:
            moved += connection.execute(text(DAY), {"first": (push + 1) * step, "rows": rows,
                                                    "stride": step * DAY_TRANSACTIONS}).rowcount
    return moved


def settle(engine: Engine) -> None:
    """Waits until no transaction older than the newest feed row is open anywhere on the server (guarantee 1 holds
    the feed back behind it; on a shared server, another database's transaction counts too)."""
    waited = time.monotonic()
    with engine.connect() as connection:
        while connection.execute(text(
                "SELECT coalesce(max(txid), '0'::xid8) >= pg_snapshot_xmin(pg_current_snapshot()) FROM sync_change"
        )).scalar_one():
            connection.rollback()
            if time.monotonic() - waited > 30:
                print("waiting: a transaction open elsewhere on the server holds the feed back", file=sys.stderr)
                waited = time.monotonic()
            time.sleep(0.2)


class Device:
    """A phone of one enumerator: a real device token, pulls through the test client."""

    def __init__(self, app, username: str) -> None:
        self.client = app.test_client()
        answer = self.client.post("/api/v1/auth/device-tokens", json={
            "username": username, "password": PASSWORD, "device_id": f"bench-{username}"})
        assert answer.status_code == 201, answer.json
        self.headers = {"Authorization": f"Bearer {answer.json['token']}"}
        self.answering_ms = 0.0  # what the server took to answer, without the test client's reading of the JSON

    def page(self, cursor: str | None = None, limit: int = PAGE) -> dict[str, Any]:
        query = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        started = time.perf_counter()
        answer = self.client.get("/api/v1/sync/changes", query_string=query, headers=self.headers)
        self.answering_ms += (time.perf_counter() - started) * 1000
        assert answer.status_code == 200, answer.json
        if answer.json["held_back"]:
            print("warning: a page was held back by a transaction open elsewhere; rerun on a quieter server",
                  file=sys.stderr)
        return answer.json

    def cursor_after(self, count: int) -> str | None:
        """The cursor the server gives after the first `count` changes of the feed, in pages of at most PAGE."""
        cursor = None
        while count > 0:
            page = self.page(cursor, min(count, PAGE))
            cursor, count = page["cursor"], count - len(page["changes"])
        return cursor

    def everything(self, cursor: str | None = None) -> tuple[list[dict[str, Any]], str, int]:
        """Every page from the cursor on: the changes, the cursor to keep, and the number of pages."""
        changes, pages = [], 0
        while True:
            page = self.page(cursor)
            changes += page["changes"]
            cursor, pages = page["cursor"], pages + 1
            if not page["has_more"]:
                return changes, cursor, pages


def readers(village: Village) -> dict[str, feed.Reader]:
    """A reader at each level of the area tree that holds the village (enumerators: the role decides only forms)."""
    scopes = {"village": village.code, "township": village.township, "county": COUNTY, "prefecture": COUNTY[:4],
              "province": COUNTY[:2]}
    return {level: feed.Reader(uuid.uuid4(), Role.enumerator.value, [code]) for level, code in scopes.items()}


def middle(session, reader: feed.Reader, share: float = 0.5) -> feed.Position:
    """The position `share` of the way through the reader's feed (1: after its last change)."""
    rows = feed._page_query(reader, feed.START, 2**62).subquery()
    count = session.scalar(select(func.count()).select_from(rows))
    found = session.execute(select(rows.c.txid, rows.c.seq).order_by(rows.c.txid, rows.c.seq)
                            .offset(min(int(count * share), count - 1)).limit(1)).one()
    return int(found[0]), int(found[1])


def statements_ms(session, reader: feed.Reader, after: feed.Position) -> int:
    """The two statements of one pull, as pull() runs them; the number of changes of the page."""
    rows = session.execute(feed._page_query(reader, after, PAGE + 1)).all()
    session.execute(feed._page_query(reader, after, 1, waiting=True)).first()
    session.rollback()
    return min(len(rows), PAGE)


def measure(app, owner: Engine, village: Village, runs: int, rows: int, day: int) -> Figures:
    ms: dict[str, tuple[float, float]] = {}
    notes: dict[str, str] = {}
    settle(owner)
    with app.app_context():
        device = Device(app, "bench_township")
        ms["first"], (changes, cursor, pages) = median_ms(runs, device.everything, device)
        households = sum(c["kind"] == "household" for c in changes)
        notes["first"] = f"{pages} pages, {len(changes)} changes, {households} households"
        other = Device(app, "bench_village")
        ms["first_village"], (village_changes, _, village_pages) = median_ms(runs, other.everything, other)
        notes["first_village"] = f"{village_pages} pages, {len(village_changes)} changes"
        ms["page_start"], page = median_ms(runs, device.page, device)
        notes["page_start"] = f"{len(page['changes'])} changes"
        half = device.cursor_after(len(changes) // 2)
        ms["page_middle"], page = median_ms(runs, lambda: device.page(half), device)
        notes["page_middle"] = f"{len(page['changes'])} changes"
        moved = day_of_changes(owner, rows, day)
        settle(owner)
        ms["daily"], page = median_ms(runs, lambda: device.page(cursor), device)
        assert page["changes"] == [] and not page["has_more"], page
        notes["daily"] = f"nothing new; {moved:,} changes elsewhere since its cursor"
        for level, reader in readers(village).items():
            ms[f"{level}_start"], count = median_ms(runs, lambda r=reader: statements_ms(db.session, r, feed.START))
            notes[f"{level}_start"] = f"{count}"
            position = middle(db.session, reader)
            db.session.rollback()
            ms[f"{level}_middle"], count = median_ms(runs, lambda r=reader, p=position: statements_ms(db.session, r, p))
            notes[f"{level}_middle"] = f"{count}"
    return Figures(ms, notes)


def explain(app, village: Village) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the township reader's statements: pages from the start, from the middle and from
    its last change (a daily pull), and the held-back check."""
    reader = readers(village)["township"]
    with app.app_context():
        half, end = middle(db.session, reader), middle(db.session, reader, 1)
        db.session.rollback()
        raw = db.session.connection().connection.driver_connection
        for title, statement in (("page from the start", feed._page_query(reader, feed.START, PAGE + 1)),
                                 ("page from the middle", feed._page_query(reader, half, PAGE + 1)),
                                 ("page after its last change", feed._page_query(reader, end, PAGE + 1)),
                                 ("held-back check from the start",
                                  feed._page_query(reader, feed.START, 1, waiting=True))):
            compiled = statement.compile(db.engine)
            print(f"\nEXPLAIN (ANALYZE, BUFFERS), township reader, {title}:")
            for (line,) in raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + compiled.string, compiled.params):
                print("  " + line)
        db.session.rollback()


def feed_size(engine: Engine) -> str:
    with engine.connect() as connection:
        count, size = connection.execute(text(
            "SELECT count(*), pg_size_pretty(pg_total_relation_size('sync_change')) FROM sync_change")).one()
    return f"{count:,} feed rows, {size} with indexes"


LINES = (
    ("first", "(a) first pull, township enumerator, every page of 500"),
    ("first_village", "    the same, village enumerator"),
    ("page_start", "(b) one page of 500 from the start"),
    ("page_middle", "    one page of 500 from the middle of its feed"),
    ("daily", "(c) daily pull with nothing new for it"),
)
LEVELS = ("village", "township", "county", "prefecture", "province")


def report(village: Village, args: argparse.Namespace, phases: list[tuple[str, Figures]], fill_seconds: float) -> None:
    print(f"\npull feed: {village.households} households with {village.members:,} members in {village.code} "
          f"(township {village.township}); small demo otherwise; {args.runs} runs, median (fastest) ms; "
          f"2 cores shared with PostgreSQL")
    print(f"filled {args.rows:,} rows in {fill_seconds:.0f} s ({phases[-1][0]})")
    titles = [f"{name:>19}" for name, _ in phases]
    print(f"\n{'through the test client, a real device token':<58}{''.join(titles)}")
    for key, label in LINES:
        cells = "".join(f"{figures.ms[key][0]:>10.1f} ({figures.ms[key][1]:>6.1f})" for _, figures in phases)
        print(f"{label:<58}{cells}   {phases[-1][1].notes[key]}")
    print(f"\n{'the feed statements alone (page of 500 + held-back check)':<58}{''.join(titles)}")
    for level in LEVELS:
        for where in ("start", "middle"):
            key = f"{level}_{where}"
            cells = "".join(f"{figures.ms[key][0]:>10.1f} ({figures.ms[key][1]:>6.1f})" for _, figures in phases)
            counts = " / ".join(figures.notes[key] for _, figures in phases)
            print(f"{level + ' reader, from the ' + where:<58}{cells}   rows: {counts}")


def main() -> int:
    args = parse()
    with live_server.scratch_database(live_server.server(), "survey_pull_bench") as database:
        live_server.prepare(database)
        app = create_app(database.overrides())
        owner = create_engine(database.admin_url)
        village = add_village(app)
        revisit(owner, village)
        vacuum(owner)
        phases = [("0 extra rows", measure(app, owner, village, args.runs, 0, 0))]
        started = time.monotonic()
        fill(owner, args.rows, counties(owner))
        revisit(owner, village)
        vacuum(owner)
        fill_seconds = time.monotonic() - started
        size = feed_size(owner)
        phases.append((f"{args.rows:,} rows", measure(app, owner, village, args.runs, args.rows, args.day)))
        if args.explain:
            explain(app, village)
        with app.app_context():
            db.engine.dispose()
        owner.dispose()
    report(village, args, phases, fill_seconds)
    print(size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
