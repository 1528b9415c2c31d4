"""The review queue (issue 14): filters, paging, scope, one submission laid out, its photo, decisions one by one and
in bulk, their audit rows, and the decision reaching the submitting phone by pull."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.clock import CHINA
from server.models import AuditEntry, Role, Submission
from sync.evidence import NAMESPACE
from tests.sync.conftest import batch, bearer, item
from tests.sync.test_pull import pull_all

PUSH = "/api/v1/sync/submissions"
LIST = "/api/v1/submissions"
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
PHOTO_SHA = hashlib.sha256(PHOTO).hexdigest()


@pytest.fixture
def phones(people, make_user, sign_in):
    """The enumerator of 漾濞 on phone-1, a second enumerator there, and one of 剑川 (with sup_b)."""
    make_user("enum_a2")
    make_user("enum_b", scope=("532931",))
    make_user("planner_a", Role.planner)
    return {**people, **{name: sign_in(name)["auth"] for name in ("enum_a2", "enum_b", "planner_a")}}


def push(client, headers, *items) -> list[dict]:
    answer = client.post(PUSH, json=batch(list(items)), headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json["results"]


def listed(client, headers, **query) -> list[str]:
    answer = client.get(LIST, query_string={"limit": 500, **query}, headers=headers)
    assert answer.status_code == 200, answer.json
    return [s["uuid"] for s in answer.json["submissions"]]


def decide(client, headers, submission_uuid, decision, comment=None):
    return client.post(f"{LIST}/{submission_uuid}/reviews", json={"decision": decision, "comment": comment},
                       headers=headers)


@pytest.fixture
def queue(client, phones):
    """Five submissions of 漾濞 pushed in this order, one of 剑川, and one quarantined."""
    sent = {
        "plain": item(),
        "no_gps": item(gps=None),
        "photo": item(attachments=[{"name": "house_front.jpg", "sha256": PHOTO_SHA, "size": len(PHOTO),
                                    "content_type": "image/jpeg"}]),
        "no_files": item(attachments=[], data={**item()["data"], "photo_house": None}),
        "yang": item(data={**item()["data"], "householder_name": "张丽华"}),
    }
    for name in ("plain", "no_gps", "photo", "no_files"):
        assert push(client, phones["enum_a"], sent[name])[0]["status"] == "accepted"
    assert push(client, phones["enum_a2"], sent["yang"])[0]["status"] == "accepted"
    other = item(subject={"type": "household", "id": None, "area_code": "532931101"})
    assert push(client, phones["enum_b"], other)[0]["status"] == "accepted"
    bad = item(form_version=99)
    assert push(client, phones["enum_a"], bad)[0]["status"] == "invalid"
    return {**{name: s["uuid"] for name, s in sent.items()}, "other": other["uuid"], "bad": bad["uuid"]}


def test_the_queue_lists_newest_first_and_each_filter_narrows_it(client, phones, queue):
    sup = phones["sup_a"]
    everything = listed(client, sup)
    assert everything == [queue[n] for n in ("bad", "yang", "no_files", "photo", "no_gps", "plain")]
    assert listed(client, sup, state="quarantined") == [queue["bad"]]
    assert listed(client, sup, flag="gps_missing") == [queue["no_gps"]]
    assert listed(client, sup, enumerator="enum_a2") == [queue["yang"]]
    assert listed(client, sup, household="张丽") == [queue["yang"]]
    # Declared files not uploaded: every accepted one that declared a photo, until it arrives.
    assert set(listed(client, sup, incomplete="true")) == {queue[n] for n in ("plain", "no_gps", "photo", "yang", "bad")}
    put = client.put(f"{LIST}/{queue['photo']}/attachments/house_front.jpg", data=PHOTO,
                     headers={**phones["enum_a"], "X-Content-SHA256": PHOTO_SHA, "Content-Type": "image/jpeg"})
    assert put.status_code == 201
    assert queue["photo"] not in listed(client, sup, incomplete="true")
    assert queue["photo"] in listed(client, sup, incomplete="false")
    assert listed(client, sup, risk="child_out_of_school", form_id="small_household") == [
        queue[n] for n in ("yang", "no_files", "photo", "no_gps", "plain")]
    assert listed(client, sup, area_code="532922100", review_state="pending", state="accepted") == [
        queue[n] for n in ("yang", "no_files", "photo", "no_gps", "plain")]
    today = datetime.now(CHINA).date()
    assert listed(client, sup, since="2000-01-01", until="2000-01-02") == []
    assert listed(client, sup, since=today.isoformat(), until=today.isoformat()) == everything  # China's day
    assert listed(client, sup, until=(today - timedelta(days=1)).isoformat()) == []
    assert listed(client, sup, since=(today + timedelta(days=1)).isoformat()) == []
    assert listed(client, sup, conflict="true") == []
    assert decide(client, sup, queue["plain"], "approved").status_code == 201
    assert listed(client, sup, review_state="approved") == [queue["plain"]]
    assert queue["plain"] not in listed(client, sup, review_state="pending")


def test_pages_of_the_queue_cover_it_once_in_order(client, phones, queue):
    seen, cursor = [], None
    while True:
        answer = client.get(LIST, query_string={"limit": 2, **({"cursor": cursor} if cursor else {})},
                            headers=phones["sup_a"]).json
        seen += [s["uuid"] for s in answer["submissions"]]
        if not answer["has_more"]:
            break
        cursor = answer["cursor"]
    assert seen == listed(client, phones["sup_a"]) and len(seen) == 6
    bad = client.get(LIST, query_string={"cursor": "bm90LWEtY3Vyc29y"}, headers=phones["sup_a"])
    assert bad.status_code == 422 and bad.json["error"]["code"] == "bad_cursor"


def test_a_bad_filter_is_a_clear_error(client, phones, queue):
    for query in ({"review_state": "maybe"}, {"since": "2026-12-01", "until": "2026-11-01"}, {"area_code": "53x"},
                  {"limit": 0}):
        answer = client.get(LIST, query_string=query, headers=phones["sup_a"])
        assert answer.status_code == 422, query
        assert answer.json["error"]["code"] == "validation_failed"


def test_a_supervisor_of_another_county_sees_and_decides_nothing_of_it(client, db_session, phones, queue):
    other = phones["sup_b"]
    assert listed(client, other) == [queue["other"]]
    assert listed(client, other, area_code="532922") == []
    theirs = queue["plain"]
    assert client.get(f"{LIST}/{theirs}", headers=other).status_code == 404
    assert client.get(f"{LIST}/{queue['photo']}/attachments/house_front.jpg", headers=other).status_code == 404
    assert decide(client, other, theirs, "approved").status_code == 404
    bulk = client.post("/api/v1/reviews", json={"submissions": [theirs, queue["other"]], "decision": "approved"},
                       headers=other).json["results"]
    assert [r["status"] for r in bulk] == ["not_found", "decided"]
    counts = client.get(f"{LIST}/counts", headers=other).json
    assert counts["total"] == 1 and counts["by_review_state"]["approved"] == 1
    db_session.expire_all()
    assert db_session.get(Submission, uuid.UUID(theirs)).review_state.value == "pending"
    # Neither enumerators nor planners work the queue.
    assert client.get(LIST, headers=phones["enum_a"]).status_code == 403
    assert client.get(LIST, headers=phones["planner_a"]).status_code == 403


def test_bulk_decisions_report_each_submission_and_leave_one_audit_row_per_decision(client, db_session, phones, queue):
    sup = phones["sup_a"]
    names = ("plain", "no_gps", "bad", "other", "plain")
    answer = client.post("/api/v1/reviews", json={"submissions": [queue[n] for n in names], "decision": "has_issues",
                                                  "comment": "户籍人数与实际不符，下次走访核实"}, headers=sup)
    assert answer.status_code == 200, answer.json
    assert [r["status"] for r in answer.json["results"]] == ["decided", "decided", "quarantined", "not_found", "decided"]
    assert listed(client, sup, review_state="has_issues") == [queue["no_gps"], queue["plain"]]
    audited = db_session.scalars(select(AuditEntry.target).where(AuditEntry.action == "submission.review")).all()
    assert sorted(audited) == sorted([queue["plain"], queue["no_gps"]])
    # A rejection or an issue must say what to fix; nothing is recorded without it.
    for decision in ("rejected", "has_issues"):
        refused = client.post("/api/v1/reviews", json={"submissions": [queue["yang"]], "decision": decision},
                              headers=sup)
        assert refused.status_code == 422 and "comment" in str(refused.json["error"]["details"])
    assert decide(client, sup, queue["yang"], "rejected", "  ").status_code == 422
    assert db_session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "submission.review")) == 2


def test_one_submission_is_laid_out_by_its_form_with_its_photo_audited(client, db_session, phones, queue):
    sup = phones["sup_a"]
    photo = queue["photo"]
    client.put(f"{LIST}/{photo}/attachments/house_front.jpg", data=PHOTO,
               headers={**phones["enum_a"], "X-Content-SHA256": PHOTO_SHA, "Content-Type": "image/jpeg"})
    view = client.get(f"{LIST}/{photo}", headers=sup).json
    assert view["enumerator"] == "enum_a" and view["gps"]["accuracy_m"] == 8.0
    fields = {i["name"]: i for i in view["answers"] if i["kind"] == "field"}
    assert fields["housing_grade"]["label"]["zh"] and fields["housing_grade"]["choice"]["en"]
    assert fields["householder_name"]["value"] == "杨建华"  # the supervisor holds the personal-data grant
    members = next(i for i in view["answers"] if i["kind"] == "repeat")
    assert len(members["rows"]) == 3 and "name" in [c["name"] for c in members["columns"]]
    assert view["attachments"] == [{"name": "house_front.jpg", "content_type": "image/jpeg", "size": len(PHOTO),
                                    "stored": True}]
    assert view["entity_version"]["version"] == 1 and view["household"]["householder_name"] == "杨建华"
    image = client.get(f"{LIST}/{photo}/attachments/house_front.jpg", headers=sup)
    assert image.status_code == 200 and image.data == PHOTO and image.mimetype == "image/jpeg"
    assert "no-store" in image.headers["Cache-Control"]
    reads = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "attachment.read")).all()
    assert [(r.actor, r.target) for r in reads] == [("sup_a", f"{photo}/house_front.jpg")]
    missing = client.get(f"{LIST}/{queue['plain']}/attachments/house_front.jpg", headers=sup)
    assert missing.status_code == 404


def test_a_bulk_decision_and_its_comment_reach_each_submitting_phone_on_its_next_pull(committed_app):
    """test_pull covers one rejection; here a bulk has_issues reaches the phone of each submission's enumerator."""
    client = committed_app.test_client()
    phone_a, phone_b = bearer(committed_app, "enum_a"), bearer(committed_app, "enum_b")
    ours = item()
    theirs = item(subject={"type": "household", "id": None, "area_code": "532931101"})
    push(client, phone_a, ours)
    push(client, phone_b, theirs)
    _, cursor_a = pull_all(client, phone_a)
    _, cursor_b = pull_all(client, phone_b)
    comment = "门牌照片看不清，请下次补拍"
    answer = client.post("/api/v1/reviews", json={"submissions": [ours["uuid"], theirs["uuid"]],
                                                  "decision": "has_issues", "comment": comment},
                         headers=bearer(committed_app, "admin"))
    assert [r["status"] for r in answer.json["results"]] == ["decided", "decided"]
    for phone, cursor, sent in ((phone_a, cursor_a, ours), (phone_b, cursor_b, theirs)):
        changes, _ = pull_all(client, phone, cursor)
        assert [(c["kind"], c["data"]["uuid"], c["data"]["state"], c["data"]["comment"]) for c in changes] == [
            ("review", sent["uuid"], "has_issues", comment)]


