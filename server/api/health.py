"""GET /healthz: is the server up and can it reach PostGIS."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import text

from server.extensions import db

blp = Blueprint("health", __name__, url_prefix="/", description="Liveness and database check")


class HealthSchema(Schema):
    status = fields.String()
    database = fields.String()
    postgis = fields.String()


@blp.route("/healthz")
@blp.doc(security=[])
@blp.response(200, HealthSchema)
@blp.alt_response(503, description="The database is unavailable")
def healthz():
    """200 when PostGIS answers; 503 database_unavailable with Retry-After when it does not."""
    postgis = db.session.execute(text("select postgis_lib_version()")).scalar_one()
    return {"status": "ok", "database": "ok", "postgis": postgis}
