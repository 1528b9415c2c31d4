"""Review list, counts and map tiles at scale (issue 14): `.venv/bin/python bench/review_bench.py [options]`.

    export DATABASE_URL=$(scripts/devdb.sh start) DATABASE_OWNER_URL=$(scripts/devdb.sh owner-url)
    .venv/bin/python bench/review_bench.py                      # 200,000 submissions, 50,000 households
    .venv/bin/python bench/review_bench.py --keep               # ... and keep the database; it prints its name
    .venv/bin/python bench/review_bench.py --reuse NAME --explain   # measure again on it, with the plans
    .venv/bin/python bench/review_bench.py --submissions 20000 --households 5000   # a quick try

Makes a scratch database beside $DATABASE_URL's (migrated as the owner, forms published, no demo) and seeds it in
set-based SQL (bench/review_seed.py): the county 漾濞 (532922) with its townships and villages, a supervisor and ~60
enumerators, --households households and --submissions submissions over 18 months with the shares of issue 14
(quarantined, review states, flags, risk flags, missing files). It prints how long seeding took.

Then, signed in as the county's supervisor with a real device token, it sends each request through the Flask test
client in this process (no network, no gunicorn: the server's own time), --warmups times untimed and --runs times
timed, and prints one table: median and p95 in ms, status, size of the answer and what it held (rows, total, or the
households / submissions inside a tile), against the aim of 200 ms. The requests of issue 14: the list's first page,
filtered pages (pending + gps_outside_village + a township; a head's name prefix; one week), the page after 3 cursor
steps, the counts (whole and for a township), and the map's vector tiles of households (z 9 over the county's centre,
z 12 and z 15 over its busiest village) and of submissions (z 9 and z 12). Rows marked + go beyond the issue: more
list filters, the other z 9 tiles the county spills into, a filtered submissions tile, the areas' tiles. An endpoint
not (yet) in the app's URL map is reported as "no such endpoint (404)", not timed.

--explain then prints EXPLAIN (ANALYZE, BUFFERS) of the SQL statements on submissions, households and areas that the
list requests ran (and those of any request whose p95 is over the aim), captured with a before_cursor_execute listener
and run again as the app's role. --no-jit opens the app's connections with jit = off, to see what PostgreSQL's JIT
costs (PostGIS functions are costed so high that a tile's plan crosses jit_above_cost).

The scratch database is dropped at the end unless --keep (a --reuse database is yours to drop). Two cores are shared
with PostgreSQL: run it on a quiet machine, and read a median, not a single run.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, event, make_url, text  # noqa: E402 - after the path set-up
from werkzeug.exceptions import MethodNotAllowed, NotFound  # noqa: E402

from bench import review_seed  # noqa: E402
from server.app import create_app  # noqa: E402
from server.extensions import db  # noqa: E402
from server.services.passwords import hash_password  # noqa: E402
from tools import live_server  # noqa: E402

AIM_MS = 200.0
PREFIX = "survey_review_bench"
API = "/api/v1"
LABEL = 66  # columns of the table's first one


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=200_000, help="submissions to seed (default 200,000)")
    parser.add_argument("--households", type=int, default=50_000, help="households to seed (default 50,000)")
    parser.add_argument("--runs", type=int, default=20, help="timed requests of each kind (default 20)")
    parser.add_argument("--warmups", type=int, default=2, help="untimed requests first (default 2)")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN (ANALYZE, BUFFERS) of the list queries, and of any request over the aim")
    parser.add_argument("--no-jit", action="store_true",
                        help="the app's connections with jit = off: what PostgreSQL's JIT costs the requests")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (its name is printed)")
    parser.add_argument("--reuse", metavar="NAME", help="measure on a database a --keep run left; no seeding")
    return parser.parse_args()


# --- the database -------------------------------------------------------------------------------------------------

@contextmanager
def database(args: argparse.Namespace) -> Iterator[live_server.Database]:
    """A new scratch database on $DATABASE_URL's server (dropped after, unless --keep), or the --reuse one."""
    server = live_server.server()
    if args.reuse:
        yield server.named(args.reuse)
        return
    name = f"{PREFIX}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(server.admin_url).set(drivername="postgresql+psycopg", database="postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.named(name)
    finally:
        if args.keep:
            print(f"\nkept the database {name}: measure again with --reuse {name}; "
                  f"drop it with DROP DATABASE {name}, as the owner's role")
        else:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def without_jit(app) -> None:
    """Every connection the app opens from now on runs with jit = off, as if the server (or the app's role) were set
    so. (A libpq `options` in DATABASE_URL would not do: the app's connect_args set `options` for its timeouts.)"""

    def jit_off(connection, _record) -> None:
        connection.execute("SET jit = off")
        connection.commit()  # else the pool's first rollback would undo the SET

    with app.app_context():
        event.listen(db.engine, "connect", jit_off)


