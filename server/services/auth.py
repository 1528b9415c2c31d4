"""Sign-in: credentials, login throttling, device tokens and the principal a request acts as."""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session, contains_eager

from core.errors import (
    InvalidCredentials,
    LoginThrottled,
    NotFound,
    TokenExpired,
    TokenInvalid,
    TokenRevoked,
    UserDisabled,
)
from core.scope import in_scope
from server.models import AuditEntry, AuditOutcome, DeviceToken, Role, User, UserArea
from server.services import audit
from server.services.passwords import verify_password


@dataclass(frozen=True)
class LoginLimits:
    window_seconds: int
    max_failures_per_account: int
    max_failures_per_address: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LoginLimits:
        return cls(
            config["LOGIN_WINDOW_SECONDS"], config["LOGIN_MAX_FAILURES_PER_ACCOUNT"], config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
        )


@dataclass(frozen=True)
class Principal:
    """Who a request acts as; loaded fresh for every request, so role and area changes apply at once."""

    user_id: uuid.UUID
    username: str
    role: Role
    scope: tuple[str, ...]
    token_id: uuid.UUID | None = None
    device_id: str | None = None  # the device the token was issued to; None for a browser session


@dataclass(frozen=True)
class IssuedToken:
    token: str
    token_id: uuid.UUID
    principal: Principal


def principal_of(user: User, token: DeviceToken | None = None) -> Principal:
    if token is None:
        return Principal(user.id, user.username, user.role, tuple(user.scope))
    return Principal(user.id, user.username, user.role, tuple(user.scope), token.id, token.device_id)


def normalize_username(username: str) -> str:
    # Usernames are at most 64 characters; a longer or odd attempt is kept short for the audit row.
    return username.strip().lower().replace("\x00", "")[:64]


def token_hash(token: str) -> bytes:
    # A token carries 256 random bits, so a fast hash is enough; no salt or stretching is needed.
    return hashlib.sha256(token.encode()).digest()


def _failures_since(session: Session, since: datetime, **match: str) -> tuple[int, datetime | None]:
    clauses = [getattr(AuditEntry, column) == value for column, value in match.items()]
    query = select(func.count(), func.min(AuditEntry.at)).where(
        AuditEntry.action == "login", AuditEntry.outcome == AuditOutcome.failure, AuditEntry.at > since, *clauses
    )
    count, oldest = session.execute(query).one()
    return count, oldest


def _check_throttle(session: Session, username: str, address: str | None, limits: LoginLimits) -> None:
    now = datetime.now(UTC)
    since = now - timedelta(seconds=limits.window_seconds)
    checks = [({"target": username}, limits.max_failures_per_account)]
    if address:
        checks.append(({"address": address}, limits.max_failures_per_address))
    for match, limit in checks:
        count, oldest = _failures_since(session, since, **match)
        if count >= limit and oldest is not None:
            # The lock lifts by itself once the oldest failure leaves the window: never permanent.
            retry_after = max(1, math.ceil((oldest + timedelta(seconds=limits.window_seconds) - now).total_seconds()))
            audit.record(session, "login", AuditOutcome.throttled, target=username, address=address)
            raise LoginThrottled(details={"retry_after": retry_after}, retry_after=retry_after)


def check_credentials(
    session: Session, username: str, password: str, address: str | None, limits: LoginLimits, via: str
) -> User:
    """Returns the active user these credentials belong to; every attempt leaves an audit row.

    Raises:
        LoginThrottled: too many recent failures for this account or this address.
        InvalidCredentials: unknown user, wrong password or disabled account (one answer for all).
    """
    username = normalize_username(username)
    _check_throttle(session, username, address, limits)
    user = session.scalar(select(User).where(User.username == username))
    matches = verify_password(user.password_hash if user else None, password)
    if user is None or not matches or user.disabled_at is not None:
        audit.record(session, "login", AuditOutcome.failure, target=username, address=address, details={"via": via})
        raise InvalidCredentials()
    audit.record(
        session, "login", AuditOutcome.success, actor_id=user.id, actor=user.username,
        target=username, address=address, details={"via": via},
    )
    return user


