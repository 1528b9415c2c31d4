"""S2 of reliability.md: the same batch pushed on five connections at once is stored once, with no error."""

import threading
from collections import Counter

from sqlalchemy import func, select

from server.extensions import db
from server.models import Submission
from tests.sync.conftest import batch, bearer, item

COPIES = 5
REPETITIONS = 20
ITEMS = 50


def test_parallel_copies_of_a_batch_store_each_submission_once(committed_app):
    headers = bearer(committed_app, "enum_a")
    statuses: Counter = Counter()
    http: Counter = Counter()
    lock = threading.Lock()
    for _ in range(REPETITIONS):
        body = batch([item() for _ in range(ITEMS)])
        start = threading.Barrier(COPIES)

        def push(body=body, start=start):
            client = committed_app.test_client()
            start.wait()
            answer = client.post("/api/v1/sync/submissions", json=body, headers=headers)
            with lock:
                http[answer.status_code] += 1
                if answer.status_code == 200:
                    statuses.update(r["status"] for r in answer.json["results"])

        threads = [threading.Thread(target=push) for _ in range(COPIES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert http == {200: COPIES * REPETITIONS}
    assert statuses == {"accepted": ITEMS * REPETITIONS, "duplicate": (COPIES - 1) * ITEMS * REPETITIONS}
    with committed_app.app_context():
        stored = db.session.scalar(select(func.count()).select_from(Submission))
        distinct = db.session.scalar(select(func.count(func.distinct(Submission.uuid))))
    assert stored == distinct == ITEMS * REPETITIONS
