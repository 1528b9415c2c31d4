"""Python source for the inlined rule operators on numbers and strings, mirroring the closures of rules_arithmetic."""

from __future__ import annotations

from typing import Any

from survey_forms.rules.emit import ANY, BOOL, NUM, STR, Code, as_tuple, operands
from survey_forms.rules.js import MAX_SAFE

_FOLD = {"+": "_sum", "-": "_difference", "*": "_product", "/": "_quotient", "%": "_remainder", "max": "_max",
         "min": "_min"}
_BINARY = {"+": "_add2", "-": "_sub2", "*": "_mul2", "/": "_div2"}
# The numbers a string of n characters can parse to (rules_js.parse_number): (largest int, largest value). Only
# digits give an int; "9e9" and "9e99" are the largest floats of three and four characters, and five can be Infinity.
_PARSED = {0: (0, 0), 1: (10, 10), 2: (100, 100), 3: (1000, 1e10), 4: (10**4, 1e100)}
_FINITE = 1e300  # floats below this stay finite through a sum or product of bounded operands


def emit_arithmetic(c, op: str, arg: Any, at: str) -> Code | None:
    codes = operands(c, op, arg, at)
    if codes is None:
        return None
    typed = all(code.kind in (NUM, STR) for code in codes)
    if typed and (op in ("+", "*") and codes or op in ("-", "/") and len(codes) == 2 or op == "-" and len(codes) > 2):
        return _typed_arithmetic(c, op, codes)
    if op in ("+", "-") and len(codes) > 2:
        return _typed_arithmetic(c, op, codes)  # the fold of three or more, e.g. a sum of income fields
    if op in _BINARY and len(codes) == 2:
        return Code(f"{_BINARY[op]}({codes[0].src}, {codes[1].src})", NUM)
    if op in ("+", "*") and len(codes) == 1:
        return Code(f"_checked(_number({codes[0].src}))", NUM)
    return Code(f"{_FOLD[op]}({as_tuple(codes)})", NUM if op in ("+", "-", "*", "/", "%") else ANY)


def _typed_arithmetic(c, op: str, codes: list[Code]) -> Code:
    """The closures' folds spelled out: numbers as they are, strings parsed, anything else through _number()."""
    # The closures evaluate every operand before coercing any: a coercion (or a product checked) ahead of a later
    # operand that can raise would change which error comes first, so such operands go to temporaries.
    early = any(not codes[j].safe and (any(code.kind != NUM for code in codes[:j]) or op == "*" and j >= 2)
                for j in range(1, len(codes)))
    temps = [c.temp() for _ in codes] if early else []
    values = temps or [code.src for code in codes]
    numbers = [value if code.kind == NUM else c.parse(value) if code.kind == STR else c.number(value)
               for value, code in zip(values, codes, strict=True)]
    bounds = [code.bound if code.kind == NUM else _PARSED.get(code.size) for code in codes]
    if len(codes) == 1:
        result, bound = numbers[0], bounds[0]  # + and * of one operand: checked(_number(x)) is x for these kinds
    elif op == "/":
        result, bound = f"_divide({numbers[0]}, {numbers[1]})", None
    elif op == "*":
        result, bound = numbers[0], bounds[0]
        for number, other in zip(numbers[1:], bounds[1:], strict=True):
            bound = None if bound is None or other is None else (bound[0] * other[0], bound[1] * other[1])
            result, bound = _checked(f"({result} * {number})", bound)
    else:
        # The fold of + starts from 0 (0 + -0.0 is 0.0); two numbers are added directly, as the closures do.
        start = "0 + " if op == "+" and (len(codes) > 2 or STR in (codes[0].kind, codes[1].kind)) else ""
        bound = None if None in bounds else (sum(b[0] for b in bounds), sum(b[1] for b in bounds))
        result, bound = _checked(f"({start}{f' {op} '.join(numbers)})", bound)
    if early:
        assigned = "".join(f"({temp} := {code.src}), " for temp, code in zip(temps, codes, strict=True))
        result = f"({assigned}{result})[-1]"
    return Code(result, NUM, bound=bound)


