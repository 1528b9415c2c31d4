"""The closure compiler: validates a rule and turns it into nested closures fn(data, scopes), the reference semantics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from survey_forms.rules import arithmetic as rules_arithmetic
from survey_forms.rules import data as rules_data
from survey_forms.rules import logic as rules_logic
from survey_forms.rules import scopes as rules_scopes
from survey_forms.rules.js import RuleSyntaxError

# Each operator module maps names to compile functions f(compiler, op, arg, at) -> fn(data, up): `arg` is the
# operator's argument as written, `at` the JSON pointer of the operation, and `up` the scopes above (rules_scopes).
OPERATORS: dict[str, Callable] = {**rules_logic.OPERATORS, **rules_arithmetic.OPERATORS, **rules_data.OPERATORS,
                                  **rules_scopes.OPERATORS}
MAX_DEPTH = 100  # nesting of operators and arrays; deeper rules are refused, far from Python's recursion limit
SCALARS = (str, int, float, bool, type(None))


def escape(token: Any) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def _gather(fns: list) -> Callable[[Any, Any], Any]:
    """fn(data, scopes) -> the values of fns; spelled out for the usual one or two operands (no loop, no list)."""
    if len(fns) == 1:
        only = fns[0]
        return lambda d, up: (only(d, up),)
    if len(fns) == 2:
        first, second = fns
        return lambda d, up: (first(d, up), second(d, up))
    fns = tuple(fns)
    return lambda d, up: [fn(d, up) for fn in fns]


class Compiler:
    """Turns a rule into nested closures fn(data, scopes); the operator modules call back into it for their arguments."""

    def __init__(self, scopes: bool) -> None:
        # Whether iterators and try must record the scopes above them (only when a val climbs to them).
        self.scopes = scopes
        self._depth = 0

    def node(self, node: Any, at: str) -> Callable[[Any, Any], Any]:
        kind = type(node)
        if kind in SCALARS:
            return rules_logic.constant(node)
        if kind is not dict and kind is not list:
            raise RuleSyntaxError(f"a Python {kind.__name__} is not a JSON value", at)
        if kind is dict and not node:
            return lambda d, up: {}
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise RuleSyntaxError(f"the rule is nested deeper than {MAX_DEPTH} levels", at)
            return self._operation(node, at) if kind is dict else self._array(node, at)
        finally:
            self._depth -= 1

    def _operation(self, node: dict, at: str) -> Callable[[Any, Any], Any]:
        if len(node) > 1:
            raise RuleSyntaxError("an object with several keys is not a rule; wrap literal objects in preserve", at)
        (op, arg), = node.items()
        build = OPERATORS.get(op)
        if build is None:
            raise RuleSyntaxError("unknown or not allowed operator", at, str(op), "Unknown Operator")
        return build(self, op, arg, at)

    def _array(self, items: list, at: str) -> Callable[[Any, Any], Any]:
        # A literal array's items are rules too: [1, {"var": "x"}] gives [1, <x>].
        fns = [self.node(item, f"{at}/{index}") for index, item in enumerate(items)]
        if all(type(item) in SCALARS for item in items):
            fixed = tuple(items)
            return lambda d, up: list(fixed)
        return lambda d, up: [fn(d, up) for fn in fns]

    def inner(self, at: str, op: str) -> str:
        """The JSON pointer of an operator's argument."""
        return f"{at}/{escape(op)}"

    def listed(self, op: str, arg: Any, at: str, minimum: int = 0) -> list[tuple[Any, str]]:
        """(node, pointer) of each argument of an operator that needs a literal array (if, and, map, <, ...)."""
        if type(arg) is not list:
            raise RuleSyntaxError("the arguments must be written as an array", at, op, "Invalid Arguments")
        if len(arg) < minimum:
            raise RuleSyntaxError(f"needs at least {minimum} argument(s)", at, op, "Invalid Arguments")
        inner = self.inner(at, op)
        return [(node, f"{inner}/{index}") for index, node in enumerate(arg)]

    def arguments(self, op: str, arg: Any, at: str, minimum: int = 0):
        """(argument closures, None), or (None, fn) when one rule computes the whole argument list ("chaining")."""
        if type(arg) is dict and arg:
            value = self.node(arg, self.inner(at, op))
            return None, lambda d, up: _as_list(value(d, up))
        nodes = self.listed(op, arg, at, minimum) if type(arg) is list else [(arg, self.inner(at, op))]
        if len(nodes) < minimum:
            raise RuleSyntaxError(f"needs at least {minimum} argument(s)", at, op, "Invalid Arguments")
        return [self.node(node, pointer) for node, pointer in nodes], None

    def values(self, op: str, arg: Any, at: str, minimum: int = 0) -> Callable[[Any, Any], Any]:
        """fn(data, scopes) -> the operator's evaluated arguments, for operators that take them all at once."""
        fns, dynamic = self.arguments(op, arg, at, minimum)
        if dynamic is not None:
            return dynamic
        return _gather(fns)

    gather = staticmethod(_gather)

    @staticmethod
    def is_boolean(node: Any) -> bool:
        return type(node) is dict and len(node) == 1 and next(iter(node)) in rules_logic.BOOLEAN_OPERATORS

    @staticmethod
    def constant_of(node: Any) -> tuple[bool, Any]:
        return (True, node) if type(node) in SCALARS else (False, None)

    @staticmethod
    def simple_key(node: Any) -> str | None:
        """The key of a plain field read ({"var": "age"}, {"val": "age"}) that a comparison can look up inline."""
        if type(node) is not dict or len(node) != 1:
            return None
        (op, arg), = node.items()
        if type(arg) is list and len(arg) == 1:
            arg = arg[0]
        if type(arg) is not str or not arg or op not in ("var", "val") or (op == "var" and "." in arg):
            return None
        return arg


def _as_list(value: Any) -> list:
    return value if type(value) is list else [value]
