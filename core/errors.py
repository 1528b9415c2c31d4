"""The error catalogue: every error the domain raises on purpose, each with a stable snake_case code and a message.

The kinds at the top say what went wrong in general (server/errors.py gives each kind its HTTP status); the errors
below them are the particular ones, named for the domain. A message is Chinese and English where a person reads it.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose; the HTTP layer maps the kind to a status."""

    code = "domain_error"
    message = "The request cannot be carried out. 无法执行此请求。"

    def __init__(self, message: str | None = None, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.code = code or self.code
        self.details = details or {}


# The kinds.


class BadRequest(DomainError):
    code = "bad_request"


class NotFound(DomainError):
    code = "not_found"
    message = "Not found. 未找到。"


class Unauthenticated(DomainError):
    code = "unauthenticated"
    message = "Sign in first: send a device token as 'Authorization: Bearer <token>'. 请先登录。"


class Forbidden(DomainError):
    code = "forbidden"
    message = "Your role or area does not allow this. 您的角色或工作范围不允许此操作。"


class InvalidInput(DomainError):
    code = "invalid_input"
    message = "The input is not valid. 输入无效。"


class Conflict(DomainError):
    code = "conflict"
    message = "This conflicts with what is stored. 与已保存的数据冲突。"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"


class TooManyRequests(DomainError):
    code = "too_many_requests"
    message = "Too many requests; try again later. 请求过多，请稍后再试。"

    def __init__(self, message: str | None = None, *, retry_after: int, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unavailable(TooManyRequests):
    """The server cannot take the request now (overloaded, its database away); the same request later will do."""

    code = "server_unavailable"
    message = "The server is busy; retry shortly. 服务器繁忙，请稍后重试。"


# Signing in and who is calling.


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    message = "Wrong username or password. 用户名或密码错误。"


class LoginThrottled(TooManyRequests):
    code = "too_many_attempts"
    message = "Too many failed sign-ins; wait before trying again. 登录失败次数过多，请稍后再试。"


class TokenInvalid(Unauthenticated):
    code = "token_invalid"
    message = "This token is not known. Sign in again. 令牌无效，请重新登录。"


class TokenRevoked(Unauthenticated):
    code = "token_revoked"
    message = "This token was revoked. Sign in again; nothing in your outbox is lost. 令牌已撤销，请重新登录。"


class TokenExpired(Unauthenticated):
    code = "token_expired"
    message = ("This token was unused for too long. Sign in again; nothing in your outbox is lost. "
               "令牌长时间未使用已过期，请重新登录，待发送的数据不会丢失。")


class SessionEnded(Unauthenticated):
    code = "session_ended"
    message = "Your session has ended (signed out, idle or too old). Sign in again. 会话已结束，请重新登录。"


class UserDisabled(Unauthenticated):
    code = "user_disabled"
    message = "This account is disabled. 此账号已停用。"


class DeviceMismatch(Forbidden):
    code = "device_mismatch"
    message = ("This token was issued to another device: push with the device_id you signed in with. "
               "此令牌属于另一台设备。")


class DeviceTokenRequired(Forbidden):
    code = "device_token_required"
    message = "Submissions come from a signed-in device: send its token as 'Authorization: Bearer <token>'."


class WeakPassword(InvalidInput):
    code = "weak_password"


# Lists and paging.


class BadCursor(InvalidInput):
    code = "bad_cursor"
    message = "The cursor is not one this server gave out; start again without it."


# Push and attachments (protocol.md).


class MalformedBatch(BadRequest):
    code = "malformed_batch"
    message = "The body must be {device_id, sent_at, submissions: [...]}. 请求格式不正确。"


class BatchTooLarge(PayloadTooLarge):
    code = "payload_too_large"


class ServerBusy(Unavailable):
    """The request waited in the server's queue longer than an answer is worth: refused unread, to let the queue drain."""

    code = "server_busy"


class JsonTooLarge(PayloadTooLarge):
    """More JSON values than any real request holds: refused before they are built, to keep a worker's memory."""

    code = "payload_too_large"


class BlobTooLarge(PayloadTooLarge):
    code = "payload_too_large"


class BlobHashMismatch(BadRequest):
    code = "hash_mismatch"


class AttachmentNotDeclared(InvalidInput):
    code = "attachment_not_declared"


class UnsupportedAttachmentType(UnsupportedMediaType):
    code = "unsupported_media_type"


class AttachmentExists(Conflict):
    code = "attachment_exists"


# Forms and areas.


class FormVersionChanged(Conflict):
    code = "form_version_changed"


class AreaImportFailed(InvalidInput):
    """The file was refused as a whole; `problems` lists every problem found (each says where, as text)."""

    code = "area_import_failed"

    def __init__(self, problems: list[Any]):
        super().__init__(f"Nothing was imported: {len(problems)} problem(s).",
                         details={"problems": [str(problem) for problem in problems]})
        self.problems = problems


# Personal data.


class PiiUnreadable(Conflict):
    """A stored sealed value that no configured key opens (PII_KEY, PII_OLD_KEYS); `details` name its table and row."""

    code = "pii_unreadable"
