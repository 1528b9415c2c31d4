"""Which variables a JsonLogic rule reads, and in which scope (the form's level or a repeat's elements)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

ITERATORS = {"map", "filter", "reduce", "all", "some", "none"}
UNKNOWN = "?"


@dataclass(frozen=True)
class Read:
    path: str | None  # None when the var's name is itself computed (not allowed in forms)
    pointer: str  # JSON pointer inside the rule
    element_of: str | None  # None: the rule's own level; a repeat name: its elements; UNKNOWN: cannot tell
    in_reduce: bool = False  # elements are then read as current.<field>, plus accumulator


def reads(rule: Any, pointer: str = "", element_of: str | None = None, in_reduce: bool = False) -> Iterator[Read]:
    """Every var read by the rule, with the scope it is read in."""
    if isinstance(rule, list):
        for index, item in enumerate(rule):
            yield from reads(item, f"{pointer}/{index}", element_of, in_reduce)
        return
    if not isinstance(rule, dict) or len(rule) != 1:
        return
    (operator, args), = rule.items()
    here = f"{pointer}/{escape(operator)}"
    if operator == "var":
        name = args[0] if isinstance(args, list) and args else args
        literal = isinstance(name, str | int) and not isinstance(name, bool)
        yield Read(str(name) if literal else None, here, element_of, in_reduce)
        if isinstance(args, list) and len(args) > 1:
            yield from reads(args[1], f"{here}/1", element_of, in_reduce)
        return
    if operator in ITERATORS and isinstance(args, list) and args:
        yield from reads(args[0], f"{here}/0", element_of, in_reduce)
        inner = _element_scope(args[0], element_of)
        for index, item in enumerate(args[1:2], start=1):
            yield from reads(item, f"{here}/{index}", inner, operator == "reduce")
        for index, item in enumerate(args[2:], start=2):
            yield from reads(item, f"{here}/{index}", element_of, in_reduce)
        return
    yield from reads(args, here, element_of, in_reduce)


def _element_scope(collection: Any, element_of: str | None) -> str:
    """The repeat whose elements an iterator walks over, when the collection says it plainly."""
    if isinstance(collection, dict) and len(collection) == 1:
        (operator, args), = collection.items()
        if operator == "var" and element_of is None:
            name = args[0] if isinstance(args, list) and args else args
            return name if isinstance(name, str) and "." not in name else UNKNOWN
        if operator == "filter" and isinstance(args, list) and args:
            return _element_scope(args[0], element_of)
    return UNKNOWN


def escape(token: str) -> str:
    """A token escaped for a JSON pointer (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")
