"""B5, B6 and B7 of reliability.md on the sync endpoints: text kept byte for byte, injections inert, huge input refused."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import func, select, text

from server.models import Assignment, Submission, SubmissionState
from tests.sync.conftest import AREA, batch, bearer, item
from tests.sync.test_pull import pull_all

URL = "/api/v1/sync/submissions"

TEXTS = {
    "tibetan": "བོད་ཡིག་ཀྱི་ཡི་གེ",
    "uyghur": "ئۇيغۇرچە يېزىق",
    "emoji": "👨‍👩‍👧 家庭 🏠",
    "combining": "e\u0301 a\u0308 (not NFC)",
    "rtl": "\u202eabc\u202c العربية",
    "zero_width": "杨\u200b建\u200d华\ufeff",
    "long": "测" * 65536,
}
INJECTIONS = ["' OR 1=1--", "<script>alert(1)</script>", "=HYPERLINK(\"http://x\",\"y\")", "../../etc/passwd",
              "a\r\nSet-Cookie: x=1", "'); DROP TABLE submission; --"]


@pytest.fixture
def auth(published, make_user, sign_in):
    make_user("enum_a")
    return sign_in("enum_a")["auth"]


def _with_reason(reason: str) -> dict:
    sent = item()
    sent["data"]["members"][2]["dropout_reason"] = reason
    return sent


def _push(client, auth, items):
    answer = client.post(URL, json=batch(items), headers=auth)
    assert answer.status_code == 200, answer.json
    return answer.json["results"]


@pytest.mark.parametrize("value", [*TEXTS.values(), *INJECTIONS], ids=[*TEXTS, *range(len(INJECTIONS))])
def test_text_in_every_script_and_injection_strings_are_stored_byte_for_byte(client, db_session, auth, value):
    """B5 and B6: accepted, and the stored payload holds exactly what was sent; nothing else is touched."""
    sent = _with_reason(value)
    assert [r["status"] for r in _push(client, auth, [sent])] == ["accepted"]
    stored = db_session.scalar(select(Submission.payload).where(Submission.uuid == sent["uuid"]))
    assert stored["data"]["members"][2]["dropout_reason"] == value
    assert stored == sent
    assert db_session.scalar(select(func.count()).select_from(Submission)) == 1


def test_a_lone_surrogate_is_an_invalid_item_not_a_server_error(client, db_session, auth):
    """B5: JSON may carry "\\ud800", which no database text can hold; only that item is refused."""
    good, bad = item(), _with_reason("x")
    body = json.dumps(batch([good, bad])).replace('"dropout_reason": "x"', '"dropout_reason": "\\ud800"')
    answer = client.post(URL, data=body, content_type="application/json", headers=auth)
    assert answer.status_code == 200, answer.json
    statuses = [r["status"] for r in answer.json["results"]]
    assert statuses == ["accepted", "invalid"]
    assert db_session.scalar(select(func.count()).select_from(Submission)) == 1


def test_members_over_the_form_limit_are_an_invalid_item_kept_in_quarantine(client, db_session, auth):
    """B7: above the form's 30 members the item is refused with a per-field code, and kept; no 500."""
    sent = item()
    sent["data"]["members"] = [copy.deepcopy(sent["data"]["members"][1]) for _ in range(31)]
    result, = _push(client, auth, [sent])
    assert result["status"] == "invalid"
    assert {"field": "members", "code": "out_of_range"} in [{k: e[k] for k in ("field", "code")} for e in result["errors"]]
    state = db_session.scalar(select(Submission.state).where(Submission.uuid == sent["uuid"]))
    assert state is SubmissionState.quarantined


def test_ten_thousand_members_is_too_large_to_keep_and_the_rest_of_the_batch_stands(client, db_session, auth):
    """B7 and B4: an item over MAX_ITEM_BYTES is answered `too_large` and left on the device, not quarantined."""
    sent = item()
    sent["data"]["members"] = [copy.deepcopy(sent["data"]["members"][1]) for _ in range(10_000)]
    results = _push(client, auth, [sent, item()])
    assert [r["status"] for r in results] == ["invalid", "accepted"]
    assert results[0]["errors"][0]["code"] == "too_large"
    assert db_session.scalar(select(func.count()).where(Submission.uuid == sent["uuid"])) == 0


@pytest.mark.parametrize("depth", [200, 5_000])
def test_deeply_nested_data_is_refused_without_a_server_error(client, db_session, auth, depth):
    """B7: a value nested 200 deep is an unknown field of the item; nesting beyond the JSON parser's depth is a 400."""
    nested: object = "leaf"
    for _ in range(depth):
        nested = {"a": nested}
    sent = item()
    sent["data"]["nested"] = nested
    body = json.dumps(batch([sent]), check_circular=False) if depth < 900 else _deep_body(sent, depth)
    answer = client.post(URL, data=body, content_type="application/json", headers=auth)
    if depth < 900:
        assert answer.status_code == 200
        result, = answer.json["results"]
        assert result["status"] == "invalid"
        assert [e["code"] for e in result["errors"]] == ["unknown_field"]
    else:
        assert answer.status_code == 400
        assert answer.json["error"]["code"] == "bad_request"
        assert db_session.scalar(select(func.count()).select_from(Submission)) == 0


