"""Schemas of monitoring decisions: a supervisor's move of a household's case, and the case after it."""

from marshmallow import Schema, fields, validate

from schemas.common import Text

# The steps of domain.md 3.13 a supervisor takes (server.models.CaseStep, less `opened`, which only the rules take).
ACTIONS = ["village_review", "township_check", "identify", "dismiss", "assist", "review_elimination",
           "withdraw_elimination", "eliminate", "follow_up_long_term"]
CATEGORIES = ["unstable_tuopin", "marginal", "sudden_hardship"]
CHANNELS = ["self_declared", "cadre_screening", "department_alert"]
STATES = ["candidate", "village_reviewed", "township_checked", "identified", "assisted", "elimination_noticed",
          "long_term_follow_up", "risk_eliminated", "dismissed"]


class MeasureSchema(Schema):
    """An assistance measure (帮扶措施, domain.md 3.14), as the household visit form records it."""

    measure_type = Text(required=True, validate=validate.Length(min=1, max=32),
                        metadata={"description": "a measure_type of the household visit form, e.g. industry, dibao"})
    measure_scope = fields.String(load_default=None, validate=validate.OneOf(["single", "comprehensive"]))
    measure_date = fields.Date(load_default=None)
    amount_yuan = fields.Float(load_default=None, allow_nan=False, validate=validate.Range(min=0, max=1e9))
    responsible_person = Text(load_default=None, validate=validate.Length(max=50),
                              metadata={"description": "帮扶责任人, the paired cadre (required when a supervisor records it)"})
    risk_types = fields.List(Text(validate=validate.Length(min=1, max=32)), load_default=list,
                             validate=validate.Length(max=20),
                             metadata={"description": "the case's risk types this measure answers"})
    status = fields.String(load_default="in_progress", validate=validate.OneOf(["planned", "in_progress", "done"]))


class MonitoringMoveSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS), metadata={
        "description": "candidate → village_review → township_check → identify (county) → assist → review_elimination "
                       "(starts the public notice) → eliminate (county, after the notice); dismiss before identifying; "
                       "withdraw_elimination during the notice; follow_up_long_term for households without labour"})
    step_date = fields.Date(load_default=None, metadata={
        "description": "when the step took place; required for village_review, township_check, identify and "
                       "review_elimination"})
    minutes = Text(load_default=None, validate=validate.Length(max=10000),
                   metadata={"description": "会议记录: required for village_review and review_elimination"})
    category = fields.String(load_default=None, validate=validate.OneOf(CATEGORIES),
                             metadata={"description": "required to identify: 脱贫不稳定户, 边缘易致贫户 or 突发严重困难户"})
    risk_types = fields.List(Text(validate=validate.Length(min=1, max=32)), load_default=list,
                             validate=validate.Length(max=20),
                             metadata={"description": "required to identify: the risk types of domain.md 3.13"})
    channel = fields.String(load_default=None, validate=validate.OneOf(CHANNELS),
                            metadata={"description": "required to identify: how the case was found"})
    comment = Text(load_default=None, validate=validate.Length(max=2000), metadata={
        "description": "the opinion or reason; required for township_check, dismiss, withdraw_elimination and "
                       "follow_up_long_term"})
    measures = fields.List(fields.Nested(MeasureSchema), load_default=list, validate=validate.Length(max=50), metadata={
        "description": "with assist only: the measures taken; assisting a case without any measure is refused"})


class MonitoringCaseSchema(Schema):
    id = fields.UUID()
    household_id = fields.UUID()
    state = fields.Function(lambda case: case.state.value)
    category = fields.String(allow_none=True)
    risk_types = fields.List(fields.String())
    channel = fields.String(allow_none=True)
    notice_started_on = fields.Date(allow_none=True)
    notice_days = fields.Integer(allow_none=True)
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)


class HouseholdIdSchema(Schema):
    household_id = fields.UUID(required=True)
