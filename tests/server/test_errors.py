"""Every error answers in one shape: {"error": {"code", "message", "details"}}."""

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


def test_unexpected_error_is_500_with_request_id_and_no_trace(database_url, caplog):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "x"})

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
    app = create_app({"DATABASE_URL": "postgresql+psycopg://nobody:x@127.0.0.1:1/none", "TESTING": True, "SECRET_KEY": "x"})
    answer = app.test_client().get("/healthz")
    error = _assert_error_shape(answer, 503, "database_unavailable")
    assert answer.headers["Retry-After"] == "5"
    assert "127.0.0.1" not in error["message"]