def migrate(target: live_server.Database) -> None:
    """`flask db upgrade` (as the owner) and `flask forms publish`, in process; no demo: the seed is the data."""
    app = create_app(target.overrides())
    runner = app.test_cli_runner()
    for args in (["db", "upgrade"], ["forms", "publish"]):
        result = runner.invoke(args=args)
        if result.exit_code != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.output}\n{result.exception!r}")
    with app.app_context():
        db.engine.dispose()


# --- what to ask for ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tile:
    z: int
    x: int
    y: int

    @classmethod
    def at(cls, lon: float, lat: float, z: int) -> Tile:
        """The slippy-map (Web Mercator, XYZ) tile holding a point."""
        n = 2**z
        x = int((lon + 180.0) / 360.0 * n)
        y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
        return cls(z, x, y)

    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees."""
        n = 2**self.z

        def lat(y: int) -> float:
            return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))

        return self.x / n * 360 - 180, lat(self.y + 1), (self.x + 1) / n * 360 - 180, lat(self.y)

    def __str__(self) -> str:
        return f"{self.z}/{self.x}/{self.y}"


@dataclass
class Request:
    label: str
    path: str
    kind: str  # list, counts or tile: what the answer's note counts
    note: str = ""  # what the data holds for it (rows in a tile, households matching...)


@dataclass
class Result:
    request: Request
    status: int | None = None  # None: no such endpoint
    times: list[float] = field(default_factory=list)
    size: int = 0
    held: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times)  # nearest rank: with 20 runs, the 19th
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Setting:
    """What the seeded data offers the requests: the busiest village, its township, a week, the county's centre."""

    village: str
    village_households: int
    village_lon: float
    village_lat: float
    township: str
    since: date
    until: date
    households: int
    submissions: int
    name_matches: int


def setting(owner: Engine) -> Setting:
    with owner.connect() as connection:
        village, count = connection.execute(text(
            "SELECT area_code, count(*) FROM household GROUP BY area_code ORDER BY count(*) DESC, area_code LIMIT 1")).one()
        lon, lat = connection.execute(text("SELECT ST_X(centroid), ST_Y(centroid) FROM area WHERE code = :code"),
                                      {"code": village}).one()
        newest = connection.execute(text(
            "SELECT (max(received_at) AT TIME ZONE 'Asia/Shanghai')::date FROM submission")).scalar_one()
        households = connection.execute(text("SELECT count(*) FROM household")).scalar_one()
        submissions = connection.execute(text("SELECT count(*) FROM submission")).scalar_one()
        matches = connection.execute(text("SELECT count(*) FROM household WHERE householder_name LIKE :p"),
                                     {"p": review_seed.NAME_PREFIX + "%"}).scalar_one()
    until = newest - timedelta(days=90)  # a week of three months ago: the page has to skip the newer ones
    return Setting(village, count, lon, lat, village[:9], until - timedelta(days=6), until, households, submissions,
                   matches)


def in_tile(owner: Engine, tile: Tile, table: str) -> int:
    """Rows of `table` whose location lies in the tile: how much a tile of it has to carry."""
    with owner.connect() as connection:
        return connection.execute(text(
            f"SELECT count(*) FROM {table} WHERE location && ST_MakeEnvelope(:w, :s, :e, :n, 4326)"),  # noqa: S608  # nosec B608 (table: a constant name)
            dict(zip("wsen", tile.bounds(), strict=True))).scalar_one()


def county_tiles(owner: Engine, z: int) -> list[Tile]:
    """Every tile at zoom z that the county's boundary touches."""
    with owner.connect() as connection:
        west, south, east, north = connection.execute(text(
            "SELECT ST_XMin(boundary), ST_YMin(boundary), ST_XMax(boundary), ST_YMax(boundary) FROM area "
            "WHERE code = :code"), {"code": review_seed.COUNTY}).one()
    corner, other = Tile.at(west, north, z), Tile.at(east, south, z)
    return [Tile(z, x, y) for x in range(corner.x, other.x + 1) for y in range(corner.y, other.y + 1)]


def url(path: str, **query: Any) -> str:
    return f"{API}{path}" + (f"?{urlencode(query)}" if query else "")