def test_the_counts_of_the_dashboard_follow_the_filter(client, phones, queue):
    sup = phones["sup_a"]
    decide(client, sup, queue["plain"], "approved")
    counts = client.get(f"{LIST}/counts", headers=sup).json
    assert counts["total"] == 6 and counts["by_review_state"] == {"pending": 5, "approved": 1, "rejected": 0,
                                                                  "has_issues": 0}
    assert {"code": "gps_missing", "count": 1} in counts["by_flag"]
    assert [(a["area_code"], a["count"]) for a in counts["by_area"]] == [("532922100", 6)]
    assert counts["incomplete"] == 5 and counts["open_cases"] == {"candidate": 5} and counts["open_conflicts"] == 0
    narrowed = client.get(f"{LIST}/counts", query_string={"enumerator": "enum_a2"}, headers=sup).json
    assert narrowed["total"] == 1
    flagged = client.get(f"{LIST}/counts", query_string={"flag": "gps_missing"}, headers=sup).json
    assert flagged["total"] == 1 and {"code": "gps_missing", "count": 1} in flagged["by_flag"]
    assert {f["count"] for f in flagged["by_flag"]} == {1}  # the other flags of that one submission


def test_the_open_cases_and_conflicts_of_the_workbench_are_listed_in_scope(client, phones, queue):
    sup, other = phones["sup_a"], phones["sup_b"]
    cases = client.get("/api/v1/monitoring-cases", headers=sup).json["cases"]
    # Every accepted visit of 漾濞 (a new household each, with a child out of school) opened a candidate.
    assert len(cases) == 5 and {c["state"] for c in cases} == {"candidate"}
    assert [c["last_moved_at"] for c in cases] == sorted(c["last_moved_at"] for c in cases)  # longest waiting first
    assert client.get("/api/v1/monitoring-cases", query_string={"state": "identified"}, headers=sup).json["cases"] == []
    assert {c["area_code"][:6] for c in client.get("/api/v1/monitoring-cases", headers=other).json["cases"]} == {"532931"}
    assert client.get("/api/v1/conflicts", headers=sup).json == {"conflicts": []}
    assert client.get("/api/v1/monitoring-cases", headers=phones["enum_a"]).status_code == 403


