"""Load shedding (reliability L3): behind a trusted proxy, a request that waited too long for a worker is refused
unread with 503 server_busy and Retry-After; one that did not wait, or a stamp from an untrusted client, is served."""

from __future__ import annotations

import time

import pytest

from server.app import create_app


def _stamp(seconds_ago: float) -> dict[str, str]:
    return {"X-Request-Start": f"t={time.time() - seconds_ago:.3f}"}


@pytest.fixture
def proxied(app, database):  # app: the suite's database, migrated
    return create_app({**database.overrides(), "TESTING": True, "SECRET_KEY": "x", "TRUSTED_PROXIES": 1,
                       "QUEUE_TIMEOUT_MS": 5000}).test_client()


def test_a_request_that_waited_past_the_queue_timeout_is_503_with_retry_after(proxied):
    answer = proxied.get("/healthz", headers=_stamp(30))
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.json["error"]["code"] == "server_busy" and answer.json["error"]["details"]["waited_ms"] >= 30_000


@pytest.mark.parametrize("stamp", ["fresh", "t=not-a-time", None])
def test_a_fresh_unreadable_or_missing_stamp_is_served(proxied, stamp):
    # Stamped when the test runs, not when it is collected: the suite may reach it minutes later.
    headers = _stamp(0) if stamp == "fresh" else {"X-Request-Start": stamp} if stamp else {}
    assert proxied.get("/healthz", headers=headers).status_code == 200


def test_without_a_trusted_proxy_the_stamp_is_not_believed(app, database):
    direct = create_app({**database.overrides(), "TESTING": True, "SECRET_KEY": "x", "TRUSTED_PROXIES": 0})
    assert direct.test_client().get("/healthz", headers=_stamp(30)).status_code == 200
