"""Schemas shared by every resource: the error shape, paging and bilingual names."""

from marshmallow import Schema, ValidationError, fields, validate


class Text(fields.String):
    """A string PostgreSQL can store: no NUL character, no lone surrogate."""

    def __init__(self, *args, **kwargs):
        # Published, so that clients (and schemathesis) know the rule the server applies.
        kwargs["metadata"] = {"pattern": "^[^\\u0000]*$", **kwargs.get("metadata", {})}
        super().__init__(*args, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("Text may not contain the NUL character.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValidationError("Text must be valid Unicode (no lone surrogates).") from error
        return text


def digits(max_length: int) -> validate.Regexp:
    return validate.Regexp(rf"^[0-9]{{1,{max_length}}}$", error="Digits only, at most {max_length} of them.".replace(
        "{max_length}", str(max_length)))


class FieldErrorSchema(Schema):
    field = fields.String(metadata={"description": "Path of the field, e.g. members[2].age"})
    code = fields.String()
    message = fields.String()


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "Stable snake_case error code"})
    message = fields.String(required=True, metadata={"description": "Human readable message"})
    details = fields.Dict(metadata={"description": "Code-specific details; `fields` lists field errors"})


class ErrorSchema(Schema):
    """Every error answer of the API has this shape."""

    error = fields.Nested(ErrorBodySchema, required=True)


class PageArgsSchema(Schema):
    cursor = Text(load_default=None, validate=validate.Length(max=500),
                  metadata={"description": "Opaque cursor from the previous page"})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class PageSchema(Schema):
    cursor = fields.String(allow_none=True, metadata={"description": "Pass back to get the next page"})
    has_more = fields.Boolean()
