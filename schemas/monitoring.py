"""Schemas of monitoring decisions: a supervisor's move of a household's case, and the case after it."""

from marshmallow import Schema, fields, validate

from schemas.common import Text

ACTIONS = ["identify", "dismiss", "assist", "eliminate"]
CATEGORIES = ["unstable_tuopin", "marginal", "sudden_hardship"]


class MonitoringMoveSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    category = fields.String(load_default=None, validate=validate.OneOf(CATEGORIES),
                             metadata={"description": "required to identify: 脱贫不稳定户, 边缘易致贫户 or 突发严重困难户"})
    comment = Text(load_default=None, validate=validate.Length(max=2000))


class MonitoringCaseSchema(Schema):
    id = fields.UUID()
    household_id = fields.UUID()
    state = fields.Function(lambda case: case.state.value)
    category = fields.String(allow_none=True)
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)


class HouseholdIdSchema(Schema):
    household_id = fields.UUID(required=True)
