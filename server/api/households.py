"""GET /households/{id} and POST /households/{id}/monitoring: a household as supervisors read it, and its case."""

from __future__ import annotations

import uuid

from flask import current_app
from flask_smorest import Blueprint

from schemas.households import HouseholdSchema
from schemas.monitoring import HouseholdIdSchema, MonitoringCaseSchema, MonitoringMoveSchema
from server.api.guard import current_principal, requires
from server.extensions import db
from server.models import Role
from server.services import households, monitoring
from server.uow import unit_of_work

blp = Blueprint("households", __name__, url_prefix="/api/v1", description="Households and their monitoring")


@blp.route("/households/<uuid:household_id>")
@requires(Role.supervisor, Role.admin, Role.planner, Role.enumerator)
@blp.arguments(HouseholdIdSchema, location="path", as_kwargs=True)
@blp.response(200, HouseholdSchema)
@blp.alt_response(404, description="No such household in your areas")
def get_household(household_id: uuid.UUID):
    """Members, history, open conflicts, flags and monitoring cases; personal data masked without the grant."""
    with unit_of_work():  # a read of unmasked ID numbers leaves an audit row
        return households.household_view(db.session, current_principal(), household_id, current_app.extensions["pii"])


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
