"""Reliability D (L1-L3), short: a few devices for a few seconds on the session's live server, through the proxy.

The sizes of reliability.md (200 devices, a 30-minute soak, 500 devices at once) are bench/load.py's. Here each scenario
checks what holds at any size: no 5xx but 503 with Retry-After, no timeouts, nothing acknowledged and lost, everything
ingested, no connection left busy or idle in a transaction. Latency, RSS growth and drift are reported, not asserted:
a few seconds on two shared cores say nothing about them.
"""

from __future__ import annotations

from tools.load import L1, L2, L3, Target, run_l1, run_l2, run_l3
from tools.simulate import RetryPolicy

RETRY = RetryPolicy(attempts=20, base_seconds=0.2, cap_seconds=5.0)


def _target(live_server, live_db) -> Target:
    return Target(live_server.url, live_server.pid, live_db)


def test_l1_devices_sync_at_once_without_server_errors_loss_or_connections_left(live_server, live_db):
    scenario = L1(devices=20, submissions=10, photos=1, photo_bytes=50_000, seconds=8.0, syncs=2, seed=1101,
                  retry=RETRY)
    figures = run_l1(scenario, _target(live_server, live_db))
    print("\n" + "\n".join(figures.lines()))

    assert figures.problems(performance=False) == [], "\n".join(figures.lines())
    ingest = figures.run.ingest
    assert ingest.stored == ingest.acknowledged == 20 * 10 and ingest.lost == []
    assert ingest.files_declared == 20 and ingest.files_missing == 0  # one photo per device
    assert figures.push.ms and figures.files.ms and figures.pulls.ms
    assert 0 < figures.run.peak <= figures.run.pool_max


def test_l2_soak_with_pulls_and_readers_keeps_the_backend_up_and_signing_in(live_server, live_db):
    scenario = L2(devices=8, seconds=45.0, submissions_per_sync=3, sync_every=5.0, photos_per_submission=0.1,
                  photo_bytes=20_000, readers=2, read_every=0.5, seed=2202, retry=RETRY)
    figures = run_l2(scenario, _target(live_server, live_db))
    print("\n" + "\n".join(figures.lines()))

    assert figures.problems(performance=False) == [], "\n".join(figures.lines())
    assert figures.backend_up and figures.login_ok
    assert figures.run.ingest.stored > 8 * 3 * 5 and figures.run.ingest.lost == []
    assert figures.reads["list_households"] > 10 and figures.reads["get_household"] > 10
    assert figures.pulls >= figures.run.ingest.acknowledged // 3  # a pull after every sync
    assert figures.push_first.ms and figures.push_last.ms and figures.rss_start > 0


def test_l3_herd_is_answered_or_shed_never_timed_out_and_drains(live_server, live_db):
    scenario = L3(devices=100, submissions=3, window=5.0, drain_limit=150.0, seed=3303,
                  retry=RetryPolicy(attempts=30, base_seconds=0.5, cap_seconds=10.0))
    figures = run_l3(scenario, _target(live_server, live_db))
    print("\n" + "\n".join(figures.lines()))

    assert figures.problems(performance=False) == [], "\n".join(figures.lines())
    answers = figures.run.answers
    assert answers.timeouts == answers.connection_errors == 0 and not answers.server_errors
    assert figures.drained is not None and figures.run.ingest.stored == 100 * 3
    assert figures.shed_share in (None, 1.0)  # every 429/503 said when to come back
