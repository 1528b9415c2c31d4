"""Schemas of exports: what is asked for (dataset, format, filters) and an export job as it is polled."""

from marshmallow import Schema, fields, validate

from schemas.common import digits

# The wire's names of server.services.exports' enums (tests/server/test_exports.py holds them equal).
DATASETS = ["households", "people", "villages", "cases", "indicators", "ledgers", "submissions"]
FORMATS = ["gpkg", "geojson", "csv", "shp", "kml", "xlsx", "json"]
REVIEWS = ["approved", "any"]
SHAPES = ["Point", "MultiPolygon"]
JOB_STATES = ["queued", "running", "done", "failed", "expired"]


class ExportFiltersSchema(Schema):
    format = fields.String(required=True, validate=validate.OneOf(FORMATS),
                           metadata={"description": "gpkg, geojson (RFC 7946), csv (UTF-8 with BOM; several layers: "
                                                    "a zip), shp (a zip with .cpg and a table of the long field names), "
                                                    "kml, xlsx, json (for pages: columns with labels, rows as "
                                                    "objects)"})
    area_code = fields.String(load_default=None, validate=digits(15),
                              metadata={"description": "this area and below; in your areas"})
    review = fields.String(load_default="approved", validate=validate.OneOf(REVIEWS),
                           metadata={"description": "approved: the state made by approved visits only; any: the "
                                                    "current state"})
    as_of = fields.Date(load_default=None, metadata={"description": "the state at the end of this day (China time), "
                                                                    "from the history"})
    form_id = fields.String(load_default=None, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,63}$"),
                            metadata={"description": "dataset submissions: the form whose submissions to export"})
    shape = fields.String(load_default="Point", validate=validate.OneOf(SHAPES),
                          metadata={"description": "dataset villages: points or boundaries"})
    unmasked = fields.Boolean(load_default=False,
                              metadata={"description": "personal columns included: supervisors and admins only, "
                                                       "audited"})


class ExportDatasetSchema(Schema):
    dataset = fields.String(required=True, validate=validate.OneOf(DATASETS))


class ExportRequestSchema(ExportFiltersSchema, ExportDatasetSchema):
    pass


class ExportJobIdSchema(Schema):
    job_id = fields.UUID(required=True)


class ExportJobSchema(Schema):
    id = fields.UUID()
    state = fields.String(validate=validate.OneOf(JOB_STATES))
    request = fields.Dict(metadata={"description": "what was asked"})
    rows_total = fields.Integer(allow_none=True, metadata={"description": "rows counted when asked"})
    rows_done = fields.Integer()
    progress = fields.Float(allow_none=True, metadata={"description": "0–100"})
    layers = fields.Dict(keys=fields.String(), values=fields.Integer(), allow_none=True,
                         metadata={"description": "rows written per layer"})
    file_name = fields.String(allow_none=True)
    media_type = fields.String(allow_none=True)
    size_bytes = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)
    download = fields.String(allow_none=True, metadata={"description": "where the file is, once done; it accepts "
                                                                       "Range, so a cut download resumes"})
    error = fields.Dict(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
