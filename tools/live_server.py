"""A real server to test or measure against: a scratch database beside $DATABASE_URL's, prepared, served by gunicorn.

Used by tests/live (the fixture), bench/s7_worker_kills.py and bench/sync_bench.py, so all three run the same server
the same way `make run` does: migrated as the owner ($DATABASE_OWNER_URL) when there is one, served as the app's role.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import socket
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
class Database:
    """A database as the app reaches it (`url`, the app's role) and as its owner does (`owner_url`; "": one role)."""

    url: str
    owner_url: str = ""

    @property
    def admin_url(self) -> str:
        """The role that creates databases and migrates them: the owner, or the one role there is."""
        return self.owner_url or self.url

    def overrides(self) -> dict[str, str]:
        """create_app overrides that point the app at this database, and its migrations at the owner's connection."""
        return {"DATABASE_URL": self.url, "DATABASE_OWNER_URL": self.owner_url}

    def named(self, name: str) -> Database:
        """The same roles on another database of the same server."""

        def on(url: str) -> str:
            if not url:
                return ""
            return make_url(url).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)

        return Database(on(self.url), on(self.owner_url))


@dataclass(frozen=True)
class Gunicorn:
    pid: int  # the master's
    url: str
    log: Path


def server() -> Database:
    """The PostgreSQL server the scratch databases are made on; without one, a hint to start the embedded one.

    DATABASE_OWNER_URL, when set, is the role that creates and migrates them; else DATABASE_URL's role does all.
    """
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set: export DATABASE_URL=$(scripts/devdb.sh start) "
                         "DATABASE_OWNER_URL=$(scripts/devdb.sh owner-url)")
    return Database(url, os.environ.get("DATABASE_OWNER_URL", ""))


@contextmanager
def scratch_database(server: Database, prefix: str) -> Iterator[Database]:
    """A new, empty database on `server`, made by its owner, dropped (even while in use) when the block ends."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin_url = make_url(server.admin_url).set(drivername="postgresql+psycopg", database="postgres")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.named(name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(database: Database, demo_size: str = "small") -> None:
    """Migrate as the owner, publish the forms and load the demo as the app: `make run`'s commands, in process (faster)."""
    app = create_app(database.overrides())
    runner = app.test_cli_runner()
    for args in (["db", "upgrade"], ["forms", "publish"], ["demo", "load", "--size", demo_size]):
        result = runner.invoke(args=args)
        if result.exit_code != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.output}\n{result.exception!r}")
    with app.app_context():
        db.engine.dispose()


@contextmanager
def gunicorn(database_url: str, attachments: Path, log: Path, workers: int = 2, production: bool = False,
             extra_args: tuple[str, ...] = (), behind_proxy: bool = False) -> Iterator[Gunicorn]:
    """gunicorn on a port the kernel picks (no race for a free port), healthy before the block; stopped after it.

    Its settings are gunicorn.conf.py's, as for `make run`; behind_proxy: it trusts the proxy's headers, as there.
    """
    env = {**os.environ, "DATABASE_URL": database_url, "ATTACHMENT_DIR": str(attachments),
           "TRUSTED_PROXIES": "1" if behind_proxy else "0"}
    # As in `make run`, the server is not given the owner's password: it connects as the app's role alone.
    env.pop("DATABASE_OWNER_URL", None)
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
        _stop(process)


@contextmanager
def proxy(upstream_url: str, state: Path) -> Iterator[str]:
    """The reverse proxy of `make run` (scripts/proxy.sh, deploy/nginx.conf) in front of `upstream_url`; its URL.

    nginx cannot report a port the kernel chose, so a free one is asked for and, if taken meanwhile, another.
    """
    for _attempt in range(5):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        process = subprocess.Popen([str(ROOT / "scripts" / "proxy.sh"), f"127.0.0.1:{port}",  # noqa: S603
                                    upstream_url.removeprefix("http://"), str(state)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline and not healthy(url):
            time.sleep(0.05)
        if process.poll() is None and healthy(url):
            break
        process.kill()
        process.wait()
    else:
        log = state / "error.log"
        raise RuntimeError(f"nginx did not start:\n{log.read_text(errors='replace')[-2000:] if log.exists() else ''}")
    try:
        yield url
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM (a graceful stop for gunicorn and nginx alike), then SIGKILL if it takes over 15 s."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer:  # nosec B310  # noqa: S310 - the server under test
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
