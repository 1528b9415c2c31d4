"""Device tokens: issue, use, revoke, disabled users, and what is stored."""

import hashlib
import uuid

from sqlalchemy import select

from server.models import DeviceToken, Role
from server.services import users


def test_token_is_issued_once_and_only_its_hash_is_stored(client, db_session, make_user, sign_in):
    make_user("enum_a")
    body = sign_in("enum_a")
    assert body["user"]["username"] == "enum_a"
    assert body["scope"] == ["532922"]
    # 256 random bits (the protocol asks for at least 128): 32 bytes in URL-safe base64 is 43 characters.
    assert len(body["token"]) >= 43
    stored = db_session.scalar(select(DeviceToken).where(DeviceToken.id == uuid.UUID(body["token_id"])))
    assert stored.token_hash == hashlib.sha256(body["token"].encode()).digest()


def test_token_authenticates_and_records_last_seen(client, db_session, make_user, sign_in):
    make_user("enum_a")
    body = sign_in("enum_a")
    answer = client.get("/api/v1/me", headers=body["auth"])
    assert answer.status_code == 200
    assert answer.json == {"id": answer.json["id"], "username": "enum_a", "role": "enumerator", "scope": ["532922"]}
    stored = db_session.get(DeviceToken, uuid.UUID(body["token_id"]))
    db_session.refresh(stored)
    assert stored.last_seen_at is not None


def test_revoked_token_answers_token_revoked(client, make_user, sign_in):
    make_user("enum_a")
    body = sign_in("enum_a")
    revoke = client.delete(f"/api/v1/auth/device-tokens/{body['token_id']}", headers=body["auth"])
    assert revoke.status_code == 204
    answer = client.get("/api/v1/me", headers=body["auth"])
    assert answer.status_code == 401
    assert answer.json["error"]["code"] == "token_revoked"


def test_device_can_sign_in_again_after_revocation(client, make_user, sign_in):
    make_user("enum_a")
    first = sign_in("enum_a")
    client.delete(f"/api/v1/auth/device-tokens/{first['token_id']}", headers=first["auth"])
    second = sign_in("enum_a")
    assert client.get("/api/v1/me", headers=second["auth"]).status_code == 200


def test_a_user_cannot_revoke_another_users_token_but_an_admin_can(client, make_user, sign_in):
    make_user("enum_a")
    make_user("enum_b")
    make_user("admin_x", Role.admin, ("53",))
    a, b, admin = sign_in("enum_a"), sign_in("enum_b"), sign_in("admin_x")
    refused = client.delete(f"/api/v1/auth/device-tokens/{a['token_id']}", headers=b["auth"])
    assert refused.status_code == 404
    assert client.get("/api/v1/me", headers=a["auth"]).status_code == 200
    assert client.delete(f"/api/v1/auth/device-tokens/{a['token_id']}", headers=admin["auth"]).status_code == 204
    assert client.get("/api/v1/me", headers=a["auth"]).json["error"]["code"] == "token_revoked"


def test_disabling_a_user_kills_every_token(client, db_session, make_user, sign_in):
    make_user("enum_a")
    phones = [sign_in("enum_a", device_id=f"phone-{n}") for n in range(2)]
    users.disable_user(db_session, "enum_a", actor="test")
    db_session.commit()
    for phone in phones:
        answer = client.get("/api/v1/me", headers=phone["auth"])
        assert answer.status_code == 401
        assert answer.json["error"]["code"] == "user_disabled"


def test_unknown_or_malformed_tokens_are_refused(client, make_user):
    for header in ({"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}, {}):
        answer = client.get("/api/v1/me", headers=header)
        assert answer.status_code == 401
        assert answer.json["error"]["code"] in {"token_invalid", "unauthenticated"}


def test_token_in_the_url_is_never_accepted(client, make_user, sign_in):
    make_user("enum_a")
    body = sign_in("enum_a")
    for name in ("token", "access_token"):
        assert client.get(f"/api/v1/me?{name}={body['token']}").status_code == 401
