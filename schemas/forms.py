"""Schemas of the forms a device downloads."""

from marshmallow import Schema, fields, validate


class FormSummarySchema(Schema):
    form_id = fields.String()
    version = fields.Integer()
    sha256 = fields.String(metadata={"description": "SHA-256 of the definition's bytes as served"})
    title = fields.Function(lambda row: {"zh": row.title_zh, "en": row.title_en}, metadata={"type": "object"})
    subject = fields.String(metadata={"description": "household or village"})


class FormVersionArgsSchema(Schema):
    form_id = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,63}$"))
    version = fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))
