"""Schemas of the OGC API – Features endpoint: its query arguments, landing page, collections and GeoJSON pages."""

import math
import re

from marshmallow import Schema, ValidationError, fields, validate

from schemas.common import Text, digits

MAX_LIMIT = 10_000
COLLECTION_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
BBOX = rf"^{_NUMBER}(?:,{_NUMBER}){{3}}(?:,{_NUMBER},{_NUMBER})?$"


class BBox(fields.String):
    """`minx,miny,maxx,maxy` (or six numbers with heights, which are dropped) in CRS84, loaded as (west, south, east,
    north). OGC API – Features: a west above the east spans the antimeridian."""

    def __init__(self, **kwargs):
        description = ("west,south,east,north in CRS84 (longitude, latitude); south ≤ north; six numbers carry heights "
                       "(minx,miny,minz,maxx,maxy,maxz); a west above the east spans the antimeridian")
        kwargs["metadata"] = {"pattern": BBOX, "description": description, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not re.match(BBOX, text):
            raise ValidationError("A bbox is four numbers (or six, with heights) separated by commas.")
        numbers = [float(part) for part in text.split(",")]
        west, south, east, north = numbers if len(numbers) == 4 else [numbers[0], numbers[1], numbers[3], numbers[4]]
        if not all(map(math.isfinite, numbers)):
            raise ValidationError("A bbox holds finite numbers only.")
        if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90):
            raise ValidationError("Longitudes are within ±180, latitudes within ±90, and the south is not above the north.")
        return west, south, east, north


class ReviewArgsSchema(Schema):
    review = fields.String(load_default="approved", validate=validate.OneOf(["approved", "any"]), metadata={
        "description": "approved (the default): records as approved visits made them; any: as the latest visits did"})


class ItemsArgsSchema(ReviewArgsSchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(1, MAX_LIMIT),
                           metadata={"description": f"features per page, at most {MAX_LIMIT}"})
    bbox = BBox(load_default=None)
    cursor = Text(load_default=None, validate=validate.Length(max=500),
                  metadata={"description": "Opaque: taken from a page's `next` link"})
    area_code = fields.String(load_default=None, validate=digits(15), metadata={"description": "this area and below"})


class CollectionIdSchema(Schema):
    collection_id = fields.String(required=True, validate=validate.Regexp(COLLECTION_ID),
                                  metadata={"description": "households, natural_villages, admin_villages, indicators_…"})


class FeatureIdSchema(CollectionIdSchema):
    feature_id = Text(required=True, validate=validate.Length(1, 100),
                      metadata={"description": "The feature's id: a household's id, a village's area code"})


class LinkSchema(Schema):
    href = fields.String(required=True)
    rel = fields.String(required=True)
    type = fields.String()
    title = fields.String()


class LandingPageSchema(Schema):
    title = fields.String()
    description = fields.String()
    links = fields.List(fields.Nested(LinkSchema), required=True)


class ConformanceSchema(Schema):
    conforms_to = fields.List(fields.String(), required=True, data_key="conformsTo")


class SpatialExtentSchema(Schema):
    bbox = fields.List(fields.List(fields.Float(), validate=validate.Length(equal=4)),
                       metadata={"description": "[[west, south, east, north]] of your areas"})
    crs = fields.String()


class ExtentSchema(Schema):
    spatial = fields.Nested(SpatialExtentSchema)


class CollectionSchema(Schema):
    id = fields.String(required=True)
    title = fields.String()
    description = fields.String()
    links = fields.List(fields.Nested(LinkSchema), required=True)
    extent = fields.Nested(ExtentSchema)
    item_type = fields.String(data_key="itemType")
    crs = fields.List(fields.String())


class CollectionListSchema(Schema):
    links = fields.List(fields.Nested(LinkSchema), required=True)
    collections = fields.List(fields.Nested(CollectionSchema), required=True)


class FeatureSchema(Schema):
    type = fields.Constant("Feature", required=True)
    id = fields.Raw(required=True, metadata={"description": "The layer's key (string or integer)"})
    geometry = fields.Dict(required=True, allow_none=True, metadata={"description": "GeoJSON geometry, CRS84"})
    properties = fields.Dict(required=True, metadata={"description": "The layer's columns; dates in ISO 8601"})


class FeatureCollectionSchema(Schema):
    type = fields.Constant("FeatureCollection", required=True)
    features = fields.List(fields.Nested(FeatureSchema), required=True)
    links = fields.List(fields.Nested(LinkSchema), required=True)
    number_matched = fields.Integer(data_key="numberMatched",
                                    metadata={"description": "features in scope and bbox; on the first page only"})
    number_returned = fields.Integer(required=True, data_key="numberReturned")
    time_stamp = fields.DateTime(data_key="timeStamp")
