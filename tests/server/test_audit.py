"""The audit log: rows live and die with their action's transaction, and cannot be changed."""

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

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


CHANGES = ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"]


@pytest.fixture
def owner_session(app, database) -> Iterator[Session]:
    """A session as the role that migrated the suite's database (the owner, or the one role), rolled back after."""
    engine = create_engine(database.owner_url or database.url, poolclass=NullPool)
    with engine.connect() as connection:
        outer = connection.begin()
        try:
            yield Session(bind=connection, join_transaction_mode="create_savepoint")
        finally:
            outer.rollback()
    engine.dispose()


@pytest.fixture
def two_roles(database) -> None:
    if not database.owner_url:
        pytest.skip("the suite runs with a single database role (DATABASE_OWNER_URL is unset): the app's role owns "
                    "audit_log, so only its trigger guards it; `make test` on the embedded cluster runs this test")


@pytest.mark.parametrize("statement", CHANGES)
def test_the_trigger_refuses_to_change_audit_rows_even_to_the_owner(owner_session, statement):
    audit.record(owner_session, "test.event", AuditOutcome.success, actor="test")
    owner_session.flush()
    with pytest.raises(DBAPIError, match="audit_log rows never change"), owner_session.begin_nested():
        owner_session.execute(text(statement))
    assert _count(owner_session, "test.event") == 1


@pytest.mark.parametrize("statement", [
    *CHANGES,
    "DROP TRIGGER audit_log_no_update_delete ON audit_log",
    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate",
    "DROP FUNCTION refuse_row_change() CASCADE",
])
def test_the_apps_role_may_add_audit_rows_but_not_change_them_or_their_guard(two_roles, db_session, statement):
    # db_session connects as DATABASE_URL's role, as the app does.
    audit.record(db_session, "test.event", AuditOutcome.success, actor="test")
    db_session.flush()
    assert _count(db_session, "test.event") == 1
    with pytest.raises(DBAPIError) as refused, db_session.begin_nested():
        db_session.execute(text(statement))
    # Refused for want of the privilege, before any trigger is asked.
    assert isinstance(refused.value.orig, psycopg.errors.InsufficientPrivilege), refused.value.orig
    assert _count(db_session, "test.event") == 1


def test_the_apps_role_owns_nothing_and_may_only_read_and_add_audit_rows(two_roles, db_session):
    def granted(check, name, privileges):
        return {p for p in privileges if db_session.scalar(text(f"SELECT {check}(:name, :p)"), {"name": name, "p": p})}

    assert db_session.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")) is False
    owned = text("SELECT count(*) FROM pg_shdepend WHERE deptype = 'o' AND refclassid = 'pg_authid'::regclass "
                 "AND refobjid = (SELECT oid FROM pg_roles WHERE rolname = current_user)")
    assert db_session.scalar(owned) == 0
    table = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    assert granted("has_table_privilege", "audit_log", table) == {"SELECT", "INSERT"}
    sequence = db_session.scalar(text("SELECT pg_get_serial_sequence('audit_log', 'id')"))
    assert granted("has_sequence_privilege", sequence, ("USAGE", "SELECT", "UPDATE")) == {"USAGE"}
    assert granted("has_table_privilege", "household", table) == {"SELECT", "INSERT", "UPDATE", "DELETE"}
