"""Browser sessions: sign-in with CSRF, session death on disable, cookie use of the API."""

import hashlib
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from sqlalchemy import select, text

from server.models import AuditEntry, Role, SessionEndReason, User, WebSession
from server.services import users
from tests.server.conftest import PASSWORD


def _csrf(client, path="/login"):
    return re.search(rb'name="csrf_token" value="([^"]+)"', client.get(path).data).group(1).decode()


def _web_sign_in(client, username, password=PASSWORD):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": _csrf(client)})


def test_sign_in_sets_a_hardened_session_cookie(client, make_user):
    make_user("sup_a", Role.supervisor)
    answer = _web_sign_in(client, "sup_a")
    assert answer.status_code == 302
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert b"sup_a" in client.get("/").data


def test_wrong_password_renders_the_form_with_401(client, make_user):
    make_user("sup_a", Role.supervisor)
    answer = _web_sign_in(client, "sup_a", "wrong-password")
    assert answer.status_code == 401 and "用户名或密码错误".encode() in answer.data


def test_disabling_a_user_ends_their_web_session(client, db_session, make_user):
    make_user("sup_a", Role.supervisor)
    _web_sign_in(client, "sup_a")
    copied = client.get_cookie("session").value
    users.disable_user(db_session, "sup_a", actor="test")
    db_session.commit()
    answer = client.get("/api/v1/me")
    assert answer.status_code == 401 and answer.json["error"]["code"] == "user_disabled"
    assert _session_row(db_session, "sup_a").end_reason == SessionEndReason.user_disabled
    client.set_cookie("session", copied)
    assert client.get("/").headers["Location"].endswith("/login")


def test_session_cookie_reads_the_api_but_writes_need_the_csrf_token(client, make_user, sign_in):
    make_user("sup_a", Role.supervisor)
    token = sign_in("sup_a")
    _web_sign_in(client, "sup_a")
    assert client.get("/api/v1/me").json["username"] == "sup_a"
    refused = client.delete(f"/api/v1/auth/device-tokens/{token['token_id']}")
    assert refused.status_code == 400 and refused.json["error"]["code"] == "csrf_failed"
    allowed = client.delete(f"/api/v1/auth/device-tokens/{token['token_id']}", headers={"X-CSRFToken": _csrf(client, "/")})
    assert allowed.status_code == 204, allowed.json


def _session_row(db_session, username):
    row = db_session.scalar(select(WebSession).join(User).where(User.username == username)
                            .order_by(WebSession.created_at.desc()))
    db_session.refresh(row)
    return row


def _age(db_session, username, **intervals):
    """Sets the user's session columns back by the given intervals, as if that much time had passed."""
    sets = ", ".join(f"{column} = now() - interval '{interval}'" for column, interval in intervals.items())
    db_session.execute(text(f"UPDATE web_session SET {sets} FROM app_user u WHERE u.id = user_id AND u.username = :name"),
                       {"name": username})
    db_session.commit()


def _session_ended(answer):
    return answer.status_code == 401 and answer.json["error"]["code"] == "session_ended"


def test_only_a_hash_of_the_cookie_secret_is_stored_and_the_cookie_dies_with_the_absolute_limit(app, client, db_session,
                                                                                              make_user):
    make_user("sup_a", Role.supervisor)
    answer = _web_sign_in(client, "sup_a")
    cookie = client.get_cookie("session")
    secret = app.session_interface.get_signing_serializer(app).loads(cookie.value)["web_session"]
    assert len(secret) >= 43  # 256 random bits
    row = _session_row(db_session, "sup_a")
    assert row.secret_hash == hashlib.sha256(secret.encode()).digest()
    assert str(row.address) == "127.0.0.1" and row.ended_at is None
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", answer.headers["Set-Cookie"]).group(1))
    lifetime = (expires - datetime.now(UTC)).total_seconds()
    assert app.config["SESSION_MAX_SECONDS"] - 60 < lifetime <= app.config["SESSION_MAX_SECONDS"]


def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(client, db_session, make_user):
    make_user("sup_a", Role.supervisor)
    _web_sign_in(client, "sup_a")
    copied = client.get_cookie("session").value
    assert client.get("/api/v1/me").status_code == 200
    signed_out = client.post("/logout", data={"csrf_token": _csrf(client, "/")})
    assert signed_out.status_code == 302 and signed_out.headers["Location"].endswith("/login")
    assert client.get_cookie("session") is None  # the browser's copy is gone ...

    client.set_cookie("session", copied)  # ... but one saved earlier is sent again
    assert _session_ended(client.get("/api/v1/me"))
    client.set_cookie("session", copied)
    assert client.get("/").headers["Location"].endswith("/login")
    row = _session_row(db_session, "sup_a")
    assert row.ended_at is not None and row.end_reason == SessionEndReason.signed_out
    ends = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "session.end")).all()
    assert [(e.actor, e.target, e.details) for e in ends] == [("sup_a", str(row.id), {"reason": "signed_out"})]


def test_a_session_idle_past_the_limit_has_ended(client, db_session, make_user):
    make_user("sup_a", Role.supervisor)
    _web_sign_in(client, "sup_a")
    _age(db_session, "sup_a", last_seen_at="59 minutes")
    assert client.get("/api/v1/me").status_code == 200  # within the limit ...
    # ... and touched: now() is the test transaction's start, the time created_at was set to.
    assert _session_row(db_session, "sup_a").last_seen_at == _session_row(db_session, "sup_a").created_at
    _age(db_session, "sup_a", last_seen_at="61 minutes")
    assert _session_ended(client.get("/api/v1/me"))
    assert _session_row(db_session, "sup_a").end_reason == SessionEndReason.idle
    _web_sign_in(client, "sup_a")  # signing in again opens a new session
    assert client.get("/api/v1/me").status_code == 200


def test_a_page_of_an_idle_session_goes_to_sign_in(client, db_session, make_user):
    make_user("sup_a", Role.supervisor)
    _web_sign_in(client, "sup_a")
    _age(db_session, "sup_a", last_seen_at="2 hours")
    assert client.get("/").headers["Location"].endswith("/login")
    assert _session_row(db_session, "sup_a").end_reason == SessionEndReason.idle


def test_a_session_ends_at_the_absolute_limit_even_while_in_use(client, db_session, make_user):
    make_user("sup_a", Role.supervisor)
    _web_sign_in(client, "sup_a")
    _age(db_session, "sup_a", created_at="11 hours 59 minutes", last_seen_at="1 minute")
    assert client.get("/api/v1/me").status_code == 200
    _age(db_session, "sup_a", created_at="12 hours 1 minute", last_seen_at="1 minute")
    assert _session_ended(client.get("/api/v1/me"))
    assert _session_row(db_session, "sup_a").end_reason == SessionEndReason.too_old


def test_a_cookie_of_before_server_side_sessions_is_refused(app, client, make_user):
    user = make_user("sup_a", Role.supervisor)
    # What a cookie signed before this change held: only the user id. It names no session, so it opens nothing.
    client.set_cookie("session", app.session_interface.get_signing_serializer(app).dumps({"user_id": str(user.id)}))
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/").headers["Location"].endswith("/login")