def issue_device_token(
    session: Session, username: str, password: str, device_id: str, device_label: str | None,
    address: str | None, limits: LoginLimits,
) -> IssuedToken:
    """Signs a device in and makes a new token; only the token's hash is stored.

    Raises:
        LoginThrottled, InvalidCredentials: as check_credentials.
    """
    user = check_credentials(session, username, password, address, limits, via="device")
    token = secrets.token_urlsafe(32)
    row = DeviceToken(user_id=user.id, token_hash=token_hash(token), device_id=device_id, device_label=device_label)
    session.add(row)
    session.flush()
    audit.record(
        session, "token.create", AuditOutcome.success, actor_id=user.id, actor=user.username,
        target=str(row.id), address=address, details={"device_id": device_id},
    )
    return IssuedToken(token, row.id, principal_of(user, row))


def authenticate_token(session: Session, token: str, touch_seconds: int, idle_days: int) -> Principal:
    """The principal a bearer token stands for; records when the device was last seen.

    One query reads the token, its user and the user's areas, and asks the database's clock whether the token
    has expired and whether last_seen_at is due for a refresh; the refresh is a second statement only when due.

    Raises:
        TokenInvalid: no such token.
        TokenRevoked: the token was revoked.
        TokenExpired: the token went unused (since its last use, or its issue) for longer than `idle_days`.
        UserDisabled: the token's user is disabled (so every token of theirs is dead).
    """
    last_use = func.coalesce(DeviceToken.last_seen_at, DeviceToken.created_at)
    expired = last_use < func.now() - timedelta(days=idle_days)
    query = (
        select(DeviceToken, expired, due_for_touch(DeviceToken.last_seen_at, touch_seconds))
        .join(DeviceToken.user)
        .outerjoin(User.areas)
        .options(contains_eager(DeviceToken.user).contains_eager(User.areas))
        .where(DeviceToken.token_hash == token_hash(token))
    )
    found = session.execute(query).unique().one_or_none()
    if found is None:
        raise TokenInvalid()
    row, is_expired, is_due = found
    if row.revoked_at is not None:
        raise TokenRevoked()
    if is_expired:
        raise TokenExpired()
    if row.user.disabled_at is not None:
        raise UserDisabled()
    if is_due:
        # The WHERE repeats the test, so of two requests racing here only one writes.
        session.execute(
            update(DeviceToken).where(DeviceToken.id == row.id, due_for_touch(DeviceToken.last_seen_at, touch_seconds))
            .values(last_seen_at=func.now())
        )
    return principal_of(row.user, row)


def due_for_touch(last_seen_at: Any, touch_seconds: int) -> ColumnElement[bool]:
    """A last_seen_at (of a device token or a web session) is written at most once per `touch_seconds`: a write on
    every request would cost a row lock. An UPDATE that repeats the test lets only one of two racing requests write."""
    return or_(last_seen_at.is_(None), last_seen_at < func.now() - timedelta(seconds=touch_seconds))


def _owner_within(scope: tuple[str, ...]) -> ColumnElement[bool]:
    """The token's user has areas, and every one lies inside `scope`.

    Every one, not some: an admin of one county must not cut off a prefecture supervisor who also works elsewhere.
    A user with no areas is inside no admin's scope.
    """
    return (
        select(UserArea.user_id)
        .where(UserArea.user_id == DeviceToken.user_id)
        .group_by(UserArea.user_id)
        .having(func.bool_and(in_scope(UserArea.area_code, scope)))
        .exists()
    )


def revoke_token(session: Session, principal: Principal, token_id: uuid.UUID, address: str | None) -> None:
    """Revokes a token of the caller's own or, for an admin, of a user within the admin's areas; repeats are harmless.

    Raises:
        NotFound: no such token, or not one the caller may revoke (the same answer, to leak nothing).
    """
    mine = DeviceToken.user_id == principal.user_id
    allowed = or_(mine, _owner_within(principal.scope)) if principal.role == Role.admin else mine
    row = session.scalar(select(DeviceToken).where(DeviceToken.id == token_id, allowed))
    if row is None:
        raise NotFound("No such device token.")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        row.revoked_by = principal.user_id
        audit.record(
            session, "token.revoke", AuditOutcome.success, actor_id=principal.user_id, actor=principal.username,
            target=str(token_id), address=address, details={"owner": str(row.user_id)},
        )
