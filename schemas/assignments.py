"""Schemas of assignments: what supervisors send and what they get back."""

from marshmallow import Schema, fields, validate

from schemas.common import Text, digits

FORM_ID = validate.Regexp(r"^[a-z][a-z0-9_]{0,63}$", error="A form id: lower-case letters, digits and '_'.")


class AssignmentCreateSchema(Schema):
    """Give area_code, or household_id (the household's area is then used), or both when they agree."""

    assignee = Text(required=True, validate=validate.Length(3, 64), metadata={"description": "username"})
    area_code = fields.String(load_default=None, validate=digits(15))
    household_id = fields.UUID(load_default=None)
    form_id = fields.String(required=True, validate=FORM_ID)
    round = Text(required=True, validate=validate.Length(1, 40), metadata={"description": "e.g. 2026-Q4"})
    due_date = fields.Date(load_default=None)


class AssignmentSchema(Schema):
    id = fields.UUID()
    area_code = fields.String()
    household_id = fields.UUID(allow_none=True)
    form_id = fields.String()
    round = fields.String()
    due_date = fields.Date(allow_none=True)
    state = fields.Function(lambda row: row.state.value, metadata={"description": "open or cancelled"})


class AssignmentIdSchema(Schema):
    assignment_id = fields.UUID(required=True)
