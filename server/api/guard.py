"""Who is calling: a bearer token (devices) or a browser session (supervisor pages), and their role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, request

from core.errors import Forbidden, Unauthenticated
from server import web_session
from server.extensions import csrf, db
from server.models import Action, may
from server.services.auth import Principal, authenticate_token

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _principal_from_request() -> Principal:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Send the token as 'Authorization: Bearer <token>'.")
        config = current_app.config
        principal = authenticate_token(db.session, token.strip(), config["TOKEN_TOUCH_SECONDS"], config["DEVICE_TOKEN_IDLE_DAYS"])
        db.session.commit()  # the last_seen_at touch stands on its own, whatever the request does next
        return principal
    if web_session.has_session():
        if request.method not in _SAFE_METHODS:
            csrf.protect()
        return web_session.current()  # 401 session_ended once signed out, idle or too old
    # Tokens are never read from the URL: they would end up in logs and browser history.
    raise Unauthenticated()


def current_principal() -> Principal:
    return g.principal


def requires(action: Action | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Authenticates the caller, then allows only the roles that may take `action` (server.models.permissions; any
    signed-in role when there is none)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.principal = _principal_from_request()
            if action is not None and not may(g.principal.role, action):
                raise Forbidden()
            return view(*args, **kwargs)

        return wrapper

    return decorator
