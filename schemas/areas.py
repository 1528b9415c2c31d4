"""Schemas of areas: the administrative hierarchy a device and a planner see."""

from marshmallow import Schema, fields, validate

from schemas.common import PageArgsSchema, PageSchema, digits

LEVELS = ["province", "prefecture", "county", "township", "admin_village", "natural_village"]


class LatLonSchema(Schema):
    lat = fields.Float()
    lon = fields.Float()


class BilingualSchema(Schema):
    zh = fields.String()
    en = fields.String(allow_none=True)


class AreaSchema(Schema):
    code = fields.String(metadata={"description": "Division code: 2, 4, 6, 9, 12 or 15 digits"})
    level = fields.String(validate=validate.OneOf(LEVELS))
    parent_code = fields.String(allow_none=True)
    name = fields.Nested(BilingualSchema)
    centroid = fields.Nested(LatLonSchema, allow_none=True)
    bbox = fields.List(fields.Float(), allow_none=True, metadata={"description": "[west, south, east, north]"})
    retired_at = fields.DateTime(allow_none=True, metadata={"description": (
        "when an official file no longer had this area (flask areas import --retire-missing); null while current. "
        "Its households, villages and history keep the code")})


class AreaListArgsSchema(PageArgsSchema):
    level = fields.String(load_default=None, validate=validate.OneOf(LEVELS))
    parent_code = fields.String(load_default=None, validate=digits(15))
    include_retired = fields.Boolean(load_default=False, metadata={
        "description": "list retired areas too (with their retired_at); they are left out by default"})


class AreaCodeSchema(Schema):
    code = fields.String(required=True, validate=digits(15))


class AreaPageSchema(PageSchema):
    areas = fields.List(fields.Nested(AreaSchema))
