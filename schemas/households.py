"""Schemas of a household as supervisors read it: members, history, conflicts, flags and monitoring cases."""

from marshmallow import Schema, fields, validate

from schemas.areas import LatLonSchema
from schemas.common import PageArgsSchema, PageSchema, digits
from schemas.monitoring import ACTIONS, STATES


class MemberSchema(Schema):
    id = fields.UUID()
    name = fields.String(metadata={"description": "*** for roles without the personal-data grant"})
    sex = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    relation_to_head = fields.String(allow_none=True)
    id_card_no = fields.String(allow_none=True, metadata={"description": "all but the last 4 masked without the grant"})
    properties = fields.Dict()


class VersionSchema(Schema):
    version = fields.Integer()
    submission_uuids = fields.List(fields.String())
    risk_flags = fields.List(fields.String(), metadata={"description": "the flags this version's visits raised"})
    changes = fields.Dict(metadata={"description": "property: [before, after]"})


class ConflictSchema(Schema):
    property = fields.String()
    base_version = fields.Integer(metadata={"description": "the version both devices started from"})
    base_value = fields.Raw(allow_none=True)
    candidates = fields.List(fields.Dict(), metadata={
        "description": "[{device_id, value, uuid}]; resolve by choosing a candidate's uuid, or base"})


class FlagSchema(Schema):
    code = fields.String()
    submission_uuid = fields.UUID(allow_none=True)
    details = fields.Dict()
    raised_at = fields.DateTime()


class MonitoringEventSchema(Schema):
    step = fields.String()
    from_state = fields.String(allow_none=True)
    to_state = fields.String()
    comment = fields.String(allow_none=True, metadata={"description": "*** without the personal-data grant"})
    step_date = fields.Date(allow_none=True, metadata={"description": "when the step took place, as recorded"})
    details = fields.Dict(metadata={
        "description": "the minutes of a review (*** without the personal-data grant), the checks an elimination passed"})
    at = fields.DateTime()


class MeasureViewSchema(Schema):
    measure_type = fields.String()
    measure_scope = fields.String(allow_none=True)
    measure_date = fields.Date(allow_none=True)
    amount_yuan = fields.Float(allow_none=True)
    responsible_person = fields.String(allow_none=True, metadata={"description": "*** without the personal-data grant"})
    risk_types = fields.List(fields.String())
    status = fields.String()
    submission_uuid = fields.UUID(allow_none=True, metadata={"description": "the visit that recorded it, if any"})
    recorded_at = fields.DateTime()


class MonitoringCaseViewSchema(Schema):
    id = fields.UUID()
    state = fields.String()
    risk_types = fields.List(fields.String())
    channel = fields.String(allow_none=True)
    notice_started_on = fields.Date(allow_none=True)
    notice_days = fields.Integer(allow_none=True)
    category = fields.String(allow_none=True)
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    events = fields.List(fields.Nested(MonitoringEventSchema))
    measures = fields.List(fields.Nested(MeasureViewSchema))


class HouseholdSchema(Schema):
    id = fields.UUID()
    area_code = fields.String()
    household_no = fields.String(allow_none=True)
    householder_name = fields.String(allow_none=True)
    location = fields.Nested(LatLonSchema, allow_none=True)
    version = fields.Integer()
    risk_flags = fields.List(fields.String(), metadata={"description": "case-tier flags: a candidate case opens on them"})
    watch_flags = fields.List(fields.String(), metadata={"description": "watch-tier flags: follow-up without a case"})
    properties = fields.Dict()
    members = fields.List(fields.Nested(MemberSchema))
    history = fields.List(fields.Nested(VersionSchema))
    conflicts = fields.List(fields.Nested(ConflictSchema))
    flags = fields.List(fields.Nested(FlagSchema))
    monitoring = fields.List(fields.Nested(MonitoringCaseViewSchema))
    measures_outside_cases = fields.List(fields.Nested(MeasureViewSchema), metadata={
        "description": "measures a visit recorded while the household had no open case"})


class HouseholdListArgsSchema(PageArgsSchema):
    area_code = fields.String(load_default=None, validate=digits(15), metadata={"description": "this area and below"})
    flag = fields.String(load_default=None, validate=validate.Length(max=64),
                         metadata={"description": "a risk flag code, of either tier"})
    watched = fields.Boolean(load_default=None, metadata={"description": "on the watch list (a watch-tier flag holds)"})
    monitoring_state = fields.String(load_default=None, validate=validate.OneOf(STATES),
                                     metadata={"description": "a case of the household, open or closed, in this state"})
    step = fields.String(load_default=None, validate=validate.OneOf(["opened", *ACTIONS]),
                         metadata={"description": "a case of the household that took this step"})
    category = fields.String(load_default=None, validate=validate.OneOf(["unstable_tuopin", "marginal", "sudden_hardship"]))


class HouseholdSummarySchema(Schema):
    id = fields.UUID()
    area_code = fields.String()
    household_no = fields.String(allow_none=True)
    householder_name = fields.String(allow_none=True)
    version = fields.Integer()
    risk_flags = fields.List(fields.String())
    watch_flags = fields.List(fields.String())


class HouseholdPageSchema(PageSchema):
    households = fields.List(fields.Nested(HouseholdSummarySchema))


class VillageSchema(Schema):
    area_code = fields.String()
    version = fields.Integer()
    risk_flags = fields.List(fields.String(), metadata={"description": "the village forms' flags (domain.md 4.3) now"})
    updated_at = fields.DateTime()
    properties = fields.Dict()
    history = fields.List(fields.Nested(VersionSchema))
    conflicts = fields.List(fields.Nested(ConflictSchema))


class VillageCodeSchema(Schema):
    area_code = fields.String(required=True, validate=digits(15))


class WorklistArgsSchema(Schema):
    area_code = fields.String(load_default=None, validate=digits(15), metadata={"description": "this area and below"})


class CaseListArgsSchema(WorklistArgsSchema):
    state = fields.String(load_default=None, validate=validate.OneOf(STATES),
                          metadata={"description": "one state; without it, every open one"})


class CaseWaitingSchema(Schema):
    id = fields.UUID()
    household_id = fields.UUID()
    state = fields.String()
    category = fields.String(allow_none=True)
    risk_types = fields.List(fields.String())
    opened_at = fields.DateTime()
    last_moved_at = fields.DateTime(metadata={"description": "its last step, or its opening"})
    area_code = fields.String()
    household_no = fields.String(allow_none=True)
    householder_name = fields.String(allow_none=True)


class CaseListSchema(Schema):
    cases = fields.List(fields.Nested(CaseWaitingSchema), metadata={
        "description": "the longest waiting first; at most 500"})


class OpenConflictSchema(Schema):
    id = fields.Integer()
    entity_type = fields.String()
    entity_id = fields.String()
    property = fields.String(metadata={"description": "a member's property as members/…/<property>"})
    base_version = fields.Integer()
    area_code = fields.String()
    household_no = fields.String(allow_none=True)
    candidates = fields.Integer(metadata={"description": "how many values compete"})


class ConflictListSchema(Schema):
    conflicts = fields.List(fields.Nested(OpenConflictSchema), metadata={
        "description": "the oldest first; at most 500; resolve each on its household or village"})
