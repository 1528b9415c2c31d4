"""Schemas of a supervisor's resolution of a conflict, and what it made of the entity."""

from marshmallow import Schema, fields, validate

from schemas.common import Text


class ResolutionSchema(Schema):
    property = Text(load_default=None, validate=validate.Length(min=1, max=200), metadata={
        "description": "the conflicting property, as in the entity's conflicts; left out, every open conflict from "
                       "base_version that the choice settles (a visit's calculated answers with the answer they follow)"})
    base_version = fields.Integer(required=True, validate=validate.Range(min=0))
    choice = Text(required=True, validate=validate.Length(min=1, max=36), metadata={
        "description": "the uuid of the candidate submission whose value wins, or base to keep the value before"})
    comment = Text(load_default=None, validate=validate.Length(max=2000))


class ResolutionResultSchema(Schema):
    entity_type = fields.String()
    entity_id = fields.String()
    properties = fields.List(fields.String(), metadata={"description": "the conflicts this resolution settled"})
    base_version = fields.Integer()
    choice = fields.String()
    version = fields.Integer(metadata={"description": "the entity's version after the resolution was applied"})
