"""POST /assignments and POST /assignments/{id}/cancel: supervisors give work to the teams."""

from __future__ import annotations

import uuid

from flask_smorest import Blueprint

from core.errors import Forbidden
from schemas.assignments import AssignmentCreateSchema, AssignmentIdSchema, AssignmentSchema
from server.api.guard import current_principal, requires
from server.extensions import db
from server.models import Action
from server.services import assignments
from server.uow import unit_of_work

blp = Blueprint("assignments", __name__, url_prefix="/api/v1", description="Assignments")


@blp.route("/assignments", methods=["POST"])
@requires(Action.assign_work)
@blp.arguments(AssignmentCreateSchema)
@blp.response(201, AssignmentSchema)
@blp.alt_response(403, description="The area is outside your areas")
@blp.alt_response(404, description="No such assignee, area, household or form")
def create_assignment(args):
    """Assign an area or a household and a form to an enumerator for a round; it reaches the device by pull."""
    # A refusal for another area is audited, and the audit row is kept.
    with unit_of_work(keep_on=(Forbidden,)):
        return assignments.create(db.session, current_principal(), assignments.NewAssignment(**args))


@blp.route("/assignments/<uuid:assignment_id>/cancel", methods=["POST"])
@requires(Action.assign_work)
@blp.arguments(AssignmentIdSchema, location="path", as_kwargs=True)
@blp.response(200, AssignmentSchema)
def cancel_assignment(assignment_id: uuid.UUID):
    """Cancel an assignment; the device learns of it on its next pull."""
    with unit_of_work():
        return assignments.cancel(db.session, current_principal(), assignment_id)
