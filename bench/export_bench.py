"""Households of a whole prefecture to GeoPackage, beside ogr2ogr (issue 15): `.venv/bin/python bench/export_bench.py`.

    export DATABASE_URL=$(scripts/devdb.sh start) DATABASE_OWNER_URL=$(scripts/devdb.sh owner-url)
    .venv/bin/python bench/export_bench.py                 # demo size full_million: ~1.08 million households
    .venv/bin/python bench/export_bench.py --approved      # ... and both tools again with the approved state's query
    .venv/bin/python bench/export_bench.py --profile       # ... then our export in process under cProfile
    .venv/bin/python bench/export_bench.py --quick         # one county of the medium demo: a smoke check, seconds

The database `survey_export_bench_<size>` beside $DATABASE_URL's is made, migrated (as the owner) and loaded with
`flask demo load --size <size> --if-empty` the first time (full_million: ~11 minutes), then VACUUM ANALYZEd, and
left for the next runs; drop it with DROP DATABASE as the owner's role. ogr2ogr and GNU time are Debian's gdal-bin
and time (scripts/devdb.sh packages gdal-bin time installs them).

Each side runs as a child process, timed from start to exit, its peak memory its max RSS (GNU time's %M):
  ours     `flask exports make households --format gpkg --as demo_planner --review any`: the whole CLI command,
           its count of the rows for the progress bar included (what `flask ... exports --help` alone takes is
           printed first: the app's start and its imports);
  ogr2ogr  `ogr2ogr -f GPKG -sql <SQL> -nln households -a_srs EPSG:4326` as the app's role with the app's session
           settings (jit = off, as server/config.py sets on every connection of the app), where SQL is our
           exporter's own households query for the same reader and review state, in its order, with literal binds;
           only its geometry is handed to GDAL as the PostGIS geometry rather than ST_AsBinary's bytes, which GDAL's
           PostgreSQL driver would take for a binary attribute instead of the layer's geometry.
Rows per second are the rows in the file (pyogrio.read_info; both files must hold as many) over those seconds. The
table shows rows, seconds, rows/s, peak MB and ours/ogr2ogr, against the aim of at least half of ogr2ogr's rate
under 300 MB. Before timing, the query runs once under EXPLAIN ANALYZE (so both sides find the tables cached), which
is printed as what PostgreSQL alone takes. Runs alternate which tool goes first; with --runs > 1 each figure is the
median (peak MB: the highest). Two cores are shared with PostgreSQL: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyogrio  # noqa: E402 - after the path set-up
from sqlalchemy import Select, create_engine, literal_column, make_url, select, text  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402

from server.app import create_app  # noqa: E402
from server.extensions import db  # noqa: E402
from server.models import User  # noqa: E402
from server.services.auth import principal_of  # noqa: E402
from server.services.exports import requests as export_requests  # noqa: E402
from server.services.exports.datasets import ReviewFilter  # noqa: E402
from server.services.exports.files import Format  # noqa: E402
from tools import live_server  # noqa: E402

PREFIX = "survey_export_bench"
READER = "demo_planner"  # the demo's planner: the prefecture's scope, and exports are what planners read
QUICK_SIZE, QUICK_AREA = "medium", "532922"  # 漾濞: ~400 households of the medium demo
AIM_RATIO, AIM_MB = 0.5, 300
FLASK = Path(sys.executable).with_name("flask")
TIME = "/usr/bin/time"  # GNU time (Debian package time)
OGR2OGR = "/usr/bin/ogr2ogr"  # Debian package gdal-bin
# What every connection of the app runs with (server/config.py, _session_limits), given to ogr2ogr and the EXPLAIN too:
# with PostgreSQL's JIT on, the approved query (~230 SubPlans) spends ~20 s compiling at each execution, and ogr2ogr
# executes it twice.
SESSION = "-c jit=off"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="full_million",
                        help="demo size to load and export (default full_million, ~1.08 million households)")
    parser.add_argument("--area", help="export this area code and below only (default: the reader's whole scope)")
    parser.add_argument("--quick", action="store_true",
                        help=f"--size {QUICK_SIZE} --area {QUICK_AREA}: a smoke check of the script, in seconds")
    parser.add_argument("--approved", action="store_true", help="also both tools with --review approved's query")
    parser.add_argument("--runs", type=int, default=1, help="timed runs of each tool (default 1); the median is shown")
    parser.add_argument("--profile", action="store_true",
                        help="then our export (review any) in this process under cProfile: where its time goes")
    args = parser.parse_args()
    if args.quick:
        args.size, args.area = QUICK_SIZE, args.area or QUICK_AREA
    return args


# --- the database -------------------------------------------------------------------------------------------------

def database(size: str) -> live_server.Database:
    """`survey_export_bench_<size>` on $DATABASE_URL's server, made by the owner unless it is there."""
    server = live_server.server()
    name = f"{PREFIX}_{size}"
    admin = create_engine(make_url(server.admin_url).set(drivername="postgresql+psycopg", database="postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
            print(f"made the database {name}")
    admin.dispose()
    return server.named(name)


def flask_env(target: live_server.Database) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": target.url, "DATABASE_OWNER_URL": target.owner_url}


def flask(target: live_server.Database, *args: str) -> str:
    """A `flask` command in a child process, on the bench's database; its output. A failure stops the bench."""
    done = subprocess.run([str(FLASK), "--app", "wsgi", *args], cwd=ROOT, env=flask_env(target),  # noqa: S603
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr[-3000:]}")
    return done.stdout


def prepare(target: live_server.Database, size: str) -> None:
    """Migrate, publish the forms and load the demo once; VACUUM ANALYZE after a load, as autovacuum would leave it."""
    flask(target, "db", "upgrade")
    flask(target, "forms", "publish")
    started = time.monotonic()
    if "already loaded" in flask(target, "demo", "load", "--size", size, "--if-empty"):
        print(f"demo {size}: already loaded (by an earlier run)")
        return
    seconds = time.monotonic() - started
    print(f"demo {size}: loaded in {seconds / 60:.1f} min ({seconds:.0f} s)")
    owner = create_engine(target.admin_url, isolation_level="AUTOCOMMIT")
    started = time.monotonic()
    with owner.connect() as connection:
        connection.execute(text("VACUUM (ANALYZE)"))
    owner.dispose()
    print(f"VACUUM ANALYZE in {time.monotonic() - started:.0f} s")


# --- the query both tools read ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Query:
    review: ReviewFilter
    sql: str  # as our exporter sends it, with literal binds
    for_gdal: str  # the same with the geometry as PostGIS geometry


def queries(target: live_server.Database, reviews: list[ReviewFilter], area: str | None) -> list[Query]:
    """The households query our exporter runs for READER, compiled with literal binds."""
    app = create_app(target.overrides())
    found = []
    with app.app_context():
        viewer = principal_of(db.session.scalar(select(User).where(User.username == READER)))
        for review in reviews:
            request = export_requests.ExportRequest("households", Format.gpkg, area_code=area, review=review)
            (layer,) = export_requests.layers_for(db.session, viewer, request)
            ordered = layer.query.order_by(*layer.order)
            geometry = layer.query.selected_columns[0]  # ST_AsBinary(<expression>) AS geometry
            wkb = geometry.element.name
            if not (wkb.startswith("ST_AsBinary(") and wkb.endswith(")")):
                raise SystemExit(f"the layer's geometry is no longer ST_AsBinary(...): {wkb}")
            gdal = ordered.with_only_columns(literal_column(wkb[len("ST_AsBinary("):-1]).label("geometry"),
                                             *layer.query.selected_columns[1:])
            found.append(Query(review, literal(ordered), literal(gdal)))
        db.engine.dispose()
    return found


def literal(statement: Select) -> str:
    """The statement as PostgreSQL receives it from our exporter: binds as literals, and `%` as it is (psycopg's
    own paramstyle would write it `%%`, which the driver undoes but ogr2ogr would send as written)."""
    return str(statement.compile(dialect=postgresql.psycopg.dialect(paramstyle="named"),
                                 compile_kwargs={"literal_binds": True}))


def sql_alone(target: live_server.Database, query: Query) -> str:
    """What PostgreSQL alone takes to run the ordered query and drop its rows (EXPLAIN ANALYZE): also the warm-up."""
    engine = create_engine(target.url, connect_args={"options": SESSION})
    with engine.connect() as connection:
        started = time.monotonic()
        plan = [line for (line,) in connection.exec_driver_sql(f"EXPLAIN (ANALYZE) {query.sql}",
                                                               execution_options={"no_parameters": True})]
        seconds = time.monotonic() - started
    engine.dispose()
    subplans = sum(line.strip().startswith("SubPlan") for line in plan)
    return f"{seconds:.1f} s ({subplans} SubPlans in its plan)"


# --- the two tools ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float
    rows: int


def measured(command: list[str], env: dict[str, str], log: Path) -> tuple[float, float]:
    """Runs a child to its end: its wall seconds and its peak RSS in MB, as GNU time reads it (its child's
    ru_maxrss). Not os.wait4 on our own child: it would report at least this process's RSS, which the child's
    high-water mark inherits through vfork and exec."""
    peak = log.with_suffix(".peak")
    with log.open("wb") as output:
        started = time.monotonic()
        done = subprocess.run([TIME, "-f", "%M", "-o", str(peak), *command], cwd=ROOT, env=env,  # noqa: S603
                              stdout=output, stderr=subprocess.STDOUT, check=False)
        seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({done.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
    return seconds, int(peak.read_text().split()[-1]) / 1024  # kB


def ours(target: live_server.Database, query: Query, area: str | None, out: Path) -> tuple[Run, Path]:
    folder = out / f"ours_{query.review}"
    command = [str(FLASK), "--app", "wsgi", "exports", "make", "households", "--format", "gpkg", "--as", READER,
               "--out", str(folder), "--review", query.review.value, *(["--area", area] if area else [])]
    seconds, peak = measured(command, flask_env(target), out / "ours.log")
    (path,) = folder.glob("*.gpkg")
    return Run(seconds, peak, pyogrio.read_info(path, layer="households")["features"]), path


def ogr2ogr(target: live_server.Database, query: Query, out: Path) -> tuple[Run, Path]:
    url = make_url(target.url)
    conninfo = f"host={url.host} port={url.port or 5432} dbname={url.database} user={url.username}"
    path = out / f"ogr2ogr_{query.review}.gpkg"
    command = [OGR2OGR, "-f", "GPKG", str(path), f"PG:{conninfo}", "-sql", query.for_gdal, "-nln", "households",
               "-a_srs", "EPSG:4326"]
    env = {**os.environ, "PGPASSWORD": url.password or "", "PGOPTIONS": SESSION}
    seconds, peak = measured(command, env, out / "ogr2ogr.log")
    return Run(seconds, peak, pyogrio.read_info(path, layer="households")["features"]), path


def checked(ours_path: Path, theirs_path: Path) -> str:
    """What the two files agree on; a difference in rows stops the bench (the rates would not compare)."""
    a, b = pyogrio.read_info(ours_path, layer="households"), pyogrio.read_info(theirs_path, layer="households")
    if a["features"] != b["features"]:
        raise SystemExit(f"the files differ: ours has {a['features']:,} features, ogr2ogr's {b['features']:,}")
    notes = []
    for what, x, y in (("geometry type", a["geometry_type"], b["geometry_type"]), ("CRS", a["crs"], b["crs"]),
                       ("fields", list(a["fields"]), list(b["fields"]))):
        if what == "fields" and x != y:
            x, y = [f for f in x if f not in y] or "-", [f for f in y if f not in x] or "-"
        notes.append(f"same {what}" if x == y else f"{what}: ours {x}, ogr2ogr's {y}")
    return (f"files: {a['features']:,} features each; {'; '.join(notes)}; "
            f"ours {os.path.getsize(ours_path) / 2**20:.0f} MB, ogr2ogr's {os.path.getsize(theirs_path) / 2**20:.0f} MB")


def median(runs: list[Run]) -> Run:
    return Run(statistics.median(r.seconds for r in runs), max(r.peak_mb for r in runs), runs[0].rows)


# --- the report ---------------------------------------------------------------------------------------------------

def table(results: list[tuple[ReviewFilter, Run, Run]]) -> None:
    print(f"\n{'tool':<10} {'review':<9} {'rows':>11} {'seconds':>8} {'rows/s':>9} {'peak MB':>8}  ours/ogr2ogr")
    for review, mine, theirs in results:
        for name, run in (("ogr2ogr", theirs), ("ours", mine)):
            ratio = ""
            if name == "ours":
                rate = (mine.rows / mine.seconds) / (theirs.rows / theirs.seconds)
                ratio = (f"{rate:.2f} of its rate (aim >= {AIM_RATIO}: {'met' if rate >= AIM_RATIO else 'missed'}; "
                         f"< {AIM_MB} MB: {'met' if mine.peak_mb < AIM_MB else 'missed'})")
            print(f"{name:<10} {review.value:<9} {run.rows:>11,} {run.seconds:>8.1f} {run.rows / run.seconds:>9,.0f} "
                  f"{run.peak_mb:>8.0f}  {ratio}")


def profile(target: live_server.Database, area: str | None, out: Path) -> None:
    """Our export (review any) in this process under cProfile: the top functions by their own time and by total."""
    app = create_app(target.overrides())
    request = export_requests.ExportRequest("households", Format.gpkg, area_code=area, review=ReviewFilter.any)
    with app.app_context():
        viewer = principal_of(db.session.scalar(select(User).where(User.username == READER)))
        profiler = cProfile.Profile()
        started = time.monotonic()
        profiler.enable()
        _path, written = export_requests.make(db.session, viewer, request, out, app.extensions["pii"])
        profiler.disable()
        db.session.rollback()  # the audit row: a measurement, not an export anyone made
        db.engine.dispose()
    print(f"\nin process under cProfile: {written.rows['households']:,} rows in {time.monotonic() - started:.1f} s")
    for order in ("tottime", "cumulative"):
        report = io.StringIO()
        pstats.Stats(profiler, stream=report).sort_stats(order).print_stats(18)
        print(f"--- by {order}\n" + report.getvalue().split("\n\n", 2)[-1].strip())


def compare(target: live_server.Database, query: Query, area: str | None, runs: int,
            out: Path) -> tuple[ReviewFilter, Run, Run]:
    """Both tools on one query, `runs` times each, taking turns to go first; the files checked, then removed."""
    print(f"review {query.review}: PostgreSQL alone (EXPLAIN ANALYZE of the ordered query) {sql_alone(target, query)}")
    mine, theirs = [], []
    for n in range(runs):
        for side in (("ogr2ogr", "ours") if n % 2 == 0 else ("ours", "ogr2ogr")):
            if side == "ours":
                run, ours_path = ours(target, query, area, out)
                mine.append(run)
            else:
                run, theirs_path = ogr2ogr(target, query, out)
                theirs.append(run)
            print(f"  {side:<8} run {n + 1}: {run.rows:,} rows in {run.seconds:.1f} s, peak {run.peak_mb:.0f} MB")
    print(f"  {checked(ours_path, theirs_path)}")
    shutil.rmtree(ours_path.parent)
    theirs_path.unlink()
    return query.review, median(mine), median(theirs)


def main() -> None:
    args = parse()
    if not (Path(OGR2OGR).exists() and Path(TIME).exists()):
        raise SystemExit("ogr2ogr or GNU time is missing: scripts/devdb.sh packages gdal-bin time")
    target = database(args.size)
    prepare(target, args.size)
    found = queries(target, [ReviewFilter.any] + ([ReviewFilter.approved] if args.approved else []), args.area)
    gdal = subprocess.run([OGR2OGR, "--version"], capture_output=True, text=True, check=True).stdout.strip()  # noqa: S603
    print(f"reader {READER}, households of {args.area or 'the whole scope'}; "
          f"ogr2ogr: {gdal}; ours: pyogrio {pyogrio.__version__} on GDAL {pyogrio.__gdal_version_string__}")
    with tempfile.TemporaryDirectory(prefix="export_bench_") as work:
        out = Path(work)
        seconds, peak = measured([str(FLASK), "--app", "wsgi", "exports", "--help"], flask_env(target), out / "idle.log")
        print(f"the flask CLI alone (`flask --app wsgi exports --help`): {seconds:.1f} s, peak {peak:.0f} MB")
        table([compare(target, query, args.area, args.runs, out) for query in found])
        if args.profile:
            profile(target, args.area, out)


if __name__ == "__main__":
    main()
