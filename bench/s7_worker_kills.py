"""Reliability S7, kill -9 of gunicorn workers during sync: `.venv/bin/python bench/s7_worker_kills.py [--minutes 2]`.

Makes a scratch database on $DATABASE_URL's server (migrated, forms published, the small demo loaded), serves it
with gunicorn in production mode, runs tools.worker_kills against it, prints the figures, and always stops gunicorn
and drops the database. Exit status 0 when S7 passes, 1 when it does not.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402 - after the path set-up, so the script runs from anywhere

from server.demo.accounts import ACCOUNTS  # noqa: E402
from tools import live_server  # noqa: E402
from tools.simulate import Options, RetryPolicy  # noqa: E402
from tools.worker_kills import Scenario, run  # noqa: E402

ENUMERATOR = next(a for a in ACCOUNTS if a.username == "demo_enumerator")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--submissions", type=int, default=100, help="per device (N = devices x submissions)")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long workers are killed")
    parser.add_argument("--kill-every", type=float, default=2.0, metavar="SECONDS")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (WEB_CONCURRENCY's default)")
    parser.add_argument("--batch", type=int, default=100, help="submissions per push request")
    parser.add_argument("--attempts", type=int, default=10, help="tries per request before a device gives up")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a device waits for an answer")
    parser.add_argument("--seed", type=int, default=7007)
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser.parse_args()


def main() -> int:
    args = parse()
    # A SIGTERM (a CI timeout, say) still runs the finally blocks: gunicorn stopped, the database dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="s7-") as tmp, \
            live_server.scratch_database(live_server.server(), "survey_s7") as database:
        live_server.prepare(database)
        attachments = Path(tmp) / "attachments"
        with live_server.gunicorn(database.url, attachments, Path(tmp) / "gunicorn.log", args.workers,
                                  production=True) as running:
            pid, url = running.pid, running.url
            options = Options(url=url, username=ENUMERATOR.username, password=ENUMERATOR.password, devices=args.devices,
                              submissions=args.submissions, batch=args.batch, invalid_share=0.0, seed=args.seed,
                              timeout=args.timeout, retry=RetryPolicy(attempts=args.attempts))
            scenario = Scenario(options, pid, kill_every=args.kill_every, kill_seconds=args.minutes * 60,
                                attachment_dir=attachments)
            engine = create_engine(database.url)
            try:
                figures = run(scenario, engine, None if args.quiet else _progress)
                print("\n".join(figures.lines()))
                print(_database_settings(engine))
            finally:
                engine.dispose()
            log = (Path(tmp) / "gunicorn.log").read_text(errors="replace")
    print(f"gunicorn master: {log.count('was sent SIGKILL')} workers reaped after SIGKILL, "
          f"{log.count('Booting worker')} booted; tracebacks in its log: {log.count('Traceback')}")
    problems = figures.problems()
    print("\n".join(["S7 PASSED"] if not problems else ["S7 FAILED:", *(f"  {p}" for p in problems)]))
    return 1 if problems else 0


def _database_settings(engine) -> str:
    with engine.connect() as connection:
        values = [connection.scalar(text(f"SHOW {name}")) for name in ("fsync", "synchronous_commit", "full_page_writes")]
    return "database: fsync {}, synchronous_commit {}, full_page_writes {}".format(*values)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
