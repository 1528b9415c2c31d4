"""Schemas of the review queue: its filters and pages, one submission laid out, decisions one by one or in bulk."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.areas import BilingualSchema, LatLonSchema
from schemas.common import PageArgsSchema, PageSchema, Text, digits
from schemas.households import ConflictSchema

DECISIONS = ["approved", "rejected", "has_issues"]
REVIEW_STATES = ["pending", *DECISIONS]
_CODE = validate.Regexp(r"^[a-z0-9_]{1,64}$", error="A snake_case code.")


class QueueFilterSchema(Schema):
    """The filters the list, the map and the counts share (server/services/review_queue.QueueFilter)."""

    area_code = fields.String(load_default=None, validate=digits(15), metadata={"description": "this area and below"})
    form_id = fields.String(load_default=None, validate=_CODE)
    review_state = fields.String(load_default=None, validate=validate.OneOf(REVIEW_STATES))
    state = fields.String(load_default=None, validate=validate.OneOf(["accepted", "quarantined"]))
    flag = fields.String(load_default=None, validate=_CODE,
                         metadata={"description": "a check's flag on the submission, e.g. gps_outside_village"})
    risk = fields.String(load_default=None, validate=_CODE,
                         metadata={"description": "a risk flag (either tier) its form's rules raised"})
    conflict = fields.Boolean(load_default=None, metadata={"description": "takes part in an open conflict"})
    incomplete = fields.Boolean(load_default=None, metadata={"description": "declared files are still missing"})
    since = fields.Date(load_default=None, metadata={"description": "received on or after this day (China time)"})
    until = fields.Date(load_default=None, metadata={"description": "received on or before this day (China time)"})
    enumerator = Text(load_default=None, validate=validate.Length(max=100), metadata={"description": "a username"})
    household = Text(load_default=None, validate=validate.Length(min=1, max=100),
                     metadata={"description": "a household number, or the start of the head's name"})

    @validates_schema
    def _dates_in_order(self, data, **_kwargs):
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ValidationError("since is after until.", "until")


class QueueArgsSchema(QueueFilterSchema, PageArgsSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class QueueItemSchema(Schema):
    uuid = fields.UUID()
    form_id = fields.String(allow_none=True)
    form_version = fields.Integer(allow_none=True)
    area_code = fields.String(allow_none=True)
    area_name = fields.Nested(BilingualSchema)
    subject_type = fields.String(allow_none=True)
    entity_id = fields.UUID(allow_none=True)
    state = fields.String()
    review_state = fields.String(metadata={"description": "pending until a decision; then the latest decision"})
    received_at = fields.DateTime()
    collected_at = fields.DateTime(allow_none=True, metadata={"description": "the device's clock"})
    enumerator = fields.String()
    household_no = fields.String(allow_none=True)
    householder_name = fields.String(allow_none=True)
    location = fields.Nested(LatLonSchema, allow_none=True)
    flags = fields.List(fields.String(), metadata={"description": "the checks' flags on it"})
    risk_flags = fields.List(fields.String(), metadata={"description": "risk flags of both tiers"})
    attachments_missing = fields.Integer()


class QueuePageSchema(PageSchema):
    submissions = fields.List(fields.Nested(QueueItemSchema))


class CountSchema(Schema):
    code = fields.String()
    count = fields.Integer()


class AreaCountSchema(Schema):
    area_code = fields.String()
    name = fields.Nested(BilingualSchema)
    count = fields.Integer()
    pending = fields.Integer()


class QueueCountsSchema(Schema):
    total = fields.Integer()
    by_review_state = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_flag = fields.List(fields.Nested(CountSchema))
    by_area = fields.List(fields.Nested(AreaCountSchema), metadata={"description": "one level below the filter's area"})
    incomplete = fields.Integer(metadata={"description": "submissions whose declared files are not all stored"})
    open_conflicts = fields.Integer()
    open_cases = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "open monitoring cases by state"})


class AttachmentViewSchema(Schema):
    name = fields.String()
    content_type = fields.String(allow_none=True)
    size = fields.Integer(allow_none=True)
    stored = fields.Boolean(metadata={"description": "false: declared, not yet uploaded"})


class ReviewViewSchema(Schema):
    decision = fields.String()
    comment = fields.String(allow_none=True)
    reviewer = fields.String()
    decided_at = fields.DateTime()


class GpsSchema(LatLonSchema):
    accuracy_m = fields.Float(allow_none=True)


class SubmissionViewSchema(Schema):
    uuid = fields.UUID()
    form_id = fields.String(allow_none=True)
    form_version = fields.Integer(allow_none=True)
    form_title = fields.Nested(BilingualSchema, allow_none=True)
    state = fields.String()
    review_state = fields.String()
    errors = fields.List(fields.Dict(), metadata={"description": "why it is in quarantine"})
    subject_type = fields.String(allow_none=True)
    entity_id = fields.UUID(allow_none=True)
    area_code = fields.String(allow_none=True)
    area_name = fields.Nested(BilingualSchema, allow_none=True)
    enumerator = fields.String()
    device_id = fields.String()
    base_version = fields.Integer(allow_none=True)
    supersedes = fields.UUID(allow_none=True)
    superseded_by = fields.List(fields.UUID())
    started_at = fields.DateTime(allow_none=True)
    collected_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime()
    clock_skew_seconds = fields.Float(allow_none=True)
    gps = fields.Nested(GpsSchema, allow_none=True)
    risk_flags = fields.List(fields.String())
    answers = fields.List(fields.Dict(), metadata={"description": (
        "the form's fields in order: {kind: field, name, label, type, value, choice}, {kind: group, name, label, "
        "items}, {kind: repeat, name, label, columns, rows}; personal values as the reader's role may see them")})
    attachments = fields.List(fields.Nested(AttachmentViewSchema))
    flags = fields.List(fields.Dict())
    reviews = fields.List(fields.Nested(ReviewViewSchema))
    village_boundary = fields.Dict(allow_none=True, metadata={"description": "GeoJSON geometry of the visit's area"})
    household_location = fields.Nested(LatLonSchema, allow_none=True, metadata={
        "description": "the household's position now"})
    household = fields.Dict(allow_none=True)
    entity_version = fields.Dict(allow_none=True, metadata={
        "description": "{version, changes: {property: [before, after]}}: the version it made, as a diff"})
    conflicts = fields.List(fields.Nested(ConflictSchema), metadata={"description": "open conflicts it takes part in"})


class ReviewCreateSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))
    comment = Text(load_default=None, validate=validate.Length(max=2000), metadata={
        "description": "required for rejected and has_issues: it reaches the enumerator's phone"})


class ReviewSchema(Schema):
    submission_uuid = fields.UUID()
    decision = fields.Function(lambda row: row.decision.value)
    comment = fields.String(allow_none=True)
    decided_at = fields.DateTime()


class BulkReviewSchema(ReviewCreateSchema):
    submissions = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=500))


class BulkOutcomeSchema(Schema):
    uuid = fields.UUID()
    status = fields.String(metadata={"description": "decided, not_found (not in your areas) or quarantined"})
    # (server.services.reviews.BulkStatus)
    message = fields.String(allow_none=True)


class BulkResultSchema(Schema):
    results = fields.List(fields.Nested(BulkOutcomeSchema), metadata={"description": "one per submission, in order"})


class SubmissionUuidSchema(Schema):
    submission_uuid = fields.UUID(required=True)
