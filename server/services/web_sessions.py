"""Browser sessions on the server: open at sign-in, checked on every request, ended by sign-out, idling or age."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, contains_eager

from core.errors import SessionEnded, UserDisabled
from server.models import AuditOutcome, SessionEndReason, User, WebSession
from server.services import audit
from server.services.auth import LoginLimits, Principal, check_credentials, due_for_touch, principal_of, token_hash


@dataclass(frozen=True)
class SessionLimits:
    idle_seconds: int
    max_seconds: int
    touch_seconds: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SessionLimits:
        return cls(config["SESSION_IDLE_SECONDS"], config["SESSION_MAX_SECONDS"], config["TOKEN_TOUCH_SECONDS"])


def sign_in(session: Session, username: str, password: str, address: str | None, limits: LoginLimits) -> str:
    """Checks the credentials and opens a session; returns its secret, for the signed cookie only.

    Raises:
        LoginThrottled, InvalidCredentials: as auth.check_credentials.
    """
    user = check_credentials(session, username, password, address, limits, via="web")
    # 256 random bits, as for device tokens; the table keeps only the hash, so a copy of it opens nothing.
    secret = secrets.token_urlsafe(32)
    session.add(WebSession(secret_hash=token_hash(secret), user_id=user.id, address=address))
    session.flush()
    return secret


def check(session: Session, secret: str, limits: SessionLimits, address: str | None) -> Principal:
    """The principal of a live session; a session found dead is ended on its row, with the reason.

    One query reads the session, its user and the user's areas, and asks the database's clock whether the session
    is too old, idle, or due for a refresh of last_seen_at (written at most once per `touch_seconds`).

    Raises:
        SessionEnded: no such session, or it was signed out, idle too long or is older than the absolute limit.
        UserDisabled: the user was disabled since signing in (every session of theirs dies at once).
    """
    now = func.now()
    too_old = WebSession.created_at < now - timedelta(seconds=limits.max_seconds)
    idle = WebSession.last_seen_at < now - timedelta(seconds=limits.idle_seconds)
    query = (
        select(WebSession, too_old, idle, due_for_touch(WebSession.last_seen_at, limits.touch_seconds))
        .join(WebSession.user)
        .outerjoin(User.areas)
        .options(contains_eager(WebSession.user).contains_eager(User.areas))
        .where(WebSession.secret_hash == token_hash(secret))
    )
    found = session.execute(query).unique().one_or_none()
    if found is None or found[0].ended_at is not None:
        raise SessionEnded()
    row, is_too_old, is_idle, is_due = found
    if row.user.disabled_at is not None:
        _end(session, row, SessionEndReason.user_disabled, address)
        raise UserDisabled()
    if is_too_old or is_idle:
        _end(session, row, SessionEndReason.too_old if is_too_old else SessionEndReason.idle, address)
        raise SessionEnded()
    if is_due:
        due = due_for_touch(WebSession.last_seen_at, limits.touch_seconds)
        session.execute(update(WebSession).where(WebSession.id == row.id, due).values(last_seen_at=func.now()))
    return principal_of(row.user)


def sign_out(session: Session, secret: str, address: str | None) -> None:
    """Ends the session the secret opens; an unknown or already ended one is left as it is."""
    row = session.scalar(select(WebSession).where(WebSession.secret_hash == token_hash(secret)))
    if row is not None:
        _end(session, row, SessionEndReason.signed_out, address)


def _end(session: Session, row: WebSession, reason: SessionEndReason, address: str | None) -> None:
    """Ends the row once; of two requests that find the same session dead, only one writes and audits it."""
    ended = session.execute(
        update(WebSession).where(WebSession.id == row.id, WebSession.ended_at.is_(None))
        .values(ended_at=func.now(), end_reason=reason)
    )
    if ended.rowcount:
        audit.record(session, "session.end", AuditOutcome.success, actor_id=row.user_id, actor=row.user.username,
                     target=str(row.id), address=address, details={"reason": reason.value})

