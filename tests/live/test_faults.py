"""S1 and S9 of reliability.md through a fault-injecting proxy in front of a real gunicorn.

The faults are put between the phone and gunicorn itself, not nginx: nginx reads a request whole before passing it
on, so a cut upload would never reach the app, and the app must stay right where no such proxy stands before it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import text

from schemas.form_definition import form_definition_schema
from survey_forms import loader
from tests.live.conftest import ENUMERATOR
from tests.live.fault_proxy import FaultProxy, Faults
from tools import formfill
from tools.simulate import Options, RetryPolicy, simulate

S1_SUBMISSIONS = 1_000
S1_BATCH = 10
S9_RUNS = 100
S9_PHOTOS = 20  # each photo is cut at five random points before it is sent whole
PHOTO_BYTES = 5 * 1024 * 1024


def _call(url: str, method: str, body: bytes | None = None, headers: dict[str, str] | None = None,
          timeout: float = 30) -> tuple[int, Any]:
    """(status, JSON body); raises OSError when the connection drops before an answer arrives."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - our own test server
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
    except urllib.error.URLError as error:
        raise OSError(str(error.reason)) from error


@pytest.fixture(scope="module")
def token(live_server) -> str:
    status, body = _call(f"{live_server.url}/api/v1/auth/device-tokens", "POST", json.dumps({
        "username": ENUMERATOR.username, "password": ENUMERATOR.password, "device_id": "fault-test"}).encode(),
        {"Content-Type": "application/json"})
    assert status == 201, body
    return body["token"]


@pytest.fixture(scope="module")
def household_data(live_db) -> tuple[int, str, dict[str, Any]]:
    """A valid household visit to a natural village of the demo enumerator's county (漾濞)."""
    with live_db.connect() as connection:
        village = connection.execute(text("SELECT min(code) FROM area WHERE level = 'natural_village' "
                                          "AND code LIKE '532922%'")).scalar_one()
    definition = next(d for d in loader.load_all(form_definition_schema()) if d.form_id == "household_visit")
    data = formfill.fill(definition, random.Random(7), members=6,  # noqa: S311 - test data
                         overrides={"natural_village_code": village})
    return definition.version, village, data


def _item(version_village_data, attachments: list[dict] | None = None) -> dict[str, Any]:
    version, village, data = version_village_data
    return {
        "uuid": str(uuid.uuid4()), "form_id": "household_visit", "form_version": version,
        "subject": {"type": "household", "id": None, "area_code": village}, "base_version": None,
        "started_at": "2026-11-20T09:00:00+08:00", "collected_at": "2026-11-20T09:40:00+08:00",
        "gps": {"lat": 25.67, "lon": 99.95, "accuracy_m": 8.0}, "data": data, "supersedes": None,
        "attachments": attachments or [],
    }


def _push_until_answered(url: str, token: str, items: list[dict]) -> None:
    body = gzip.compress(json.dumps({"device_id": "fault-test", "sent_at": "2026-11-22T09:30:00+08:00",
                                     "submissions": items}).encode())
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
    status, answer = _call(f"{url}/api/v1/sync/submissions", "POST", body, headers)
    assert status == 200, answer


