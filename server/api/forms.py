"""GET /forms and /forms/{form_id}/versions/{version}: the published forms a device fills."""

from __future__ import annotations

from flask import Response, request
from flask_smorest import Blueprint

from schemas.forms import FormSummarySchema, FormVersionArgsSchema
from server.api.guard import current_principal, requires
from server.extensions import db
from server.services import forms

blp = Blueprint("forms", __name__, url_prefix="/api/v1", description="Survey forms")

# A published version never changes, so a device may keep it for good (it is still per user).
FOREVER = "private, max-age=31536000, immutable"


@blp.route("/forms")
@requires()
@blp.etag
@blp.response(200, FormSummarySchema(many=True))
def list_forms():
    """Published versions of the forms your role uses; send If-None-Match to get 304 when nothing changed."""
    return forms.forms_for_role(db.session, current_principal().role)


@blp.route("/forms/<form_id>/versions/<int:version>")
@requires()
@blp.arguments(FormVersionArgsSchema, location="path", as_kwargs=True)
@blp.doc(responses={"200": {"description": "The form definition (see schemas/form_definition.schema.json)",
                            "content": {"application/json": {"schema": {"type": "object"}}}}})
@blp.alt_response(404, description="No such version, or not a form your role uses")
def get_form_version(form_id: str, version: int):
    """One form version's definition, byte for byte as hashed in its sha256."""
    row = forms.form_version(db.session, current_principal().role, form_id, version)
    response = Response(row.content, mimetype="application/json")
    response.headers["Cache-Control"] = FOREVER
    response.set_etag(row.sha256)
    return response.make_conditional(request)
