"""S8 of reliability.md, short: PostgreSQL restarted immediately three times while devices push through `make run`'s
proxy and gunicorn (production settings), on a private cluster so nothing else loses its database."""

from __future__ import annotations

import socket

from tools import db_restarts


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_s8_database_restarts_lose_nothing_answer_503_and_recover_by_themselves(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("s8", numbered=True)
    result = db_restarts.run(tmp, _free_port(), devices=4, submissions=40, every=4.0, times=3)
    print("\n" + "\n".join(result.lines()))
    assert result.problems() == [], "\n".join(result.lines())
    assert result.restarts.probe.statuses["503"] > 0  # the outages were seen, and answered 503 with Retry-After
    assert (len(result.figures.lost), result.figures.duplicates) == (0, 0)
