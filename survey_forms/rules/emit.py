"""Python source for the inlined rule operators of logic, comparison and reading, mirroring their closures."""

from __future__ import annotations

from typing import Any, NamedTuple

from survey_forms.rules.data import LITERAL_KEYS, dotted, is_literal_path, val_plan
from survey_forms.rules.js import RuleError, parse_number

# What a generated expression's value is known to be, so that coercions and checks can be left out:
BOOL = "bool"  # exactly True or False
STR = "str"  # a str
NUM = "num"  # an int within +-2**53 or a float that is not NaN: what checked() lets through unchanged
ANY = "any"
# Kinds whose Python truthiness is JsonLogic's ({} and NaN, where the two differ, are never of them).
PYTHON_TRUTH = (BOOL, STR, NUM)


class Code(NamedTuple):
    src: str  # a Python expression over d (the data, a dict), up (the scopes) and the namespace of rules_fast
    kind: str
    safe: bool = False  # it cannot raise (a literal, a plain read), so it may be evaluated out of its turn
    size: int | None = None  # STR: at most this many characters
    bound: tuple[float, float] | None = None  # NUM: (largest |value| if an int, largest |value|), all finite


def join(src: str, codes: list[Code], safe: bool = False) -> Code:
    """The code of a value that is one of codes' values (if, and, or, ??): what they all are, it is."""
    kinds = {code.kind for code in codes}
    kind = kinds.pop() if len(kinds) == 1 else ANY
    sizes = [code.size for code in codes]
    size = max(sizes) if kind == STR and None not in sizes else None
    bounds = [code.bound for code in codes]
    bound = (max(b[0] for b in bounds), max(b[1] for b in bounds)) if kind == NUM and None not in bounds else None
    return Code(src, kind, safe, size, bound)


def operands(c, op: str, arg: Any, at: str) -> list[Code] | None:
    """The operands of an operator that takes them all at once; None when one rule computes the list (chaining)."""
    if type(arg) is dict and arg:
        return None
    inner = c.inner(at, op)
    if type(arg) is not list:
        return [c.expr(arg, inner)]
    return [c.expr(node, f"{inner}/{index}") for index, node in enumerate(arg)]


def as_tuple(codes: list[Code]) -> str:
    return "(" + "".join(f"{code.src}, " for code in codes) + ")"


# --- logic ---------------------------------------------------------------------------------------------------------

def emit_not(c, op: str, arg: Any, at: str) -> Code:
    # ! and !! look at the first operand; any others are still evaluated (rules_logic._first_of).
    if type(arg) is not list or len(arg) == 1:
        truth = c.test(*c.listed(op, arg, at)[0]) if type(arg) is list else c.test(arg, c.inner(at, op))
    else:
        codes = operands(c, op, arg, at)
        truth = c.truth(Code(f"{as_tuple(codes)}[0]", codes[0].kind) if codes else Code("None", ANY))
    return Code(f"(not {truth})" if op == "!" else truth, BOOL)


def emit_and(c, op: str, arg: Any, at: str) -> Code:
    codes = operands(c, op, arg, at)
    if not codes:
        return Code("False", BOOL, True)
    if all(code.kind in PYTHON_TRUTH for code in codes[:-1]):
        # Python's own and/or return the deciding operand, as JsonLogic's do.
        src = "(" + f" {op} ".join(code.src for code in codes) + ")"
    else:
        src = codes[-1].src
        for code in reversed(codes[:-1]):
            temp = c.temp()
            truth = c.truth(Code(f"({temp} := {code.src})", code.kind))
            src = f"({temp} if {'not ' if op == 'and' else ''}{truth} else {src})"
    return join(src, codes, all(code.safe for code in codes))


def emit_if(c, op: str, arg: Any, at: str) -> Code:
    nodes = c.listed(op, arg, at)
    if not nodes:
        return Code("None", ANY, True)
    if len(nodes) == 1:
        return c.expr(*nodes[0])
    pairs = [(c.test(*nodes[index]), c.expr(*nodes[index + 1])) for index in range(0, len(nodes) - 1, 2)]
    result = c.expr(*nodes[-1]) if len(nodes) % 2 else Code("None", ANY, True)
    for test, then in reversed(pairs):
        result = join(f"({then.src} if {test} else {result.src})", [then, result])
    return result


def emit_coalesce(c, op: str, arg: Any, at: str) -> Code | None:
    if type(arg) is not list:
        return None
    codes = operands(c, op, arg, at)
    if not codes:
        return Code("None", ANY, True)
    src = codes[-1].src
    for code in reversed(codes[:-1]):
        temp = c.temp()
        src = f"({temp} if ({temp} := {code.src}) is not None else {src})"
    return join(src, codes, all(code.safe for code in codes))


