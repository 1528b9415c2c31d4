"""Generates the validator's walk of each level, and its calculations, as Python functions exec'd once per form version."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from survey_forms import generated
from survey_forms.checks import Check, answered, encodable
from survey_forms.messages import message
from survey_forms.rules import operations, truthy

if TYPE_CHECKING:
    from survey_forms.validator import Calculation, CompiledField, CompiledLevel

# How it works. The validator's interpreter (CompiledForm._check_level) stays the reference. A level's function walks
# the level's fields in form order with sent.get(name) and tries a shortcut on each value: an expression over `v`
# that is true only for an answered value the field's Check accepts (accept_source; the tests hold it to that). An
# accepted value of a relevant field is fine once its constraint holds, and a repeat's rows are walked by the
# repeat's own function. Everything else (no value, a value that does not apply, any value the shortcut leaves out)
# goes to the validator's report(), the interpreter's code for one field, so every problem's code, details and
# message come from the same place as before. Each distinct relevance rule of a level is worked out at most once per
# row, and only when needed, into a local (r0, r1, ...).
#
# Nothing of the form is pasted into the source but names, as repr(); every other value is a constant in the
# function's namespace, as in rules/codegen.py. A rule's evaluation error counts as no value, as validator._safe has
# it, but the try/except is in the generated code: no wrapper frame runs per rule.
LevelCheck = Callable[[dict, dict, str, list], None]  # (context, sent, prefix, errors)
_TRUTHY = "t is True or (t is not False and t is not None and _truthy(t))"  # truthy(t), its usual answers inline


def accept_source(spec: dict[str, Any], choices: frozenset[str], check: Check | None,
                  constant: Callable[[Any], str]) -> str:
    """An expression over `v`, true only for an answered value that the field's Check accepts; "False" if none."""
    kind = spec["type"]
    if kind == "text":
        parts = ["type(v) is str", "v", "not v.isspace()", "'\\x00' not in v", f"(v.isascii() or {constant(encodable)}(v))"]
        if spec.get("max_length") is not None:
            parts.append(f"len(v) <= {constant(spec['max_length'])}")
        if "pattern" in spec:
            parts.append(f"{constant(re.compile(spec['pattern']).fullmatch)}(v) is not None")
        return " and ".join(parts)
    if kind == "integer":
        return " and ".join(["type(v) is int", *_bounds(spec, constant)])
    if kind == "decimal":
        # v - v is 0.0 for a finite float only: inf - inf and NaN - NaN are NaN.
        return " and ".join(["(type(v) is float and v - v == 0.0 or type(v) is int)",
                             *_bounds(spec, constant)])
    if kind == "select_one":
        # A blank choice name would be no answer, so it is left to the Check.
        return f"type(v) is str and v in {constant(frozenset(c for c in choices if answered(c)))}"
    if kind == "select_multiple":
        # The items' types first: set() of a list holding a list would raise.
        return (f"type(v) is list and v and {{*map(type, v)}} == {constant({str})} and len(set(v)) == len(v) "
                f"and {constant(choices)}.issuperset(v)")
    if kind == "date":
        return f"type(v) is str and len(v) == 10 and {constant(_plain_date)}(v)"
    if kind in ("photo", "audio"):
        return ("type(v) is str and len(v) <= 255 and v.strip('.') != '' and not v.isspace() and '/' not in v "
                "and '\\\\' not in v and '\\x00' not in v")
    if kind in ("datetime", "geopoint") and check is not None:
        # Rare fields: the Check itself. A value it accepts is never blank.
        return f"type(v) is {'dict' if kind == 'geopoint' else 'str'} and {constant(check)}(v) is None"
    return "False"


def _plain_date(text: str) -> bool:
    """checks' date test of a ten-character text, without its regular expression (the slower part)."""
    if text[4] != "-" or text[7] != "-" or not text.isascii():
        return False
    try:
        date.fromisoformat(text)  # which, for an ASCII text with these dashes, takes only digits around them
    except ValueError:
        return False
    return True


def _bounds(spec: dict[str, Any], constant: Callable[[Any], str]) -> list[str]:
    low, high = spec.get("min"), spec.get("max")
    return ([] if low is None else [f"{constant(low)} <= v"]) + ([] if high is None else [f"v <= {constant(high)}"])


def accept_function(spec: dict[str, Any], choices: frozenset[str], check: Check | None) -> Callable[[Any], bool]:
    """accept_source's expression as a function of the value, for tests."""
    out = _Source({})
    expression = accept_source(spec, choices, check, out.constant)
    return out.build(f"def accept(v):\n    return bool({expression})\n", "accept", f"<accept {spec['type']}>")


