"""Schemas of a household as supervisors read it: members, history, conflicts, flags and monitoring cases."""

from marshmallow import Schema, fields

from schemas.areas import LatLonSchema


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
    changes = fields.Dict(metadata={"description": "property: [before, after]"})


class ConflictSchema(Schema):
    property = fields.String()
    base_version = fields.Integer()
    candidates = fields.List(fields.Dict(), metadata={"description": "[{device_id, value, uuid}]"})


class FlagSchema(Schema):
    code = fields.String()
    submission_uuid = fields.UUID(allow_none=True)
    details = fields.Dict()
    raised_at = fields.DateTime()


class MonitoringEventSchema(Schema):
    from_state = fields.String(allow_none=True)
    to_state = fields.String()
    comment = fields.String(allow_none=True)
    at = fields.DateTime()


class MonitoringCaseViewSchema(Schema):
    id = fields.UUID()
    state = fields.String()
    category = fields.String(allow_none=True)
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    events = fields.List(fields.Nested(MonitoringEventSchema))


class HouseholdSchema(Schema):
    id = fields.UUID()
    area_code = fields.String()
    household_no = fields.String(allow_none=True)
    householder_name = fields.String(allow_none=True)
    location = fields.Nested(LatLonSchema, allow_none=True)
    version = fields.Integer()
    risk_flags = fields.List(fields.String())
    properties = fields.Dict()
    members = fields.List(fields.Nested(MemberSchema))
    history = fields.List(fields.Nested(VersionSchema))
    conflicts = fields.List(fields.Nested(ConflictSchema))
    flags = fields.List(fields.Nested(FlagSchema))
    monitoring = fields.List(fields.Nested(MonitoringCaseViewSchema))
