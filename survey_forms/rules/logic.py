"""Rule operators of logic and comparison: !, !!, and, or, if, ??, ==, ===, !=, !==, <, <=, >, >=."""

from __future__ import annotations

import operator
from typing import Any

from survey_forms.rules.js import loose_equal, ordered, strict_equal, truthy

NUMBER_TYPES = (int, float)
# Operators whose result is always True or False: `and`, `or`, `if` and `!` skip the truthiness call on them.
BOOLEAN_OPERATORS = frozenset({"==", "===", "!=", "!==", "<", "<=", ">", ">=", "!", "!!", "in", "all", "some", "none", "exists"})


def constant(value: Any):
    return lambda d, up: value


def _first_of(c, op: str, arg: Any, at: str):
    """The single operand of ! and !!: a list's first item (all items are still evaluated), else the argument itself."""
    if type(arg) is not list:
        return c.node(arg, c.inner(at, op))
    fns = [c.node(node, pointer) for node, pointer in c.listed(op, arg, at)]
    if not fns:
        return constant(None)
    if len(fns) == 1:
        return fns[0]
    head = fns[0]

    def first(d, up):
        value = head(d, up)
        for fn in fns[1:]:
            fn(d, up)
        return value

    return first


def compile_not(c, op: str, arg: Any, at: str):
    operand = _first_of(c, op, arg, at)
    plain = c.is_boolean(arg[0] if type(arg) is list and arg else arg)
    if op == "!":
        return (lambda d, up: not operand(d, up)) if plain else (lambda d, up: not truthy(operand(d, up)))
    return operand if plain else (lambda d, up: truthy(operand(d, up)))


def compile_and(c, op: str, arg: Any, at: str):
    nodes = c.listed(op, arg, at)
    fns = tuple(c.node(node, pointer) for node, pointer in nodes)
    if not fns:
        return constant(False)
    if all(c.is_boolean(node) for node, _ in nodes):
        return _all_true(fns) if op == "and" else _any_true(fns)
    return _and_values(fns) if op == "and" else _or_values(fns)


def _all_true(fns):
    # Operands that give True/False: Python's own `and` chain is the fastest short-circuit.
    if len(fns) == 2:
        first, second = fns
        return lambda d, up: first(d, up) and second(d, up)
    if len(fns) == 3:
        first, second, third = fns
        return lambda d, up: first(d, up) and second(d, up) and third(d, up)

    def all_true(d, up):
        for fn in fns:
            if not fn(d, up):
                return False
        return True

    return all_true


def _any_true(fns):
    if len(fns) == 2:
        first, second = fns
        return lambda d, up: first(d, up) or second(d, up)
    if len(fns) == 3:
        first, second, third = fns
        return lambda d, up: first(d, up) or second(d, up) or third(d, up)

    def any_true(d, up):
        for fn in fns:
            if fn(d, up):
                return True
        return False

    return any_true


def _and_values(fns):
    # `and` returns the first falsy operand, or the last one.
    def and_values(d, up):
        for fn in fns:
            value = fn(d, up)
            if not truthy(value):
                return value
        return value

    return and_values


def _or_values(fns):
    def or_values(d, up):
        for fn in fns:
            value = fn(d, up)
            if truthy(value):
                return value
        return value

    return or_values


def compile_if(c, op: str, arg: Any, at: str):
    nodes = c.listed(op, arg, at)
    fns = [c.node(node, pointer) for node, pointer in nodes]
    if not fns:
        return constant(None)
    if len(fns) == 1:
        return fns[0]
    otherwise = fns.pop() if len(fns) % 2 else constant(None)
    tests = [fns[i] if c.is_boolean(nodes[i][0]) else _truth_of(fns[i]) for i in range(0, len(fns), 2)]
    branches = tuple(zip(tests, fns[1::2], strict=True))
    if len(branches) == 1:
        (test, then), = branches
        return lambda d, up: then(d, up) if test(d, up) else otherwise(d, up)

    def choose(d, up):
        for test, then in branches:
            if test(d, up):
                return then(d, up)
        return otherwise(d, up)

    return choose


def _truth_of(fn):
    return lambda d, up: truthy(fn(d, up))


def _not_equal(pair):
    return lambda a, b: not pair(a, b)


def _ordering(fast):
    return lambda a, b: fast(*ordered(a, b))


_FAST = {"==": operator.eq, "===": operator.eq, "!=": operator.ne, "!==": operator.ne,
         "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_PAIRS = {"==": loose_equal, "===": strict_equal, "!=": _not_equal(loose_equal), "!==": _not_equal(strict_equal),
          "<": _ordering(operator.lt), "<=": _ordering(operator.le), ">": _ordering(operator.gt), ">=": _ordering(operator.ge)}
# Pairs of one type that compare natively (strings only for equality: ordering them needs UTF-16 care).
_NATIVE = {op: (int, float, str, bool, type(None)) if op in ("==", "===", "!=", "!==") else NUMBER_TYPES for op in _FAST}


def compile_compare(c, op: str, arg: Any, at: str):
    nodes = c.listed(op, arg, at, minimum=2)
    fns = [c.node(node, pointer) for node, pointer in nodes]
    pair = _PAIRS[op]
    if len(fns) > 2:
        return _chain(fns, pair)
    known, value = c.constant_of(nodes[1][0])
    if known:
        return _compare_constant(fns[0], c.simple_key(nodes[0][0]), value, _FAST[op], pair, op)
    fast, native, (left, right) = _FAST[op], _NATIVE[op], fns

    def compare(d, up):
        a = left(d, up)
        b = right(d, up)
        kind = type(a)
        if kind is type(b) and kind in native:
            return fast(a, b)
        return pair(a, b)

    return compare


def _compare_constant(left, key, value, fast, pair, op):
    if type(value) in NUMBER_TYPES:
        native = NUMBER_TYPES
    elif op in ("<", "<=", ">", ">="):
        native = ()
    else:
        native = (type(value),)
    if key is None:
        return _compare_value(left, value, fast, pair, native)

    def compare_field(d, up):
        # The common `{"var": "field"} <op> literal`, with the field read inline.
        a = d.get(key) if type(d) is dict else left(d, up)
        if type(a) in native:
            return fast(a, value)
        return pair(a, value)

    return compare_field


def _compare_value(left, value, fast, pair, native):
    def compare_value(d, up):
        a = left(d, up)
        if type(a) in native:
            return fast(a, value)
        return pair(a, value)

    return compare_value


def _chain(fns, pair):
    # a < b < c: operands are evaluated only as far as the comparisons hold.
    def chain(d, up):
        a = fns[0](d, up)
        for fn in fns[1:]:
            b = fn(d, up)
            if not pair(a, b):
                return False
            a = b
        return True

    return chain


def compile_coalesce(c, op: str, arg: Any, at: str):
    if type(arg) is not list:
        values = c.values(op, arg, at)
        return lambda d, up: next((v for v in values(d, up) if v is not None), None)
    fns = tuple(c.node(node, pointer) for node, pointer in c.listed(op, arg, at))

    def coalesce(d, up):
        for fn in fns:
            value = fn(d, up)
            if value is not None:
                return value
        return None

    return coalesce


OPERATORS = {
    "!": compile_not, "!!": compile_not,
    "and": compile_and, "or": compile_and,
    "if": compile_if, "?:": compile_if,
    "??": compile_coalesce,
    **dict.fromkeys(_FAST, compile_compare),
}