class _Source:
    """The lines and the namespace of one generated function."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.lines: list[str] = []
        self.namespace = dict(namespace)

    def constant(self, value: Any) -> str:
        name = f"_k{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def add(self, depth: int, *lines: str) -> None:
        self.lines.extend("    " * depth + line for line in lines)

    def build(self, source: str, name: str, filename: str) -> Callable:
        generated.run(source, filename.strip("<>"), self.namespace)  # our own source, see the note at the top
        return self.namespace[name]


class LevelGenerator:
    """Writes the function of a level; a repeat's is written with its parent's and is one of its constants."""

    def __init__(self, form_id: str, report: Callable, error: type, rule_errors: tuple[type[BaseException], ...]) -> None:
        self.form_id = form_id
        self.shared = {"_report": report, "_error": error, "_rule_errors": rule_errors, "_truthy": truthy,
                       "_unknown": _unknown_fields(error, message("unknown_field", {}))}

    def level_check(self, level: CompiledLevel) -> LevelCheck:
        """check(context, sent, prefix, errors): the level's problems in one row (or the top), in form order."""
        out = _Source(self.shared)
        rules = [out.constant(rule.__wrapped__) for rule in level.relevance]
        worked_out: set[int] = set()  # rules that the code so far has surely worked out
        for field in level.fields:
            self._field(out, rules, worked_out, field)
        names = out.constant(frozenset(level.by_name))
        out.add(1, f"if not {names}.issuperset(sent):", f"    _unknown({names}, sent, prefix, errors)")
        head = ["def check(ctx, sent, prefix, errors):", "    get = sent.get"]
        if rules:
            head.append("    " + " = ".join(f"r{index}" for index in range(len(rules))) + " = None")
        where = self.form_id if level.name is None else f"{self.form_id}/{level.name}"
        return out.build("\n".join([*head, *out.lines, ""]), "check", f"<level {where}>")

    def _field(self, out: _Source, rules: list[str], worked_out: set[int], field: CompiledField) -> None:
        name = repr(field.name)
        required = field.required is not False and not field.is_calculated
        out.add(1, f"v = get({name})")
        depth = 1
        if not required:  # then no value is no problem
            out.add(1, "if v is not None:")
            depth = 2
        if field.relevant:
            self._relevance(out, depth, [(index, rules[index]) for index in field.relevant], worked_out)
        if field.repeat is not None:
            accept = _rows_accepted(field.spec, out.constant)
        elif field.is_calculated and field.spec.get("value_type") == "boolean":
            accept = f"(v is True or v is False) and v is ctx.get({name})"
        elif field.is_calculated:
            accept = f"type(v) is type(e := ctx.get({name})) and v == e"  # same_value's answer too
        else:
            accept = accept_source(field.spec, field.choices, field.check, out.constant)
        out.add(depth, f"if {'rel and ' if field.relevant else ''}{accept}:")
        self._accepted(out, depth + 1, field)
        out.add(depth, "elif rel or v is not None:" if field.relevant and required else "else:")
        out.add(depth + 1, f"_report({out.constant(field)}, v, {'rel' if field.relevant else 'True'}, ctx, prefix, errors)")

    @staticmethod
    def _relevance(out: _Source, depth: int, rules: list[tuple[int, str]], worked_out: set[int]) -> None:
        """rel = whether every rule holds, outermost group first, each worked out once per row into r<index>."""
        for step, (index, rule) in enumerate(rules):
            if index not in worked_out:
                out.add(depth, f"if r{index} is None:", "    try:", f"        t = {rule}(ctx)",
                        f"        r{index} = {_TRUTHY}", "    except _rule_errors:", f"        r{index} = False")
                if depth == 1:  # code at depth 1 always runs
                    worked_out.add(index)
            out.add(depth, f"rel = r{index}")
            if step < len(rules) - 1:
                out.add(depth, "if rel:")
                depth += 1

    def _accepted(self, out: _Source, depth: int, field: CompiledField) -> None:
        """A relevant field's accepted answer: what is left is its constraint, and a repeat's rows."""
        name = repr(field.name)
        lines = []
        if field.constraint is not None and not field.is_calculated:
            # A repeat's constraint sees its rows with the server's calculations done, as in _check_value.
            value = f"ctx[{name}]" if field.repeat is not None else "v"
            text = out.constant(message("constraint", {}, field.constraint_message))
            lines = [f"ctx['$value'] = {value}", "try:", f"    t = {out.constant(field.constraint.__wrapped__)}(ctx)",
                     f"    ok = {_TRUTHY}", "except _rule_errors:", "    ok = False",
                     "if not ok:", f"    errors.append(_error(prefix + {name}, 'constraint', {text}))"]
        if field.repeat is not None:
            rows = out.constant(self.level_check(field.repeat))
            lines = [*lines, f"rows = ctx[{name}]", "for i, row in enumerate(v):",
                     f"    {rows}(rows[i], row, prefix + {field.name + '['!r} + str(i) + '].', errors)"]
        out.add(depth, *(lines or ["pass"]))


