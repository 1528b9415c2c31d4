"""Typed domain errors: each carries a stable snake_case code, a message and details."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose; the HTTP layer maps the class to a status."""

    code = "domain_error"
    message = "The request cannot be carried out."

    def __init__(self, message: str | None = None, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.code = code or self.code
        self.details = details or {}


class NotFound(DomainError):
    code = "not_found"
    message = "Not found."


class Unauthenticated(DomainError):
    code = "unauthenticated"
    message = "Sign in first: send a device token as 'Authorization: Bearer <token>'."


class Forbidden(DomainError):
    code = "forbidden"
    message = "Your role or area does not allow this."


class InvalidInput(DomainError):
    code = "invalid_input"
    message = "The input is not valid."


class Conflict(DomainError):
    code = "conflict"
    message = "This conflicts with what is stored."


class TooManyRequests(DomainError):
    code = "too_many_requests"
    message = "Too many requests; try again later."

    def __init__(self, message: str | None = None, *, retry_after: int, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
