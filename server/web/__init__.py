"""Browser pages: sign-in and sign-out for supervisors (the review pages build on this)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from core.errors import InvalidCredentials, LoginThrottled
from server.extensions import db
from server.services import auth, web_sessions
from server.uow import unit_of_work
from server.web_session import sign_in, sign_out, signed_in

blueprint = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/web/static")


@blueprint.get("/")
def home():
    principal = signed_in()
    if principal is None:
        return redirect(url_for("web.login"))
    return render_template("home.html", principal=principal)


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", error=None)
    try:
        with unit_of_work(keep_on=(InvalidCredentials, LoginThrottled)):
            secret = web_sessions.sign_in(
                db.session, request.form.get("username", ""), request.form.get("password", ""),
                request.remote_addr, auth.LoginLimits.from_config(current_app.config),
            )
    except (InvalidCredentials, LoginThrottled) as error:
        status = 429 if isinstance(error, LoginThrottled) else 401
        return render_template("login.html", error=error.message), status
    sign_in(secret)
    return redirect(url_for("web.home"))


@blueprint.post("/logout")
def logout():
    sign_out()
    return redirect(url_for("web.login"))