def _rows_accepted(spec: dict[str, Any], constant: Callable[[Any], str]) -> str:
    """validator._repeat_shape's acceptance of a non-empty list (an empty one is no answer)."""
    parts = ["type(v) is list", "v", f"{{*map(type, v)}} == {constant({dict})}"]
    if spec.get("min_count") is not None:
        parts.append(f"{constant(spec['min_count'])} <= len(v)")
    if spec.get("max_count") is not None:
        parts.append(f"len(v) <= {constant(spec['max_count'])}")
    return " and ".join(parts)


def _unknown_fields(error: type, text: str) -> Callable[[frozenset, dict, str, list], None]:
    def unknown(names: frozenset, sent: dict, prefix: str, errors: list) -> None:
        for key in sent:
            if key not in names:
                errors.append(error(prefix + key, "unknown_field", text))

    return unknown


def computed_function(form_id: str, parameters: dict[str, Any], repeats: list[str],
                      calculations: list[Calculation], rule_errors: tuple[type[BaseException], ...]) -> Callable[[dict], dict]:
    """CompiledForm.computed as one function, the calculations in their order; `params` replaces the form's own
    parameters for one submission (the yearly lines)."""
    out = _Source({"_rule_errors": rule_errors, "_truthy": truthy})
    params = "params"
    out.add(1, f"top = {{**data, '$params': {params}}}")
    for name in repeats:
        # Rows are copied: the calculations write into them, and the caller's data stays as it was.
        out.add(1, f"rows = data.get({name!r})", "if type(rows) is list:",
                f"    top[{name!r}] = [{{**row, '$root': top, '$params': {params}}} if type(row) is dict else row "
                "for row in rows]")
    # What $root may lead from a row to other rows by: a repeat, or a calculation (it may give rows, as filter does).
    holders = {*repeats, *(calculation.name for calculation in calculations if calculation.level is None)}
    for level, group in _loops(calculations, holders):
        depth, data = 1, "top"
        if level is not None:
            # A repeat sent as something else than a list (members: 5) has no rows to calculate in.
            out.add(1, f"for row in (r if type(r := top.get({level!r})) is list else ()):", "    if type(row) is dict:")
            depth, data = 3, "row"
        for calculation in group:
            value = "t if t is None or t is True or t is False else _truthy(t)" if calculation.boolean else "t"
            out.add(depth, "try:", f"    t = {out.constant(calculation.compiled)}({data})", "except _rule_errors:",
                    "    t = None", f"{data}[{calculation.name!r}] = {value}")
    out.add(1, "return top")
    header = f"def computed(data, params={out.constant(parameters)}):"
    return out.build("\n".join([header, *out.lines, ""]), "computed", f"<calculations {form_id}>")


def _loops(calculations: list[Calculation], holders: set[str]) -> list[tuple[str | None, list[Calculation]]]:
    """The calculations in order, grouped where one loop over a repeat's rows gives what one loop each would: a run
    of calculations of that repeat, none of which can read another row (in any row, the earlier are done first)."""
    loops: list[tuple[str | None, list[Calculation]]] = []
    shared = False  # whether the last loop may take more calculations
    for calculation in calculations:
        level = calculation.level
        own_row = level is not None and _reads_own_row_only(calculation.logic, holders)
        if shared and own_row and loops[-1][0] == level:
            loops[-1][1].append(calculation)
        else:
            loops.append((level, [calculation]))
            shared = own_row
    return loops


def _reads_own_row_only(rule: Any, holders: set[str]) -> bool:
    """Whether a rule of a repeat's row surely reads nothing of the other rows: every var names a field, of the row
    or through $root of the top but none of holders; no val, exists, missing or computed name (conservative)."""
    for op, arg in operations(rule):
        if op in ("val", "exists", "missing", "missing_some"):
            return False
        if op == "var":
            path = arg[0] if type(arg) is list and arg else arg
            if type(path) is not str or path == "" or path.startswith("$root") and (
                    path.partition(".")[2].partition(".")[0] in holders or not path.startswith("$root.")):
                return False
    return True