def requests(owner: Engine, where: Setting, client, headers: dict[str, str]) -> list[Request]:
    """Issue 14's requests (and a few more filters, marked +) over the seeded data."""
    found = [
        Request("list: first page, no filter", url("/submissions", limit=50), "list"),
        Request("list: pending + gps_outside_village + township",
                url("/submissions", limit=50, review_state="pending", flag="gps_outside_village",
                    area_code=where.township), "list", f"township {where.township}"),
        Request(f"list: household={review_seed.NAME_PREFIX} (head's name prefix)",
                url("/submissions", limit=50, household=review_seed.NAME_PREFIX), "list",
                f"{where.name_matches} households match"),
        Request("list: since/until, one week", url("/submissions", limit=50, since=where.since.isoformat(),
                                                   until=where.until.isoformat()), "list",
                f"{where.since} .. {where.until}"),
        Request("list: 4th page (after 3 cursor steps)", url("/submissions", limit=50, cursor=cursor_after(
            client, headers, url("/submissions", limit=50), 3)), "list"),
        Request("+ list: risk=income_below_monitoring_line", url("/submissions", limit=50,
                                                                 risk="income_below_monitoring_line"), "list"),
        Request("+ list: incomplete=true", url("/submissions", limit=50, incomplete="true"), "list"),
        Request("+ list: enumerator=bench_enum_07", url("/submissions", limit=50, enumerator="bench_enum_07"), "list"),
        Request("counts: no filter", url("/submissions/counts"), "counts"),
        Request("counts: a township", url("/submissions/counts", area_code=where.township), "counts",
                f"township {where.township}"),
    ]
    # z 9: the tile of the county's centre; the county (~40 km) crosses into a second z 9 tile (+), which the map
    # fetches too. z 12 and z 15: the busiest village, where the most points fall.
    county = Tile.at(review_seed.COUNTY_LON, review_seed.COUNTY_LAT, 9)
    rest = [tile for tile in county_tiles(owner, 9) if tile != county]
    village = {z: Tile.at(where.village_lon, where.village_lat, z) for z in (12, 15)}
    for layer, table, shown in (("households", "household", (county, village[12], village[15])),
                                ("submissions", "submission", (county, village[12]))):
        for tile in shown:
            title = "county's centre" if tile.z == 9 else "busiest village"
            found.append(Request(f"tile: {layer} z{tile.z} {tile} ({title})", url(f"/tiles/{layer}/{tile}.mvt"),
                                 "tile", f"{in_tile(owner, tile, table):,} {layer} in it"))
        for tile in rest:
            found.append(Request(f"+ tile: {layer} z9 {tile} (rest of the county)", url(f"/tiles/{layer}/{tile}.mvt"),
                                 "tile", f"{in_tile(owner, tile, table):,} {layer} in it"))
    tile = village[12]
    found.append(Request(f"+ tile: submissions z12 {tile}, pending + gps_outside_village",
                         url(f"/tiles/submissions/{tile}.mvt", review_state="pending", flag="gps_outside_village"),
                         "tile"))
    for tile in (county, village[12]):
        found.append(Request(f"+ tile: areas z{tile.z} {tile}", url(f"/tiles/areas/{tile}.mvt"), "tile"))
    return found


