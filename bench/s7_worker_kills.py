"""Reliability S7, kill -9 of gunicorn workers during sync: `.venv/bin/python bench/s7_worker_kills.py [--minutes 2]`.

Makes a scratch database on $DATABASE_URL's server (migrated, forms published, the small demo loaded), serves it
with gunicorn in production mode, runs tools.worker_kills against it, prints the figures, and always stops gunicorn
and drops the database. Exit status 0 when S7 passes, 1 when it does not.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, make_url, text  # noqa: E402 - after the path set-up, so the script runs from anywhere

from server.app import create_app  # noqa: E402
from server.demo.accounts import ACCOUNTS  # noqa: E402
from server.extensions import db  # noqa: E402
from tools.simulate import Options, RetryPolicy  # noqa: E402
from tools.worker_kills import Scenario, healthy, run  # noqa: E402

GUNICORN = Path(sys.executable).with_name("gunicorn")
STARTUP_SECONDS = 60
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
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        print("DATABASE_URL is not set: export DATABASE_URL=$(scripts/devdb.sh start)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="s7-") as tmp, scratch_database(server_url) as database_url:
        prepare(database_url)
        attachments = Path(tmp) / "attachments"
        with gunicorn(database_url, attachments, Path(tmp) / "gunicorn.log", args.workers) as (pid, url):
            options = Options(url=url, username=ENUMERATOR.username, password=ENUMERATOR.password, devices=args.devices,
                              submissions=args.submissions, batch=args.batch, invalid_share=0.0, seed=args.seed,
                              timeout=args.timeout, retry=RetryPolicy(attempts=args.attempts))
            scenario = Scenario(options, pid, kill_every=args.kill_every, kill_seconds=args.minutes * 60,
                                attachment_dir=attachments)
            engine = create_engine(database_url)
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


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new, empty database beside $DATABASE_URL's, dropped when the block ends (as tests/conftest.py makes them)."""
    server = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"survey_s7_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(database_url: str) -> None:
    """Migrate, publish the forms and load the small demo through the CLI commands `make run` uses."""
    app = create_app({"DATABASE_URL": database_url})
    runner = app.test_cli_runner()
    for args in (["db", "upgrade"], ["forms", "publish"], ["demo", "load", "--size", "small"]):
        result = runner.invoke(args=args)
        if result.exit_code != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.output}\n{result.exception!r}")
    with app.app_context():
        db.engine.dispose()


@contextmanager
def gunicorn(database_url: str, attachments: Path, log: Path, workers: int) -> Iterator[tuple[int, str]]:
    """(master pid, URL) of gunicorn in production mode on a port the kernel picked; stopped when the block ends."""
    env = {**os.environ, "DATABASE_URL": database_url, "ATTACHMENT_DIR": str(attachments), "SURVEY_ENV": "production",
           "SECRET_KEY": secrets.token_hex(32)}
    command = [str(GUNICORN), "--workers", str(workers), "--bind", "127.0.0.1:0", "--graceful-timeout", "5", "wsgi:app"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603 - our own command
    try:
        yield process.pid, _wait_until_healthy(process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(process: subprocess.Popen, log: Path) -> str:
    deadline, url = time.monotonic() + STARTUP_SECONDS, None
    while time.monotonic() < deadline and process.poll() is None:
        if url is None and (found := re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))):
            url = found.group(1)
        if url is not None and healthy(url):
            return url
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not become healthy:\n{log.read_text(errors='replace')[-4000:]}")


def _database_settings(engine) -> str:
    with engine.connect() as connection:
        values = [connection.scalar(text(f"SHOW {name}")) for name in ("fsync", "synchronous_commit", "full_page_writes")]
    return "database: fsync {}, synchronous_commit {}, full_page_writes {}".format(*values)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
