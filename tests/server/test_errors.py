"""Every error answers in one shape: {"error": {"code", "message", "details"}}."""

import base64
import gzip

import pytest

from server.app import create_app


def _assert_error_shape(answer, status, code):
    assert answer.status_code == status, answer.data[:300]
    assert answer.mimetype == "application/json"
    body = answer.json
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


def test_unknown_route_is_404(client):
    _assert_error_shape(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_405(client):
    _assert_error_shape(client.put("/healthz"), 405, "method_not_allowed")


def test_body_over_the_limit_is_413(client):
    big = b"{" + b" " * (11 * 1024 * 1024) + b"}"
    answer = client.post("/api/v1/auth/device-tokens", data=big, content_type="application/json")
    _assert_error_shape(answer, 413, "payload_too_large")


def test_body_that_is_not_json_is_415(client):
    answer = client.post("/api/v1/auth/device-tokens", data="username=a", content_type="application/x-www-form-urlencoded")
    _assert_error_shape(answer, 415, "unsupported_media_type")


def test_malformed_json_is_400(client):
    answer = client.post("/api/v1/auth/device-tokens", data=b'{"username": ', content_type="application/json")
    _assert_error_shape(answer, 400, "bad_request")


@pytest.mark.parametrize("body", [b"\xff\xfe{}", gzip.compress(b"{}")])
def test_undecodable_bodies_are_400_not_500(client, body):
    answer = client.post("/api/v1/auth/device-tokens", data=body, content_type="application/json")
    _assert_error_shape(answer, 400, "bad_request")


def test_missing_fields_are_422_listing_each_field(client):
    answer = client.post("/api/v1/auth/device-tokens", json={"username": "a"})
    error = _assert_error_shape(answer, 422, "validation_failed")
    fields = {item["field"] for item in error["details"]["fields"]}
    assert fields == {"password", "device_id"}


def test_bad_cursor_is_422(client, make_user, sign_in):
    make_user("enum_a")
    answer = client.get("/api/v1/areas?cursor=!!!not-ours", headers=sign_in("enum_a")["auth"])
    _assert_error_shape(answer, 422, "bad_cursor")


def test_unexpected_error_is_500_with_request_id_and_no_trace(database, caplog):
    app = create_app({**database.overrides(), "TESTING": True, "SECRET_KEY": "x"})

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals: SELECT * FROM app_user")

    answer = app.test_client().get("/boom", headers={"X-Request-ID": "req-12345678"})
    error = _assert_error_shape(answer, 500, "internal_error")
    assert error["details"] == {"request_id": "req-12345678"}
    assert b"secret internals" not in answer.data and b"Traceback" not in answer.data
    assert answer.headers["X-Request-ID"] == "req-12345678"
    assert "req-12345678" in caplog.text


def test_security_headers_on_api_answers(client):
    answer = client.get("/healthz")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert len(answer.headers["X-Request-ID"]) >= 8


def test_database_outage_is_503_with_retry_after():
    # Nothing listens on port 1: the same failure as a database that is down or restarting.
    app = create_app({"DATABASE_URL": "postgresql+psycopg://nobody:x@127.0.0.1:1/none", "DATABASE_OWNER_URL": "",
                      "TESTING": True, "SECRET_KEY": "x"})
    answer = app.test_client().get("/healthz")
    error = _assert_error_shape(answer, 503, "database_unavailable")
    assert answer.headers["Retry-After"] == "5"
    assert "127.0.0.1" not in error["message"]


@pytest.mark.parametrize("query", [
    "/api/v1/areas?limit=0", "/api/v1/areas?limit=1001", "/api/v1/areas?parent_code=53x",
    f"/api/v1/areas?cursor={base64.urlsafe_b64encode(b'5').decode()}", "/api/v1/areas/5329%00",
    "/api/v1/areas?cursor=%00", "/api/v1/forms/household_visit/versions/99999999999", "/api/v1/forms/Bad-Id/versions/1",
])
def test_bad_query_and_path_values_are_422_not_500(client, make_user, sign_in, query):
    make_user("enum_a")
    answer = client.get(query, headers=sign_in("enum_a")["auth"])
    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["code"] in {"validation_failed", "bad_cursor"}


@pytest.mark.parametrize("field", ["username", "device_id", "password", "device_label"])
def test_nul_in_sign_in_fields_is_422(client, field):
    body = {"username": "enum_a", "password": "x", "device_id": "d", "device_label": "p"} | {field: "a\u0000b"}
    answer = client.post("/api/v1/auth/device-tokens", json=body)
    error = _assert_error_shape(answer, 422, "validation_failed")
    assert [f["field"] for f in error["details"]["fields"]] == [field]


def test_web_sign_in_with_an_absurd_username_is_an_ordinary_refusal(client):
    page = client.get("/login").data
    token = page.split(b'name="csrf_token" value="')[1].split(b'"')[0].decode()
    answer = client.post("/login", data={"username": "杨" * 400 + "\x00", "password": "x", "csrf_token": token})
    assert answer.status_code == 401
