"""Serves the browser pages an allowlist of files from the front-end packages that `npm ci` installed (package.json)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, send_from_directory

# The name in /web/vendor/<name> → the file under FRONTEND_PACKAGES_DIR (node_modules) and its type. Nothing else of
# node_modules is reachable: a name not here is 404, whatever it looks like.
FILES: dict[str, tuple[str, str]] = {
    "ol.js": ("ol/dist/ol.js", "text/javascript; charset=utf-8"),  # OpenLayers' full UMD build: the global `ol`
    "ol.css": ("ol/ol.css", "text/css; charset=utf-8"),
    # JsonLogic for the field app's forms: the package's single-file ES module build
    "json-logic-engine.js": ("json-logic-engine/dist/esm/index.js", "text/javascript; charset=utf-8"),
}

# The files change only with package-lock.json; a day in the browser's cache, then a conditional request (304).
MAX_AGE_SECONDS = 24 * 60 * 60

NOT_INSTALLED = (
    "前端库未安装：请在服务器的代码目录中运行 `make run`（它会用 npm ci 安装 package-lock.json 中的库）。\n"
    "The front-end libraries are not installed: run `make run` in the server's checkout "
    "(it installs those of package-lock.json with npm ci).\n"
)

blueprint = Blueprint("vendor", __name__)


@blueprint.get("/web/vendor/<name>")
def vendor_file(name: str) -> Response:
    if name not in FILES:
        abort(404)
    relative, content_type = FILES[name]
    directory = Path(current_app.config["FRONTEND_PACKAGES_DIR"])
    if not (directory / relative).is_file():
        current_app.logger.error("%s is missing under %s: npm ci has not run (make run installs it)", relative, directory)
        return Response(NOT_INSTALLED, status=503, mimetype="text/plain", headers={"Cache-Control": "no-store"})
    response = send_from_directory(directory, relative, max_age=MAX_AGE_SECONDS, conditional=True)
    response.content_type = content_type  # as written above: werkzeug would add a second charset to a text/ type given
    return response
