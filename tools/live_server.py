"""A real server to test or measure against: a scratch database beside $DATABASE_URL's, prepared, served by gunicorn.

Used by tests/live (the fixture), bench/s7_worker_kills.py and bench/sync_bench.py, so all three run the same server
the same way `make run` does.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from server.app import create_app
from server.extensions import db

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")
STARTUP_SECONDS = 60


@dataclass(frozen=True)
class Gunicorn:
    pid: int  # the master's
    url: str
    log: Path


def server_url() -> str:
    """The PostgreSQL server the benchmarks make their scratch databases on; without one, they stop with a hint."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set: export DATABASE_URL=$(scripts/devdb.sh start)")
    return url


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the server of `server_url`, dropped (even while in use) when the block ends."""
    server = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(database_url: str, demo_size: str = "small") -> None:
    """Migrate, publish the forms and load the demo, through the CLI commands `make run` uses (in process: faster)."""
    app = create_app({"DATABASE_URL": database_url})
    runner = app.test_cli_runner()
    for args in (["db", "upgrade"], ["forms", "publish"], ["demo", "load", "--size", demo_size]):
        result = runner.invoke(args=args)
        if result.exit_code != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.output}\n{result.exception!r}")
    with app.app_context():
        db.engine.dispose()


@contextmanager
def gunicorn(database_url: str, attachments: Path, log: Path, workers: int = 2, production: bool = False,
             extra_args: tuple[str, ...] = ()) -> Iterator[Gunicorn]:
    """gunicorn on a port the kernel picks (no race for a free port), healthy before the block; stopped after it."""
    env = {**os.environ, "DATABASE_URL": database_url, "ATTACHMENT_DIR": str(attachments)}
    if production:
        env |= {"SURVEY_ENV": "production", "SECRET_KEY": secrets.token_hex(32),
                "PII_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
    else:
        env["SURVEY_ENV"] = "development"
    command = [str(GUNICORN), "--workers", str(workers), "--bind", "127.0.0.1:0", "--graceful-timeout", "5",
               *extra_args, "wsgi:app"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        yield Gunicorn(process.pid, _wait_until_healthy(process, log), log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer:  # noqa: S310 - the server under test
            return answer.status == 200
    except OSError:  # refused, reset, timed out, or an error status (URLError and HTTPError are OSErrors)
        return False


def _wait_until_healthy(process: subprocess.Popen, log: Path) -> str:
    deadline, url = time.monotonic() + STARTUP_SECONDS, None
    while time.monotonic() < deadline and process.poll() is None:
        if url is None and (found := re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))):
            url = found.group(1)
        if url is not None and healthy(url):
            return url
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn did not become healthy (exit {process.poll()}):\n{log.read_text(errors='replace')[-4000:]}")
