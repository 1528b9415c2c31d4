"""The browser session's cookie: it carries a secret whose server-side row is checked on every request."""

from __future__ import annotations

from flask import current_app, request, session

from core.errors import SessionEnded, Unauthenticated, UserDisabled
from server.extensions import db
from server.services import web_sessions
from server.services.auth import Principal
from server.uow import unit_of_work

SESSION_FIELD = "web_session"  # the cookie field holding the session's secret


def sign_in(secret: str) -> None:
    """Puts a newly opened session's secret in the cookie (web_sessions.sign_in opened it)."""
    session.clear()  # a fresh session at sign-in, so nothing from before carries over
    session.permanent = True  # the cookie expires with the absolute limit (PERMANENT_SESSION_LIFETIME)
    session[SESSION_FIELD] = secret


def has_session() -> bool:
    return SESSION_FIELD in session


def current() -> Principal:
    """The signed-in principal; a dead session's cookie is cleared.

    Raises:
        Unauthenticated: no session cookie.
        SessionEnded: signed out, idle, too old or unknown.
        UserDisabled: the user was disabled since signing in.
    """
    if SESSION_FIELD not in session:
        raise Unauthenticated()
    limits = web_sessions.SessionLimits.from_config(current_app.config)
    try:
        # Committed on its own, like a device token's touch: the last_seen_at refresh, or the end of a dead session
        # and its audit row, stand whatever the request does next.
        with unit_of_work(keep_on=(SessionEnded, UserDisabled)):
            return web_sessions.check(db.session, str(session[SESSION_FIELD]), limits, request.remote_addr)
    except (SessionEnded, UserDisabled):
        session.clear()
        raise


def signed_in() -> Principal | None:
    """For pages: the signed-in principal, or None when there is no live session."""
    try:
        return current()
    except Unauthenticated:
        return None


def sign_out() -> None:
    """Ends the session on the server (so a copy of the cookie opens nothing), then clears the cookie."""
    if SESSION_FIELD in session:
        with unit_of_work():
            web_sessions.sign_out(db.session, str(session[SESSION_FIELD]), request.remote_addr)
    session.clear()
