"""Reads form definitions and checks them: the JSON Schema first, then their meaning."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from survey_forms import rules
from survey_forms.calculations import calculation_graph
from survey_forms.catalogue import COMPATIBLE, Catalogue, field_value_type, load_catalogue
from survey_forms.definition import FormDefinition
from survey_forms.levels import FieldAt, Level, levels_of, rules_of
from survey_forms.references import UNKNOWN, Read, escape, reads

DEFINITIONS_DIR = Path(__file__).with_name("definitions")
# The operators a form may use: the classic JsonLogic set every phone engine implements. The
# evaluator knows more (val, try, throw, exists, ??...), which not every device engine does.
FORM_OPERATORS = frozenset({
    "var", "missing", "missing_some", "if", "==", "===", "!=", "!==", "!", "!!", "or", "and", ">", ">=", "<", "<=",
    "max", "min", "+", "-", "*", "/", "%", "map", "filter", "reduce", "all", "some", "none", "merge", "in", "cat", "substr",
})
NO_VALUE = {"note", "group"}
SAVE_ENTITIES = {("household", None): "household", ("village", None): "village", ("household", "members"): "person"}


@dataclass(frozen=True)
class Problem:
    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


class FormDefinitionError(ValueError):
    """A definition that fails its checks; `problems` lists every one, each with its JSON pointer."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s)\n" + "\n".join(f"  {p}" for p in problems))


