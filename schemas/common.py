"""Schemas shared by every resource: the error shape, paging and bilingual names."""

from marshmallow import Schema, fields


class FieldErrorSchema(Schema):
    field = fields.String(metadata={"description": "Path of the field, e.g. members[2].age"})
    code = fields.String()
    message = fields.String()


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "Stable snake_case error code"})
    message = fields.String(required=True, metadata={"description": "Human readable message"})
    details = fields.Dict(metadata={"description": "Code-specific details; `fields` lists field errors"})


class ErrorSchema(Schema):
    """Every error answer of the API has this shape."""

    error = fields.Nested(ErrorBodySchema, required=True)


class PageArgsSchema(Schema):
    cursor = fields.String(load_default=None, metadata={"description": "Opaque cursor from the previous page"})
    limit = fields.Integer(load_default=100, validate=lambda n: 1 <= n <= 1000)


class PageSchema(Schema):
    cursor = fields.String(allow_none=True, metadata={"description": "Pass back to get the next page"})
    has_more = fields.Boolean()
