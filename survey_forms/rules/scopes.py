"""Rule operators that run rules in another scope: the iterators (map, filter, reduce, all, some, none), try and throw."""

from __future__ import annotations

from typing import Any

from survey_forms.rules.js import RuleError, RuleSyntaxError, invalid_arguments, truthy
from survey_forms.rules.logic import constant

# An iterator runs its body once per element, with the element as the data. When some val climbs scopes, each call
# also gets the scopes above it, `up` = (level 1, level 2, the chain above those): for map and filter level 1 is
# {"iterator": array, "index": i}, for all/some/none/reduce the array itself (as json-logic-engine does), and level 2
# is the data the iterator was called on. A try fallback reads the error ({"type": ...}) with (None, the data) above.


def compile_throw(c, op: str, arg: Any, at: str):
    values = c.values(op, arg, at)

    def throw(d, up):
        thrown = values(d, up)
        raise RuleError(thrown[0] if thrown else None)

    return throw


def compile_try(c, op: str, arg: Any, at: str):
    if type(arg) is not list:
        # Chained: the argument's value is the list of alternatives, already evaluated.
        value = c.node(arg, c.inner(at, op))
        return lambda d, up: _first(value(d, up))
    fns = [c.node(node, pointer) for node, pointer in c.listed(op, arg, at)]
    if not fns:
        return constant(None)
    first, rest, scopes = fns[0], fns[1:], c.scopes

    def attempt(d, up):
        try:
            return first(d, up)
        except RuleError as error:
            failure = error
        for fn in rest:
            # The next alternative reads the error ({"type": ...}); [[2], ...] reaches the data again.
            try:
                return fn({"type": failure.type}, (None, d, up) if scopes else up)
            except RuleError as error:
                failure = error
        raise failure

    return attempt


def _first(value: Any) -> Any:
    if type(value) is list:
        return value[0] if value else None
    return value


def compile_iterator(c, op: str, arg: Any, at: str):
    nodes = c.listed(op, arg, at, minimum=1)
    source_node, source_at = nodes[0]
    if type(source_node) is not list and (type(source_node) is not dict or not source_node):
        raise RuleSyntaxError("the first argument must give an array", source_at, op, "Invalid Arguments")
    if op in ("map", "filter", "reduce") and (len(nodes) < 2 or nodes[1][0] is None):
        raise RuleSyntaxError("the second argument must be a rule", at, op, "Invalid Arguments")
    source = c.node(source_node, source_at)
    body = c.node(nodes[1][0], nodes[1][1]) if len(nodes) > 1 else constant(None)
    if op == "reduce":
        initial = c.node(nodes[2][0], nodes[2][1]) if len(nodes) > 2 else None
        return _reduce(source, body, initial, c.scopes)
    return _ITERATORS[op](source, body, c.scopes)


def _items(items: Any, allow_null: bool) -> list:
    if type(items) is list:
        return items
    if items is None and allow_null:
        return []
    raise invalid_arguments()


def _map(source, body, scopes):
    def map_items(d, up):
        items = _items(source(d, up), True)
        if scopes:
            return [body(item, ({"iterator": items, "index": i}, d, up)) for i, item in enumerate(items)]
        return [body(item, up) for item in items]

    return map_items


def _filter(source, body, scopes):
    def filter_items(d, up):
        items = _items(source(d, up), True)
        if scopes:
            return [item for i, item in enumerate(items) if truthy(body(item, ({"iterator": items, "index": i}, d, up)))]
        return [item for item in items if truthy(body(item, up))]

    return filter_items


def _all(source, body, scopes):
    def all_items(d, up):
        items = _items(source(d, up), False)
        frame = (items, d, up) if scopes else up
        # The engine answers false for an empty array.
        return bool(items) and all(truthy(body(item, frame)) for item in items)

    return all_items


def _some(source, body, scopes):
    def some_items(d, up):
        items = _items(source(d, up), False)
        frame = (items, d, up) if scopes else up
        return any(truthy(body(item, frame)) for item in items)

    return some_items


def _none(source, body, scopes):
    some_items = _some(source, body, scopes)
    return lambda d, up: not some_items(d, up)


def _reduce(source, body, initial, scopes):
    def reduce_items(d, up):
        start = initial(d, up) if initial is not None else None
        items = _items(source(d, up), True)
        frame = (items, d, up) if scopes else up
        rest = items
        if initial is None:
            # Without an initial value the first element starts, as in Array.prototype.reduce.
            if not items:
                raise invalid_arguments()
            start, rest = items[0], items[1:]
        for item in rest:
            start = body({"accumulator": start, "current": item}, frame)
        return start

    return reduce_items


_ITERATORS = {"map": _map, "filter": _filter, "all": _all, "some": _some, "none": _none}

OPERATORS = {
    "throw": compile_throw, "try": compile_try,
    **dict.fromkeys(["map", "filter", "reduce", "all", "some", "none"], compile_iterator),
}
