"""Device sign-in: POST and DELETE /auth/device-tokens, and GET /me."""

from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint

from core.errors import InvalidCredentials, LoginThrottled
from schemas.auth import DeviceTokenRequestSchema, DeviceTokenSchema, MeSchema, TokenIdSchema
from server.api.guard import current_principal, requires
from server.extensions import db
from server.services import auth
from server.uow import unit_of_work

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Device tokens and the signed-in user")


@blp.route("/auth/device-tokens", methods=["POST"])
@blp.doc(security=[])
@blp.arguments(DeviceTokenRequestSchema)
@blp.response(201, DeviceTokenSchema)
@blp.alt_response(401, description="Wrong credentials (the same answer whether the user exists or not)")
@blp.alt_response(429, description="Too many failed sign-ins; see Retry-After")
def create_device_token(args):
    """Sign a device in; the token is shown once."""
    with unit_of_work(keep_on=(InvalidCredentials, LoginThrottled)):
        limits = auth.LoginLimits.from_config(current_app.config)
        return auth.issue_device_token(db.session, address=request.remote_addr, limits=limits, **args)


@blp.route("/auth/device-tokens/<uuid:token_id>", methods=["DELETE"])
@requires()
@blp.arguments(TokenIdSchema, location="path", as_kwargs=True)
@blp.response(204)
def revoke_device_token(token_id):
    """Revoke a token: your own, or any as an admin; its next use answers 401 token_revoked."""
    with unit_of_work():
        auth.revoke_token(db.session, current_principal(), token_id, request.remote_addr)


@blp.route("/me")
@requires()
@blp.response(200, MeSchema)
def me():
    """The signed-in user, role and area scope."""
    return current_principal()
