"""The one error renderer: domain errors and HTTP errors become {"error": {code, message, details}}."""

from __future__ import annotations

import logging
from typing import Any

import flask_smorest
from flask import g
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from core import errors as domain
from schemas.common import ErrorSchema

log = logging.getLogger(__name__)

# The catalogue's kinds -> HTTP status; an error takes the status of its nearest listed base.
STATUS_OF = {
    domain.BadRequest: 400,
    domain.PayloadTooLarge: 413,
    domain.UnsupportedMediaType: 415,
    domain.InvalidInput: 422,
    domain.Unauthenticated: 401,
    domain.Forbidden: 403,
    domain.NotFound: 404,
    domain.Conflict: 409,
    domain.Unavailable: 503,
    domain.TooManyRequests: 429,
    domain.DomainError: 400,
}

# Stable codes for errors raised by Flask and Werkzeug themselves.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
}

# Seconds a client should wait when the database is unavailable (restart, failover).
DATABASE_RETRY_AFTER = 5


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def status_of(error: domain.DomainError) -> int:
    """The HTTP status of a domain error: that of its nearest listed kind."""
    for cls in type(error).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400


def _field_errors(messages: dict[str, Any], prefix: str = "") -> list[dict[str, str]]:
    """Flattens webargs' nested {location: {field: [messages]}} into one entry per field."""
    found: list[dict[str, str]] = []
    for key, value in messages.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            found.extend(_field_errors(value, path))
        else:
            for message in value if isinstance(value, list) else [value]:
                found.append({"field": path, "code": "invalid", "message": str(message)})
    return found


class Api(flask_smorest.Api):
    """flask-smorest's Api with our error shape, for raised errors and for the OpenAPI document."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        super()._register_error_handlers()
        self._app.register_error_handler(domain.DomainError, self.handle_domain_error)
        self._app.register_error_handler(OperationalError, self.handle_database_unavailable)
        self._app.register_error_handler(DataError, self.handle_data_refused)
        self._app.register_error_handler(Exception, self.handle_unexpected_error)

    def handle_http_exception(self, error: HTTPException):
        if error.code == 304:  # Not Modified carries no body
            return "", 304
        data = getattr(error, "data", None) or {}
        code = HTTP_CODES.get(error.code or 500, "error")
        details: dict[str, Any] = {}
        message = data.get("message") or error.description or error.name
        if isinstance(error, CSRFError):
            code, message = "csrf_failed", "The form has expired or its CSRF token is missing; reload the page."
        if "messages" in data or "errors" in data:
            fields = _field_errors(data.get("errors") or data.get("messages") or {})
            # webargs nests by location (json, query); the location is not part of the field's path.
            for item in fields:
                item["field"] = item["field"].split(".", 1)[-1]
            details["fields"] = fields
            message = "Some fields are not valid: " + ", ".join(f["field"] for f in fields)
        if (error.code or 500) >= 500:
            return self.handle_unexpected_error(error)
        headers = dict(data.get("headers") or {})
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)  # RFC 9110: a 405 says what is allowed
        return error_body(code, message, details), error.code, headers

    def handle_domain_error(self, error: domain.DomainError):
        headers = {}
        if isinstance(error, domain.TooManyRequests):
            headers["Retry-After"] = str(error.retry_after)
        return error_body(error.code, error.message, error.details), status_of(error), headers

    def handle_database_unavailable(self, error: OperationalError):
        """The database is down or restarting: tell clients to come back rather than fail hard."""
        log.warning("database unavailable, request id %s: %s", g.get("request_id", "-"), type(error.orig).__name__)
        body = error_body("database_unavailable", "The database is unavailable; retry shortly. 数据库暂时不可用，请稍后重试。")
        return body, 503, {"Retry-After": str(DATABASE_RETRY_AFTER)}

    def handle_data_refused(self, error: DataError):
        """A value the schemas let through but PostgreSQL refuses (a number out of range, say)."""
        log.warning("value refused by the database, request id %s: %s", g.get("request_id", "-"), type(error.orig).__name__)
        body = error_body("invalid_value", "A value is out of range or holds a character that cannot be stored. "
                                           "数值超出范围或包含无法保存的字符。")
        return body, 422

    def handle_unexpected_error(self, error: Exception):
        request_id = g.get("request_id", "-")
        log.exception("unexpected error, request id %s", request_id, exc_info=error)
        body = error_body(
            "internal_error",
            "Something went wrong on the server. Quote the request id when you report it. 服务器出错，请报告请求编号。",
            {"request_id": request_id},
        )
        return body, 500

