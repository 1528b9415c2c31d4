"""Push: per-item results, idempotency decided by the database, conflicts kept, quarantine, limits."""

import gzip
import json
import uuid

import pytest
from sqlalchemy import func, select

from server.models import AuditEntry, Role, Submission, SubmissionConflict, SubmissionState
from sync.items import content_hash
from tests.sync.conftest import batch, item

URL = "/api/v1/sync/submissions"


@pytest.fixture
def auth(published, make_user, sign_in):
    make_user("enum_a")
    return sign_in("enum_a")["auth"]


def _push(client, auth, items, **kwargs):
    answer = client.post(URL, json=batch(items, **kwargs), headers=auth)
    assert answer.status_code == 200, answer.json
    return answer.json["results"]


def _count(db_session, model=Submission):
    return db_session.scalar(select(func.count()).select_from(model))


def test_an_accepted_submission_is_stored_as_sent_with_server_time_and_skew(client, db_session, auth):
    sent = item()
    [result] = _push(client, auth, [sent])
    assert result == {"uuid": sent["uuid"], "status": "accepted", "missing_attachments": ["house_front.jpg"]}
    row = db_session.get(Submission, uuid.UUID(sent["uuid"]))
    assert row.state == SubmissionState.accepted and row.payload == sent and row.errors == []
    assert row.area_code == "532922100" and row.county_code == "532922" and row.device_id == "phone-1"
    assert row.received_at.utcoffset() is not None and row.clock_skew_seconds is not None
    assert db_session.scalar(select(func.ST_AsText(Submission.location))) == "POINT(99.95 25.67)"


def test_the_same_submission_again_is_a_duplicate_stored_once(client, db_session, auth):
    sent = item()
    _push(client, auth, [sent])
    assert _push(client, auth, [sent]) == [{"uuid": sent["uuid"], "status": "duplicate"}]
    assert _count(db_session) == 1


def test_a_reused_uuid_with_other_content_is_a_conflict_and_overwrites_nothing(client, db_session, auth):
    original = item()
    _push(client, auth, [original])
    changed = {**original, "data": {**original["data"], "householder_name": "杨建国"}}
    [result] = _push(client, auth, [changed])
    assert result["status"] == "conflict" and result["errors"][0]["code"] == "uuid_reused"
    stored = db_session.scalars(select(Submission)).one()
    assert stored.payload["data"]["householder_name"] == "杨建华"
    conflict = db_session.scalars(select(SubmissionConflict)).one()
    assert conflict.payload["data"]["householder_name"] == "杨建国"
    audit = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "submission.push")).one()
    assert audit.outcome.value == "denied" and audit.target == original["uuid"]


def test_a_partial_batch_keeps_every_item_and_answers_each_once(client, db_session, auth):
    items = [item() for _ in range(100)]
    for n in (3, 17, 42):
        items[n]["data"]["household_size"] = "three"  # breaks the form
    for n in (50, 61):
        items[n]["subject"]["area_code"] = "532931101"  # another county
    for n in (80, 99):
        items[n]["form_version"] = 9  # never published
    results = _push(client, auth, items)
    assert [r["uuid"] for r in results] == [i["uuid"] for i in items]
    invalid = {n: r["errors"] for n, r in enumerate(results) if r["status"] == "invalid"}
    assert sorted(invalid) == [3, 17, 42, 50, 61, 80, 99]
    assert {e["code"] for e in invalid[3]} == {"type"} and invalid[3][0]["field"] == "household_size"
    assert invalid[50][0]["code"] == "out_of_scope" and invalid[80][0]["code"] == "form_version_unknown"
    assert sum(r["status"] == "accepted" for r in results) == 93
    # Invalid items are kept in quarantine with their errors; another area's items are refused, not stored.
    states = dict(db_session.execute(select(Submission.state, func.count()).group_by(Submission.state)).all())
    assert states == {SubmissionState.accepted: 93, SubmissionState.quarantined: 5}
    again = _push(client, auth, items)
    assert sum(r["status"] == "duplicate" for r in again) == 93
    assert {n: r["errors"] for n, r in enumerate(again) if r["status"] == "invalid"} == invalid
    assert _count(db_session) == 98
    print("\nS6: per-item outcomes correct: 100/100; accepted 93 / rejected 7 (5 kept in quarantine, 2 of another "
          "county refused); idempotent re-send: yes (93 duplicate, the same 7 errors)")


