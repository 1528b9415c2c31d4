"""The field app at /app: the page, its service worker and manifest, and its scripts, for work teams' phones."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app, redirect, render_template, url_for

from server.web import vendor

STATIC = Path(__file__).parent / "static"
# The front-end packages the app imports, by their name under /web/vendor/.
VENDOR_FILES = ("json-logic-engine.js",)
# The app's page may show photos the phone just took (blob: URLs) before they are uploaded.
APP_CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
           "frame-ancestors 'none'; form-action 'self'")
# The worker's own policy: what it may fetch and cache is this server's, nothing else.
WORKER_CSP = "default-src 'self'"

blueprint = Blueprint("fieldapp", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/app/static")


def shell_urls() -> list[str]:
    """Every address the app needs to start with no network: the page, its scripts, styles, icons and libraries."""
    files = sorted(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*") if p.is_file() and p.name != "sw.js")
    return ([url_for("fieldapp.page"), url_for("fieldapp.manifest")]
            + [url_for("fieldapp.static", filename=name) for name in files]
            + [url_for("vendor.vendor_file", name=name) for name in VENDOR_FILES])


@cache
def _build_of(packages_dir: str) -> str:
    """A digest of what the app is made of: a new release makes a new worker, which fetches the new files."""
    digest = hashlib.sha256()
    templates = Path(__file__).parent / "templates"
    for path in sorted([*STATIC.rglob("*"), *templates.rglob("*")]):
        if path.is_file():
            digest.update(path.relative_to(STATIC.parent).as_posix().encode() + b"\0" + path.read_bytes())
    for name in VENDOR_FILES:
        packaged = Path(packages_dir) / vendor.FILES[name][0]
        digest.update(packaged.read_bytes() if packaged.is_file() else b"missing")
    return digest.hexdigest()[:16]


def build() -> str:
    return current_app.config["FIELD_APP_BUILD"] or _build_of(current_app.config["FRONTEND_PACKAGES_DIR"])


@blueprint.get("/app")
def bare() -> Response:
    """/app/ is the app: a worker controls only the pages under its own folder."""
    return redirect(url_for("fieldapp.page"), code=308)


@blueprint.get("/app/")
def page() -> Response:
    response = Response(render_template("app.html", build=build()), mimetype="text/html")
    response.headers["Content-Security-Policy"] = APP_CSP
    return response


@blueprint.get("/app/sw.js")
def service_worker() -> Response:
    """The worker, with this release's name and file list written in: a changed byte is what makes browsers update."""
    source = (STATIC.parent / "worker.js").read_text(encoding="utf-8")
    head = f"const BUILD = {json.dumps(build())};\nconst SHELL = {json.dumps(shell_urls())};\n"
    response = Response(head + source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = WORKER_CSP
    return response


@blueprint.get("/app/manifest.webmanifest")
def manifest() -> Response:
    body = {
        "name": "村级监测调查 · Village survey",
        "short_name": "入户调查",
        "lang": "zh-CN",
        "start_url": url_for("fieldapp.page"),
        "scope": url_for("fieldapp.page"),
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#166534",
        "icons": [{"src": url_for("fieldapp.static", filename="icon.svg"), "sizes": "any", "type": "image/svg+xml",
                   "purpose": "any maskable"}],
    }
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response
