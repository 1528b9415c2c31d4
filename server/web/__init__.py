"""Browser pages for supervisors: sign-in, the review workbench (server/web/review.py) and the records it links to
(server/web/records.py), in Chinese or English."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from core.clock import CHINA
from core.errors import DomainError, InvalidCredentials, LoginThrottled
from server.errors import status_of
from server.extensions import db
from server.models import Action, may
from server.services import auth, web_sessions
from server.uow import unit_of_work
from server.web import i18n
from server.web_session import sign_in, sign_out

blueprint = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/web/static")


@blueprint.app_template_global()
def t(zh: str, en: str) -> str:
    return i18n.t(zh, en)


@blueprint.app_template_global()
def label(names) -> str:
    return i18n.label(names)


@blueprint.app_template_global()
def name(code: str | None) -> str:
    return i18n.name(code)


@blueprint.app_template_filter("label_of")
def label_of(names) -> str:
    return i18n.label(names)


@blueprint.app_template_filter("china_time")
def china_time(moment: datetime | None) -> str:
    """A time as people in the villages and offices read it: China's clock, to the minute."""
    return "" if moment is None else moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


@blueprint.app_template_global()
def tile_url(layer: str) -> str:
    """The address template of a map layer's tiles, as OpenLayers takes it: .../{z}/{x}/{y}.mvt."""
    endpoint = {"areas": "tiles.area_tile", "households": "tiles.household_tile", "submissions": "tiles.submission_tile"}
    return url_for(endpoint[layer], z=0, x=0, y=0).replace("/0/0/0.mvt", "/{z}/{x}/{y}.mvt")


@blueprint.app_template_global()
def allowed(action: str) -> bool:
    """Whether the signed-in reader's role may take this action (server.models.permissions): a page offers only
    the forms that would be accepted."""
    principal = g.get("principal")
    return principal is not None and may(principal.role, Action(action))


@blueprint.app_template_global()
def language() -> str:
    return i18n.current()


@blueprint.errorhandler(DomainError)
def domain_error(error: DomainError):
    """A page's error as a page: the reader sees what went wrong in words, with a way back."""
    status = status_of(error)
    return render_template("error.html", error=error, status=status, principal=g.get("principal")), status


@blueprint.errorhandler(CSRFError)
def form_expired(_error: CSRFError):
    """A form without its token (expired, or posted from elsewhere): refused, and said so on a page."""
    error = DomainError(i18n.t("表单已过期或缺少安全令牌，请刷新页面后重试。",
                               "The form has expired or its security token is missing: reload the page and try again."),
                        code="csrf_failed")
    return render_template("error.html", error=error, status=400, principal=None), 400


@blueprint.get("/lang/<language>")
def switch_language(language: str):
    return i18n.switch(language, request.args.get("next"))


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    back_to = i18n.local_path(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", error=None, next=back_to)
    try:
        with unit_of_work(keep_on=(InvalidCredentials, LoginThrottled)):
            secret = web_sessions.sign_in(
                db.session, request.form.get("username", ""), request.form.get("password", ""),
                request.remote_addr, auth.LoginLimits.from_config(current_app.config),
            )
    except (InvalidCredentials, LoginThrottled) as error:
        status = 429 if isinstance(error, LoginThrottled) else 401
        return render_template("login.html", error=error.message, next=back_to), status
    sign_in(secret)
    return redirect(back_to)


@blueprint.post("/logout")
def logout():
    sign_out()
    return redirect(url_for("web.login"))


from server.web import records, review  # noqa: E402, F401 - their pages register on the blueprint above
