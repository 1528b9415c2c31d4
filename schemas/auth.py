"""Schemas of sign-in: device token requests and answers, and the signed-in user."""

from marshmallow import Schema, fields, validate

from schemas.common import Text


class DeviceTokenRequestSchema(Schema):
    username = Text(required=True, validate=validate.Length(min=1, max=64))
    password = Text(required=True, load_only=True, validate=validate.Length(min=1, max=1024))
    device_id = Text(required=True, validate=validate.Length(min=1, max=200))
    device_label = Text(load_default=None, validate=validate.Length(max=200))


class UserSchema(Schema):
    id = fields.UUID(attribute="user_id")
    username = fields.String()
    role = fields.String()


class DeviceTokenSchema(Schema):
    token = fields.String(metadata={"description": "Shown once; send as 'Authorization: Bearer <token>'"})
    token_id = fields.UUID()
    user = fields.Nested(UserSchema, attribute="principal")
    scope = fields.List(fields.String(), attribute="principal.scope")


class TokenIdSchema(Schema):
    token_id = fields.UUID(required=True)


class MeSchema(UserSchema):
    scope = fields.List(fields.String())
