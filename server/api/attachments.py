"""PUT /submissions/{uuid}/attachments/{name}: one declared file, streamed to the content-addressed store."""

from __future__ import annotations

import uuid

from flask import current_app, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from server.api.guard import current_principal, requires
from server.extensions import db
from server.models import Action
from server.uow import unit_of_work
from sync import attachments, limits

blp = Blueprint("attachments", __name__, url_prefix="/api/v1", description="Attachments of submissions")
CHUNK = 64 * 1024


class ReceivedSchema(Schema):
    name = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    complete = fields.Boolean(metadata={"description": "every declared attachment of the submission is stored"})


def _chunks():
    while chunk := request.stream.read(CHUNK):
        yield chunk


@blp.route("/submissions/<uuid:submission_uuid>/attachments/<name>", methods=["PUT"])
@requires(Action.push_submissions)
@blp.doc(parameters=[{"in": "header", "name": "X-Content-SHA256", "required": True, "schema": {"type": "string"}}])
@blp.response(201, ReceivedSchema)
@blp.alt_response(200, schema=ReceivedSchema, description="Already stored with this hash (idempotent)")
@blp.alt_response(400, description="The hash differs from the declared one or from the bytes")
@blp.alt_response(409, description="Stored already with another hash; nothing overwritten")
@blp.alt_response(413, description="Over 20 MB")
def put_attachment(submission_uuid: uuid.UUID, name: str):
    """Upload a file the submission declared; the body is the file."""
    request.max_content_length = limits.MAX_BYTES + 1
    try:
        with unit_of_work():
            received = attachments.receive(
                db.session, current_principal().scope, submission_uuid, name,
                request.headers.get("X-Content-SHA256", "").lower(), request.content_type or "", _chunks(),
                current_app.extensions["blob_store"],
            )
    finally:
        _drain()
    return received, 201 if received.created else 200


def _drain() -> None:
    """Reads what is left of the body before answering: a server that answers early and closes the connection
    while the phone is still sending makes it see a broken pipe instead of the answer (an idempotent 200, a 409)."""
    try:
        for _ in _chunks():
            pass
    except Exception:  # noqa: BLE001, S110 - over the limit or cut off: the answer already says what went wrong
        pass


put_attachment.accepts_binary_body = True
