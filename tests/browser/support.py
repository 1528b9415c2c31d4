"""What the browser tests share: Debian's Chromium, the app served on a real port, and polling the page."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from server.app import create_app
from server.extensions import db
from tests.conftest import scratch_database
from tools import live_server

CHROMIUM = "/usr/bin/chromium"
# Flags the Debian build needs on a machine with no outside network (see the README).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app on a real port of 127.0.0.1, in a thread, while the block runs: yields its base URL. Afterwards the
    server stops and the app's database connections are closed (so that its database can be dropped)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()


@dataclass
class Served:
    """The app on a real port: its base URL, the app (whose config a test may change while it runs), its database."""
    url: str
    app: Flask
    database_url: str


@contextmanager
def serving_demo(prefix: str, attachments: Path) -> Iterator[Served]:
    """The app over the small Dali demo, in a scratch database of its own named from `prefix` and with its attachments
    under `attachments`, on a real port while the block runs."""
    with scratch_database(prefix) as database:
        live_server.prepare(database)
        app = create_app({**database.overrides(), "SECRET_KEY": "browser-test", "ATTACHMENT_DIR": str(attachments)})
        with serving(app) as url:
            yield Served(url, app, database.url)


def wait_until(page, expression: str, timeout: float = 15, arg: Any = None) -> Any:
    """Polls a JavaScript expression (given `arg` as page.evaluate takes one) until it is truthy, and returns its
    value. Playwright's wait_for_function evaluates its predicate with eval, which the pages' CSP rightly refuses;
    page.evaluate goes through the debugger and is not refused."""
    deadline = time.monotonic() + timeout
    while not (value := page.evaluate(expression, arg)):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        time.sleep(0.1)
    return value
