"""Publishing form versions and serving them to devices: immutability, role filter, ETag, caching."""

import copy
import hashlib

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from core.errors import FormVersionChanged
from server.models import AuditEntry, FormVersion, Role
from server.services import forms
from survey_forms.definition import FormDefinition
from tests.survey_forms.helpers import small_form, small_form_document


def _publish(db_session, *definitions):
    report = forms.publish(db_session, list(definitions), actor="test")
    db_session.commit()
    return report


def _variant(**changes) -> FormDefinition:
    document = small_form_document()
    document.update(changes)
    return FormDefinition.from_document(document)


def test_publish_is_idempotent_and_audited(db_session):
    assert _publish(db_session, small_form()).published == ["small_household v1"]
    assert _publish(db_session, small_form()).unchanged == ["small_household v1"]
    stored = db_session.get(FormVersion, ("small_household", 1))
    assert stored.sha256 == hashlib.sha256(stored.content).hexdigest() == small_form().sha256
    rows = db_session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "form.publish"))
    assert rows == 1


def test_changed_content_under_a_published_version_is_refused(db_session):
    _publish(db_session, small_form())
    changed = copy.deepcopy(small_form_document())
    changed["title"]["en"] = "Changed title"
    with pytest.raises(FormVersionChanged, match="small_household v1") as raised:
        forms.publish(db_session, [FormDefinition.from_document(changed)], actor="test")
    assert "next version number" in raised.value.message
    db_session.rollback()
    assert db_session.get(FormVersion, ("small_household", 1)).title_en == "Small household form (test)"


def test_the_database_refuses_to_change_a_published_version(db_session):
    _publish(db_session, small_form())
    with pytest.raises(DBAPIError, match="form_version rows never change"), db_session.begin_nested():
        db_session.execute(text("UPDATE form_version SET title_en = 'x'"))


def test_forms_are_listed_by_role_with_etag_and_304(client, db_session, make_user, sign_in):
    _publish(db_session, small_form(), _variant(form_id="supervisor_only", roles=["supervisor"]))
    make_user("enum_a")
    auth = sign_in("enum_a")["auth"]
    answer = client.get("/api/v1/forms", headers=auth)
    assert answer.status_code == 200
    assert answer.json == [{"form_id": "small_household", "version": 1, "sha256": small_form().sha256,
                            "subject": "household", "title": {"zh": "小型农户表（测试）", "en": "Small household form (test)"}}]
    assert "小型农户表".encode() in answer.data  # UTF-8 as itself, not \u escapes
    etag = answer.headers["ETag"]
    again = client.get("/api/v1/forms", headers={**auth, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    _publish(db_session, _variant(version=2))
    changed = client.get("/api/v1/forms", headers={**auth, "If-None-Match": etag})
    assert changed.status_code == 200 and [f["version"] for f in changed.json] == [1, 2]


def test_a_form_version_is_served_byte_for_byte_and_cacheable_forever(client, db_session, make_user, sign_in):
    _publish(db_session, small_form())
    make_user("enum_a")
    auth = sign_in("enum_a")["auth"]
    answer = client.get("/api/v1/forms/small_household/versions/1", headers=auth)
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert hashlib.sha256(answer.data).hexdigest() == small_form().sha256
    assert answer.json["fields"][1]["label"]["zh"] == "户主姓名"
    assert "immutable" in answer.headers["Cache-Control"] and "max-age=31536000" in answer.headers["Cache-Control"]
    cached = client.get("/api/v1/forms/small_household/versions/1", headers={**auth, "If-None-Match": answer.headers["ETag"]})
    assert cached.status_code == 304


def test_unknown_versions_and_other_roles_forms_are_404(client, db_session, make_user, sign_in):
    _publish(db_session, _variant(form_id="supervisor_only", roles=["supervisor"]))
    make_user("enum_a")
    make_user("sup_a", Role.supervisor)
    enumerator, supervisor = sign_in("enum_a")["auth"], sign_in("sup_a")["auth"]
    assert client.get("/api/v1/forms/supervisor_only/versions/1", headers=enumerator).status_code == 404
    assert client.get("/api/v1/forms/supervisor_only/versions/2", headers=supervisor).status_code == 404
    assert client.get("/api/v1/forms/supervisor_only/versions/1", headers=supervisor).status_code == 200
    assert client.get("/api/v1/forms", headers=enumerator).json == []


def test_forms_need_a_signed_in_caller(client):
    assert client.get("/api/v1/forms").status_code == 401


def test_publish_command_checks_and_publishes_every_repository_form(app, db_session):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["forms", "publish"])
    assert first.exit_code == 0, first.output
    assert {"household_visit v1", "household_visit v2", "village_infrastructure v1", "village_collective v1"} <= {
        line.split(":", 1)[1].strip() for line in first.output.splitlines() if line.strip().startswith("new:")
    }
    again = runner.invoke(args=["forms", "publish"])
    assert again.exit_code == 0 and "Published 0 new form version(s)" in again.output
    stored = db_session.execute(select(FormVersion.form_id, FormVersion.version)
                                .order_by(FormVersion.form_id, FormVersion.version)).all()
    assert [tuple(row) for row in stored] == [("household_visit", 1), ("household_visit", 2), ("village_collective", 1),
                                              ("village_infrastructure", 1)]
