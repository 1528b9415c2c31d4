"""Browser pages: sign-in and sign-out for supervisors (the review pages build on this)."""

from __future__ import annotations

import uuid

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from server.api.guard import SESSION_USER
from server.api.uow import unit_of_work
from server.extensions import db
from server.services import auth
from sync.errors import Unauthenticated

blueprint = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/web/static")


def _signed_in() -> auth.Principal | None:
    if SESSION_USER not in session:
        return None
    try:
        return auth.load_user_principal(db.session, uuid.UUID(session[SESSION_USER]))
    except Unauthenticated:
        session.clear()
        return None


@blueprint.get("/")
def home():
    principal = _signed_in()
    if principal is None:
        return redirect(url_for("web.login"))
    return render_template("home.html", principal=principal)


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", error=None)
    try:
        with unit_of_work(keep_on=(auth.InvalidCredentials, auth.LoginThrottled)):
            user = auth.check_credentials(
                db.session, request.form.get("username", ""), request.form.get("password", ""),
                request.remote_addr, auth.LoginLimits.from_config(current_app.config), via="web",
            )
            user_id = str(user.id)
    except (auth.InvalidCredentials, auth.LoginThrottled) as error:
        status = 429 if isinstance(error, auth.LoginThrottled) else 401
        return render_template("login.html", error=error.message), status
    session.clear()
    session[SESSION_USER] = user_id
    return redirect(url_for("web.home"))


@blueprint.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("web.login"))
