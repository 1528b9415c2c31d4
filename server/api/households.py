"""GET /households, /households/{id}, /villages/{area_code}; POST their monitoring moves and conflict resolutions."""

from __future__ import annotations

import uuid

from flask import current_app
from flask_smorest import Blueprint

from core.errors import BadCursor
from schemas.conflicts import ResolutionResultSchema, ResolutionSchema
from schemas.households import (
    CaseListArgsSchema,
    CaseListSchema,
    ConflictListSchema,
    HouseholdListArgsSchema,
    HouseholdPageSchema,
    HouseholdSchema,
    VillageCodeSchema,
    VillageSchema,
    WorklistArgsSchema,
)
from schemas.monitoring import HouseholdIdSchema, MonitoringCaseSchema, MonitoringMoveSchema
from server import paging
from server.api.guard import current_principal, requires
from server.extensions import db
from server.models import Action, CaseStep
from server.services import conflicts, elimination, households, monitoring
from server.uow import unit_of_work

blp = Blueprint("households", __name__, url_prefix="/api/v1", description="Households and their monitoring")




@blp.route("/households")
@requires(Action.read_households)
@blp.arguments(HouseholdListArgsSchema, location="query")
@blp.response(200, HouseholdPageSchema)
def list_households(args):
    """Households in your scope by id, a keyset page at a time; filter by area, risk flag, watch list, monitoring state
    or category."""
    page, has_more = households.list_households(
        db.session, current_principal(), area_code=args["area_code"], flag=args["flag"], watched=args["watched"],
        monitoring_state=args["monitoring_state"], step=args["step"], category=args["category"],
        after=_after(paging.decode(args["cursor"], str)), limit=args["limit"])
    return {"households": page, **paging.next_page(str(page[-1]["id"]) if has_more else None)}


@blp.route("/monitoring-cases")
@requires(Action.move_monitoring_case)
@blp.arguments(CaseListArgsSchema, location="query")
@blp.response(200, CaseListSchema)
def list_cases(args):
    """Monitoring cases of your households in one state (every open one without it), the longest waiting first."""
    return {"cases": monitoring.cases_in_scope(db.session, current_principal(), args["state"], args["area_code"],
                                               paging.WORKLIST)}


@blp.route("/conflicts")
@requires(Action.resolve_conflicts)
@blp.arguments(WorklistArgsSchema, location="query")
@blp.response(200, ConflictListSchema)
def list_conflicts(args):
    """Open conflicts of your households and villages, the oldest first; each is resolved on its own record."""
    return {"conflicts": conflicts.open_in_scope(db.session, current_principal(), args["area_code"], paging.WORKLIST)}


def _after(position: str | None) -> str | None:
    try:
        return None if position is None else str(uuid.UUID(position))
    except ValueError:
        raise BadCursor() from None


@blp.route("/villages/<area_code>")
@requires(Action.read_households)
@blp.arguments(VillageCodeSchema, location="path", as_kwargs=True)
@blp.response(200, VillageSchema)
@blp.alt_response(404, description="No surveyed village of that code in your areas")
def get_village(area_code: str):
    """A natural or administrative village's surveyed infrastructure state and its history."""
    return households.village_view(db.session, current_principal(), area_code, current_app.extensions["pii"])


@blp.route("/households/<uuid:household_id>")
@requires(Action.read_households)
@blp.arguments(HouseholdIdSchema, location="path", as_kwargs=True)
@blp.response(200, HouseholdSchema)
@blp.alt_response(404, description="No such household in your areas")
def get_household(household_id: uuid.UUID):
    """Members, history, open conflicts, flags and monitoring cases; personal data masked without the grant."""
    with unit_of_work():  # a read of unmasked ID numbers leaves an audit row
        return households.household_view(db.session, current_principal(), household_id, current_app.extensions["pii"])


@blp.route("/households/<uuid:household_id>/monitoring", methods=["POST"])
@requires(Action.move_monitoring_case)
@blp.arguments(HouseholdIdSchema, location="path", as_kwargs=True)
@blp.arguments(MonitoringMoveSchema)
@blp.response(200, MonitoringCaseSchema)
@blp.alt_response(404, description="No such household in your areas")
@blp.alt_response(403, description="Not a supervisor, or areas that do not reach the county (or township) the step needs")
@blp.alt_response(409, description="The open case is not in the state this step moves from, or its notice is running")
@blp.alt_response(422, description="The step lacks what justifies it, or what must hold for it does not")
def move_monitoring_case(args, household_id: uuid.UUID):
    """One audited step of the household's case through the procedure of domain.md 3.13."""
    request = monitoring.StepRequest(CaseStep(args.pop("action")), **args)
    with unit_of_work():
        return monitoring.move(db.session, current_principal(), household_id, request,
                               elimination.Settings(current_app.config["ELIMINATION_NOTICE_DAYS"],
                                                    current_app.config["ELIMINATION_MONTHS_ABOVE_LINE"]))


@blp.route("/households/<uuid:household_id>/resolutions", methods=["POST"])
@requires(Action.resolve_conflicts)
@blp.arguments(HouseholdIdSchema, location="path", as_kwargs=True)
@blp.arguments(ResolutionSchema)
@blp.response(200, ResolutionResultSchema)
@blp.alt_response(404, description="No such household in your areas, or no such conflict")
def resolve_household_conflict(args, household_id: uuid.UUID):
    """Resolve one of the household's conflicts: the chosen value applies on this and every later replay."""
    return _resolve("household", str(household_id), args)


@blp.route("/villages/<area_code>/resolutions", methods=["POST"])
@requires(Action.resolve_conflicts)
@blp.arguments(VillageCodeSchema, location="path", as_kwargs=True)
@blp.arguments(ResolutionSchema)
@blp.response(200, ResolutionResultSchema)
@blp.alt_response(404, description="No surveyed village of that code in your areas, or no such conflict")
def resolve_village_conflict(args, area_code: str):
    """Resolve one of the village's conflicts: the chosen value applies on this and every later replay."""
    return _resolve("village", area_code, args)


def _resolve(entity_type: str, key: str, args: dict) -> dict:
    with unit_of_work():
        return conflicts.resolve(db.session, current_principal(), entity_type, key, args["property"],
                                 args["base_version"], args["choice"], args["comment"], current_app.extensions["pii"])
