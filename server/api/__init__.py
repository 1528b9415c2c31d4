"""The HTTP API under /api/v1: one blueprint per resource."""

from __future__ import annotations

from server.api import (
    areas,
    assignments,
    attachments,
    auth,
    exports,
    features,
    forms,
    health,
    households,
    parameters,
    reviews,
    sync,
    tiles,
)
from server.errors import Api
from server.extensions import csrf

BLUEPRINTS = [health.blp, auth.blp, areas.blp, forms.blp, sync.blp, attachments.blp, assignments.blp, reviews.blp,
              households.blp, parameters.blp, tiles.blp, exports.blp, features.blp]


def register_api(api: Api) -> None:
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "A device token from POST /auth/device-tokens"}
    )
    for blueprint in BLUEPRINTS:
        # Bearer tokens are not sent by browsers on their own, so the API needs no CSRF token;
        # the guard checks CSRF when a browser session cookie is what authenticates.
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