def cursor_after(client, headers: dict[str, str], path: str, steps: int) -> str:
    """The cursor the list gives after `steps` pages."""
    cursor = None
    for _ in range(steps):
        answer = client.get(path + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        assert answer.status_code == 200, answer.json
        cursor = answer.json["cursor"]
    return cursor


# --- measuring ----------------------------------------------------------------------------------------------------

def sign_in(client) -> dict[str, str]:
    answer = client.post(f"{API}/auth/device-tokens", json={
        "username": review_seed.SUPERVISOR, "password": review_seed.PASSWORD, "device_id": "review-bench"})
    assert answer.status_code == 201, answer.json
    return {"Authorization": f"Bearer {answer.json['token']}"}


def routed(app, path: str) -> bool:
    """Whether the app has a GET route for the path: an unknown URL is "no such endpoint", not a slow 404."""
    try:
        app.url_map.bind("localhost").match(path.split("?")[0], method="GET")
    except (NotFound, MethodNotAllowed):
        return False
    return True


def measure(app, client, headers: dict[str, str], request: Request, runs: int, warmups: int) -> Result:
    result = Result(request)
    if not routed(app, request.path):
        return result
    for _ in range(warmups):
        client.get(request.path, headers=headers).get_data()
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.get(request.path, headers=headers)
        body = answer.get_data()  # the whole answer made, streamed or not
        result.times.append((time.perf_counter() - started) * 1000)
    result.status, result.size = answer.status_code, len(body)
    result.held = held(request, answer)
    return result


def held(request: Request, answer) -> str:
    if answer.status_code != 200:
        return (answer.get_json(silent=True) or {}).get("code", "") or answer.get_data(as_text=True)[:60]
    if request.kind == "list":
        page = answer.get_json()
        return f"{len(page['submissions'])} rows" + (", more" if page["has_more"] else "")
    if request.kind == "counts":
        return f"total {answer.get_json()['total']:,}"
    return "" if answer.content_type == "application/vnd.mapbox-vector-tile" else answer.content_type or ""


# --- EXPLAIN ------------------------------------------------------------------------------------------------------

def explain(app, client, headers: dict[str, str], request: Request) -> None:
    """Runs the request once, catching its SQL, and prints EXPLAIN (ANALYZE, BUFFERS) of each statement on
    submissions (their flags), households or areas, with the parameters the app bound, as the app's role."""
    with app.app_context():
        engine = db.engine
    caught: list[tuple[str, Any]] = []

    def catch(connection, cursor, statement, parameters, context, executemany):
        caught.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", catch)
    try:
        client.get(request.path, headers=headers).get_data()
    finally:
        event.remove(engine, "before_cursor_execute", catch)
    statements = [(s, p) for s, p in caught if s.lstrip().upper().startswith(("SELECT", "WITH"))
                  and any(table in s for table in ("submission", "household", "FROM area"))]  # not the sign-in's
    print(f"\n=== {request.label}: {request.path}")
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        for statement, parameters in statements:
            print(f"\n--- {shorten(' '.join(statement.split()), 2000)}\n--- parameters: {shorten(str(parameters), 400)}")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            for (line,) in cursor.fetchall():
                print("  " + shorten(line, 400))  # a list of 50 UUIDs tells nothing more than its start
        connection.rollback()
    finally:
        connection.close()


def shorten(line: str, most: int) -> str:
    return line if len(line) <= most else line[:most] + f"... ({len(line) - most} more characters)"


# --- the report ---------------------------------------------------------------------------------------------------

def verdict(result: Result) -> str:
    if result.status is None or not result.times:
        return ""
    if result.status != 200:
        return f"status {result.status}"
    if result.p95 < AIM_MS:
        return "yes"
    return "p95 over" if result.median < AIM_MS else "NO"


def pad(label: str, width: int) -> str:
    """The label padded to `width` columns of a terminal, where a Chinese character takes two."""
    columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in label)
    return label + " " * max(0, width - columns)


def report(results: list[Result], where: Setting, args: argparse.Namespace) -> None:
    print(f"\nreview queue and map, 漾濞 (532922): {where.submissions:,} submissions, {where.households:,} households; "
          f"busiest village {where.village} ({where.village_households} households), township {where.township}")
    print(f"signed in as {review_seed.SUPERVISOR} (supervisor of 532922) with a device token; Flask test client in "
          f"process; {args.warmups} warm-ups, then {args.runs} timed runs each; aim {AIM_MS:.0f} ms"
          + ("; the app's connections with jit = off" if args.no_jit else "") + "\n")
    header = f"{'request':<{LABEL}}{'status':>7}{'median':>9}{'p95':>9}{'bytes':>10}  {'under aim':<12}{'answer; data'}"
    print(header)
    print("-" * len(header))
    for result in results:
        request = result.request
        if result.status is None:
            print(f"{pad(request.label, LABEL)}{'':>7}  no such endpoint (404)   {request.path}")
            continue
        notes = "; ".join(n for n in (result.held, request.note) if n)
        print(f"{pad(request.label, LABEL)}{result.status:>7}{result.median:>9.1f}{result.p95:>9.1f}{result.size:>10,}  "
              f"{verdict(result):<12}{notes}")
    print("\nms: from the test client's call to the answer's last byte, as the server makes it (no network); + marks "
          "a request beyond issue 14's list")


def main() -> int:
    args = parse()
    sizes = review_seed.Sizes(args.households, args.submissions)
    with database(args) as target:
        owner = create_engine(target.admin_url)
        if args.reuse:
            print(f"reusing the database {args.reuse}: no seeding")
        else:
            started = time.monotonic()
            migrate(target)
            print(f"migrated a scratch database in {time.monotonic() - started:.1f} s; seeding "
                  f"{sizes.households:,} households and {sizes.submissions:,} submissions")
            started = time.monotonic()
            review_seed.seed(owner, sizes, hash_password(review_seed.PASSWORD))
            print(f"seeded in {time.monotonic() - started:.1f} s")
        where = setting(owner)
        app = create_app(target.overrides())
        if args.no_jit:
            without_jit(app)
        client = app.test_client()
        headers = sign_in(client)
        asked = requests(owner, where, client, headers)
        results = [measure(app, client, headers, request, args.runs, args.warmups) for request in asked]
        report(results, where, args)
        if args.explain:
            for result in results:
                over = result.times and result.p95 >= AIM_MS
                if result.status == 200 and (result.request.kind == "list" or over):
                    explain(app, client, headers, result.request)
        with app.app_context():
            db.engine.dispose()
        owner.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