def load(path: Path, schema: Mapping[str, Any], catalogue: Catalogue | None = None) -> FormDefinition:
    """Reads and checks one definition file.

    Raises:
        FormDefinitionError: the file is not JSON, or breaks the schema or a rule of the format.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FormDefinitionError(str(path), [Problem("", f"cannot read the file as JSON: {error}")]) from error
    problems = check(document, schema, catalogue or load_catalogue())
    expected = f"{document.get('form_id')}/v{document.get('version')}.json"
    if not problems and not path.as_posix().endswith(expected):
        problems.append(Problem("", f"the file of this version must be definitions/{expected}"))
    if problems:
        raise FormDefinitionError(str(path), problems)
    return FormDefinition.from_document(document)


def load_all(schema: Mapping[str, Any], directory: Path = DEFINITIONS_DIR) -> list[FormDefinition]:
    """Every definition under `directory`, ordered by form and version.

    Raises:
        FormDefinitionError: for the first file that fails (its message lists all its problems).
    """
    catalogue = load_catalogue()
    return [load(path, schema, catalogue) for path in sorted(directory.glob("*/v*.json"))]


def check(document: Any, schema: Mapping[str, Any], catalogue: Catalogue) -> list[Problem]:
    """Every problem of a definition; the meaning is checked only once the shape is right."""
    shape = [
        Problem("".join(f"/{escape(str(p))}" for p in error.absolute_path), error.message)
        for error in Draft202012Validator(schema).iter_errors(document)
    ]
    if shape:
        return sorted(shape, key=lambda p: p.pointer)
    levels = levels_of(document)
    found = [
        *_duplicate_names(levels),
        *_choice_lists(document, levels),
        *_ranges(levels),
        *_rules(document, levels),
        *_save_targets(document, levels, catalogue),
        *_risk_flag_codes(document),
    ]
    if not found:
        found += _cycles(levels)
    return found


def _duplicate_names(levels: dict[str | None, Level]) -> Iterator[Problem]:
    for level in levels.values():
        seen: dict[str, str] = {}
        for item in [*level.groups, *level.fields]:
            name = item.spec["name"]
            if name in seen:
                yield Problem(f"{item.pointer}/name", f"the name '{name}' is used twice in this level (first at {seen[name]})")
            seen.setdefault(name, item.pointer)


def _choice_lists(document: dict[str, Any], levels: dict[str | None, Level]) -> Iterator[Problem]:
    lists = document.get("choice_lists", {})
    for name, spec in lists.items():
        yield from _duplicate_choices(spec["choices"], f"/choice_lists/{name}/choices")
    for level in levels.values():
        for item in level.fields:
            if "choice_list" in item.spec and item.spec["choice_list"] not in lists:
                yield Problem(f"{item.pointer}/choice_list", f"unknown choice list '{item.spec['choice_list']}'")
            if "choices" in item.spec:
                yield from _duplicate_choices(item.spec["choices"], f"{item.pointer}/choices")


def _duplicate_choices(choices: list[dict[str, Any]], pointer: str) -> Iterator[Problem]:
    names = [choice["name"] for choice in choices]
    for index, name in enumerate(names):
        if name in names[:index]:
            yield Problem(f"{pointer}/{index}/name", f"the choice '{name}' is listed twice")


def _ranges(levels: dict[str | None, Level]) -> Iterator[Problem]:
    for level in levels.values():
        for item in level.fields:
            spec = item.spec
            for low, high in (("min", "max"), ("min_count", "max_count")):
                if low in spec and high in spec and spec[low] > spec[high]:
                    yield Problem(f"{item.pointer}/{low}", f"{low} {spec[low]} is above {high} {spec[high]}")
            if "pattern" in spec:
                try:
                    re.compile(spec["pattern"])
                except re.error as error:
                    yield Problem(f"{item.pointer}/pattern", f"not a valid regular expression: {error}")


def _rules(document: dict[str, Any], levels: dict[str | None, Level]) -> Iterator[Problem]:
    parameters = set(document.get("parameters", {}))
    for level in levels.values():
        for item in [*level.fields, *level.groups]:
            for kind, rule, pointer in rules_of(item):
                # In a repeat's constraint, $value is the repeat's rows: iterators over it see its fields.
                value_of = item.spec["name"] if kind == "constraint" and item.spec["type"] == "repeat" else None
                yield from _rule(rule, pointer, level, levels, parameters, kind == "constraint", value_of)
    for index, flag in enumerate(document.get("rules", {}).get("risk_flags", [])):
        yield from _rule(flag["when"], f"/rules/risk_flags/{index}/when", levels[None], levels, parameters, False, None)


def _rule(rule: Any, pointer: str, level: Level, levels: dict[str | None, Level], parameters: set[str],
          allow_value: bool, value_of: str | None) -> Iterator[Problem]:
    try:
        rules.compile_rule(rule)
    except rules.RuleSyntaxError as error:
        yield Problem(pointer, f"not an allowed rule: {error}")
        return
    extra = rules.operators_used(rule) - FORM_OPERATORS
    if extra:
        yield Problem(pointer, f"operator(s) {', '.join(sorted(extra))} may not be used in forms (not every phone has them)")
        return
    for read in reads(rule):
        if read.element_of == "$value" and value_of is not None:
            read = replace(read, element_of=value_of)
        message = _unresolved(read, level, levels, parameters, allow_value)
        if message:
            yield Problem(pointer + read.pointer, message)


def _unresolved(read: Read, level: Level, levels: dict[str | None, Level], parameters: set[str],
                allow_value: bool) -> str | None:
    """Why a var cannot be resolved where it is read, or None when it can."""
    if read.path is None:
        return "a var's name must be written out, not computed"
    head, _, rest = read.path.partition(".")
    if read.element_of == UNKNOWN and not head.startswith("$"):
        return None
    if read.element_of is not None:
        if head.startswith("$"):
            # Inside an iterator the data is the element, so $root/$params would quietly read null.
            return f"'{read.path}' is not visible inside filter/map/reduce/all/some/none; make it a calculate field first"
        if read.in_reduce:
            if head == "accumulator":
                return None
            if head != "current":
                return f"inside reduce, read '{read.path}' as current.<field> or accumulator"
            head = rest.partition(".")[0]
        element_level = levels.get(read.element_of)
        if element_level is None:
            return f"'{read.element_of}' is not a repeat, so its elements have no fields"
        return None if head in _value_names(element_level) else f"no field '{head}' in the repeat '{read.element_of}'"
    if head == "$params":
        return None if rest in parameters else f"no parameter '{rest}' in this form's parameters"
    if head == "$value":
        return None if allow_value else "$value is only defined inside a constraint"
    if head == "$root":
        if level.name is None:
            return "$root is for rules inside a repeat; at the top level name the field directly"
        top = rest.partition(".")[0]
        return None if top in _value_names(levels[None]) else f"no top-level field '{top}'"
    if head in _value_names(level):
        return None
    where = "the top level" if level.name is None else f"the repeat '{level.name}'"
    return f"no field '{head}' in {where}"


def _value_names(level: Level) -> set[str]:
    return {item.spec["name"] for item in level.fields if item.spec["type"] not in NO_VALUE}


def _save_targets(document: dict[str, Any], levels: dict[str | None, Level], catalogue: Catalogue) -> Iterator[Problem]:
    for level in levels.values():
        entity = SAVE_ENTITIES.get((document["subject"], level.name))
        for item in level.fields:
            target = item.spec.get("save_to")
            if target is None:
                if item.spec.get("prefill"):
                    # Prefill sends the entity's stored value back to the device: without save_to there is none.
                    yield Problem(f"{item.pointer}/prefill", "prefill needs save_to: the value comes from that property")
                continue
            pointer = f"{item.pointer}/save_to"
            prop = catalogue.get(target)
            if entity is None or not target.startswith(f"{entity}."):
                yield Problem(pointer, f"a field here can save only to {entity or 'no entity'}.*, not {target}")
            elif prop is None:
                yield Problem(pointer, f"'{target}' is not in the entity catalogue (survey_forms/entities/)")
            elif prop.type not in COMPATIBLE.get(field_value_type(item.spec), set()):
                yield Problem(pointer, f"a {field_value_type(item.spec)} value cannot be saved to {target} ({prop.type})")


def _risk_flag_codes(document: dict[str, Any]) -> Iterator[Problem]:
    codes = [flag["code"] for flag in document.get("rules", {}).get("risk_flags", [])]
    for index, code in enumerate(codes):
        if code in codes[:index]:
            yield Problem(f"/rules/risk_flags/{index}/code", f"the risk flag '{code}' is defined twice")


def _cycles(levels: dict[str | None, Level]) -> Iterator[Problem]:
    graph = calculation_graph(levels)
    pointers = {(level.name, item.spec["name"]): item.pointer for level in levels.values() for item in level.fields}
    state: dict[tuple[str | None, str], int] = {}
    stack: list[tuple[str | None, str]] = []

    def visit(node: tuple[str | None, str]) -> list[tuple[str | None, str]] | None:
        state[node] = 1
        stack.append(node)
        for need in sorted(graph.get(node, ()), key=str):
            if state.get(need) == 1:
                return stack[stack.index(need):] + [need]
            if need not in state and (cycle := visit(need)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph, key=str):
        if node not in state and (cycle := visit(node)):
            path = " -> ".join(_label(n) for n in cycle)
            yield Problem(f"{pointers[cycle[0]]}/calculation", f"calculations depend on each other in a cycle: {path}")
            return


def _label(node: tuple[str | None, str]) -> str:
    return node[1] if node[0] is None else f"{node[0]}[].{node[1]}"


__all__ = ["FieldAt", "FormDefinition", "FormDefinitionError", "Problem", "check", "load", "load_all"]
