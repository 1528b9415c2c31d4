"""A real gunicorn (two workers) on a scratch database holding the small Dali demo: the server the simulator syncs with."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from server.app import create_app
from server.demo.accounts import ACCOUNTS
from server.extensions import db
from tests.conftest import scratch_database

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
STARTUP_SECONDS = 30
ENUMERATOR = next(a for a in ACCOUNTS if a.username == "demo_enumerator")


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str
    attachment_dir: Path
    log: Path
    pid: int  # gunicorn's master: its children are the workers


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The URL of a gunicorn serving a migrated database with the forms published and the small demo loaded."""
    tmp = tmp_path_factory.mktemp("live")
    with scratch_database("survey_live") as database_url:
        _prepare(database_url)
        attachments, log = tmp / "attachments", tmp / "gunicorn.log"
        env = {**os.environ, "DATABASE_URL": database_url, "ATTACHMENT_DIR": str(attachments), "SURVEY_ENV": "development"}
        # Port 0: the kernel picks a free port and gunicorn says which; no race with another process for it.
        command = [str(GUNICORN), "--workers", "2", "--bind", "127.0.0.1:0", "--graceful-timeout", "5", "wsgi:app"]
        with log.open("wb") as output:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            url = _wait_until_healthy(process, log)
            yield LiveServer(url, database_url, attachments, log, process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def live_db(live_server: LiveServer) -> Iterator[Engine]:
    """An engine on the live server's database, for checking what really got stored."""
    engine = create_engine(live_server.database_url)
    yield engine
    engine.dispose()


def _prepare(database_url: str) -> None:
    """Migrate, publish the forms and load the small demo, through the same CLI commands `make run` uses.

    Measured: 1.7 s in process through the CLI runner, 4.3 s as three `flask` subprocesses. The bare AREAS of
    tests/server take 0.75 s but hold no natural village or household, so a device would have nothing to visit.
    """
    app = create_app({"DATABASE_URL": database_url})
    runner = app.test_cli_runner()
    for args in (["db", "upgrade"], ["forms", "publish"], ["demo", "load", "--size", "small"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, f"flask {' '.join(args)} failed:\n{result.output}\n{result.exception!r}"
    with app.app_context():
        db.engine.dispose()


def _wait_until_healthy(process: subprocess.Popen, log: Path) -> str:
    deadline = time.monotonic() + STARTUP_SECONDS
    url = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        if url is None and (found := re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))):
            url = found.group(1)
        if url is not None and _healthy(url):
            return url
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"gunicorn was not healthy within {STARTUP_SECONDS} s:\n{log.read_text(errors='replace')[-4000:]}")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
            return answer.status == 200
    except (OSError, urllib.error.URLError):
        return False
