"""Rule operators on numbers, strings and arrays: + - * / % max min, cat, substr, in, merge."""

from __future__ import annotations

import math
from typing import Any

from survey_forms.rules.js import (
    MAX_SAFE,
    RuleError,
    checked,
    invalid_arguments,
    nan_error,
    same_value_zero,
    to_number,
    to_text,
    truthy,
    utf16_length,
    utf16_slice,
)
from survey_forms.rules.logic import NUMBER_TYPES


def _number(value: Any) -> int | float:
    kind = type(value)
    if kind is float or (kind is int and -MAX_SAFE <= value <= MAX_SAFE):
        return value
    return to_number(value)


def _sum(values) -> int | float:
    total = 0
    for value in values:
        total += _number(value)
    return checked(total)


def _product(values) -> int | float:
    total = 1
    for value in values:
        total = checked(total * _number(value))
    return total


def _difference(values) -> int | float:
    if not values:
        raise invalid_arguments()
    if len(values) == 1:
        return checked(-_number(values[0]))
    total = _number(values[0])
    for value in values[1:]:
        total -= _number(value)
    return checked(total)


def _quotient(values) -> int | float:
    if not values:
        raise invalid_arguments()
    operands = (1, values[0]) if len(values) == 1 else values
    total = _number(operands[0])
    for value in operands[1:]:
        total = _divide(total, _number(value))
    return total


def _divide(dividend: int | float, divisor: int | float) -> int | float:
    if divisor == 0:
        raise nan_error()
    try:
        total = dividend / divisor
    except OverflowError:
        raise nan_error() from None
    if not math.isfinite(total):
        raise nan_error()
    # 4 / 2 is 2 on the phones too; keep whole quotients integers.
    return int(total) if total.is_integer() and -MAX_SAFE <= total <= MAX_SAFE else total


def _remainder(values) -> int | float:
    if len(values) < 2:
        raise invalid_arguments()
    total = _number(values[0])
    for value in values[1:]:
        divisor = _number(value)
        if divisor == 0:
            raise nan_error()
        if type(total) is int and type(divisor) is int:
            # JavaScript's % keeps the sign of the dividend.
            rest = abs(total) % abs(divisor)
            total = -rest if total < 0 else rest
        else:
            try:
                total = math.fmod(total, divisor)
            except ValueError:
                raise nan_error() from None
    return checked(total)


def _extreme(pick):
    def extreme(values) -> int | float:
        if not values or any(type(value) not in NUMBER_TYPES for value in values):
            raise invalid_arguments()
        return pick(values)

    return extreme


_ARITHMETIC = {"+": _sum, "*": _product, "-": _difference, "/": _quotient, "%": _remainder,
               "max": _extreme(max), "min": _extreme(min)}
_AT_LEAST = {"-": 1, "/": 1, "%": 2, "max": 1, "min": 1}


_BINARY = {"+": lambda a, b: checked(a + b), "-": lambda a, b: checked(a - b), "*": lambda a, b: checked(a * b),
           "/": _divide}


def arithmetic_pair(numbers, fold):
    """Two evaluated operands: numbers skip the coercion loop; anything else goes through the fold."""

    def pair(a: Any, b: Any) -> int | float:
        if type(a) in NUMBER_TYPES and type(b) in NUMBER_TYPES:
            try:
                return numbers(a, b)
            except OverflowError:
                pass  # an integer beyond any double: the fold turns it into Infinity first
        return fold((a, b))

    return pair


def _binary(left, right, numbers, fold):
    pair = arithmetic_pair(numbers, fold)
    return lambda d, up: pair(left(d, up), right(d, up))


def compile_arithmetic(c, op: str, arg: Any, at: str):
    fns, dynamic = c.arguments(op, arg, at, minimum=_AT_LEAST.get(op, 0))
    fold = _ARITHMETIC[op]
    if dynamic is not None:
        return lambda d, up: fold(dynamic(d, up))
    if op in _BINARY and len(fns) == 2:
        return _binary(*fns, _BINARY[op], fold)
    if op in ("+", "*") and len(fns) == 1:
        operand = fns[0]
        return lambda d, up: checked(_number(operand(d, up)))
    values = c.gather(fns)
    return lambda d, up: fold(values(d, up))


def _cat(values) -> str:
    return "".join([value if type(value) is str else to_text(value) for value in values if value is not None])


def _integer(value: Any) -> int:
    """ToIntegerOrInfinity(Number(value)), with NaN as 0 and infinities clamped."""
    try:
        number = to_number(value)
    except RuleError:
        return 0
    if number != number:
        return 0
    if math.isinf(number):
        return MAX_SAFE if number > 0 else -MAX_SAFE
    return int(number)


def _substr(values) -> str:
    if not values or values[0] is None:
        raise invalid_arguments()
    text = to_text(values[0])
    size = utf16_length(text)
    start = _integer(values[1]) if len(values) > 1 else 0
    start = min(max(size + start, 0) if start < 0 else start, size)
    if len(values) < 3:
        return utf16_slice(text, start, size)
    length = _integer(values[2])
    # A negative length counts back from the end of the string.
    stop = max(size + length, start) if length < 0 else min(start + length, size)
    return utf16_slice(text, start, stop)


def _contains(values) -> bool:
    needle = values[0] if values else None
    haystack = values[1] if len(values) > 1 else None
    kind = type(haystack)
    if kind is list:
        return any(same_value_zero(needle, item) for item in haystack)
    if not truthy(haystack):
        return False
    if kind is str:
        return (needle if type(needle) is str else to_text(needle)) in haystack
    raise invalid_arguments()


def _merge(values) -> list:
    merged: list = []
    for value in values:
        if type(value) is list:
            merged.extend(value)
        else:
            merged.append(value)
    return merged


_STRINGS = {"cat": _cat, "substr": _substr, "in": _contains, "merge": _merge}


def compile_strings(c, op: str, arg: Any, at: str):
    if op == "in":
        special = _in_literal_strings(c, arg, at)
        if special is not None:
            return special
    values = c.values(op, arg, at, minimum=1 if op == "substr" else 0)
    apply_op = _STRINGS[op]
    return lambda d, up: apply_op(values(d, up))


def _in_literal_strings(c, arg: Any, at: str):
    """`{"in": [x, ["a", "b", ...]]}` with literal strings: a set lookup, as SameValueZero allows for strings."""
    if type(arg) is not list or len(arg) != 2 or type(arg[1]) is not list or not arg[1]:
        return None
    if any(type(item) is not str for item in arg[1]):
        return None
    options = frozenset(arg[1])
    needle = c.node(arg[0], f"{c.inner(at, 'in')}/0")

    def one_of(d, up):
        value = needle(d, up)
        return type(value) is str and value in options

    return one_of


OPERATORS = {
    **dict.fromkeys(_ARITHMETIC, compile_arithmetic),
    **dict.fromkeys(_STRINGS, compile_strings),
}