_PYTHON_OP = {"==": "==", "===": "==", "!=": "!=", "!==": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_PAIR = {"==": "_eq", "===": "_seq", "!=": "_ne", "!==": "_sne", "<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge"}
_ORDERING = ("<", "<=", ">", ">=")


def emit_compare(c, op: str, arg: Any, at: str) -> Code:
    nodes = c.listed(op, arg, at, minimum=2)
    codes = [c.expr(*node) for node in nodes]
    pair, python = _PAIR[op], _PYTHON_OP[op]
    if len(codes) > 2:
        # a < b < c: each operand is evaluated only while the comparisons before it hold (rules_logic._chain).
        temps = [c.temp() for _ in codes]
        tests = [f"{pair}(({temps[0]} := {codes[0].src}), ({temps[1]} := {codes[1].src}))"]
        tests += [f"{pair}({temps[i - 1]}, ({temps[i]} := {codes[i].src}))" for i in range(2, len(codes))]
        return Code("(" + " and ".join(tests) + ")", BOOL)
    left, right = codes
    known, value = c.constant_of(nodes[1][0])
    if known:
        return _compare_constant(c, op, left, right, value)
    if left.kind == right.kind == NUM or (left.kind == right.kind == STR and op not in _ORDERING):
        return Code(f"({left.src} {python} {right.src})", BOOL)
    a, b = c.temp(), c.temp()
    native = "_NT" if op in _ORDERING else "_NATIVE"
    # The closure's test: one native type on both sides compares directly, anything else by the JS rules.
    return Code(f"({a} {python} {b} if type({a} := {left.src}) is type({b} := {right.src}) and type({a}) in {native} "
                f"else {pair}({a}, {b}))", BOOL)


def _compare_constant(c, op: str, left: Code, right: Code, value: Any) -> Code:
    # rules_logic._compare_constant: a value of the literal's own type (any number for a number) compares natively.
    pair, python, kind = _PAIR[op], _PYTHON_OP[op], type(value)
    number = kind in (int, float)
    if number and left.kind == NUM or kind is str and left.kind == STR and op not in _ORDERING:
        return Code(f"({left.src} {python} {right.src})", BOOL)
    if op in _ORDERING and not number:
        return Code(f"{pair}({left.src}, {right.src})", BOOL)
    temp = c.temp()
    if op in ("===", "!==") and not number:
        # Strict (in)equality with a string, boolean or null: any other type is simply unequal.
        same = f"(type({temp} := {left.src}) is {kind.__name__} and {temp} == {right.src})"
        if value is None or kind is bool:
            same = f"(({temp} := {left.src}) is {right.src})"
        return Code(same if op == "===" else f"(not {same})", BOOL)
    if number:
        test = f"type({temp} := {left.src}) in _NT"
    else:
        test = f"({temp} := {left.src}) is None" if value is None else f"type({temp} := {left.src}) is {kind.__name__}"
    otherwise = f"{pair}({temp}, {right.src})"
    if kind is str and not _numeric(value):
        otherwise = f"{'' if op == '==' else 'not '}_eq_text({temp}, {right.src})"
    return Code(f"({temp} {python} {right.src} if {test} else {otherwise})", BOOL)


def _numeric(text: str) -> bool:
    try:
        parse_number(text)
    except RuleError:
        return False
    return True


# --- reads ---------------------------------------------------------------------------------------------------------

def emit_var(c, op: str, arg: Any, at: str) -> Code | None:
    # The reads that rules_data compiles to read_field/read_path; computed paths and defaults stay closures.
    if type(arg) is dict and arg:
        return None
    parts = arg if type(arg) is list else [arg]
    path = parts[0] if parts else None
    if type(path) not in LITERAL_KEYS:
        return None
    steps = dotted(path)
    if not steps:
        return Code(c.data, ANY, True)
    known, default = c.constant_of(parts[1]) if len(parts) > 1 else (True, None)
    return c.read(steps, default) if known else None


def emit_val(c, op: str, arg: Any, at: str) -> Code | None:
    if op != "val" or not is_literal_path(arg):
        return None
    levels, steps = val_plan(arg)
    return c.read(steps, None) if levels == 0 and len(steps) == 1 else None


# --- iterators ------------------------------------------------------------------------------------------------------

def emit_iterator(c, op: str, arg: Any, at: str) -> Code | None:
    """map, filter, all, some and none as comprehensions over the elements, each body inlined (rules_scopes)."""
    nodes = c.listed(op, arg, at, minimum=1)
    if c.scopes or len(nodes) < 2:
        return None  # a val climbs to the iterator's frame, or no body: the closures
    source = c.expr(*nodes[0])
    items = c.temp()
    element, body = c.element(*nodes[1], op != "map")
    # The comprehension iterates a variable: Python refuses := in a comprehension's iterable, and sources have them.
    start = f"({items} := _items({source.src}, {op in ('map', 'filter')}))"
    if op == "map":
        return Code(f"({start}, [{body} for {element} in {items}])[-1]", ANY)
    if op == "filter":
        return Code(f"({start}, [{element} for {element} in {items} if {body}])[-1]", ANY)
    found = f"any({body} for {element} in {items})"
    if op == "all":
        found = f"(bool({items}) and all({body} for {element} in {items}))"  # an empty array is not all-true
    return Code(f"({start}, {'not ' if op == 'none' else ''}{found})[-1]", BOOL)


EMITTERS = {
    "!": emit_not, "!!": emit_not, "and": emit_and, "or": emit_and, "if": emit_if, "?:": emit_if, "??": emit_coalesce,
    **dict.fromkeys(_PYTHON_OP, emit_compare),
    "var": emit_var, "val": emit_val,
    **dict.fromkeys(["map", "filter", "all", "some", "none"], emit_iterator),
}
