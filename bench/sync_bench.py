"""Sync throughput end to end: `.venv/bin/python bench/sync_bench.py [--devices 8 --submissions 500]`.

Serves a scratch database (migrated, forms published, small demo) with gunicorn, then lets simulated devices
(tools/simulate) push household visits with six members in batches of 100: validation, storage and reconciliation
into households and people happen in the request, answered after the commit; photos are not uploaded, to measure
submissions alone. By default every visit is to a new household, as in a first round; --revisits 0.8 sends most
visits to households already known, which the simulator draws at random from all it knows, so one household gets
many visits from every device (each device's in the order it made them); --own-village 0.9 draws nine in ten from
the device's own natural village instead, as work teams do, so parallel pushes seldom wait on one household.

Prints in one run: accepted submissions per second, p50 and p95 push latency, the peak memory of each worker, and
how fast the same payloads load into the same database with COPY, with the ratio of the two rates. The load
generator runs on the same two cores as the server and the database, so the figure is a floor.

Then it counts what was lost or doubled: every acknowledged submission is sent again (after the timed sync) and
must be answered duplicate, must be stored, and must be in exactly one version of its household's history.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, make_url, text  # noqa: E402 - after the path set-up, so the script runs from anywhere

from server.demo.accounts import ACCOUNTS  # noqa: E402
from tools import live_server  # noqa: E402
from tools.simulate import Mix, Options, simulate  # noqa: E402
from tools.worker_kills import workers  # noqa: E402

ENUMERATOR = next(a for a in ACCOUNTS if a.username == "demo_enumerator")
COPY_COLUMNS = ("uuid", "content_sha256", "state", "payload", "user_id", "device_id", "form_id", "form_version",
                "area_code")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=8)
    parser.add_argument("--submissions", type=int, default=500, help="per device")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--members", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--revisits", type=float, default=0.0, metavar="SHARE",
                        help="share of visits to households already known (default 0: a first round, one visit each)")
    parser.add_argument("--demo", choices=("small", "medium"), default="small",
                        help="demo data the server starts with (small: 40 households in the devices' county, so "
                             "random revisits pile onto them; medium: 400)")
    parser.add_argument("--own-village", type=float, default=0.0, metavar="SHARE",
                        help="share of revisits to the device's own natural village (default 0: any known household)")
    return parser.parse_args()


def peak_memory_mb(pids: list[int]) -> dict[int, float]:
    """Each process's high-water resident set (VmHWM), in MB."""
    peaks = {}
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks[pid] = int(line.split()[1]) / 1024
    return peaks


# Accepted visits in no version of their entity's history (lost), or in more than one (doubled); the bench makes
# no corrections, so none is superseded.
_HISTORY_COUNTS = text("""
WITH listed AS (SELECT u, count(*) AS n FROM entity_version CROSS JOIN unnest(submission_uuids) AS u GROUP BY u)
SELECT count(*) FILTER (WHERE listed.n IS NULL), count(*) FILTER (WHERE listed.n > 1)
FROM submission AS s LEFT JOIN listed ON listed.u = s.uuid::text WHERE s.state = 'accepted' AND s.entity_id IS NOT NULL
""")


def lost_and_doubled(database_url: str, result) -> tuple[int, int]:
    """(lost, doubled): acknowledged but not stored, not answered duplicate on resending, or in no version of its
    entity; or in more than one version."""
    acknowledged = [uid for device in result.devices for uid in device.ledger]
    engine = create_engine(make_url(database_url).set(drivername="postgresql+psycopg"))
    with engine.connect() as connection:
        stored = connection.scalar(text("SELECT count(*) FROM submission WHERE uuid = ANY(CAST(:uuids AS uuid[]))"),
                                   {"uuids": acknowledged})
        unlisted, doubled = connection.execute(_HISTORY_COUNTS).one()
    engine.dispose()
    return len(acknowledged) - stored + len(result.unaccounted) + unlisted, doubled


def copy_rate(database_url: str, items: list[dict], username: str) -> float:
    """Rows per second that COPY loads the same payloads at, into a table shaped like submission's, in one transaction."""
    url = make_url(database_url).set(drivername="postgresql+psycopg")
    engine = create_engine(url)
    with engine.begin() as connection:
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor:
            user_id = cursor.execute("SELECT id FROM app_user WHERE username = %s", (username,)).fetchone()[0]
            cursor.execute("CREATE TEMPORARY TABLE copy_target (LIKE submission INCLUDING DEFAULTS)")
            started = time.perf_counter()
            with cursor.copy(f"COPY copy_target ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
                for item in items:
                    copy.write_row((item["uuid"], "0" * 64, "accepted", json.dumps(item, ensure_ascii=False), user_id,
                                    "copy", item["form_id"], item["form_version"], item["subject"]["area_code"]))
            elapsed = time.perf_counter() - started
    engine.dispose()
    return len(items) / elapsed


def main() -> int:
    args = parse()
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp, \
            live_server.scratch_database(live_server.server(), "survey_bench") as database:
        live_server.prepare(database, args.demo)
        with live_server.gunicorn(database.url, Path(tmp) / "attachments", Path(tmp) / "gunicorn.log", args.workers,
                                  production=True) as running:
            pids = workers(running.pid)
            result = simulate(Options(
                url=running.url, username=ENUMERATOR.username, password=ENUMERATOR.password, devices=args.devices,
                submissions=args.submissions, batch=args.batch, members=args.members, invalid_share=0.0,
                seed=args.seed, uploads=False, verify=True,
                mix=Mix(new_households=1.0 - args.revisits, villages=0.0, own_village=args.own_village)))
            peaks = peak_memory_mb(pids)
        if result.exit_code != 0:
            print(result.summary(), file=sys.stderr)
            return 1
        items = [made.item for device in result.devices for made in device.made.values()]
        copied = copy_rate(database.url, items, ENUMERATOR.username)
        lost, doubled = lost_and_doubled(database.url, result)
    accepted = result.count("accepted")
    rate = accepted / result.sync_seconds
    print(f"devices {args.devices}, {len(items)} household visits with {args.members} members "
          f"({args.revisits:.0%} to known households, {args.own_village:.0%} of those in the device's own village; "
          f"{args.demo} demo), "
          f"batches of {args.batch}, "
          f"{args.workers} gunicorn workers, 2 cores shared with PostgreSQL and the load generator")
    print(f"accepted submissions/s end to end: {rate:,.0f} ({accepted} in {result.sync_seconds:.1f} s)")
    print(f"push latency per batch: p50 {result.latency_ms(0.5):.0f} ms, p95 {result.latency_ms(0.95):.0f} ms")
    print("peak worker memory: " + ", ".join(f"{mb:.0f} MB" for mb in peaks.values()))
    print(f"COPY of the same payloads: {copied:,.0f} rows/s; end to end is {rate / copied:.1%} of COPY "
          f"(1 : {copied / rate:.1f})")
    print(f"lost {lost}, doubled {doubled} (of {accepted} accepted; resent, stored, and each in one version)")
    return 1 if lost or doubled else 0


if __name__ == "__main__":
    sys.exit(main())
