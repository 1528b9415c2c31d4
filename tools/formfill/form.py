"""A form version compiled once for filling: its fields by level with their rules, choices, pattern and hints."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from survey_forms import rules
from survey_forms.definition import FormDefinition
from survey_forms.levels import Level, levels_of, rules_of
from survey_forms.validator import CompiledForm, compile_form
from survey_forms.validator import _safe as _validator_safe  # private there; see safe_rule
from tools.formfill import patterns
from tools.formfill.hints import FormHints, hints_for

Rule = Callable[[Any], Any]


def safe_rule(rule: Any) -> Rule:
    """The rule as the validator runs it: an evaluation error counts as no value (None), not as a crash."""
    return _validator_safe(rules.compile_rule(rule))


@dataclass(eq=False)
class FillField:
    name: str
    type: str
    spec: dict[str, Any]
    key: str  # "name" at the top, "repeat.name" inside a repeat: the key of its hints
    relevant: tuple[Rule, ...]  # the enclosing groups' relevance, then the field's own
    required: bool | Rule
    constraint: Rule | None
    choices: tuple[str, ...]
    pattern: re.Pattern[str] | None
    pattern_nodes: tuple[patterns.Node, ...] | None  # None: no pattern, or one tools.formfill.patterns cannot draw
    repeat: FillLevel | None


@dataclass(eq=False)
class FillLevel:
    name: str | None
    fields: list[FillField]
    by_name: dict[str, FillField] = field(init=False)

    def __post_init__(self) -> None:
        self.by_name = {f.name: f for f in self.fields}


class FillForm:
    def __init__(self, definition: FormDefinition):
        document = definition.document
        self.form_id = definition.form_id
        self.validator: CompiledForm = compile_form(definition)
        self.params = definition.parameters
        self.hints: FormHints = hints_for(definition.form_id)
        self._lists = {name: tuple(c["name"] for c in spec["choices"]) for name, spec in document.get("choice_lists", {}).items()}
        levels = levels_of(document)
        self.top = self._level(levels[None], levels)
        self.read = _names_read(levels)
        dates = [f for f in self.top.fields if f.type in ("date", "datetime")]
        dates.sort(key=lambda f: f.required is not True)
        self.anchor = dates[0].name if dates else None  # the form's main date: the visit's or the survey's

    def _level(self, level: Level, levels: dict[str | None, Level]) -> FillLevel:
        fields = []
        for item in level.fields:
            spec = item.spec
            if spec["type"] == "note":
                continue
            if spec["type"] == "repeat" and level.name is not None:
                raise NotImplementedError(f"{self.form_id}: a repeat inside a repeat ({spec['name']}) is not supported")
            relevant = [rule for rule, _ in item.group_relevance if rule is not None]
            if "relevant" in spec:
                relevant.append(spec["relevant"])
            required = spec.get("required", False)
            listed = spec.get("choices")
            choices = tuple(c["name"] for c in listed) if listed else self._lists.get(spec.get("choice_list"), ())
            pattern = spec.get("pattern")
            fields.append(FillField(
                name=spec["name"], type=spec["type"], spec=spec,
                key=spec["name"] if level.name is None else f"{level.name}.{spec['name']}",
                relevant=tuple(safe_rule(rule) for rule in relevant),
                required=required if type(required) is bool else safe_rule(required),
                constraint=safe_rule(spec["constraint"]) if "constraint" in spec else None,
                choices=choices,
                pattern=re.compile(pattern) if pattern else None,
                pattern_nodes=_pattern_nodes(pattern) if pattern else None,
                repeat=self._level(levels[spec["name"]], levels) if spec["type"] == "repeat" else None,
            ))
        return FillLevel(level.name, fields)

    def context(self, data: dict[str, Any]) -> dict[str, Any]:
        """The data as rules see it: the server's calculations done, with $params (and $root in rows)."""
        return self.validator.computed(data)

    @property
    def repeats(self) -> list[FillField]:
        return [f for f in self.top.fields if f.repeat is not None]


def _pattern_nodes(pattern: str) -> tuple[patterns.Node, ...] | None:
    try:
        return patterns.parse(pattern)
    except patterns.Unsupported:
        return None


def _names_read(levels: dict[str | None, Level]) -> frozenset[str]:
    """Every name some rule of the form reads, at any level, through $root or inside an iterator (conservative)."""
    names: set[str] = set()
    for level in levels.values():
        for item in [*level.fields, *level.groups]:
            for _, rule, _ in rules_of(item):
                for path in rules.referenced_vars(rule, include_iterator_scopes=True):
                    names.update(path.split("."))
    return frozenset(names)


@dataclass(frozen=True)
class _Version:
    """A definition keyed by its identity and content hash (FormDefinition holds dicts, so it cannot be hashed)."""

    key: tuple[str, int, str]
    definition: FormDefinition = field(compare=False)


@functools.lru_cache(maxsize=32)
def _compiled(version: _Version) -> FillForm:
    return FillForm(version.definition)


def fill_form(definition: FormDefinition) -> FillForm:
    """The form compiled for filling, once per version and content."""
    return _compiled(_Version((definition.form_id, definition.version, definition.sha256), definition))


def relevant(field: FillField, ctx: dict[str, Any]) -> bool:
    return all(rules.truthy(rule(ctx)) for rule in field.relevant)


def required(field: FillField, ctx: dict[str, Any]) -> bool:
    return field.required if type(field.required) is bool else rules.truthy(field.required(ctx))


def iter_fields(definition: FormDefinition) -> Iterator[tuple[str, dict[str, Any]]]:
    """(hint key, spec) of every value-holding field, top level first: for tests and the simulator."""
    form = fill_form(definition)
    for item in form.top.fields:
        yield item.key, item.spec
        if item.repeat is not None:
            for inner in item.repeat.fields:
                yield inner.key, inner.spec
