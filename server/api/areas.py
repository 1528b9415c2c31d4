"""GET /areas and /areas/{code}: the administrative areas in the caller's scope."""

from __future__ import annotations

from flask_smorest import Blueprint

from schemas.areas import AreaCodeSchema, AreaListArgsSchema, AreaPageSchema, AreaSchema
from server import paging
from server.api.guard import current_principal, requires
from server.extensions import db
from server.services import areas

blp = Blueprint("areas", __name__, url_prefix="/api/v1", description="Administrative areas")


@blp.route("/areas")
@requires()
@blp.arguments(AreaListArgsSchema, location="query")
@blp.response(200, AreaPageSchema)
def list_areas(args):
    """Areas in your scope, ordered by code, a keyset page at a time; retired ones only with include_retired=true."""
    page, has_more = areas.list_areas(
        db.session, current_principal().scope, level=args["level"], parent_code=args["parent_code"],
        after=paging.decode(args["cursor"], str), limit=args["limit"], include_retired=args["include_retired"],
    )
    return {"areas": page, **paging.next_page(page[-1].code if has_more else None)}


@blp.route("/areas/<code>")
@requires()
@blp.arguments(AreaCodeSchema, location="path", as_kwargs=True)
@blp.response(200, AreaSchema)
def get_area(code):
    """One area in your scope, retired or not (see retired_at); an area outside it answers 404."""
    return areas.get_area(db.session, current_principal().scope, code)
