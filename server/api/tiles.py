"""GET /tiles/{layer}/{z}/{x}/{y}.mvt: households, the review queue's submissions and the areas' boundaries as
Mapbox Vector Tiles for the review pages' map."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from schemas.reviews import QueueFilterSchema
from schemas.tiles import HouseholdTileArgsSchema, TileSchema
from server.api.guard import current_principal, requires
from server.extensions import db
from server.models import Action
from server.services import tiles
from server.services.review_queue import QueueFilter

blp = Blueprint("tiles", __name__, url_prefix="/api/v1", description="Map tiles (Mapbox Vector Tiles) for the review map")
MVT = "application/vnd.mapbox-vector-tile"
_TILE = "/tiles/{layer}/<int:z>/<int:x>/<int:y>.mvt"


def _answer(tile: bytes) -> Response:
    # An empty tile is a tile: 200 with no bytes draws nothing, where a 204 or 404 would log errors in the browser.
    return Response(tile, mimetype=MVT, headers={"Cache-Control": "private, no-store"})


@blp.route(_TILE.format(layer="households"))
@requires(Action.review_submissions)
@blp.arguments(TileSchema, location="path", as_kwargs=True)
@blp.arguments(HouseholdTileArgsSchema, location="query")
@blp.response(200, description="One tile, layer `households`: points with id and flagged, or counted cells")
def household_tile(args, z: int, x: int, y: int):
    """Households of your areas in one tile."""
    return _answer(tiles.households(db.session, current_principal(), z, x, y, args["area_code"], args["flag"]))


@blp.route(_TILE.format(layer="submissions"))
@requires(Action.review_submissions)
@blp.arguments(TileSchema, location="path", as_kwargs=True)
@blp.arguments(QueueFilterSchema, location="query")
@blp.response(200, description="One tile, layer `submissions`: points with uuid and review_state, or counted cells")
def submission_tile(args, z: int, x: int, y: int):
    """The review list's submissions (the same filters) in one tile."""
    return _answer(tiles.submissions(db.session, current_principal(), z, x, y, QueueFilter.of(args)))


@blp.route(_TILE.format(layer="areas"))
@requires(Action.review_submissions)
@blp.arguments(TileSchema, location="path", as_kwargs=True)
@blp.response(200, description="One tile, layer `areas`: boundaries with code, level and name")
def area_tile(z: int, x: int, y: int):
    """The boundaries of your areas in one tile: the map's own background when no tile server is set."""
    return _answer(tiles.areas(db.session, current_principal(), z, x, y))