def test_out_of_scope_items_change_nothing_and_are_audited(client, db_session, auth):
    [result] = _push(client, auth, [item(subject={"type": "household", "id": None, "area_code": "532931101"})])
    assert result["status"] == "invalid" and result["errors"][-1]["code"] == "out_of_scope"
    assert _count(db_session) == 0
    row = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "submission.push")).one()
    assert row.details == {"reason": "out_of_scope"} and row.area_code == "532931101"


@pytest.mark.parametrize(("sent_at", "readable"), [
    ("2026-11-25T09:30:00+08:00", True), ("2026-11-19T09:30:00+08:00", True), ("1970-01-01T00:00:00Z", True),
    ("2099-12-31T23:59:59+08:00", True), ("2026-11-22T09:30:00", False), ("not a time", False),
])
def test_skewed_or_strange_device_clocks_are_accepted_and_recorded(client, db_session, auth, sent_at, readable):
    [result] = _push(client, auth, [item()], sent_at=sent_at)
    assert result["status"] == "accepted"
    row = db_session.scalars(select(Submission)).one()
    assert row.received_at.year >= 2026 and row.payload["started_at"] == "2026-11-20T09:00:00+08:00"
    if readable:
        assert row.clock_skew_seconds == pytest.approx((row.received_at - row.sent_at).total_seconds(), abs=1)
    else:
        # A time without its offset cannot be placed; it stays only as sent, and nothing is rejected for it.
        assert row.sent_at is None and row.clock_skew_seconds is None


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"form_version": 2**70}, "form_version", "out_of_range"),
    ({"form_version": 1.0}, "form_version", "type"),
    ({"base_version": 2**70}, "base_version", "out_of_range"),
    ({"collected_at": "9999-12-31T23:59:59-14:00"}, "collected_at", "type"),  # the year 10000 in UTC
    ({"started_at": "9999-12-31T23:59:59+08:00"}, "started_at", "type"),
    ({"collected_at": "0001-01-01T00:00:00+14:00"}, "collected_at", "type"),
    ({"gps": {"lat": 1e308, "lon": 99.9}}, "gps.lat", "out_of_range"),
    ({"subject": {"type": "household", "id": None, "area_code": "5" * 40}}, "subject.area_code", "type"),
])
def test_a_value_the_database_cannot_hold_is_that_items_error_and_the_batch_stands(client, db_session, auth, change,
                                                                                   field, code):
    """S6: each item stands alone; the same batch again gives the same answer for the bad one, duplicate for the rest."""
    bad, good = item(**change), item()
    results = _push(client, auth, [bad, good])
    assert [r["status"] for r in results] == ["invalid", "accepted"]
    assert (field, code) in [(e["field"], e["code"]) for e in results[0]["errors"]]
    assert [r["status"] for r in _push(client, auth, [bad, good])] == ["invalid", "duplicate"]
    stored = db_session.scalar(select(Submission).where(Submission.uuid == bad["uuid"]))
    # Kept in quarantine as sent (its hash is of the item as sent), for the enumerator's correction.
    assert stored.state is SubmissionState.quarantined and stored.content_sha256 == content_hash(bad)[0]


def test_a_sent_at_beyond_any_clock_is_ignored_not_refused(client, db_session, auth):
    [result] = _push(client, auth, [item()], sent_at="9999-12-31T23:59:59-14:00")
    assert result["status"] == "accepted"
    assert db_session.scalar(select(Submission.sent_at)) is None


@pytest.mark.parametrize(("gps", "field", "code"), [
    ({"lat": 91, "lon": 99.9}, "gps.lat", "out_of_range"), ({"lat": 25, "lon": 99.9, "accuracy_m": -1}, "gps.accuracy_m",
                                                            "out_of_range"),
    ({"lat": "25", "lon": 99.9}, "gps.lat", "type"), ({"lon": 99.9}, "gps.lat", "required"), ("25,99", "gps", "type"),
])
def test_bad_gps_is_an_invalid_item(client, auth, gps, field, code):
    [result] = _push(client, auth, [item(gps=gps)])
    assert result["status"] == "invalid" and result["errors"][0] == {**result["errors"][0], "field": field, "code": code}


