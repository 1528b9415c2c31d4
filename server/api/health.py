"""GET /healthz: is the server up and can it reach PostGIS."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from server.extensions import db
from sync.errors import DomainError

blp = Blueprint("health", __name__, url_prefix="/", description="Liveness and database check")


class HealthSchema(Schema):
    status = fields.String()
    database = fields.String()
    postgis = fields.String()


class DatabaseUnavailable(DomainError):
    code = "database_unavailable"
    message = "The database cannot be reached."


@blp.route("/healthz")
@blp.doc(security=[])
@blp.response(200, HealthSchema)
def healthz():
    try:
        postgis = db.session.execute(text("select postgis_lib_version()")).scalar_one()
    except OperationalError as error:
        raise DatabaseUnavailable() from error
    return {"status": "ok", "database": "ok", "postgis": postgis}
