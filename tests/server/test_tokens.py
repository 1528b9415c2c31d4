"""Device tokens: issue, use, revoke, disabled users, and what is stored."""

import hashlib
import uuid

from sqlalchemy import select, text

from server.models import DeviceToken, Role
from server.services import auth, users


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


def _age_token(db_session, token_id, *, created, last_seen):
    """Sets the token's times back (None leaves last_seen_at unset), as if the phone had lain in a drawer."""
    db_session.execute(
        text("UPDATE device_token SET created_at = now() - cast(:created as interval), "
             "last_seen_at = now() - cast(:last_seen as interval) WHERE id = :id"),
        {"created": created, "last_seen": last_seen, "id": token_id},
    )
    db_session.commit()


def _code(answer):
    return answer.status_code, (answer.json or {}).get("error", {}).get("code")


def test_a_token_unused_past_the_idle_limit_answers_token_expired(client, db_session, make_user, sign_in):
    make_user("enum_a")
    used, never_used = sign_in("enum_a", device_id="phone-1"), sign_in("enum_a", device_id="phone-2")
    _age_token(db_session, used["token_id"], created="90 days", last_seen="30 days 1 minute")
    _age_token(db_session, never_used["token_id"], created="30 days 1 minute", last_seen=None)
    for body in (used, never_used):
        assert _code(client.get("/api/v1/me", headers=body["auth"])) == (401, "token_expired")
        # Being refused does not count as a use: the token stays expired.
        assert _code(client.get("/api/v1/me", headers=body["auth"])) == (401, "token_expired")


def test_a_token_used_within_the_idle_limit_works_and_is_touched(client, db_session, make_user, sign_in):
    make_user("enum_a")
    body = sign_in("enum_a")
    _age_token(db_session, body["token_id"], created="90 days", last_seen="29 days 23 hours")
    assert client.get("/api/v1/me", headers=body["auth"]).status_code == 200
    stored = db_session.get(DeviceToken, uuid.UUID(body["token_id"]))
    db_session.refresh(stored)
    assert stored.last_seen_at == db_session.scalar(text("select now()"))  # the use restarts the idle clock


def test_a_revoked_token_says_revoked_even_when_it_has_expired_too(client, db_session, make_user, sign_in):
    make_user("enum_a")
    body = sign_in("enum_a")
    assert client.delete(f"/api/v1/auth/device-tokens/{body['token_id']}", headers=body["auth"]).status_code == 204
    _age_token(db_session, body["token_id"], created="90 days", last_seen="60 days")
    assert _code(client.get("/api/v1/me", headers=body["auth"])) == (401, "token_revoked")


def test_the_principal_of_a_token_names_its_device(app, client, db_session, make_user, sign_in):
    make_user("enum_a")
    body = sign_in("enum_a", device_id="phone-7")
    principal = auth.authenticate_token(db_session, body["token"], app.config["TOKEN_TOUCH_SECONDS"],
                                        app.config["DEVICE_TOKEN_IDLE_DAYS"])
    assert (principal.username, principal.token_id, principal.device_id) == ("enum_a", uuid.UUID(body["token_id"]),
                                                                              "phone-7")
    assert principal.scope == ("532922",)


def test_an_admin_revokes_tokens_only_of_users_inside_their_areas(client, make_user, sign_in):
    make_user("enum_a")  # 漾濞 (532922)
    make_user("sup_both", Role.supervisor, ("532922", "532931"))
    make_user("admin_jc", Role.admin, ("532931",))  # 剑川 only
    make_user("admin_yb", Role.admin, ("532922",))  # 漾濞 only
    make_user("admin_dali", Role.admin, ("5329",))  # the whole prefecture
    a, both = sign_in("enum_a"), sign_in("sup_both")
    admin_jc, admin_yb, admin_dali = sign_in("admin_jc"), sign_in("admin_yb"), sign_in("admin_dali")

    def revoke(token, by):
        return client.delete(f"/api/v1/auth/device-tokens/{token['token_id']}", headers=by["auth"]).status_code

    assert revoke(a, admin_jc) == 404  # another county: the same answer as no such token
    assert client.get("/api/v1/me", headers=a["auth"]).status_code == 200
    assert revoke(both, admin_yb) == 404  # only one of the supervisor's two counties is the admin's
    assert client.get("/api/v1/me", headers=both["auth"]).status_code == 200
    assert revoke(admin_dali, admin_jc) == 404  # a wider admin is outside a narrower one's scope
    assert revoke(a, admin_yb) == 204
    assert revoke(both, admin_dali) == 204
    assert revoke(admin_jc, admin_jc) == 204  # one's own token, always
    assert _code(client.get("/api/v1/me", headers=a["auth"])) == (401, "token_revoked")
    assert _code(client.get("/api/v1/me", headers=both["auth"])) == (401, "token_revoked")
