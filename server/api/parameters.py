"""GET /parameters and PUT /parameters/{year}/{area_code}: the yearly monitoring thresholds of each area."""

from __future__ import annotations

from flask_smorest import Blueprint

from core.errors import Forbidden
from schemas.parameters import (
    ParameterKeySchema,
    ParameterListArgsSchema,
    ParameterListSchema,
    ParameterSchema,
    ParameterSetSchema,
)
from server.api.guard import current_principal, requires
from server.extensions import db
from server.models import Action
from server.services import parameters
from server.uow import unit_of_work

blp = Blueprint("parameters", __name__, url_prefix="/api/v1",
                description="Yearly monitoring thresholds: the monitoring line, dibao standard and watch line")


@blp.route("/parameters")
@requires()  # public policy figures, not personal data: any signed-in user reads them all
@blp.arguments(ParameterListArgsSchema, location="query")
@blp.response(200, ParameterListSchema)
def list_parameters(args):
    """The figures set per year and area, latest year first; a household's come from its county, else its
    prefecture, else its province, for its income year only."""
    return {"parameters": parameters.list_parameters(db.session, year=args["year"], area_code=args["area_code"])}


@blp.route("/parameters/<int:year>/<area_code>", methods=["PUT"])
@requires(Action.set_parameters)
@blp.arguments(ParameterKeySchema, location="path", as_kwargs=True)
@blp.arguments(ParameterSetSchema)
@blp.response(200, ParameterSchema)
@blp.alt_response(403, description="Not an admin, or the area is outside your areas")
@blp.alt_response(404, description="No area of that code")
def set_parameters(args, year: int, area_code: str):
    """Set (or replace) an area's figures for a year, with where they come from; audited."""
    # A refusal for another area is audited, and the audit row is kept.
    with unit_of_work(keep_on=(Forbidden,)):
        values = {name: args[name] for name in parameters.NAMES}
        return parameters.set_parameters(db.session, current_principal(), year, area_code, values, args["source"])
