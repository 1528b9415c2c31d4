"""S12 of reliability.md, short: a 1 MB photo at 25 kB/s and 100 slow connections through the proxy of `make run`."""

from __future__ import annotations

from sqlalchemy import text

from tests.live.conftest import ENUMERATOR
from tools.slow_links import Scenario, run


def test_s12_slow_links_neither_fail_nor_hold_up_anyone_else(live_server, live_db):
    """The photo (40 s on the wire) is stored whole; /healthz and another phone's pushes are answered all along (each
    probe waits 10 s, which a worker held by a slow phone would exceed); and no worker was killed for waiting: the
    proxy, not a worker, reads slow requests. The 1 s latency criterion is bench/s12_slow_links.py's, not a test's."""
    with live_db.connect() as connection:
        village = connection.execute(text("SELECT min(code) FROM area WHERE level = 'natural_village' "
                                          "AND code LIKE '532922%'")).scalar_one()
    figures = run(Scenario(live_server.url, ENUMERATOR.username, ENUMERATOR.password, village))
    print("\n" + "\n".join(figures.lines()))
    assert figures.photo_stored_whole, figures.lines()
    assert figures.health_failures == 0 and figures.push_failures == 0
    assert len(figures.health_ms) > 100 and len(figures.push_ms) > 25
    assert "WORKER TIMEOUT" not in live_server.log.read_text(errors="replace")
