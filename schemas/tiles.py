"""Schemas of the map tiles: which tile, and what the households' layer is narrowed to."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import digits

MAX_ZOOM = 22


class TileSchema(Schema):
    z = fields.Integer(required=True, validate=validate.Range(0, MAX_ZOOM))
    x = fields.Integer(required=True, validate=validate.Range(0), metadata={"description": "below 2 to the power z"})
    y = fields.Integer(required=True, validate=validate.Range(0), metadata={"description": "below 2 to the power z"})

    @validates_schema
    def _on_the_map(self, data, **_kwargs):
        if "z" in data and (data.get("x", 0) >= 2 ** data["z"] or data.get("y", 0) >= 2 ** data["z"]):
            raise ValidationError(f"At zoom {data['z']}, x and y are below {2 ** data['z']}.", "x")


class HouseholdTileArgsSchema(Schema):
    area_code = fields.String(load_default=None, validate=digits(15), metadata={"description": "this area and below"})
    flag = fields.String(load_default=None, validate=validate.Regexp(r"^[a-z0-9_]{1,64}$"),
                         metadata={"description": "a risk flag of either tier"})