def _checked(src: str, bound: tuple[float, float] | None) -> tuple[str, tuple[float, float] | None]:
    """checked() of a result, left out where the operands' bounds show that it would return the result as it is."""
    if bound is not None and bound[0] <= MAX_SAFE and bound[1] <= _FINITE:
        return src, bound  # an int within 2**53, or a finite float (never NaN)
    return f"_checked{src}", None


_MAX_INDEX = 2**31  # substr bounds written as integers up to this are used as they are (no Number() of them)


def emit_substr(c, op: str, arg: Any, at: str) -> Code | None:
    codes = operands(c, op, arg, at)
    if codes is None:
        return None
    bounds = arg[1:] if type(arg) is list else []
    if not 1 <= len(bounds) <= 2 or any(type(bound) is not int or abs(bound) > _MAX_INDEX for bound in bounds):
        return Code(f"_substr({as_tuple(codes)})", STR)
    start, length = bounds[0], bounds[1] if len(bounds) > 1 else None
    # JavaScript's substr as Python slices (both clamp out-of-range ends the same way); only for strings whose
    # UTF-16 units are their characters, which isascii() answers fastest.
    if length is None:
        cut = f"[{start}:]"
    elif start >= 0 and length >= 0:
        cut = f"[{start}:{start + length}]"
    elif length >= 0:
        cut = f"[{start}:][:{length}]"
    else:
        cut = f"[{start}:{length}]"
    text, temp = codes[0], c.temp()
    test = f"({temp} := {text.src}).isascii()" if text.kind == STR else f"type({temp} := {text.src}) is str and {temp}.isascii()"
    rest = "".join(f", {code.src}" for code in codes[1:])
    size = length if length is not None and length >= 0 else None
    return Code(f"({temp}{cut} if {test} else _substr(({temp}{rest})))", STR, size=size)


def emit_strings(c, op: str, arg: Any, at: str) -> Code | None:
    if op == "in" and type(arg) is list and len(arg) == 2 and type(arg[1]) is list and arg[1] and \
            all(type(item) is str for item in arg[1]):
        # rules_arithmetic._in_literal_strings: a set lookup, the list itself never evaluated.
        needle, options = c.expr(arg[0], f"{c.inner(at, op)}/0"), c.constant(frozenset(arg[1]))
        if needle.kind == STR:
            return Code(f"({needle.src} in {options})", BOOL, needle.safe)
        temp = c.temp()
        return Code(f"(type({temp} := {needle.src}) is str and {temp} in {options})", BOOL, needle.safe)
    codes = operands(c, op, arg, at)
    if codes is None:
        return None
    if op == "cat" and codes and all(code.kind == STR for code in codes):
        sizes = [code.size for code in codes]
        return Code("(" + " + ".join(code.src for code in codes) + ")", STR, size=None if None in sizes else sum(sizes))
    name = {"cat": "_cat", "in": "_contains", "merge": "_merge"}[op]
    return Code(f"{name}({as_tuple(codes)})", {"cat": STR, "in": BOOL, "merge": ANY}[op])


def emit_reduce(c, op: str, arg: Any, at: str) -> Code | None:
    """reduce(items, accumulator + 1, n), the form's way of counting, as n + len(items); other reduces stay closures."""
    if len(arg) < 3 or type(arg[2]) is not int or abs(arg[2]) > MAX_SAFE // 2 or not _counts(arg[1]):
        return None
    # Each step is checked(int + 1), an int all the way: the closure would answer the same, having made a frame
    # {"accumulator": .., "current": ..} and called the body for each element.
    items = c.expr(arg[0], f"{c.inner(at, op)}/0")
    return Code(f"({arg[2]!r} + len(_items({items.src}, True)))", NUM)


def _counts(body: Any) -> bool:
    """Whether body is {"+": [{"var": "accumulator"}, 1]} exactly (1, not 1.0 or true)."""
    if type(body) is not dict or list(body) != ["+"] or type(body["+"]) is not list or len(body["+"]) != 2:
        return False
    read, one = body["+"]
    return type(one) is int and one == 1 and type(read) is dict and read == {"var": "accumulator"}


EMITTERS = {
    **dict.fromkeys(_FOLD, emit_arithmetic),
    "substr": emit_substr, "cat": emit_strings, "in": emit_strings, "merge": emit_strings, "reduce": emit_reduce,
}
