"""The submission validator: compiled once per form version, then validate(data) lists every problem."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

from survey_forms import level_codegen, rules
from survey_forms.calculations import calculation_order
from survey_forms.checks import Check, answered, same_value, value_check
from survey_forms.definition import FormDefinition
from survey_forms.levels import FieldAt, Level, levels_of
from survey_forms.messages import message
from survey_forms.risk_tiers import NO_FLAGS, RaisedFlags, RiskTier, tier_of

Rule = Callable[[Any], Any]
# What a rule may raise on some data: the validator then takes the rule's value to be None.
RULE_ERRORS = (rules.RuleError, TypeError, ValueError, ZeroDivisionError, OverflowError)


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


def _safe(rule: Rule) -> Rule:
    """A rule whose evaluation error counts as 'no value' (None) rather than a crash."""

    def run(data: Any) -> Any:
        try:
            return rule(data)
        except RULE_ERRORS:
            return None

    run.__wrapped__ = rule  # type: ignore[attr-defined]  # generated code calls the rule itself, in its own try
    return run


class Calculation(NamedTuple):
    level: str | None  # None for the top level, else the repeat's name
    name: str
    run: Rule  # as the interpreter runs it: an error gives None, a boolean calculation a boolean
    compiled: Rule  # rules.compile_rule's function alone
    boolean: bool
    logic: Any  # the JsonLogic


@dataclass(frozen=True, slots=True)
class CompiledField:
    name: str
    spec: dict[str, Any]
    choices: frozenset[str]
    relevant: tuple[int, ...]  # indices into the level's distinct relevance rules, outermost group first
    required: bool | Rule
    check: Check | None
    constraint: Rule | None
    constraint_message: dict[str, str] | None
    is_calculated: bool
    repeat: CompiledLevel | None
    plain: bool  # only a value check: not calculated, no constraint, not a repeat


@dataclass(frozen=True, slots=True)
class CompiledLevel:
    name: str | None
    fields: tuple[CompiledField, ...]
    by_name: dict[str, CompiledField]
    required: tuple[CompiledField, ...]  # required always or by a rule; calculated fields never
    # Each distinct relevance rule of the level once: a group's rule serves all its fields.
    relevance: tuple[Rule, ...]


class Irrelevant(NamedTuple):
    """The fields a valid submission's own answers make irrelevant: by name at the top, and per row of each repeat.
    Reconciliation clears what they save to (domain: irrelevant means empty, not "unchanged")."""

    top: frozenset[str]
    rows: dict[str, list[frozenset[str]]]  # repeat name -> one set per row, in the order sent


class Assessment(NamedTuple):
    errors: list[FieldError]
    flags: RaisedFlags  # none when there are errors
    irrelevant: Irrelevant | None  # None when there are errors


class CompiledForm:
    """One form version, compiled: rules become closures, checks are chosen per field once.

    By default the walk of each level and the calculations then become generated Python functions (level_codegen),
    which find the same problems, listed in form order with unknown fields last in their level. generated=False keeps
    the interpreter alone, the reference they are tested against: its problems come in the order the values were
    sent, with the missing required ones last.
    """

    def __init__(self, definition: FormDefinition, generated: bool = True):
        document = definition.document
        self.definition = definition
        self.parameters = definition.parameters
        self._lists = {name: frozenset(c["name"] for c in spec["choices"])
                       for name, spec in document.get("choice_lists", {}).items()}
        levels = levels_of(document)
        self._top = self._compile_level(levels[None], levels)
        self._calculations = self._compile_calculations(levels)
        self._risk_flags = [(flag["code"], tier_of(flag), _safe(rules.compile_rule(flag["when"])))
                            for flag in document.get("rules", {}).get("risk_flags", [])]
        self._compute: Callable[..., dict[str, Any]] = self._computed_by_interpreter
        self._check_top: level_codegen.LevelCheck = partial(self._check_level, self._top)
        if generated:
            self._generate()

    def validate(self, data: Any) -> list[FieldError]:
        """Every problem of a submission's data, with its path; an empty list when it is valid."""
        return self.assess(data).errors

    def assess(self, data: Any, parameters: Mapping[str, Any] | None = None) -> Assessment:
        """validate's problems; when there are none, risk_flags' and irrelevant's: the calculations done once.

        parameters: values to put over the form's own for this submission (the yearly lines of its area and year).
        """
        if type(data) is not dict:
            return Assessment([FieldError("", "type", message("type", {"expected": "object"}))], NO_FLAGS, None)
        errors: list[FieldError] = []
        top = self._compute(data, {**self.parameters, **parameters}) if parameters else self._compute(data)
        self._check_top(top, data, "", errors)
        if errors:
            return Assessment(errors, NO_FLAGS, None)
        return Assessment(errors, self._flags_of(top), self._irrelevant_of(top))

    def irrelevant(self, data: dict[str, Any]) -> Irrelevant:
        """The fields valid data makes irrelevant, over the server's own calculations."""
        return self._irrelevant_of(self._compute(data))

    def _irrelevant_of(self, top: dict[str, Any]) -> Irrelevant:
        rows = {}
        for field in self._top.fields:
            if field.repeat is not None:
                values = top.get(field.name)
                rows[field.name] = [self._irrelevant_in(field.repeat, row) if type(row) is dict else frozenset()
                                    for row in (values if type(values) is list else ())]
        return Irrelevant(self._irrelevant_in(self._top, top), rows)

    def _irrelevant_in(self, level: CompiledLevel, context: dict[str, Any]) -> frozenset[str]:
        known: list[bool | None] = [None] * len(level.relevance)
        return frozenset(field.name for field in level.fields
                         if field.relevant and not self._relevant(level, field, context, known))

    def risk_flags(self, data: dict[str, Any]) -> RaisedFlags:
        """The codes of the form's risk flags that hold for valid data, over the server's own calculations, by tier."""
        return self._flags_of(self._compute(data))

    def _flags_of(self, top: dict[str, Any]) -> RaisedFlags:
        held = [(code, tier) for code, tier, when in self._risk_flags if rules.truthy(when(top))]
        return RaisedFlags([code for code, tier in held if tier is RiskTier.case],
                           [code for code, tier in held if tier is RiskTier.watch])

    def computed(self, data: dict[str, Any]) -> dict[str, Any]:
        """The data with every calculation done by the server, in dependency order."""
        return self._compute(data)

    def _generate(self) -> None:
        form_id = self.definition.form_id
        generator = level_codegen.LevelGenerator(form_id, self._report, FieldError, RULE_ERRORS)
        self._check_top = generator.level_check(self._top)
        repeats = [level.name for level in self._repeats_of(self._top)]
        self._compute = level_codegen.computed_function(form_id, self.parameters, repeats, self._calculations, RULE_ERRORS)

    def _computed_by_interpreter(self, data: dict[str, Any], params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        params = self.parameters if params is None else params
        top: dict[str, Any] = {**data, "$params": params}
        for repeat in self._repeats_of(self._top):
            rows = data.get(repeat.name)
            if type(rows) is list:
                top[repeat.name] = [{**row, "$root": top, "$params": params} if type(row) is dict else row
                                    for row in rows]
        for level_name, name, rule, *_ in self._calculations:
            if level_name is None:
                top[name] = rule(top)
                continue
            rows = top.get(level_name)
            for row in rows if type(rows) is list else ():  # a repeat sent as, say, 5 has no rows
                if type(row) is dict:
                    row[name] = rule(row)
        return top

    def _check_level(self, level: CompiledLevel, context: dict[str, Any], sent: dict[str, Any], prefix: str,
                     errors: list[FieldError]) -> None:
        # Only what was sent and what is required can have a problem; relevance is worked out
        # where it matters, and each distinct rule at most once per row.
        relevance: list[bool | None] = [None] * len(level.relevance)
        rules_of_level = level.relevance
        find = level.by_name.get
        for key, value in sent.items():
            field = find(key)
            if field is None:
                errors.append(FieldError(prefix + key, "unknown_field", message("unknown_field", {})))
                continue
            # Inlined answered(): this loop runs for every value of every submission.
            if value is None or value == [] or (type(value) is str and (not value or value.isspace())):
                continue
            relevant = True
            for index in field.relevant:
                known = relevance[index]
                if known is None:
                    known = relevance[index] = rules.truthy(rules_of_level[index](context))
                if not known:
                    relevant = False
                    break
            if not relevant:
                errors.append(FieldError(prefix + key, "not_relevant", message("not_relevant", {})))
            elif field.plain:
                # The common case, kept short: a type/choice/range check and nothing else.
                problem = field.check(value)
                if problem is not None:
                    errors.append(FieldError(prefix + key, problem[0], message(problem[0], problem[1])))
            else:
                self._check_value(field, value, context, prefix, errors)
        for field in level.required:
            if not answered(sent.get(field.name)) and (not field.relevant or self._relevant(level, field, context, relevance)):
                if field.required is True or rules.truthy(field.required(context)):
                    errors.append(FieldError(prefix + field.name, "required", message("required", {})))

    def _report(self, field: CompiledField, value: Any, relevant: bool, context: dict[str, Any], prefix: str,
                errors: list[FieldError]) -> None:
        """The interpreter's verdict on one value of a field whose relevance is known: where generated code hands over."""
        if not answered(value):
            if relevant and field.required is not False and not field.is_calculated and (
                    field.required is True or rules.truthy(field.required(context))):
                errors.append(FieldError(prefix + field.name, "required", message("required", {})))
        elif not relevant:
            errors.append(FieldError(prefix + field.name, "not_relevant", message("not_relevant", {})))
        elif field.plain:
            # As in _check_level: a field without a constraint never shows its constraint_message.
            problem = field.check(value)
            if problem is not None:
                errors.append(FieldError(prefix + field.name, problem[0], message(problem[0], problem[1])))
        else:
            self._check_value(field, value, context, prefix, errors)

    @staticmethod
    def _relevant(level: CompiledLevel, field: CompiledField, context: dict[str, Any], known: list[bool | None]) -> bool:
        for index in field.relevant:
            result = known[index]
            if result is None:
                result = known[index] = rules.truthy(level.relevance[index](context))
            if not result:
                return False
        return True

    def _check_value(self, field: CompiledField, value: Any, context: dict[str, Any], prefix: str,
                     errors: list[FieldError]) -> None:
        path = prefix + field.name
        if field.is_calculated:
            expected = context.get(field.name)
            if expected is not None and not same_value(value, expected):
                details = {"expected": expected}
                errors.append(FieldError(path, "calculation_mismatch", message("calculation_mismatch", details)))
            return
        problem = field.check(value) if field.check else None
        if problem is None and field.constraint is not None:
            # A repeat's constraint sees its rows with the server's calculations done.
            context["$value"] = context[field.name] if field.repeat is not None else value
            problem = None if rules.truthy(field.constraint(context)) else ("constraint", {})
        if problem is not None:
            code, details = problem
            errors.append(FieldError(path, code, message(code, details, field.constraint_message)))
        if field.repeat is not None and (problem is None or problem[0] == "constraint"):
            for index, (row, row_sent) in enumerate(zip(context[field.name], value, strict=True)):
                self._check_level(field.repeat, row, row_sent, f"{path}[{index}].", errors)

    def _compile_level(self, level: Level, levels: dict[str | None, Level]) -> CompiledLevel:
        table: dict[str, int] = {}
        rules_in_order: list[Rule] = []

        def index_of(rule: Any) -> int:
            key = json.dumps(rule, sort_keys=True)
            if key not in table:
                table[key] = len(rules_in_order)
                rules_in_order.append(_safe(rules.compile_rule(rule)))
            return table[key]

        fields = []
        for item in level.fields:
            if item.spec["type"] == "note":
                continue
            conditions = [rule for rule, _ in item.group_relevance if rule is not None]
            if "relevant" in item.spec:
                conditions.append(item.spec["relevant"])
            fields.append(self._compile_field(item, levels, tuple(index_of(rule) for rule in conditions)))
        required = tuple(f for f in fields if f.required is not False and not f.is_calculated)
        return CompiledLevel(level.name, tuple(fields), {f.name: f for f in fields}, required, tuple(rules_in_order))

    def _compile_field(self, item: FieldAt, levels: dict[str | None, Level], relevant: tuple[int, ...]) -> CompiledField:
        spec = item.spec
        required = spec.get("required", False)
        if "choices" in spec:
            choices = frozenset(c["name"] for c in spec["choices"])
        else:
            choices = self._lists.get(spec.get("choice_list"), frozenset())
        is_repeat = spec["type"] == "repeat"
        check = _repeat_shape(spec.get("min_count"), spec.get("max_count")) if is_repeat else value_check(spec, choices)
        return CompiledField(
            name=spec["name"],
            spec=spec,
            choices=choices,
            relevant=relevant,
            required=required if type(required) is bool else _safe(rules.compile_rule(required)),
            check=check,
            constraint=_safe(rules.compile_rule(spec["constraint"])) if "constraint" in spec else None,
            constraint_message=spec.get("constraint_message"),
            is_calculated=spec["type"] == "calculate",
            repeat=self._compile_level(levels[spec["name"]], levels) if is_repeat else None,
            plain=check is not None and "constraint" not in spec and spec["type"] != "calculate" and not is_repeat,
        )

    def _compile_calculations(self, levels: dict[str | None, Level]) -> list[Calculation]:
        specs = {(level.name, item.spec["name"]): item.spec for level in levels.values() for item in level.fields}
        compiled = []
        for node in calculation_order(levels):
            spec = specs[node]
            rule = rules.compile_rule(spec["calculation"])
            boolean = spec["value_type"] == "boolean"
            compiled.append(Calculation(node[0], node[1], _typed(_safe(rule), boolean), rule, boolean, spec["calculation"]))
        return compiled

    @staticmethod
    def _repeats_of(level: CompiledLevel) -> list[CompiledLevel]:
        return [field.repeat for field in level.fields if field.repeat is not None]


def _repeat_shape(low: int | None, high: int | None) -> Check:
    def check(value: Any) -> tuple[str, dict[str, Any]] | None:
        if type(value) is not list or any(type(row) is not dict for row in value):
            return "type", {"expected": "list of objects"}
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            return "out_of_range", {"min": low, "max": high}
        return None

    return check


def _typed(rule: Rule, boolean: bool) -> Rule:
    """A calculation whose value has the declared type (JsonLogic's `and` returns an operand, not a bool)."""
    if not boolean:
        return rule
    return lambda data: None if (value := rule(data)) is None else rules.truthy(value)


def compile_form(definition: FormDefinition, generated: bool = True) -> CompiledForm:
    return CompiledForm(definition, generated)
