"""Schemas of the yearly monitoring thresholds: what an admin sets for an area and year, and what anyone reads."""

from marshmallow import Schema, fields, validate

from schemas.areas import BilingualSchema
from schemas.common import Text, digits

FIRST_YEAR, LAST_YEAR = 2014, 2100  # as the yearly_parameter table's CHECK
YEAR = validate.Range(FIRST_YEAR, LAST_YEAR)
SETTING_CODE = validate.Regexp(r"^[0-9]{2}([0-9]{2}){0,2}$",
                               error="省（2位）、州市（4位）或县（6位）代码 · A province's (2 digits), prefecture's (4) or "
                                     "county's (6) code.")
# 0.01 up to a million yuan: the server keeps a value to the fen, and a larger line is a slip of the keyboard.
YUAN = validate.Range(min=0.01, max=1_000_000)
# Text's own rule (no NUL) and something to read besides blanks.
SOURCE_PATTERN = "^[^\\u0000]*[^\\u0000\\s][^\\u0000]*$"


def _yuan(description: str) -> fields.Float:
    return fields.Float(required=True, allow_nan=False, validate=YUAN, metadata={
        "description": f"{description}, yuan per person per year; kept to the fen (0.01)"})


class ParameterSetSchema(Schema):
    """The three figures an area set for a year, and where they come from."""

    monitoring_line = _yuan("防返贫动态监测底线, the monitoring income line")
    dibao_standard = _yuan("农村低保标准, the rural dibao (minimum living allowance) standard")
    watch_line = _yuan("收入关注线, the income watch line (Lincang: 10000)")
    source = Text(required=True, validate=[validate.Length(1, 500), validate.Regexp(r"\S", error="Say where from.")],
                  metadata={"pattern": SOURCE_PATTERN,
                            "description": "where the figures come from: the document and its number, e.g. 临乡振发〔2022〕37号"})


class ParameterKeySchema(Schema):
    year = fields.Integer(required=True, validate=YEAR, metadata={"description": "the year the figures are for"})
    area_code = fields.String(required=True, validate=SETTING_CODE,
                              metadata={"description": "the province (53), a prefecture (4 digits) or a county (6 digits)"})


class ParameterListArgsSchema(Schema):
    year = fields.Integer(load_default=None, validate=YEAR)
    area_code = fields.String(load_default=None, validate=digits(15), metadata={
        "description": "the rows that bear on this area: its own, those of the areas above it and those under it"})


class ParameterSchema(Schema):
    year = fields.Integer()
    area_code = fields.String()
    area_name = fields.Nested(BilingualSchema, metadata={"description": "e.g. 临沧市, so the row reads 临沧市 2020"})
    monitoring_line = fields.Float()
    dibao_standard = fields.Float()
    watch_line = fields.Float()
    source = fields.String()
    set_at = fields.DateTime()


class ParameterListSchema(Schema):
    parameters = fields.List(fields.Nested(ParameterSchema))
