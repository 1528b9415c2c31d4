"""Schemas of monitoring decisions: a supervisor's move of a household's case, and the case after it."""

from marshmallow import Schema, fields, validate

from schemas.common import Text

ACTIONS = ["identify", "dismiss", "assist", "eliminate"]
CATEGORIES = ["unstable_tuopin", "marginal", "sudden_hardship"]


class MeasureSchema(Schema):
    """An assistance measure (帮扶措施, domain.md 3.14), as the household visit form records it."""

    measure_type = Text(required=True, validate=validate.Length(min=1, max=32),
                        metadata={"description": "a measure_type of the household visit form, e.g. industry, dibao"})
    measure_scope = fields.String(load_default=None, validate=validate.OneOf(["single", "comprehensive"]))
    measure_date = fields.Date(load_default=None)
    amount_yuan = fields.Float(load_default=None, allow_nan=False, validate=validate.Range(min=0, max=1e9))
    responsible_person = Text(load_default=None, validate=validate.Length(max=50),
                              metadata={"description": "帮扶责任人, the paired cadre"})


class MonitoringMoveSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    category = fields.String(load_default=None, validate=validate.OneOf(CATEGORIES),
                             metadata={"description": "required to identify: 脱贫不稳定户, 边缘易致贫户 or 突发严重困难户"})
    comment = Text(load_default=None, validate=validate.Length(max=2000))
    measures = fields.List(fields.Nested(MeasureSchema), load_default=list, validate=validate.Length(max=50), metadata={
        "description": "with assist only: the measures taken; assisting a case without any measure is refused"})


class MonitoringCaseSchema(Schema):
    id = fields.UUID()
    household_id = fields.UUID()
    state = fields.Function(lambda case: case.state.value)
    category = fields.String(allow_none=True)
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)


class HouseholdIdSchema(Schema):
    household_id = fields.UUID(required=True)
