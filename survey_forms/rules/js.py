"""JavaScript value semantics for the rule evaluator: errors, truthiness, numbers, strings and comparisons."""

from __future__ import annotations

import math
import re
from typing import Any

# Integers beyond 2**53 are not exact in JavaScript; results past it become floats as on the phones.
MAX_SAFE = 2**53
INFINITY = math.inf


class RuleError(Exception):
    """A rule failed while being evaluated; `.error` is the thrown object, `.type` its kind (e.g. "NaN")."""

    def __init__(self, error: Any) -> None:
        self.error = error if type(error) is dict else {"type": error}
        kind = self.error.get("type")
        self.type = kind if kind is not None else _fallback_type(self.error)
        super().__init__(f"rule evaluation failed: {self.type}")


def _fallback_type(error: dict) -> Any:
    # A thrown object without "type" still needs a name for `try`'s fallback context.
    return error.get("error") or error.get("message") or "Object"


class RuleSyntaxError(ValueError):
    """A rule that cannot be compiled; the message names the operator and the JSON pointer within the rule."""

    def __init__(self, problem: str, pointer: str, operator: str | None = None, kind: str = "Invalid Rule") -> None:
        self.problem = problem
        self.pointer = pointer or "/"
        self.operator = operator
        self.type = kind
        where = f'operator "{operator}" at {self.pointer}' if operator is not None else f"at {self.pointer}"
        super().__init__(f"{problem} ({where})")


def nan_error() -> RuleError:
    return RuleError({"type": "NaN"})


def invalid_arguments() -> RuleError:
    return RuleError({"type": "Invalid Arguments"})


def truthy(value: Any) -> bool:
    """JsonLogic truthiness: [] and "" are false, {} and "0" are true, NaN is false."""
    if value is True:
        return True
    if value is False or value is None:
        return False
    kind = type(value)
    if kind is dict:
        return True
    if kind is float:
        return value == value and value != 0.0
    return bool(value)


# JavaScript's StringToNumber: ASCII digits only (never "１２" or "١٢"), JS whitespace trimmed.
_JS_SPACE = (" \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
             "\u2028\u2029\u202f\u205f\u3000\ufeff")
_DECIMAL = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\Z")
_RADIX = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)\Z")


def parse_number(text: str) -> int | float:
    """Number(text) as JavaScript computes it; raises the NaN error where JavaScript gives NaN."""
    if text.isascii() and text.isdigit() and len(text) <= 15:
        return int(text)
    text = text.strip(_JS_SPACE)
    if not text:
        return 0
    if _DECIMAL.match(text):
        body = text.lstrip("+-")
        if body.isdigit() and len(body) <= 15:
            return int(text)
        return float(text)
    if _RADIX.match(text):
        return exact(int(text, 0))
    raise nan_error()


def to_number(value: Any) -> int | float:
    """The engine's numeric coercion: null is 0, booleans 0/1, strings parsed, arrays and objects are NaN."""
    kind = type(value)
    if kind is float:
        return value
    if kind is int:
        return value if -MAX_SAFE <= value <= MAX_SAFE else exact(value)
    if kind is bool:
        return int(value)
    if value is None:
        return 0
    if kind is str:
        return parse_number(value)
    raise nan_error()


def exact(number: int) -> int | float:
    """An integer as JavaScript holds it: exact up to 2**53, a double beyond."""
    if -MAX_SAFE <= number <= MAX_SAFE:
        return number
    try:
        return float(number)
    except OverflowError:
        return INFINITY if number > 0 else -INFINITY


def checked(result: int | float) -> int | float:
    """An arithmetic result: NaN becomes the NaN error, large integers become doubles."""
    if type(result) is int:
        return result if -MAX_SAFE <= result <= MAX_SAFE else exact(result)
    if result != result:
        raise nan_error()
    return result


def number_text(number: float) -> str:
    """Number.prototype.toString(): the shortest round-trip digits, laid out by ECMAScript's rules."""
    if number != number:
        return "NaN"
    if number in (INFINITY, -INFINITY):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    mantissa, _, exponent = repr(abs(number)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    significant = digits.lstrip("0")
    point -= len(digits) - len(significant)
    digits = significant.rstrip("0")
    return ("-" if number < 0 else "") + _layout(digits, point)


def _layout(digits: str, point: int) -> str:
    count = len(digits)
    if count <= point <= 21:
        return digits + "0" * (point - count)
    if 0 < point <= 21:
        return f"{digits[:point]}.{digits[point:]}"
    if -6 < point <= 0:
        return "0." + "0" * -point + digits
    power = point - 1
    head = digits[0] + (f".{digits[1:]}" if count > 1 else "")
    return f"{head}e{'+' if power >= 0 else '-'}{abs(power)}"


def to_text(value: Any) -> str:
    """String(value) as JavaScript writes it (arrays joined by commas, objects as [object Object])."""
    kind = type(value)
    if kind is str:
        return value
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value) if -MAX_SAFE <= value <= MAX_SAFE else number_text(exact(value))
    if kind is float:
        return number_text(value)
    if kind is list:
        return ",".join("" if item is None else to_text(item) for item in value)
    return "[object Object]"


def astral(text: str) -> bool:
    """Whether text has characters beyond U+FFFF, where code points and UTF-16 units disagree."""
    return not text.isascii() and max(text) > "\uffff"


def utf16_slice(text: str, start: int, stop: int) -> str:
    """text[start:stop] counted in UTF-16 code units (JavaScript string indices)."""
    if not astral(text):
        return text[start:stop]
    units = text.encode("utf-16-le", "surrogatepass")
    return units[2 * start:2 * max(start, stop)].decode("utf-16-le", "surrogatepass")


def utf16_length(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def loose_equal(left: Any, right: Any) -> bool:
    """==: same-type values compare directly; mixed types compare as numbers; arrays and objects are NaN."""
    kind = type(left)
    if kind is type(right):
        if kind is list or kind is dict:
            raise nan_error()
        return left == right
    if (kind is int or kind is float) and type(right) in (int, float):
        return left == right
    if _null_and_text(left, right):
        return False
    return to_number(left) == to_number(right)


def _null_and_text(left: Any, right: Any) -> bool:
    """null against a string that is not a number: unequal and unordered, not a NaN error (an unanswered field)."""
    if left is None:
        left, right = right, left
    if right is not None or type(left) is not str:
        return False
    try:
        parse_number(left)
    except RuleError:
        return True
    return False


def strict_equal(left: Any, right: Any) -> bool:
    """===: same JSON type and value; arrays and objects only equal themselves."""
    kind = type(left)
    if kind is type(right):
        if kind is list or kind is dict:
            return left is right
        return left == right
    return (kind is int or kind is float) and type(right) in (int, float) and left == right


def same_value_zero(left: Any, right: Any) -> bool:
    """Array.prototype.includes' equality: strict, except that NaN equals NaN."""
    return strict_equal(left, right) or (type(left) is float and type(right) is float and left != left and right != right)


def ordered(left: Any, right: Any) -> tuple[Any, Any]:
    """The pair that <, <=, > and >= compare: two strings as strings, anything else as numbers."""
    if type(left) is str and type(right) is str:
        if astral(left) or astral(right):
            return left.encode("utf-16-be", "surrogatepass"), right.encode("utf-16-be", "surrogatepass")
        return left, right
    if _null_and_text(left, right):
        return math.nan, 0  # every ordering of NaN is false
    return to_number(left), to_number(right)
