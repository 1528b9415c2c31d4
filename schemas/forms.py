"""Schemas of the forms a device downloads."""

from marshmallow import Schema, fields

from schemas.areas import BilingualSchema


class FormSummarySchema(Schema):
    form_id = fields.String()
    version = fields.Integer()
    sha256 = fields.String(metadata={"description": "SHA-256 of the definition's bytes as served"})
    title = fields.Nested(BilingualSchema)
    subject = fields.String(metadata={"description": "household or village"})


class FormVersionArgsSchema(Schema):
    form_id = fields.String(required=True)
    version = fields.Integer(required=True)
