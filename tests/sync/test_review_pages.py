"""The review pages through a browser session (issue 14): each page reads and decides with the caller's scope, every
form needs its CSRF token, a page's error is a page, and the cookies and headers are those of a secure site."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, Household, MonitoringCase, Submission
from sync.evidence import NAMESPACE
from tests.server.conftest import PASSWORD
from tests.sync.conftest import batch, bearer, committed_app, item  # noqa: F401 (committed_app: a fixture)

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def browser(app, username: str):
    """A test client signed in through the sign-in form, as a browser is; with the page's CSRF token."""
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    client.csrf = CSRF.search(client.get("/").get_data(as_text=True)).group(1)
    return client


@pytest.fixture
def visit(committed_app):  # noqa: F811
    sent = item()
    answer = committed_app.test_client().post("/api/v1/sync/submissions", json=batch([sent]),
                                              headers=bearer(committed_app, "enum_a"))
    assert answer.json["results"][0]["status"] == "accepted"
    return sent["uuid"], uuid.uuid5(NAMESPACE, f"household:{sent['uuid']}")


def review_state(app, submission_uuid: str) -> str:
    with app.app_context():
        return db.session.get(Submission, uuid.UUID(submission_uuid)).review_state.value


def test_a_supervisor_of_another_county_reads_and_decides_nothing_through_the_pages(committed_app, visit):  # noqa: F811
    submission_uuid, household_id = visit
    other = browser(committed_app, "sup_b")
    for path in (f"/submissions/{submission_uuid}", f"/households/{household_id}", "/villages/532922100"):
        page = other.get(path)
        assert page.status_code == 404, path
        assert "text/html" in page.content_type and "in your areas" in page.get_data(as_text=True), path
    assert submission_uuid not in other.get("/submissions").get_data(as_text=True)
    decided = other.post(f"/submissions/{submission_uuid}/decision", data={"decision": "approved",
                                                                          "csrf_token": other.csrf})
    assert decided.status_code == 404
    bulk = other.post("/submissions/decisions", data={"decision": "approved", "submission": submission_uuid,
                                                       "csrf_token": other.csrf}, follow_redirects=True)
    assert bulk.status_code == 200 and "No submission" in bulk.get_data(as_text=True)
    assert review_state(committed_app, submission_uuid) == "pending"
    stepped = other.post(f"/households/{household_id}/monitoring", data={
        "action": "village_review", "step_date": "2026-11-25", "minutes": "评议", "csrf_token": other.csrf})
    assert stepped.status_code == 404


def test_the_own_supervisor_decides_on_the_page_and_the_decision_is_audited(committed_app, visit):  # noqa: F811
    submission_uuid, household_id = visit
    own = browser(committed_app, "sup_a")
    page = own.get(f"/submissions/{submission_uuid}").get_data(as_text=True)
    assert 'id="decision"' in page and "杨建华" in page  # the supervisor holds the personal-data grant
    refused = own.post(f"/submissions/{submission_uuid}/decision", data={"decision": "rejected", "csrf_token": own.csrf})
    assert refused.status_code == 422 and "comment" in refused.get_data(as_text=True)
    done = own.post(f"/submissions/{submission_uuid}/decision", data={
        "decision": "has_issues", "comment": "收入构成需核实", "csrf_token": own.csrf}, follow_redirects=True)
    assert done.status_code == 200 and "已标记问题 1 份" in done.get_data(as_text=True)
    assert review_state(committed_app, submission_uuid) == "has_issues"
    with committed_app.app_context():
        assert db.session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "submission.review",
                                                                 AuditEntry.target == submission_uuid)).all() == ["sup_a"]


def test_a_case_step_is_taken_from_the_household_page(committed_app, visit):  # noqa: F811
    _, household_id = visit
    own = browser(committed_app, "sup_a")
    assert 'id="step"' in own.get(f"/households/{household_id}").get_data(as_text=True)
    answer = own.post(f"/households/{household_id}/monitoring", data={
        "action": "village_review", "step_date": "2026-11-25", "minutes": "村民代表会议评议", "csrf_token": own.csrf},
        follow_redirects=True)
    assert answer.status_code == 200 and "已记录此步骤" in answer.get_data(as_text=True)
    with committed_app.app_context():
        assert db.session.scalar(select(MonitoringCase.state).where(MonitoringCase.household_id == household_id)) \
            .value == "village_reviewed"
    cases = own.get("/cases?state=village_reviewed").get_data(as_text=True)
    assert str(household_id) in cases
    wrong = own.post(f"/households/{household_id}/monitoring", data={"action": "identify", "csrf_token": own.csrf})
    assert wrong.status_code in (409, 422) and "text/html" in wrong.content_type


