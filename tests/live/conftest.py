"""A real gunicorn (two workers) on a scratch database holding the small Dali demo: the server the simulator syncs with."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from server.demo.accounts import ACCOUNTS
from tests.conftest import scratch_database
from tools import live_server as server

ENUMERATOR = next(a for a in ACCOUNTS if a.username == "demo_enumerator")


@dataclass(frozen=True)
class LiveServer:
    url: str  # the proxy's, as phones reach the server
    app_url: str  # gunicorn's own, behind the proxy
    database_url: str
    attachment_dir: Path
    log: Path
    pid: int  # gunicorn's master: its children are the workers


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A gunicorn (two workers) serving a migrated database with the forms published and the small demo loaded,
    reached through the proxy of `make run` (deploy/nginx.conf), as phones reach it."""
    tmp = tmp_path_factory.mktemp("live")
    with scratch_database("survey_live") as database:
        server.prepare(database)
        attachments = tmp / "attachments"
        with (server.gunicorn(database.url, attachments, tmp / "gunicorn.log", behind_proxy=True) as running,
              server.proxy(running.url, tmp / "proxy") as url):
            yield LiveServer(url, running.url, database.url, attachments, running.log, running.pid)


@pytest.fixture(scope="session")
def live_db(live_server: LiveServer) -> Iterator[Engine]:
    """An engine on the live server's database, for checking what really got stored."""
    engine = create_engine(live_server.database_url)
    yield engine
    engine.dispose()
