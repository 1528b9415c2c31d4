"""The names generated rule code sees: the closures' own operations, plus a few shared without their closures."""

from __future__ import annotations

from typing import Any

from survey_forms.rules import arithmetic as rules_arithmetic
from survey_forms.rules import logic as rules_logic
from survey_forms.rules import scopes as rules_scopes
from survey_forms.rules.data import MISSING, step
from survey_forms.rules.js import RuleError, checked, loose_equal, parse_number, strict_equal, to_number, truthy
from survey_forms.rules.logic import NUMBER_TYPES


def read_rest(value: Any, steps: tuple, default: Any) -> Any:
    """rules_data's dotted read (read_path) continued from the value of its first step."""
    if value is None:
        return default
    for text, index in steps:
        if type(value) is dict:
            value = value.get(text)
        else:
            value = step(value, text, index)
            if value is MISSING:
                return default
        if value is None:
            return default
    return value


_PARSED: dict[str, int | float] = {}  # parse_number's answers for short strings: the same few recur (months, days)


def parse_new(text: str) -> int | float:
    """parse_number(text), remembered when it is a number; NaN (an exception) never is."""
    number = parse_number(text)
    if len(text) <= 32 and len(_PARSED) < 4096:
        _PARSED[text] = number
    return number


def too_deep() -> RuleError:
    # Only absurdly nested data gets here (e.g. cat of an array nested a thousand deep), as in compile_rule.
    return RuleError({"type": "Too Deep"})


def loose_equal_to_text(value: Any, text: str) -> bool:
    """value == text, for a text that is not a number: null is simply unequal (no exception raised and caught)."""
    if value is None:
        return False
    return loose_equal(value, text)


_PAIRS = rules_logic._PAIRS  # the comparisons exactly as the closures make them
_NUMBERS = rules_arithmetic._BINARY
_FOLDS = rules_arithmetic._ARITHMETIC

# Every name generated code may use besides its own constants (_k*), reads (_r*) and temporaries (_t*).
NAMESPACE: dict[str, Any] = {
    "_truthy": truthy, "_checked": checked, "_number": rules_arithmetic._number,
    "_to_number": to_number, "_divide": rules_arithmetic._divide,
    "_substr": rules_arithmetic._substr, "_cat": rules_arithmetic._cat, "_contains": rules_arithmetic._contains,
    "_merge": rules_arithmetic._merge,
    "_sum": _FOLDS["+"], "_difference": _FOLDS["-"], "_product": _FOLDS["*"], "_quotient": _FOLDS["/"],
    "_remainder": _FOLDS["%"], "_max": _FOLDS["max"], "_min": _FOLDS["min"],
    **{name: rules_arithmetic.arithmetic_pair(_NUMBERS[op], _FOLDS[op])
       for name, op in (("_add2", "+"), ("_sub2", "-"), ("_mul2", "*"), ("_div2", "/"))},
    "_eq": _PAIRS["=="], "_seq": strict_equal, "_ne": _PAIRS["!="], "_sne": _PAIRS["!=="],
    "_lt": _PAIRS["<"], "_le": _PAIRS["<="], "_gt": _PAIRS[">"], "_ge": _PAIRS[">="],
    "_eq_text": loose_equal_to_text,
    "_NT": NUMBER_TYPES, "_NATIVE": (int, float, str, bool, type(None)),
    "_rest": read_rest, "_too_deep": too_deep, "_items": rules_scopes._items,
    "_parsed": _PARSED.get, "_parse_new": parse_new,
}
