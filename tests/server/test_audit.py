"""The audit log: rows live and die with their action's transaction, and cannot be changed."""

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from core.errors import Conflict
from server.extensions import db
from server.models import AuditEntry, AuditOutcome, Role
from server.services import audit, users
from server.uow import unit_of_work
from tests.server.conftest import PASSWORD


def _count(db_session, action):
    return db_session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def test_a_rolled_back_action_leaves_no_audit_row(app, db_session, areas):
    with app.test_request_context(), pytest.raises(Conflict):
        with unit_of_work():
            users.create_user(db.session, "enum_a", Role.enumerator, ["532922"], PASSWORD, actor="test")
            # The second create fails after the first one's audit row was added: both go together.
            users.create_user(db.session, "enum_a", Role.enumerator, ["532922"], PASSWORD, actor="test")
    assert _count(db_session, "user.create") == 0


def test_a_committed_action_leaves_exactly_its_audit_row(app, db_session, areas):
    with app.test_request_context(), unit_of_work():
        users.create_user(db.session, "enum_a", Role.enumerator, ["532922"], PASSWORD, actor="cli:ops")
        users.disable_user(db.session, "enum_a", actor="cli:ops")
    rows = db_session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(r.action, r.target, r.actor, r.outcome) for r in rows] == [
        ("user.create", "enum_a", "cli:ops", AuditOutcome.success),
        ("user.disable", "enum_a", "cli:ops", AuditOutcome.success),
    ]
    assert rows[0].area_code == "532922"


def test_a_refused_sign_in_keeps_its_audit_row(client, db_session, make_user):
    make_user("enum_a")
    client.post("/api/v1/auth/device-tokens", json={"username": "enum_a", "password": "x", "device_id": "d"})
    assert _count(db_session, "login") == 1


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"])
def test_the_database_refuses_to_change_audit_rows(db_session, statement):
    audit.record(db_session, "test.event", AuditOutcome.success, actor="test")
    db_session.flush()
    with pytest.raises(DBAPIError, match="audit_log rows never change"), db_session.begin_nested():
        db_session.execute(text(statement))
    assert _count(db_session, "test.event") == 1
