"""POST /sync/submissions and GET /sync/changes: a device's push, answered after the commit, and its pull."""

from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint

from core.errors import DeviceMismatch
from schemas.sync import PullArgsSchema, PullResultSchema, PushRequestSchema, PushResultSchema
from server import paging
from server.api.guard import current_principal, requires
from server.extensions import db
from server.models import Action
from server.services import pull, push
from server.uow import unit_of_work

blp = Blueprint("sync", __name__, url_prefix="/api/v1", description="Device sync (protocol.md)")


@blp.route("/sync/submissions", methods=["POST"])
@requires(Action.push_submissions)
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": PushRequestSchema}}})
@blp.response(200, PushResultSchema)
@blp.alt_response(400, description="Malformed JSON, or an envelope without a submissions list")
@blp.alt_response(403, description="device_mismatch: the envelope names another device than the token's; "
                                   "device_token_required: a browser session has no device to push from")
@blp.alt_response(413, description="More than 200 submissions, 250,000 JSON values, or 10 MB after decompression")
@blp.alt_response(415, description="Not JSON")
def push_submissions():
    """Push submissions; each result is sent only after every accepted one is committed."""
    body = request.get_json()
    with unit_of_work(keep_on=(DeviceMismatch,)):  # the refusal's audit row is kept
        server_time, results = push.push(db.session, current_principal(), body, request.remote_addr,
                                         current_app.extensions["pii"], current_app.extensions["check_limits"],
                                         current_app.config["QUARANTINE_PER_DEVICE_DAY"])
    return {"server_time": server_time, "results": [result.as_dict() for result in results]}


@blp.route("/sync/changes")
@requires()
@blp.arguments(PullArgsSchema, location="query")
@blp.response(200, PullResultSchema)
@blp.alt_response(422, description="A cursor this server did not give out")
def pull_changes(args):
    """Changes in your scope since the cursor, oldest first; keep the returned cursor for the next pull."""
    page, position = pull.changes(db.session, current_principal(), paging.decode(args["cursor"], list), args["limit"],
                                  current_app.extensions["pii"])
    return {"changes": page.changes, "cursor": paging.encode(position), "has_more": page.has_more,
            "held_back": page.held_back}
