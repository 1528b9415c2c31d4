"""JsonLogic for survey-form rules: validated and compiled once into Python code that answers as the phones' engine does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from survey_forms.rules import codegen as rules_codegen
from survey_forms.rules import data as rules_data
from survey_forms.rules.compiler import MAX_DEPTH, OPERATORS, SCALARS, Compiler
from survey_forms.rules.js import RuleError, RuleSyntaxError, to_text, truthy

__all__ = ["ALLOWED_OPERATORS", "MAX_DEPTH", "RuleError", "RuleSyntaxError", "apply", "compile_rule", "operations",
           "operators_used", "referenced_vars", "truthy"]

# The semantics are those of the JSON Logic conformance suites (json-logic/compat-tables, as implemented by
# json-logic-engine), checked by tests/survey_forms/test_jsonlogic_conformance.py:
#
# - Truthiness: false, null, 0, "", [] and NaN are false; "0" and {} are true.
# - Numbers follow JavaScript: strings are parsed ("1e2" is 100, "" is 0, "abc" is NaN), null is 0, booleans 0/1.
#   A NaN result, any arithmetic on an array or object, and any division by zero raise RuleError("NaN").
#   Integers stay integers (4 / 2 is 2); past 2**53 they become floats, as on the phones.
# - ==, !=, <, <=, >, >=: two strings compare as strings, any other pair as numbers (null is 0); a value that is
#   not a number then raises RuleError("NaN") rather than answering false, e.g. {"==": [1, "yes"]}. One exception,
#   which the suites leave open: null against a non-numeric string ({"==": [null, "yes"]}, an unanswered field
#   against a choice) is simply unequal and unordered.
#   === and !== compare type and value without coercion (1 and 1.0 are the same number; true is not 1).
# - var reads a dotted path ("a.b.0"); {"var": ["x", default]} gives the default when the value is missing or null;
#   "", null and [] read the whole data. val reads a list of keys without splitting on dots, and [[n], ...] first
#   climbs n scopes: inside map/filter/all/some/none/reduce level 1 is the iterator's frame and level 2 the data the
#   iterator was called on (so {"val": [[2], "$params", "x"]} reaches the form's $params from inside an iterator).
#   Form conventions need nothing special: `$root`, `$params` and `$value` are keys of the data dict.
# - Statically wrong arguments ({"-": []}, {"if": 5}, {"map": [null, ...]}, an unknown operator, an object with
#   several keys) raise RuleSyntaxError when compiling; errors that depend on the data raise RuleError when evaluating.
# - Data must be JSON-like (dict, list, str, int, float, bool, None); results may share lists and objects with it.
#
# The operators themselves live in rules_logic, rules_arithmetic, rules_data and rules_scopes; rules_compiler turns a rule
# into closures over them (the reference semantics), and rules_codegen generates equivalent Python source from it.
ALLOWED_OPERATORS: frozenset[str] = frozenset(OPERATORS)
_SCALARS = SCALARS
_ITERATORS = frozenset({"map", "filter", "reduce", "all", "some", "none"})
_FRAME = object()  # in referenced_vars' scope chain: a level that holds an iterator's frame, not data


def compile_rule(rule: Any, fast: bool = True) -> Callable[[Any], Any]:
    """Validate the rule once and return fn(data) -> result; raises RuleSyntaxError for a malformed rule.

    fast=False returns the closures alone: the reference that the generated code is tested against.
    """
    scopes = _uses_scopes(rule)
    closures = Compiler(scopes).node(rule, "")  # validates, so compile errors are the same either way
    if fast:
        return rules_codegen.compile_fast(rule, scopes, closures)

    def evaluate(data: Any = None) -> Any:
        try:
            return closures(data, None)
        except RecursionError:
            # Only absurdly nested data gets here (e.g. cat of an array nested a thousand deep).
            raise RuleError({"type": "Too Deep"}) from None

    return evaluate


def apply(rule: Any, data: Any = None) -> Any:
    return compile_rule(rule)(data)


def operations(rule: Any):
    """(operator, argument) of every operation in the rule, outside preserve; iterative, so any depth is safe."""
    pending = [rule]
    while pending:
        node = pending.pop()
        if type(node) is list:
            pending.extend(node)
        elif type(node) is dict and len(node) == 1:
            (op, arg), = node.items()
            yield op, arg
            if op != "preserve":
                pending.append(arg)


def _uses_scopes(rule: Any) -> bool:
    """Whether some val or exists may climb scopes ([[n], ...], or a path computed at run time)."""
    for op, arg in operations(rule):
        if op in ("val", "exists") and (type(arg) is dict or (type(arg) is list and any(type(k) in (list, dict) for k in arg))):
            return True
    return False


def operators_used(rule: Any) -> set[str]:
    """The operators the rule uses (literal data inside preserve is not looked into)."""
    compile_rule(rule, fast=False)  # only to validate it
    return {op for op, _ in operations(rule)}


def referenced_vars(rule: Any, include_iterator_scopes: bool = False) -> set[str]:
    """Every path the rule reads from its data, as "a.b.c" (the whole data as "").

    var, val, exists, missing and missing_some count. By default only reads of the rule's own data are returned:
    inside map/filter/reduce/all/some/none the data is the element (reduce: accumulator/current) and inside a try
    fallback it is the error, so those reads are left out unless include_iterator_scopes is true; a val that climbs
    back out ({"val": [[2], "$params", "x"]}) is a read of the rule's data. Paths computed at run time are not known.
    """
    compile_rule(rule, fast=False)  # only to validate it
    found: set[str] = set()
    _collect(rule, True, (), found, include_iterator_scopes)
    return found


def _collect(node: Any, outer: bool, above: tuple, found: set[str], everything: bool) -> None:
    """Add the paths read under node; outer: whether node reads the rule's own data; above: what each climb reaches."""
    if type(node) is list:
        for item in node:
            _collect(item, outer, above, found, everything)
        return
    if type(node) is not dict or len(node) != 1:
        return
    (op, arg), = node.items()
    args = arg if type(arg) is list else [arg]
    if op == "preserve":
        return
    if type(arg) is list and (op in _ITERATORS or op == "try"):
        # Iterator bodies and try fallbacks read a new scope; level 1 above is a frame, level 2 this data.
        inner = (_FRAME, outer, *above)
        keep = (0, 2) if op == "reduce" else (0,)
        for index, item in enumerate(args):
            if index in keep:
                _collect(item, outer, above, found, everything)
            else:
                _collect(item, False, inner, found, everything)
        return
    _collect_read(op, arg, args, outer, above, found, everything)
    _collect(arg, outer, above, found, everything)


def _collect_read(op: str, arg: Any, args: list, outer: bool, above: tuple, found: set[str], everything: bool) -> None:
    if op == "var" and type(args[0] if args else None) in _SCALARS and (outer or everything):
        path = args[0] if args else None
        found.add("" if path is None or path == "" else to_text(path))
    elif op in ("val", "exists") and rules_data.is_literal_path(arg):
        levels, steps = rules_data.val_plan(arg)
        reached = outer if levels == 0 else (above[levels - 1] if levels <= len(above) else _FRAME)
        if reached is not _FRAME and (reached or everything):
            found.add(".".join(text for text, _ in steps))
    elif op in ("missing", "missing_some") and (outer or everything):
        keys = args[1] if op == "missing_some" and len(args) > 1 else args
        keys = keys[0] if op == "missing" and keys and type(keys[0]) is list else keys
        if type(keys) is list:
            found.update(to_text(key) for key in keys if type(key) in _SCALARS)
