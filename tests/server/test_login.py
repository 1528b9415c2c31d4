"""Sign-in: the same answer for unknown users and wrong passwords, throttling, and its audit rows."""

from sqlalchemy import select, text

from server.models import AuditEntry
from server.services import users
from tests.server.conftest import PASSWORD


def _attempt(client, username, password, address="10.0.0.1"):
    return client.post(
        "/api/v1/auth/device-tokens",
        json={"username": username, "password": password, "device_id": "d1"},
        environ_base={"REMOTE_ADDR": address},
    )


def test_wrong_password_and_unknown_user_get_the_same_401(client, make_user):
    make_user("enum_a")
    wrong = _attempt(client, "enum_a", "not-the-password")
    unknown = _attempt(client, "nobody_here", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json
    assert wrong.json["error"]["code"] == "invalid_credentials"


def test_disabled_user_cannot_sign_in(client, db_session, make_user):
    make_user("enum_a")
    users.disable_user(db_session, "enum_a", actor="test")
    db_session.commit()
    assert _attempt(client, "enum_a", PASSWORD).json["error"]["code"] == "invalid_credentials"


def test_repeated_failures_on_one_account_answer_429_with_retry_after(app, client, make_user):
    make_user("enum_a")
    limit = app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    for n in range(limit):
        assert _attempt(client, "enum_a", "wrong", address=f"10.0.1.{n}").status_code == 401
    # Even the right password is refused while the account is locked.
    locked = _attempt(client, "enum_a", PASSWORD, address="10.0.2.1")
    assert locked.status_code == 429
    assert locked.json["error"]["code"] == "too_many_attempts"
    retry_after = int(locked.headers["Retry-After"])
    assert 0 < retry_after <= app.config["LOGIN_WINDOW_SECONDS"]


def test_repeated_failures_from_one_address_answer_429(app, client, make_user):
    make_user("enum_a")
    limit = app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    for n in range(limit):
        _attempt(client, f"guess_{n}", "wrong", address="10.9.9.9")
    assert _attempt(client, "enum_a", PASSWORD, address="10.9.9.9").status_code == 429
    # Another address is not affected.
    assert _attempt(client, "enum_a", PASSWORD, address="10.9.9.8").status_code == 201


def _past_failures(db_session, username, count, seconds_ago):
    # Failed sign-ins as the throttle wrote them back then. Rows are added, never aged: the app's role may not
    # UPDATE the audit log (and its trigger refuses even the owner).
    db_session.execute(text(
        "INSERT INTO audit_log (at, action, target, outcome, address) "
        "SELECT now() - make_interval(secs => :ago), 'login', :username, 'failure', ('10.0.3.' || n)::inet "
        "FROM generate_series(1, :count) AS n"
    ), {"ago": seconds_ago, "username": username, "count": count})


def test_the_lock_lifts_when_failures_leave_the_window(app, db_session, make_user, client):
    make_user("enum_a")
    limit, window = app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"], app.config["LOGIN_WINDOW_SECONDS"]
    _past_failures(db_session, "enum_a", limit, seconds_ago=window + 60)
    assert _attempt(client, "enum_a", PASSWORD, address="10.0.4.1").status_code == 201
    # The same failures a minute inside the window still lock the account.
    _past_failures(db_session, "enum_a", limit, seconds_ago=window - 60)
    assert _attempt(client, "enum_a", PASSWORD, address="10.0.4.2").status_code == 429


def test_every_sign_in_attempt_is_audited_with_outcome_and_address(client, db_session, make_user):
    make_user("enum_a")
    _attempt(client, "enum_a", "wrong", address="10.1.1.1")
    _attempt(client, "enum_a", PASSWORD, address="10.1.1.2")
    rows = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "login").order_by(AuditEntry.id)).all()
    assert [(r.outcome.value, r.target, str(r.address)) for r in rows] == [
        ("failure", "enum_a", "10.1.1.1"),
        ("success", "enum_a", "10.1.1.2"),
    ]
    assert rows[1].actor == "enum_a" and rows[1].at.utcoffset() is not None
    created = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "token.create")).all()
    assert len(created) == 1 and created[0].outcome.value == "success"
