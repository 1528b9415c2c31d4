"""S2 of reliability.md: the same batch pushed on five connections at once is stored once, with no error."""

import threading
from collections import Counter

import flask_migrate
import pytest
from sqlalchemy import func, select

from server.app import create_app
from server.extensions import db
from server.models import Area, AreaLevel, Role, Submission
from server.services import forms, users
from tests.server.conftest import PASSWORD
from tests.survey_forms.helpers import small_form
from tests.sync.conftest import batch, item

COPIES = 5
REPETITIONS = 20
ITEMS = 50


@pytest.fixture
def committed_app(empty_database):
    """The app on a database of its own, where every request really commits (no outer transaction)."""
    app = create_app({"DATABASE_URL": empty_database, "TESTING": True, "SECRET_KEY": "x", "DB_POOL_SIZE": COPIES + 1})
    with app.app_context():
        flask_migrate.upgrade()
        db.session.add(Area(code="532922", level=AreaLevel.county, name_zh="漾濞彝族自治县"))
        users.create_user(db.session, "enum_a", Role.enumerator, ["532922"], PASSWORD, actor="test")
        forms.publish(db.session, [small_form()], actor="test")
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_parallel_copies_of_a_batch_store_each_submission_once(committed_app):
    token = committed_app.test_client().post("/api/v1/auth/device-tokens", json={
        "username": "enum_a", "password": PASSWORD, "device_id": "phone"}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
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
