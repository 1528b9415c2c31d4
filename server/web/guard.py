"""Who reads a page: the signed-in browser session, sent to sign in when there is none, refused a page its role
does not open."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, redirect, request, url_for

from core.errors import Forbidden
from server.models import Action, may
from server.services.auth import Principal
from server.web_session import signed_in


def page(action: Action | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = signed_in()
            if principal is None:  # to sign in, then back to this page
                back_to = request.full_path.rstrip("?")
                return redirect(url_for("web.login", next=back_to) if back_to != "/" else url_for("web.login"))
            if action is not None and not may(principal.role, action):
                raise Forbidden()
            g.principal = principal
            return view(*args, **kwargs)

        return wrapper

    return decorator


def reader() -> Principal:
    return g.principal
