"""POST /households/{id}/monitoring: a supervisor moves the household's monitoring case."""

from __future__ import annotations

import uuid

from flask_smorest import Blueprint

from schemas.monitoring import HouseholdIdSchema, MonitoringCaseSchema, MonitoringMoveSchema
from server.api.guard import current_principal, requires
from server.extensions import db
from server.models import Role
from server.services import monitoring
from server.uow import unit_of_work

blp = Blueprint("households", __name__, url_prefix="/api/v1", description="Households and their monitoring")


@blp.route("/households/<uuid:household_id>/monitoring", methods=["POST"])
@requires(Role.supervisor, Role.admin)
@blp.arguments(HouseholdIdSchema, location="path", as_kwargs=True)
@blp.arguments(MonitoringMoveSchema)
@blp.response(200, MonitoringCaseSchema)
@blp.alt_response(404, description="No such household in your areas")
@blp.alt_response(409, description="The open case is not in the state this action moves from")
def move_monitoring_case(args, household_id: uuid.UUID):
    """Identify (with a category), dismiss, assist or eliminate: one audited step of the monitoring case."""
    with unit_of_work():
        return monitoring.move(db.session, current_principal(), household_id, args["action"], args["category"],
                               args["comment"])
