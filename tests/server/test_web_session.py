"""Browser sessions: sign-in with CSRF, session death on disable, cookie use of the API."""

import re

from server.models import Role
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
    users.disable_user(db_session, "sup_a", actor="test")
    db_session.commit()
    assert client.get("/").headers["Location"].endswith("/login")
    assert client.get("/api/v1/me").status_code == 401


def test_session_cookie_reads_the_api_but_writes_need_the_csrf_token(client, make_user, sign_in):
    make_user("sup_a", Role.supervisor)
    token = sign_in("sup_a")
    _web_sign_in(client, "sup_a")
    assert client.get("/api/v1/me").json["username"] == "sup_a"
    refused = client.delete(f"/api/v1/auth/device-tokens/{token['token_id']}")
    assert refused.status_code == 400 and refused.json["error"]["code"] == "csrf_failed"
    allowed = client.delete(f"/api/v1/auth/device-tokens/{token['token_id']}", headers={"X-CSRFToken": _csrf(client, "/")})
    assert allowed.status_code == 204, allowed.json
