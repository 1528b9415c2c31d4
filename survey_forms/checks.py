"""Value checks by field type, built once per field: each returns an error code or None."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

Check = Callable[[Any], "tuple[str, dict[str, Any]] | None"]
GEOPOINT_KEYS = {"lat", "lon", "accuracy_m", "altitude_m", "captured_at"}


def _number(value: Any) -> bool:
    # An int is always finite; math.isfinite would raise OverflowError on one past float's range (10**400).
    return type(value) is int or (type(value) is float and math.isfinite(value))


def _range(spec: dict[str, Any]) -> Callable[[Any], tuple[str, dict[str, Any]] | None]:
    low, high = spec.get("min"), spec.get("max")

    def check(value: Any) -> tuple[str, dict[str, Any]] | None:
        if (low is not None and value < low) or (high is not None and value > high):
            return "out_of_range", {"min": low, "max": high}
        return None

    return check


def _text(spec: dict[str, Any]) -> Check:
    limit = spec.get("max_length")
    pattern = re.compile(spec["pattern"]) if "pattern" in spec else None

    def check(value: Any) -> tuple[str, dict[str, Any]] | None:
        if type(value) is not str:
            return "type", {"expected": "text"}
        if "\x00" in value or not encodable(value):
            return "type", {"expected": "text without NUL or lone surrogates"}
        if limit is not None and len(value) > limit:
            return "out_of_range", {"max_length": limit}
        if pattern is not None and not pattern.fullmatch(value):
            return "constraint", {"pattern": pattern.pattern}
        return None

    return check


def encodable(value: str) -> bool:
    """Whether the text is valid UTF-8 once encoded: a lone surrogate is not."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _integer(spec: dict[str, Any]) -> Check:
    in_range = _range(spec)

    def check(value: Any) -> tuple[str, dict[str, Any]] | None:
        if not (type(value) is int or (type(value) is float and value.is_integer())):
            return "type", {"expected": "integer"}
        return in_range(value)

    return check


def _decimal(spec: dict[str, Any]) -> Check:
    in_range = _range(spec)

    def check(value: Any) -> tuple[str, dict[str, Any]] | None:
        return in_range(value) if _number(value) else ("type", {"expected": "number"})

    return check


def _select_one(choices: frozenset[str]) -> Check:
    def check(value: Any) -> tuple[str, dict[str, Any]] | None:
        if type(value) is not str:
            return "type", {"expected": "choice name"}
        return None if value in choices else ("unknown_choice", {"value": value})

    return check


def _select_multiple(choices: frozenset[str]) -> Check:
    def check(value: Any) -> tuple[str, dict[str, Any]] | None:
        if type(value) is not list or any(type(item) is not str for item in value):
            return "type", {"expected": "list of choice names"}
        unknown = [item for item in value if item not in choices]
        if unknown:
            return "unknown_choice", {"value": unknown[0]}
        return ("constraint", {"duplicate": True}) if len(set(value)) != len(value) else None

    return check


def _iso(parse: Callable[[str], Any], expected: str) -> Check:
    def check(value: Any) -> tuple[str, dict[str, Any]] | None:
        if type(value) is not str:
            return "type", {"expected": expected}
        try:
            parse(value)
        except ValueError:
            return "type", {"expected": expected}
        return None

    return check


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(value: str) -> date:
    # fromisoformat alone would also take week dates such as 2026-W47-5.
    if not _DATE.fullmatch(value):
        raise ValueError(value)
    return date.fromisoformat(value)


def _datetime(value: str) -> datetime:
    # Times carry their offset (design.md): a phone's local time alone is ambiguous.
    if not _DATE.match(value) or len(value) < 16:
        raise ValueError(value)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(value)
    return parsed


def _geopoint(spec: dict[str, Any]) -> Check:
    max_accuracy = spec.get("max_accuracy_m")

    def check(value: Any) -> tuple[str, dict[str, Any]] | None:
        if type(value) is not dict or not value.keys() <= GEOPOINT_KEYS:
            return "type", {"expected": "geopoint {lat, lon, accuracy_m, altitude_m}"}
        lat, lon, accuracy = value.get("lat"), value.get("lon"), value.get("accuracy_m")
        if not (_number(lat) and _number(lon)) or not all(_number(value[k]) for k in ("accuracy_m", "altitude_m") if k in value):
            return "type", {"expected": "finite numbers"}
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return "out_of_range", {"lat": lat, "lon": lon}
        if "captured_at" in value and _captured_at(value["captured_at"]) is not None:
            return "type", {"expected": "captured_at as an ISO 8601 date and time"}
        if accuracy is not None and accuracy < 0:
            return "out_of_range", {"accuracy_m": accuracy}
        if max_accuracy is not None and (accuracy is None or accuracy > max_accuracy):
            return "out_of_range", {"max_accuracy_m": max_accuracy}
        return None

    return check


_captured_at = _iso(_datetime, "ISO 8601 date and time")


def _file_name(value: Any) -> tuple[str, dict[str, Any]] | None:
    if (type(value) is not str or value.strip(".") == "" or len(value) > 255
            or "/" in value or "\\" in value or "\x00" in value):
        return "type", {"expected": "attachment file name"}
    return None


def answered(value: Any) -> bool:
    """Whether a value counts as an answer: null, blank text and an empty selection do not."""
    if value is None:
        return False
    if type(value) is str:
        return not value.isspace() and value != ""
    return value != []


def value_check(spec: dict[str, Any], choices: frozenset[str]) -> Check | None:
    """The check of an entered value of this field, or None for fields whose value is checked elsewhere."""
    kind = spec["type"]
    builders: dict[str, Callable[[], Check]] = {
        "text": lambda: _text(spec),
        "integer": lambda: _integer(spec),
        "decimal": lambda: _decimal(spec),
        "select_one": lambda: _select_one(choices),
        "select_multiple": lambda: _select_multiple(choices),
        "date": lambda: _iso(_date, "date YYYY-MM-DD"),
        "datetime": lambda: _iso(_datetime, "ISO 8601 date and time with offset"),
        "geopoint": lambda: _geopoint(spec),
        "photo": lambda: _file_name,
        "audio": lambda: _file_name,
    }
    return builders[kind]() if kind in builders else None


def same_value(sent: Any, computed: Any) -> bool:
    """Whether a calculated value the device sent matches ours (numbers within 1e-6 relative)."""
    if type(sent) is int and type(computed) is int:
        return sent == computed  # exactly: a float tolerance would overflow past float's range
    if _number(sent) and _number(computed):
        try:
            return abs(sent - computed) <= 1e-6 * max(1.0, abs(computed))
        except OverflowError:  # an int past float's range against a float: they cannot be within 1e-6
            return False
    return sent == computed and type(sent) is type(computed)
