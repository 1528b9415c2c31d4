"""The browser session: who is signed in, checked against the database on every request."""

from __future__ import annotations

import uuid

from flask import session

from core.errors import Unauthenticated
from server.extensions import db
from server.services.auth import Principal, load_user_principal

SESSION_USER = "user_id"


def sign_in(user_id: uuid.UUID) -> None:
    session.clear()  # a fresh session at sign-in, so nothing from before carries over
    session[SESSION_USER] = str(user_id)


def signed_in() -> Principal | None:
    """The session's user, or None; a disabled or removed user's session ends here.

    Raises:
        Unauthenticated: never; a dead session is cleared and answers None.
    """
    if SESSION_USER not in session:
        return None
    try:
        return load_user_principal(db.session, uuid.UUID(session[SESSION_USER]))
    except (Unauthenticated, ValueError):
        session.clear()
        return None
