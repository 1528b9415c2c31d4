"""Builders for sync tests: the small form published, submission items made from it, and a committed app."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask

from schemas.form_definition import form_definition_schema
from server.app import create_app
from server.extensions import db
from server.models import Area, Role
from server.services import forms, users
from survey_forms import loader
from tests.server.conftest import AREAS, PASSWORD, areas, make_user, sign_in  # noqa: F401 (fixtures shared with the server tests)
from tests.survey_forms.helpers import VALID_SUBMISSION, small_form

AREA = "532922100"  # in 漾濞 (532922), the enumerator's county


@pytest.fixture
def published(db_session):
    forms.publish(db_session, [small_form()], actor="test")
    db_session.commit()


@pytest.fixture
def household_form(db_session):
    """Every form of the repository published; the household visit form, which records ID and phone numbers."""
    definitions = loader.load_all(form_definition_schema())
    forms.publish(db_session, definitions, actor="test")
    db_session.commit()
    return next(d for d in definitions if d.form_id == "household_visit")


def app_on(database, files: Path) -> Flask:
    """The app on a database of its own, where every request really commits (no outer transaction).

    It holds the test areas, the small form, and one user per role and county: enum_a, sup_a (漾濞 532922),
    enum_b, sup_b (剑川 532931), and admin (Yunnan). Attachments and exports go under `files`.
    """
    app = create_app({**database.overrides(), "TESTING": True, "SECRET_KEY": "x", "DB_POOL_SIZE": 6,
                      "ATTACHMENT_DIR": str(files / "attachments"), "EXPORT_DIR": str(files / "exports")})
    with app.app_context():
        flask_migrate.upgrade()
        db.session.add_all([Area(code=c, level=lv, parent_code=p, name_zh=n) for c, lv, p, n in AREAS])
        for username, role, scope in (("enum_a", Role.enumerator, "532922"), ("sup_a", Role.supervisor, "532922"),
                                      ("enum_b", Role.enumerator, "532931"), ("sup_b", Role.supervisor, "532931"),
                                      ("admin", Role.admin, "53")):
            users.create_user(db.session, username, role, [scope], PASSWORD, actor="test")
        forms.publish(db.session, [small_form()], actor="test")
        db.session.commit()
    return app


@pytest.fixture
def committed_app(empty_database, tmp_path):
    """app_on a database of the test's own."""
    app = app_on(empty_database, tmp_path)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def people(published, make_user, sign_in):  # noqa: F811 (pytest injects the imported fixtures)
    """Signed-in headers of an enumerator and a supervisor of 漾濞 (532922), and a supervisor of 剑川 (532931)."""
    make_user("enum_a")
    make_user("sup_a", Role.supervisor)
    make_user("sup_b", Role.supervisor, ("532931",))
    return {name: sign_in(name)["auth"] for name in ("enum_a", "sup_a", "sup_b")}


@pytest.fixture
def phones(sign_in):  # noqa: F811
    """Headers of one token per (user, device), made on first use: a push names only its token's device."""
    tokens: dict[tuple[str, str], dict[str, str]] = {}

    def phone(username: str, device_id: str = "phone-1") -> dict[str, str]:
        if (username, device_id) not in tokens:
            tokens[username, device_id] = sign_in(username, device_id=device_id)["auth"]
        return tokens[username, device_id]

    return phone


def bearer(app, username: str, device_id: str = "phone-1") -> dict[str, str]:
    """Authorization headers of a new device token for the user, on the device batch() names unless told."""
    answer = app.test_client().post("/api/v1/auth/device-tokens", json={
        "username": username, "password": PASSWORD, "device_id": device_id})
    assert answer.status_code == 201, answer.json
    return {"Authorization": f"Bearer {answer.json['token']}"}


def item(**changes: Any) -> dict[str, Any]:
    base = {
        "uuid": str(uuid.uuid4()), "form_id": "small_household", "form_version": 1,
        "subject": {"type": "household", "id": None, "area_code": AREA}, "base_version": None,
        "started_at": "2026-11-20T09:00:00+08:00", "collected_at": "2026-11-20T09:40:00+08:00",
        "gps": {"lat": 25.67, "lon": 99.95, "accuracy_m": 8.0, "altitude_m": 1650},
        "data": copy.deepcopy(VALID_SUBMISSION), "supersedes": None,
        "attachments": [{"name": "house_front.jpg", "sha256": "a" * 64, "size": 412345, "content_type": "image/jpeg"}],
    }
    base.update(changes)
    return base


def batch(items: list[dict[str, Any]], sent_at: str = "2026-11-22T09:30:00+08:00") -> dict[str, Any]:
    return {"device_id": "phone-1", "sent_at": sent_at, "submissions": items}