def test_conflicting_revisits_are_found_by_the_conflict_filter_listed_and_counted(client, phones, sign_in, queue):
    """Two phones revisit one household from the same version with different answers: a conflict, which the
    queue's filter, the list of open conflicts and the dashboard's count all show."""
    household = str(uuid.uuid5(NAMESPACE, f"household:{queue['plain']}"))
    revisits = [item(subject={"type": "household", "id": household, "area_code": "532922100"}, base_version=1,
                     data={**item()["data"], "housing_grade": grade}) for grade in ("A", "D")]
    devices = (("phone-1", phones["enum_a"]), ("phone-2", sign_in("enum_a", device_id="phone-2")["auth"]))
    for (device_id, headers), revisit in zip(devices, revisits, strict=True):
        answer = client.post(PUSH, json={**batch([revisit]), "device_id": device_id}, headers=headers)
        assert answer.json["results"][0]["status"] == "accepted", answer.json
    sup = phones["sup_a"]
    assert set(listed(client, sup, conflict="true")) == {r["uuid"] for r in revisits}
    assert not {r["uuid"] for r in revisits} & set(listed(client, sup, conflict="false"))
    assert [(c["entity_id"], c["property"]) for c in client.get("/api/v1/conflicts", headers=sup).json["conflicts"]] \
        == [(household, "housing_grade")]
    assert client.get(f"{LIST}/counts", headers=sup).json["open_conflicts"] == 1
    assert client.get("/api/v1/conflicts", headers=phones["sup_b"]).json["conflicts"] == []
    assert client.get(f"{LIST}/counts", headers=phones["sup_b"]).json["open_conflicts"] == 0
