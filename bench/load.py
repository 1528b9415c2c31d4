"""Reliability D, load: `.venv/bin/python bench/load.py l1 --devices 50 100 200`, `... l2 --minutes 30`, `... l3 --devices 500`.

Each run makes a scratch database on $DATABASE_URL's server (migrated, forms published, the small demo loaded), serves
it as `make run` does (gunicorn with gunicorn.conf.py behind nginx, deploy/nginx.conf), drives tools/load.py against
the proxy, prints the figure lines of reliability.md ("Figures to report"), and always stops the server and drops the
database; l1 does so for each N. Exit status 0 when every pass criterion holds, 1 when one does not.

The devices, the server, nginx and PostgreSQL share the machine's cores (2 on the machines this is built on), so each
run prints the load average: latencies are the server's plus the time the load generator waited for the CPU.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine  # noqa: E402 - after the path set-up, so the script runs from anywhere

from tools import live_server  # noqa: E402
from tools.load import L1, L2, L3, Target, run_l1, run_l2, run_l3  # noqa: E402
from tools.simulate import Mix  # noqa: E402


def parse() -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workers", type=int, default=2, help="gunicorn workers (WEB_CONCURRENCY's default)")
    common.add_argument("--quiet", action="store_true", help="no progress lines")
    common.add_argument("--new-share", type=float, default=Mix().new_households,
                        help="share of visits to households not known yet (default %(default)s, the simulator's); "
                             "the rest revisit the demo's few dozen households, whose pushes cost more with each visit")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scenarios = parser.add_subparsers(dest="scenario", required=True)

    l1 = scenarios.add_parser("l1", parents=[common], help="N devices, each 50 submissions + 3 photos of 500 kB over 10 min")
    l1.add_argument("--devices", type=int, nargs="+", default=[50, 100, 200], metavar="N")
    l1.add_argument("--submissions", type=int, default=L1.submissions, help="per device")
    l1.add_argument("--photos", type=int, default=L1.photos, help="per device")
    l1.add_argument("--photo-kb", type=float, default=L1.photo_bytes / 1000)
    l1.add_argument("--minutes", type=float, default=L1.seconds / 60,
                    help="over which each device's syncs are spread (0: all at once, as fast as it goes)")
    l1.add_argument("--syncs", type=int, default=L1.syncs, help="sync sessions per device")

    l2 = scenarios.add_parser("l2", parents=[common], help="soak at half of L1's largest N, with pulls and household reads")
    l2.add_argument("--minutes", type=float, default=L2.seconds / 60)
    l2.add_argument("--devices", type=int, default=L2.devices, help="default: half of L1's 200, at L1's pace")
    l2.add_argument("--submissions-per-sync", type=int, default=L2.submissions_per_sync)
    l2.add_argument("--sync-every", type=float, default=L2.sync_every, metavar="SECONDS")
    l2.add_argument("--readers", type=int, default=L2.readers, help="supervisors reading households")
    l2.add_argument("--read-every", type=float, default=L2.read_every, metavar="SECONDS")

    l3 = scenarios.add_parser("l3", parents=[common], help="thundering herd: devices reconnect within a window after an outage")
    l3.add_argument("--devices", type=int, default=L3.devices)
    l3.add_argument("--submissions", type=int, default=L3.submissions, help="queued on each device")
    l3.add_argument("--window", type=float, default=L3.window, metavar="SECONDS")
    l3.add_argument("--threads", type=int, default=None, help="device runs at once (default: one per device)")
    return parser.parse_args()


@contextmanager
def served(prefix: str, workers: int) -> Iterator[tuple[Target, Path]]:
    """A scratch database with the small demo, served by gunicorn behind nginx; the target and gunicorn's log."""
    with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as folder, \
            live_server.scratch_database(live_server.server(), f"survey_{prefix}") as database:
        tmp = Path(folder)
        live_server.prepare(database)
        with live_server.gunicorn(database.url, tmp / "attachments", tmp / "gunicorn.log", workers,
                                  behind_proxy=True) as running, live_server.proxy(running.url, tmp / "proxy") as url:
            engine = create_engine(database.url)
            try:
                yield Target(url, running.pid, engine), running.log
            finally:
                engine.dispose()


def scenarios(args: argparse.Namespace) -> Iterator[tuple[str, object]]:
    mix = Mix(new_households=args.new_share)
    if args.scenario == "l1":
        for n in args.devices:
            yield "L1", L1(devices=n, submissions=args.submissions, photos=args.photos,
                           photo_bytes=round(args.photo_kb * 1000), seconds=args.minutes * 60, syncs=args.syncs,
                           mix=mix)
    elif args.scenario == "l2":
        yield "L2", L2(devices=args.devices, seconds=args.minutes * 60, submissions_per_sync=args.submissions_per_sync,
                       sync_every=args.sync_every, readers=args.readers, read_every=args.read_every, mix=mix)
    else:
        yield "L3", L3(devices=args.devices, submissions=args.submissions, window=args.window, threads=args.threads,
                       mix=mix)


def main() -> int:
    args = parse()
    # A SIGTERM (a CI timeout, say) still runs the finally blocks: gunicorn and nginx stopped, the database dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run = {"L1": run_l1, "L2": run_l2, "L3": run_l3}
    failed = False
    for name, scenario in scenarios(args):
        print("load average (1, 5, 15 min) before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
        with served(f"load_{name.lower()}", args.workers) as (target, log):
            figures = run[name](scenario, target, None if args.quiet else _progress)
            text = log.read_text(errors="replace")
        print("\n".join(figures.lines()))
        print(f"gunicorn log: tracebacks {text.count('Traceback')}, worker timeouts {text.count('WORKER TIMEOUT')}, "
              f"workers booted {text.count('Booting worker')}")
        problems = figures.problems()
        print("\n".join([f"{name} PASSED"] if not problems else [f"{name} FAILED:", *(f"  {p}" for p in problems)]),
              flush=True)
        failed |= bool(problems)
    return 1 if failed else 0


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