def test_every_form_needs_its_csrf_token(committed_app, visit):  # noqa: F811
    submission_uuid, household_id = visit
    own = browser(committed_app, "sup_a")
    for path, data in ((f"/submissions/{submission_uuid}/decision", {"decision": "approved"}),
                       ("/submissions/decisions", {"decision": "approved", "submission": submission_uuid}),
                       (f"/households/{household_id}/monitoring", {"action": "dismiss", "comment": "x"}),
                       ("/conflicts/resolve", {"entity_type": "household", "entity_id": str(household_id)}),
                       ("/logout", {})):
        answer = own.post(path, data=data)
        assert answer.status_code == 400 and 'id="error-code">csrf_failed<' in answer.get_data(as_text=True), path
    assert review_state(committed_app, submission_uuid) == "pending"


def test_pages_send_the_headers_of_a_secure_site(committed_app):  # noqa: F811
    client = committed_app.test_client()
    login = client.get("/login")
    policy = login.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert login.headers["X-Frame-Options"] == "DENY" and login.headers["X-Content-Type-Options"] == "nosniff"
    token = CSRF.search(login.get_data(as_text=True)).group(1)
    signed = client.post("/login", data={"username": "sup_a", "password": PASSWORD, "csrf_token": token})
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # Nothing the app serves runs inline: every script is a file of this site.
    page = client.get("/submissions").get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", page) == []
    # The language switch goes back only to a page of this site.
    assert client.get("/lang/en?next=https://evil.example/").headers["Location"] == "/"
    assert client.get("/lang/en?next=//evil.example/").headers["Location"] == "/"
    assert client.get("/lang/en?next=/submissions").headers["Location"] == "/submissions"


def test_signing_in_goes_back_to_the_page_asked_for(committed_app):  # noqa: F811
    client = committed_app.test_client()
    asked = client.get("/submissions?review_state=pending")
    assert asked.status_code == 302 and "/login?next=" in asked.headers["Location"]
    login = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/submissions?review_state=pending"' in login
    token = CSRF.search(login).group(1)
    signed = client.post("/login", data={"username": "sup_a", "password": PASSWORD, "csrf_token": token,
                                         "next": "/submissions?review_state=pending"})
    assert signed.headers["Location"] == "/submissions?review_state=pending"
    elsewhere = client.post("/logout", data={"csrf_token": CSRF.search(client.get("/").get_data(as_text=True)).group(1)})
    assert elsewhere.status_code == 302
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    signed = client.post("/login", data={"username": "sup_a", "password": PASSWORD, "csrf_token": token,
                                         "next": "https://evil.example/"})
    assert signed.headers["Location"] == "/"


def test_a_conflict_is_resolved_from_the_household_page_and_only_in_scope(committed_app, visit):  # noqa: F811
    """Two phones revisit the household from version 1 with different grades: the page lists the conflict and resolves
    it with the chosen visit's value; the other county's supervisor cannot."""
    submission_uuid, household_id = visit
    client = committed_app.test_client()
    revisits = []
    for device_id, grade in (("phone-1", "A"), ("phone-2", "D")):
        revisit = item(subject={"type": "household", "id": str(household_id), "area_code": "532922100"},
                       base_version=1, data={**item()["data"], "housing_grade": grade})
        answer = client.post("/api/v1/sync/submissions", json={**batch([revisit]), "device_id": device_id},
                             headers=bearer(committed_app, "enum_a", device_id))
        assert answer.json["results"][0]["status"] == "accepted", answer.json
        revisits.append(revisit["uuid"])
    own, other = browser(committed_app, "sup_a"), browser(committed_app, "sup_b")
    assert str(household_id) in own.get("/conflicts").get_data(as_text=True)
    assert str(household_id) not in other.get("/conflicts").get_data(as_text=True)
    form = {"entity_type": "household", "entity_id": str(household_id), "property": "housing_grade",
            "base_version": "1", "choice": revisits[1], "comment": "现场核实为D级"}
    refused = other.post("/conflicts/resolve", data={**form, "csrf_token": other.csrf})
    assert refused.status_code == 404
    page = own.post("/conflicts/resolve", data={**form, "csrf_token": own.csrf}, follow_redirects=True)
    assert page.status_code == 200 and "冲突已解决" in page.get_data(as_text=True)
    assert 'id="conflicts"' not in page.get_data(as_text=True)  # none left open on the household's page
    with committed_app.app_context():
        properties = db.session.scalar(select(Household.properties).where(Household.id == household_id))
    assert properties["housing_grade"] == "D"