def _deep_body(sent: dict, depth: int) -> str:
    """The batch with data.nested `depth` objects deep, written by hand: json.dumps itself stops at ~1,000."""
    sent = {**sent, "data": {**sent["data"], "nested": "__NESTED__"}}
    return json.dumps(batch([sent])).replace('"__NESTED__"', '{"a": ' * depth + '"leaf"' + "}" * depth)


def test_a_thousand_declared_files_is_an_invalid_item(client, db_session, auth):
    """B7: at most 50 attachments per submission; the device is told at `attachments`."""
    sent = item(attachments=[{"name": f"p{n}.jpg", "sha256": "b" * 64, "size": 10, "content_type": "image/jpeg"}
                             for n in range(1000)])
    result, = _push(client, auth, [sent])
    assert result["status"] == "invalid"
    assert [(e["field"], e["code"]) for e in result["errors"]] == [("attachments", "out_of_range")]


@pytest.mark.parametrize(("attachments", "field", "code"), [
    ("photo.jpg", "attachments", "type"),
    ([{"name": "../../etc/passwd", "sha256": "a" * 64, "size": 1, "content_type": "image/jpeg"}],
     "attachments[0].name", "type"),
    ([{"name": "a.jpg", "sha256": "A" * 64, "size": 1, "content_type": "image/jpeg"}], "attachments[0].sha256", "type"),
    ([{"name": "a.jpg", "sha256": "a" * 64, "size": 30_000_000, "content_type": "image/jpeg"}],
     "attachments[0].size", "out_of_range"),
    ([{"name": "a.exe", "sha256": "a" * 64, "size": 1, "content_type": "application/x-msdownload"}],
     "attachments[0].content_type", "type"),
    ([{"name": "a.jpg", "sha256": "a" * 64, "size": 1, "content_type": "image/jpeg"}] * 2, "attachments[1].name",
     "constraint"),
])
def test_a_malformed_file_manifest_is_an_invalid_item(client, auth, attachments, field, code):
    result, = _push(client, auth, [item(attachments=attachments)])
    assert result["status"] == "invalid"
    assert [(e["field"], e["code"]) for e in result["errors"]] == [(field, code)]


def test_assignment_and_review_text_reaches_the_device_byte_for_byte(committed_app):
    """B5 and B6 through pull: a round name and a review comment in other scripts and with injections."""
    client = committed_app.test_client()
    supervisor, enumerator = bearer(committed_app, "sup_a"), bearer(committed_app, "enum_a")
    round_name = "二〇二六 " + TEXTS["tibetan"][:10] + " <b>'--"
    comment = TEXTS["emoji"] + TEXTS["rtl"] + INJECTIONS[2] + TEXTS["zero_width"]
    assert client.post("/api/v1/assignments", headers=supervisor, json={
        "assignee": "enum_a", "area_code": AREA, "form_id": "small_household", "round": round_name}).status_code == 201
    sent = item()
    assert client.post(URL, headers=enumerator, json=batch([sent])).json["results"][0]["status"] == "accepted"
    assert client.post(f"/api/v1/submissions/{sent['uuid']}/reviews", headers=supervisor,
                       json={"decision": "rejected", "comment": comment}).status_code == 201
    changes, _ = pull_all(client, enumerator)
    assert [c["data"]["round"] for c in changes if c["kind"] == "assignment"] == [round_name]
    assert [c["data"]["comment"] for c in changes if c["kind"] == "review"] == [comment]


@pytest.mark.parametrize(("body", "field"), [
    ({"assignee": "enum_a", "area_code": AREA, "form_id": "small_household", "round": "r\x00"}, "round"),
    ({"assignee": "enum_a", "area_code": AREA, "form_id": "small_household", "round": "r" * 41}, "round"),
    ({"assignee": "enum_a", "area_code": "53' OR 1=1", "form_id": "small_household", "round": "r"}, "area_code"),
    ({"assignee": "enum_a", "area_code": AREA, "form_id": "../x", "round": "r"}, "form_id"),
])
def test_bad_assignment_fields_are_422_and_change_nothing(committed_app, body, field):
    client = committed_app.test_client()
    answer = client.post("/api/v1/assignments", headers=bearer(committed_app, "sup_a"), json=body)
    assert answer.status_code == 422
    assert [f["field"] for f in answer.json["error"]["details"]["fields"]] == [field]
    with committed_app.app_context():
        from server.extensions import db
        assert db.session.scalar(select(func.count()).select_from(Assignment)) == 0
        assert db.session.scalar(text("SELECT count(*) FROM sync_change WHERE kind = 'assignment'")) == 0
