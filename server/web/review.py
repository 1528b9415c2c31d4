"""The review workbench's pages: the dashboard, the submission list beside its map, one submission with its decision
form, and decisions taken in bulk. Each page parses, calls the one service the API calls too, and renders."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from flask import current_app, flash, redirect, render_template, request, url_for
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from core.errors import InvalidInput
from schemas.reviews import REVIEW_STATES, BulkReviewSchema, QueueFilterSchema, ReviewCreateSchema
from server.extensions import db
from server.models import Action, ReviewDecision, may
from server.services import review_queue, reviews, submission_view, tiles
from server.services.reviews import BulkStatus
from server.uow import unit_of_work
from server.web import blueprint
from server.web.guard import page, reader
from server.web.i18n import name, t

PAGE_SIZE = 50
FILTERS = tuple(QueueFilterSchema().fields)


def _filter() -> tuple[review_queue.QueueFilter, dict[str, str]]:
    """The queue's filter from the page's query string (empty fields dropped), and the same as text to carry on."""
    given = {field: value for field in FILTERS if (value := request.args.get(field, "").strip())}
    return review_queue.QueueFilter.of(_form(QueueFilterSchema(unknown=EXCLUDE), given)), given


def _map_settings(area_code: str | None) -> dict[str, Any]:
    config = current_app.config
    return {"extent": tiles.extent(db.session, reader(), area_code), "tile_url": config["MAP_TILE_URL"],
            "attribution": config["MAP_TILE_ATTRIBUTION"]}


@blueprint.get("/")
@page()
def home():
    """The dashboard: what waits, by state, flag and area, each count a link into the list."""
    if not _reviews():
        return render_template("home.html", principal=reader())
    queue, given = _filter()
    counts = review_queue.counts(db.session, reader(), queue)
    return render_template("dashboard.html", principal=reader(), counts=counts, given=given, states=REVIEW_STATES)


def _reviews() -> bool:
    return may(reader().role, Action.review_submissions)


@blueprint.get("/submissions")
@page(Action.review_submissions)
def submission_list():
    queue, given = _filter()
    items, more = review_queue.page(db.session, reader(), queue, review_queue.position_of(request.args.get("cursor") or None),
                                    PAGE_SIZE)
    cursor = review_queue.cursor_after(more)
    return render_template("submissions.html", principal=reader(), items=items, given=given, cursor=cursor,
                           states=REVIEW_STATES, query=urlencode(given),
                           map=_map_settings(queue.area_code))


@blueprint.get("/submissions/<uuid:submission_uuid>")
@page(Action.review_submissions)
def submission_page(submission_uuid: uuid.UUID):
    queue, given = _filter()
    with unit_of_work():  # a read of unmasked ID numbers leaves an audit row
        view = submission_view.submission_view(db.session, reader(), submission_uuid, current_app.extensions["pii"])
    following, _ = review_queue.page(db.session, reader(), queue, (view["received_at"], view["uuid"]), 1)
    return render_template("submission.html", principal=reader(), s=view, given=given, query=urlencode(given),
                           following=following[0]["uuid"] if following else None,
                           map=_map_settings(view["area_code"]))


@blueprint.post("/submissions/<uuid:submission_uuid>/decision")
@page(Action.review_submissions)
def decide(submission_uuid: uuid.UUID):
    """One decision; then on to the next submission of the same filter, as a reviewer works down the list."""
    _, given = _filter()
    args = _form(ReviewCreateSchema(), {"decision": request.form.get("decision"), "comment": _comment()})
    following = _form(_Following(), {"following": request.form.get("following") or None})["following"]
    with unit_of_work():
        reviews.decide(db.session, reader(), submission_uuid, ReviewDecision(args["decision"]), args["comment"])
    flash(_done(args["decision"], 1))
    if following:
        return redirect(url_for("web.submission_page", submission_uuid=following, **given))
    return redirect(url_for("web.submission_list", **given))


@blueprint.post("/submissions/decisions")
@page(Action.review_submissions)
def decide_many():
    _, given = _filter()
    if not request.form.getlist("submission"):
        raise InvalidInput(t("请先勾选提交", "Tick the submissions to decide first."))
    args = _form(BulkReviewSchema(), {"decision": request.form.get("decision"), "comment": _comment(),
                                      "submissions": request.form.getlist("submission")})
    with unit_of_work():
        outcomes = reviews.decide_many(db.session, reader(), args["submissions"], ReviewDecision(args["decision"]),
                                       args["comment"])
    flash(_done(args["decision"], sum(outcome.status is BulkStatus.decided for outcome in outcomes)))
    for outcome in outcomes:
        if outcome.status is not BulkStatus.decided:
            flash(f"{outcome.uuid}: {outcome.message}", "error")
    return redirect(url_for("web.submission_list", **given))


class _Following(Schema):
    following = fields.UUID(allow_none=True, load_default=None)


def _comment() -> str | None:
    return request.form.get("comment", "").strip() or None


def _form(schema: Schema, values: dict[str, Any]) -> dict[str, Any]:
    """A page's form read by the API's schema, so both doors take the same values (a comment's length, no NUL)."""
    try:
        return schema.load(values)
    except ValidationError as error:
        fields_wrong = [{"field": name, "code": "invalid", "message": str(message)}
                        for name, message in error.messages.items()]
        raise InvalidInput(t("表单有误：", "Some fields are not valid: ") + ", ".join(error.messages),
                           details={"fields": fields_wrong}) from None


def _done(decision: str, count: int) -> str:
    return t(f"{name(decision)} {count} 份", f"{count} {name(decision)}")
