"""The push request's JSON Schema: the envelope (a wrong one refuses the request) and each item (a wrong one is alone).

Every number and time an item carries into a column is bounded here by what PostgreSQL can hold, so a value the
database would refuse is that item's `invalid` result and never the whole batch's error (reliability S6).
Each property carries its message in Chinese and English under `x-message`; the keyword that failed gives the code.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError

from sync.items import EARLIEST_YEAR, LATEST_YEAR, field_error, parse_time, read_time
from sync.limits import CONTENT_TYPES, MAX_ATTACHMENTS, MAX_BYTES, MAX_VERSION

_FORMATS = FormatChecker(formats=["uuid"])


@_FORMATS.checks("device-time")
def _placeable_time(value: Any) -> bool:
    # A time without an offset (or not a time) is kept as sent and never refused (reliability S5); only a readable
    # time beyond the years the server keeps is wrong.
    return read_time(value) is None or parse_time(value) is not None


@_FORMATS.checks("attachment-type")
def _attachment_type(value: Any) -> bool:
    return type(value) is not str or value.split(";")[0].strip().lower() in CONTENT_TYPES


def _message(zh: str, en: str) -> list[str]:
    return [zh, en]


_UUID = {"type": "string", "format": "uuid"}
_TIME = {"type": ["string", "null"], "format": "device-time",
         "x-message": _message("时间超出范围", f"a time with its offset must lie in the years {EARLIEST_YEAR}–{LATEST_YEAR}")}

_SUBJECT = {
    "type": "object", "required": ["type", "area_code"],
    "x-message": _message("对象应为农户或村", "subject must be {type, area_code, id}"),
    "properties": {
        "type": {"enum": ["household", "village"],
                 "x-message": _message("对象应为农户或村", "subject.type must be household or village")},
        "area_code": {"type": "string", "pattern": "^[0-9]{1,15}$",
                      "x-message": _message("区划代码应为数字", "subject.area_code must be a division code")},
        "id": {"type": ["string", "null"], "format": "uuid",
               "x-message": _message("对象编号格式不正确", "subject.id must be a UUID or null")},
    },
}

_GPS = {
    "type": ["object", "null"], "required": ["lat", "lon"],
    "x-message": _message("定位格式不正确", "gps must be an object {lat, lon, accuracy_m}"),
    "properties": {
        "lat": {"type": "number", "minimum": -90, "maximum": 90,
                "x-message": _message("纬度超出范围", "gps.lat must be a number from -90 to 90")},
        "lon": {"type": "number", "minimum": -180, "maximum": 180,
                "x-message": _message("经度超出范围", "gps.lon must be a number from -180 to 180")},
        "accuracy_m": {"type": ["number", "null"], "minimum": 0,
                       "x-message": _message("定位精度应为非负数", "gps.accuracy_m must be a number of metres, 0 or more")},
    },
}

_ATTACHMENT = {
    "type": "object", "required": ["name", "sha256", "size", "content_type"],
    "x-message": _message("附件应有文件名、SHA-256、大小和类型", "each attachment needs name, sha256, size and content_type"),
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^(?!\.+$)[^/\\\x00]+$",
                 "x-message": _message("附件文件名不正确", "an attachment name is a file name without / or \\")},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                   "x-message": _message("附件应有SHA-256", "sha256 must be 64 lower-case hex digits")},
        "size": {"type": "integer", "minimum": 0, "maximum": MAX_BYTES,
                 "x-message": _message("附件大小超出限制", f"size must be a whole number of bytes up to {MAX_BYTES}")},
        "content_type": {"type": "string", "format": "attachment-type",
                         "x-message": _message("附件类型不支持", "content_type must be an image or audio type forms use")},
    },
}

ITEM: dict[str, Any] = {
    "type": "object",
    "required": ["uuid", "form_id", "form_version", "subject", "data"],
    "properties": {
        "uuid": {**_UUID, "x-message": _message("缺少有效的提交编号", "uuid must be a UUID made on the device")},
        "form_id": {"type": "string", "minLength": 1, "maxLength": 64,
                    "x-message": _message("表单编号不正确", "form_id must name a published form")},
        "form_version": {"type": "integer", "minimum": 1, "maximum": MAX_VERSION,
                         "x-message": _message("表单版本应为正整数", f"form_version must be from 1 to {MAX_VERSION}")},
        "subject": _SUBJECT,
        "base_version": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_VERSION,
                         "x-message": _message("版本号应为非负整数", f"base_version must be from 0 to {MAX_VERSION}, or null")},
        "supersedes": {"type": ["string", "null"], "format": "uuid",
                       "x-message": _message("被更正的提交编号格式不正确", "supersedes must be a UUID or null")},
        "started_at": _TIME,
        "collected_at": _TIME,
        "data": {"type": "object", "x-message": _message("表单数据应为对象", "data must be an object")},
        "gps": _GPS,
        "attachments": {
            "type": ["array", "null"], "maxItems": MAX_ATTACHMENTS, "items": _ATTACHMENT,
            "x-message": _message(f"附件清单应为不超过{MAX_ATTACHMENTS}项的列表",
                                  f"attachments must be a list of at most {MAX_ATTACHMENTS} files"),
        },
    },
}

ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["device_id", "submissions"],
    "properties": {
        "device_id": {"type": "string", "minLength": 1, "maxLength": 200},
        # Read if it is a placeable time, else ignored: a strange device clock never refuses a batch (S5).
        "sent_at": {},
        # Items are checked one by one against ITEM, so the envelope takes any list; its length is limited apart.
        "submissions": {"type": "array"},
    },
}

# A JSON number like 3.0 is an "integer" to JSON Schema, but not to an integer column or to the merge's comparisons.
_Validator = validators.extend(Draft202012Validator, type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, value: type(value) is int))
_Validator.check_schema(ITEM)
_ITEM = _Validator(ITEM, format_checker=_FORMATS)
_ENVELOPE = _Validator(ENVELOPE)
# jsonschema names every error with its path but walks the schema for each item, most of a push's checking time.
# The same schema compiled to Python code (fastjsonschema) only says right or wrong, several times faster: it goes
# first, and jsonschema explains the items it finds wrong. Draft 4, where 3.0 is not an integer, as above; the
# formats are the very same checks. tests/sync/test_push_schema.py holds the two to the same answers.
_ITEM_IS_RIGHT = fastjsonschema.compile(
    {**ITEM, "$schema": "http://json-schema.org/draft-04/schema#"}, use_default=False,
    formats={name: partial(_FORMATS.conforms, format=name) for name in ("uuid", "device-time", "attachment-type")})

_CODES = {"type": "type", "enum": "type", "format": "type", "pattern": "type", "required": "required",
          "minimum": "out_of_range", "maximum": "out_of_range", "minLength": "out_of_range", "maxLength": "out_of_range",
          "maxItems": "out_of_range"}


def envelope_is_valid(batch: Any) -> bool:
    """{device_id, sent_at, submissions: [...]}, whatever the items hold; their number is checked apart (413)."""
    return _ENVELOPE.is_valid(batch)


def item_errors(item: Any) -> list[dict[str, str]]:
    """The item's problems as per-field errors {field, code, message}, in the order of its fields; [] when right."""
    try:
        _ITEM_IS_RIGHT(item)
        return []
    except fastjsonschema.JsonSchemaValueException:
        pass
    return [_field_error(error) for error in sorted(_ITEM.iter_errors(item), key=_order)]


def _order(error: ValidationError) -> list[str]:
    return [str(part) for part in error.absolute_path]


def _field_error(error: ValidationError) -> dict[str, str]:
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "required":
        missing = next((name for name in error.validator_value if name not in error.instance), "")
        path.append(missing)
        schema = schema.get("properties", {}).get(missing, {})
        zh, en = schema.get("x-message", ("缺少必填项", f"{missing} is required"))
    else:
        zh, en = schema.get("x-message", ("格式不正确", "not in the form the protocol gives"))
    return field_error(_dotted(path), _CODES.get(str(error.validator), "type"), zh, en)


def _dotted(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