def test_s1_answers_dropped_after_the_commit_lose_and_duplicate_nothing(live_server, live_db):
    """S1: the proxy drops 30% of answers after the server answered; devices resend the same UUIDs and files."""
    with FaultProxy(live_server.app_url, Faults(drop_answer_share=0.3, seed=2026)) as proxy:
        result = simulate(Options(
            url=proxy.url, username=ENUMERATOR.username, password=ENUMERATOR.password, devices=2,
            submissions=S1_SUBMISSIONS // 2, batch=S1_BATCH, invalid_share=0.0, seed=7002,
            retry=RetryPolicy(attempts=12, base_seconds=0.01, cap_seconds=0.1),
        ))
    assert result.exit_code == 0, result.summary()
    made = {uid for device in result.devices for uid in device.made}
    acknowledged = {uid for device in result.devices for uid in device.ledger}
    with live_db.connect() as connection:
        stored, distinct = connection.execute(text(
            "SELECT count(*), count(DISTINCT uuid) FROM submission WHERE uuid = ANY(CAST(:u AS uuid[]))"),
            {"u": list(made)}).one()
    assert len(made) == S1_SUBMISSIONS and acknowledged == made
    assert (stored, distinct) == (S1_SUBMISSIONS, S1_SUBMISSIONS)  # lost 0, duplicates 0
    assert result.sync.http_errors == Counter()  # no 5xx, and no other error either
    # A push whose answer was lost had been committed: the retry is answered duplicate, never stored again.
    assert result.count("duplicate") > 0 and result.sync.files_again > 0
    assert proxy.counts.answers_dropped > 0 and result.retries > 0
    print(f"\nS1: submissions lost: 0 of {S1_SUBMISSIONS}; duplicates: 0; answers dropped: "
          f"{proxy.counts.answers_dropped} of {proxy.counts.connections} "
          f"({proxy.counts.answers_dropped / proxy.counts.connections:.0%}); retries: {result.retries}; "
          f"answered duplicate on retry: {result.count('duplicate')}; files already there on retry: "
          f"{result.sync.files_again}")


def test_s9_an_upload_cut_anywhere_leaves_no_partial_file_and_a_re_put_completes_it(
        live_server, live_db, token, household_data):
    """S9: a 5 MB photo cut after k random bytes, 100 times; then the same PUT again succeeds."""
    rng = random.Random(9)  # noqa: S311 - test data
    cut_at: list[int] = []
    faults = Faults(cut_request_after=lambda: cut_at[-1])
    mismatches = 0
    with FaultProxy(live_server.app_url, faults) as proxy:
        for _ in range(S9_PHOTOS):
            content = rng.randbytes(PHOTO_BYTES)
            digest = hashlib.sha256(content).hexdigest()
            declared = {"name": "house_front.jpg", "sha256": digest, "size": len(content), "content_type": "image/jpeg"}
            item = _item(household_data, [declared])
            _push_until_answered(live_server.url, token, [item])
            put = f"/api/v1/submissions/{item['uuid']}/attachments/house_front.jpg"
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg", "X-Content-SHA256": digest}
            for _cut in range(S9_RUNS // S9_PHOTOS):
                cut_at.append(rng.randrange(0, PHOTO_BYTES))
                try:
                    status, answer = _call(proxy.url + put, "PUT", content, headers)
                except OSError:
                    status = None
                assert status is None or status >= 400, f"a cut upload was stored: {status}"
                assert not _blob_exists(live_server, digest), "a partial upload left a file"
                with live_db.connect() as connection:
                    assert connection.execute(text("SELECT count(*) FROM attachment WHERE submission_uuid = :u"),
                                              {"u": item["uuid"]}).scalar_one() == 0
            status, answer = _call(live_server.url + put, "PUT", content, headers)
            assert status == 201, answer
            assert answer["complete"] is True
            stored = _blob_path(live_server, digest)
            mismatches += hashlib.sha256(stored.read_bytes()).hexdigest() != digest
            assert _call(live_server.url + put, "PUT", content, headers)[0] == 200  # idempotent
    leftovers = [p for p in live_server.attachment_dir.rglob("*") if p.is_file() and p.stat().st_size == 0]
    deadline = time.monotonic() + 10  # a worker may still be cleaning up after the last cut
    while (temporary := list((live_server.attachment_dir / "tmp").glob("*"))) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert temporary == [], "a cut upload left its temporary file"
    assert mismatches == 0 and leftovers == []
    assert proxy.counts.requests_cut == S9_RUNS
    print(f"\nS9: photos with hash mismatch: {mismatches} of {S9_PHOTOS} (after {S9_RUNS} cut uploads); "
          f"truncated or zero-byte blobs: {len(leftovers)}")


def _blob_path(live_server, digest: str):
    found = [p for p in live_server.attachment_dir.rglob(f"*{digest}*") if p.is_file()]
    assert len(found) == 1, found
    return found[0]


def _blob_exists(live_server, digest: str) -> bool:
    return any(p.is_file() for p in live_server.attachment_dir.rglob(f"*{digest}*"))
