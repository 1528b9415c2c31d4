"""Per-request plumbing: request ids, load shedding, JSON-only request bodies and security headers."""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.middleware.proxy_fix import ProxyFix

from core.errors import ServerBusy

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_BODY_METHODS = {"POST", "PUT", "PATCH"}
API_PREFIX = "/api/v1/"
QUEUE_RETRY_AFTER = 5  # seconds: a busy server's queue of a few seconds has drained by then

# Pages of our own (sign-in, review pages, API docs) load their scripts and styles from this server only; the one
# other host is a configured map-tile server, whose images the review map draws.
PAGE_CSP = ("default-src 'self'; img-src 'self' data:{tiles}; connect-src 'self'{tiles}; frame-ancestors 'none'; "
            "form-action 'self'")
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def _assign_request_id() -> None:
    supplied = request.headers.get("X-Request-ID", "")
    g.request_id = supplied if _SAFE_REQUEST_ID.match(supplied) else uuid.uuid4().hex


def _refuse_stale_requests() -> None:
    """Under overload, answer at once what waited in gunicorn's queue too long, so the queue drains (reliability L3).

    The proxy in front (deploy/nginx.conf) stamps when it handed the request on; a request that then waited longer
    than QUEUE_TIMEOUT_MS for a worker would mostly reach a phone that has given up. Refused before its body is
    read or the database is touched, it costs a millisecond, and the device retries after Retry-After.
    """
    stamp = request.headers.get("X-Request-Start", "")
    if not stamp.startswith("t="):
        return
    try:
        waited_ms = time.time() * 1000 - float(stamp[2:]) * 1000
    except ValueError:
        return
    if waited_ms > current_app.config["QUEUE_TIMEOUT_MS"]:
        raise ServerBusy(retry_after=QUEUE_RETRY_AFTER, details={"waited_ms": round(waited_ms)})


def _require_json_body() -> None:
    """API bodies are JSON (protocol.md); views that take files set `accepts_binary_body`."""
    if not request.path.startswith(API_PREFIX) or request.method not in _BODY_METHODS:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "accepts_binary_body", False):
        return
    has_body = bool(request.content_length) or "Transfer-Encoding" in request.headers
    if has_body and not request.is_json:  # an empty POST (e.g. /cancel) has no type to declare
        raise UnsupportedMediaType("Send the body as JSON with 'Content-Type: application/json'.")


def _security_headers(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    is_page = response.mimetype == "text/html"
    response.headers.setdefault("Content-Security-Policy", current_app.extensions["page_csp"] if is_page else API_CSP)
    if is_page:
        response.headers["X-Frame-Options"] = "DENY"
    # API answers may hold personal data: never cache them unless a view said otherwise (forms do).
    if request.path.startswith(API_PREFIX) or is_page:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def page_csp(tile_url: str) -> str:
    """The pages' policy, with the origin of the map-tile server when one is configured."""
    parts = urlsplit(tile_url)
    host = re.sub(r"\{[^}]*\}", "*", parts.netloc)  # {a-c}.tile.example: any of its sub-domains
    origin = f" {parts.scheme}://{host}" if parts.scheme and host else ""
    return PAGE_CSP.format(tiles=origin)


def init_app(app: Flask) -> None:
    app.extensions["page_csp"] = page_csp(app.config["MAP_TILE_URL"])
    if app.config["TRUSTED_PROXIES"]:
        # Behind a load balancer the client's address (login throttling, audit) is in X-Forwarded-For.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"], x_proto=app.config["TRUSTED_PROXIES"])
    app.before_request(_assign_request_id)
    if app.config["TRUSTED_PROXIES"]:
        app.before_request(_refuse_stale_requests)  # only a proxy we trust says when a request arrived
    app.before_request(_require_json_body)
    app.after_request(_security_headers)
