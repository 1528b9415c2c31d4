"""The review queue: GET /submissions (a filtered keyset page), /submissions/counts, /submissions/{uuid}, its files,
and review decisions one by one or in bulk."""

from __future__ import annotations

import uuid

from flask import current_app, send_file
from flask_smorest import Blueprint

from schemas.reviews import (
    BulkResultSchema,
    BulkReviewSchema,
    QueueArgsSchema,
    QueueCountsSchema,
    QueueFilterSchema,
    QueuePageSchema,
    ReviewCreateSchema,
    ReviewSchema,
    SubmissionUuidSchema,
    SubmissionViewSchema,
)
from server.api.guard import current_principal, requires
from server.extensions import db
from server.models import Action, ReviewDecision
from server.services import review_queue, reviews, submission_view
from server.uow import unit_of_work

blp = Blueprint("reviews", __name__, url_prefix="/api/v1", description="Review of submissions by supervisors")


@blp.route("/submissions")
@requires(Action.review_submissions)
@blp.arguments(QueueArgsSchema, location="query")
@blp.response(200, QueuePageSchema)
def list_submissions(args):
    """Submissions of your areas, newest received first, a keyset page at a time, with the filters of the review
    list (the map's tiles and the counts take the same ones)."""
    items, after = review_queue.page(db.session, current_principal(), review_queue.QueueFilter.of(args),
                                     review_queue.position_of(args["cursor"]), args["limit"])
    return {"submissions": items, "cursor": review_queue.cursor_after(after), "has_more": after is not None}


@blp.route("/submissions/counts")
@requires(Action.review_submissions)
@blp.arguments(QueueFilterSchema, location="query")
@blp.response(200, QueueCountsSchema)
def count_submissions(args):
    """The dashboard's counts of the same filter: by review state, flag and area, with what else waits."""
    return review_queue.counts(db.session, current_principal(), review_queue.QueueFilter.of(args))


@blp.route("/submissions/<uuid:submission_uuid>")
@requires(Action.review_submissions)
@blp.arguments(SubmissionUuidSchema, location="path", as_kwargs=True)
@blp.response(200, SubmissionViewSchema)
@blp.alt_response(404, description="No such submission in your areas")
def get_submission(submission_uuid: uuid.UUID):
    """One submission laid out by its form, with its position, files, flags, the version it made and its reviews."""
    with unit_of_work():  # a read of unmasked ID numbers leaves an audit row
        return submission_view.submission_view(db.session, current_principal(), submission_uuid,
                                               current_app.extensions["pii"])


@blp.route("/submissions/<uuid:submission_uuid>/attachments/<name>", methods=["GET"])
@requires(Action.review_submissions)
@blp.response(200, description="The file as uploaded, with its content type")
@blp.alt_response(404, description="No such submission in your areas, or the file is not stored yet")
def get_attachment(submission_uuid: uuid.UUID, name: str):
    """A photo or recording of the submission; every read is audited."""
    with unit_of_work():
        stored, stream = submission_view.attachment(db.session, current_principal(), submission_uuid, name,
                                                    current_app.extensions["blob_store"])
    response = send_file(stream, mimetype=stored.content_type, etag=stored.sha256, max_age=0, conditional=True)
    # Personal data: kept by no cache, and never run as a page even if a file lied about its type.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@blp.route("/submissions/<uuid:submission_uuid>/reviews", methods=["POST"])
@requires(Action.review_submissions)
@blp.arguments(SubmissionUuidSchema, location="path", as_kwargs=True)
@blp.arguments(ReviewCreateSchema)
@blp.response(201, ReviewSchema)
@blp.alt_response(404, description="No such submission in your areas")
@blp.alt_response(409, description="The submission is in quarantine")
def review_submission(args, submission_uuid: uuid.UUID):
    """Approve, reject or mark issues on a submission, with a comment; the submitter's device gets it by pull."""
    with unit_of_work():
        return reviews.decide(db.session, current_principal(), submission_uuid, ReviewDecision(args["decision"]),
                              args["comment"])


@blp.route("/reviews", methods=["POST"])
@requires(Action.review_submissions)
@blp.arguments(BulkReviewSchema)
@blp.response(200, BulkResultSchema)
def review_many(args):
    """The same decision on many submissions: one outside your areas or in quarantine is reported and costs the
    others nothing."""
    with unit_of_work():
        return {"results": reviews.decide_many(db.session, current_principal(), args["submissions"],
                                               ReviewDecision(args["decision"]), args["comment"])}