def test_items_without_a_uuid_or_not_objects_are_answered_not_stored(client, db_session, auth):
    results = _push(client, auth, [item(uuid="not-a-uuid"), "just text", item()])
    assert [r["status"] for r in results] == ["invalid", "invalid", "accepted"]
    assert results[0]["uuid"] == "not-a-uuid" and _count(db_session) == 1


def test_text_the_database_cannot_store_is_refused_for_that_item_only(client, db_session, auth):
    results = _push(client, auth, [item(note="a\u0000b"), item()])
    assert [r["status"] for r in results] == ["invalid", "accepted"]
    assert results[0]["errors"][0]["code"] == "unstorable_value" and _count(db_session) == 1


@pytest.mark.parametrize(("body", "headers", "status", "code"), [
    (b'{"device_id": "x", "submissions": [', {"Content-Type": "application/json"}, 400, "bad_request"),
    (b'{"device_id": "x", "submissions": {}}', {"Content-Type": "application/json"}, 400, "malformed_batch"),
    (b'[1, 2]', {"Content-Type": "application/json"}, 400, "malformed_batch"),
    (b'{"device_id": "x", "submissions": [{"gps": {"lat": NaN}}]}', {"Content-Type": "application/json"}, 400, "bad_request"),
    (b'device_id=x', {"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
    (b'not gzip at all', {"Content-Type": "application/json", "Content-Encoding": "gzip"}, 400, "bad_request"),
])
def test_whole_request_errors(client, db_session, auth, body, headers, status, code):
    answer = client.post(URL, data=body, headers={**auth, **headers})
    assert answer.status_code == status and answer.json["error"]["code"] == code
    assert _count(db_session) == 0


def test_more_than_200_items_is_413_and_nothing_is_stored(client, db_session, auth):
    answer = client.post(URL, json=batch([item() for _ in range(201)]), headers=auth)
    assert answer.status_code == 413 and answer.json["error"]["code"] == "payload_too_large"
    assert _count(db_session) == 0


def test_ten_megabytes_of_empty_objects_are_refused_before_they_are_built(client, db_session, auth):
    """B4: 3.2 million `{}` would cost a worker a quarter of a gigabyte; the count of values is over the limit."""
    body = b'{"device_id": "phone-1", "submissions": [' + b",".join([b"{}"] * 3_200_000) + b"]}"
    answer = client.post(URL, data=body, headers={**auth, "Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.json["error"]["code"] == "payload_too_large"
    assert answer.json["error"]["details"] == {"max_values": 250_000}
    assert _count(db_session) == 0


def test_a_devices_quarantine_has_a_daily_quota_and_what_is_over_it_stays_on_the_phone(app, client, db_session, auth,
                                                                                     monkeypatch):
    monkeypatch.setitem(app.config, "QUARANTINE_PER_DEVICE_DAY", 2)
    broken = [item(form_version=99) for _ in range(3)]
    results = _push(client, auth, [*broken, item()])
    assert [r["status"] for r in results] == ["invalid", "invalid", "invalid", "accepted"]
    assert [e["code"] for e in results[2]["errors"]] == ["form_version_unknown", "quarantine_full"]
    quarantined = db_session.scalars(select(Submission.uuid).where(Submission.state == SubmissionState.quarantined))
    assert {str(u) for u in quarantined} == {broken[0]["uuid"], broken[1]["uuid"]}
    # Valid work is never held back by the quota.
    assert [r["status"] for r in _push(client, auth, [item(form_version=99), item()])] == ["invalid", "accepted"]


def test_a_gzip_body_is_read_and_a_gzip_bomb_is_refused(client, db_session, auth):
    sent = item()
    packed = gzip.compress(json.dumps(batch([sent])).encode())
    answer = client.post(URL, data=packed, headers={**auth, "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert answer.json["results"][0]["status"] == "accepted"
    bomb = gzip.compress(b"[" + b" " * (200 * 1024 * 1024) + b"]")
    refused = client.post(URL, data=bomb, headers={**auth, "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert refused.status_code == 413 and _count(db_session) == 1


def test_planners_do_not_push(client, published, make_user, sign_in):
    make_user("planner_p", Role.planner, ("5329",))
    answer = client.post(URL, json=batch([item()]), headers=sign_in("planner_p")["auth"])
    assert answer.status_code == 403
