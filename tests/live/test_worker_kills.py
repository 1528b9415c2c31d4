"""S7 of reliability.md, short: gunicorn workers killed with SIGKILL every 2 s while simulated devices push."""

from __future__ import annotations

from tests.live.conftest import ENUMERATOR
from tools.simulate import Options, RetryPolicy
from tools.worker_kills import Scenario, alive, healthy, run, workers

DEVICES = 6
SUBMISSIONS = 60
KILL_EVERY = 2.0
KILL_SECONDS = 15.0


def test_s7_workers_killed_mid_batch_lose_and_duplicate_nothing(live_server, live_db):
    """Every acknowledged submission is stored once, the rest once after a resend; the master replaces each worker.

    The session's shared server is the one attacked: its master respawns the workers, and the end checks that it did.
    """
    options = Options(url=live_server.url, username=ENUMERATOR.username, password=ENUMERATOR.password, devices=DEVICES,
                      submissions=SUBMISSIONS, batch=20, invalid_share=0.0, seed=7007,
                      retry=RetryPolicy(attempts=12, base_seconds=0.1, cap_seconds=4.0))
    figures = run(Scenario(options, live_server.pid, kill_every=KILL_EVERY, kill_seconds=KILL_SECONDS,
                           attachment_dir=live_server.attachment_dir), live_db)
    print("\n" + "\n".join(figures.lines()))

    assert figures.problems() == [], "\n".join(figures.lines())
    assert (len(figures.lost), figures.duplicates, figures.inconsistent) == (0, 0, 0)
    assert figures.stored == figures.acknowledged == DEVICES * SUBMISSIONS
    assert figures.kills >= 3
    assert alive(live_server.pid) and healthy(live_server.url)
    assert len(workers(live_server.pid)) == figures.workers_before == 2
    assert live_server.log.read_text(errors="replace").count("was sent SIGKILL") >= figures.kills
