"""Valid submissions for any survey form definition, drawn from a seeded random.Random, and their mutations.

`fill(definition, rng)` walks the form's fields in order and draws a plausible value for each relevant one (by
type, by name, within min/max, matching `pattern`, and checked against the field's `constraint` as it is drawn),
then lets the server compute the calculations, drops what is no longer relevant, fills what became relevant, and
goes round again until nothing changes. A value that still breaks a rule once the rest is known is drawn again.
Cross-field rules that random draws cannot hit (the household size, the one head, the householder's name) and
realistic households come from the per-form hints in tools/formfill_hints.py. The same seed gives the same
submission; `today` (a fixed date by default) anchors the dates.

`mutations(definition, data, rng)` breaks a valid submission in one place per kind (MUTATION_KINDS) and says which
problem the validator must report, at which path.
"""

from __future__ import annotations

import math
import random
import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from re import _parser as sre_parse  # the stdlib's own regex parser, to draw strings that match a `pattern`
from typing import Any

from survey_forms import rules
from survey_forms.definition import FormDefinition
from survey_forms.levels import Level, levels_of, rules_of
from survey_forms.validator import CompiledForm, compile_form
from tools import formfill_hints as hints
from tools.formfill_hints import DEFER, NO_HINTS, OMIT, SKIP, FormHints

__all__ = ["MUTATION_KINDS", "REFERENCE_DATE", "FillError", "Mutation", "fill", "iter_fields", "mutate", "mutations"]

REFERENCE_DATE = date(2026, 11, 20)  # "today" unless the caller says otherwise, so a seed always gives the same data
MUTATION_KINDS = ("drop_required", "answer_irrelevant", "break_constraint", "wrong_type", "unknown_choice",
                  "wrong_calculation", "unknown_field")
MAX_PASSES = 60  # walks over the form; households settle in four or five
DEFER_PASSES = 4  # a hint may wait this many passes for the fields it needs
DRAWS = 12  # random draws of a value before trying every candidate
REDRAWS_PER_FIELD = 8  # times the repair may throw a value away and draw it again
OPTIONAL_SHARE = 0.75  # share of optional fields (without a hint) that get a value
HOUSEHOLD_SIZES = (7, 15, 21, 25, 18, 9, 5)  # weights of 1..7 members, mean about 3.8
VALIDATOR_ERRORS = (rules.RuleError, TypeError, ValueError, ZeroDivisionError, OverflowError)
_MISSING = object()
_DELETE = object()

Rule = Callable[[Any], Any]


class FillError(RuntimeError):
    """No valid submission came out of the walk (a form that cannot be satisfied, or overrides that break it)."""

    def __init__(self, form_id: str, errors: list[Any]):
        self.errors = errors
        listed = "; ".join(f"{e.field}: {e.code}" for e in errors[:10])
        super().__init__(f"{form_id}: no valid submission after {MAX_PASSES} passes ({listed})")


@dataclass(frozen=True)
class Mutation:
    """A submission broken in one place: the validator must report `expected_code` at `path`.

    `isolated` is true when no rule of the form reads the changed value, so that problem is the only one.
    `data` shares its unchanged parts with the submission it was made from.
    """

    kind: str
    path: str
    expected_code: str
    data: dict[str, Any]
    isolated: bool = False


# --- the form, compiled once for filling ---------------------------------------------------------------------


def _safe(rule: Any) -> Rule:
    compiled = rules.compile_rule(rule)

    def run(data: Any) -> Any:
        try:
            return compiled(data)
        except VALIDATOR_ERRORS:
            return None

    return run


@dataclass(eq=False)
class _Field:
    name: str
    type: str
    spec: dict[str, Any]
    key: str  # "name" at the top, "repeat.name" inside a repeat: the key of its hints
    relevant: tuple[Rule, ...]
    required: bool | Rule
    constraint: Rule | None
    choices: tuple[str, ...]
    pattern: re.Pattern[str] | None
    pattern_tree: Any
    repeat: _Level | None


@dataclass(eq=False)
class _Level:
    name: str | None
    fields: list[_Field]
    by_name: dict[str, _Field]


class _Form:
    def __init__(self, definition: FormDefinition):
        document = definition.document
        self.form_id = definition.form_id
        self.validator: CompiledForm = compile_form(definition)
        self.params = definition.parameters
        self.hints: FormHints = hints.HINTS.get(definition.form_id, NO_HINTS)
        self._lists = {name: tuple(c["name"] for c in spec["choices"]) for name, spec in document.get("choice_lists", {}).items()}
        levels = levels_of(document)
        self.top = self._level(levels[None], levels)
        self.read = _names_read(levels)
        dates = [f for f in self.top.fields if f.type in ("date", "datetime")]
        dates.sort(key=lambda f: f.required is not True)
        self.anchor = dates[0].name if dates else None

    def _level(self, level: Level, levels: dict[str | None, Level]) -> _Level:
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
            fields.append(_Field(
                name=spec["name"], type=spec["type"], spec=spec,
                key=spec["name"] if level.name is None else f"{level.name}.{spec['name']}",
                relevant=tuple(_safe(rule) for rule in relevant),
                required=required if type(required) is bool else _safe(required),
                constraint=_safe(spec["constraint"]) if "constraint" in spec else None,
                choices=choices,
                pattern=re.compile(pattern) if pattern else None,
                pattern_tree=sre_parse.parse(pattern) if pattern else None,
                repeat=self._level(levels[spec["name"]], levels) if spec["type"] == "repeat" else None,
            ))
        return _Level(level.name, fields, {f.name: f for f in fields})

    def context(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.validator.computed(data)

    @property
    def repeats(self) -> list[_Field]:
        return [f for f in self.top.fields if f.repeat is not None]


def _names_read(levels: dict[str | None, Level]) -> frozenset[str]:
    """Every name some rule of the form reads, at any level, through $root or inside an iterator (conservative)."""
    names: set[str] = set()
    for level in levels.values():
        for item in [*level.fields, *level.groups]:
            for _, rule, _ in rules_of(item):
                for path in rules.referenced_vars(rule, include_iterator_scopes=True):
                    names.update(path.split("."))
    return frozenset(names)


_FORMS: dict[tuple[str, int, str], _Form] = {}


def _form(definition: FormDefinition) -> _Form:
    key = (definition.form_id, definition.version, definition.sha256)
    if key not in _FORMS:
        _FORMS[key] = _Form(definition)
    return _FORMS[key]


def _truthy(value: Any) -> bool:
    return rules.truthy(value)


def _relevant(field: _Field, ctx: dict[str, Any]) -> bool:
    return all(_truthy(rule(ctx)) for rule in field.relevant)


def _required(field: _Field, ctx: dict[str, Any]) -> bool:
    return field.required if type(field.required) is bool else _truthy(field.required(ctx))


# --- drawing one value ---------------------------------------------------------------------------------------

_NUMBER_RANGES = (  # by a part of the field's name, when min/max leave it open
    ("month", (1, 12)), ("_km", (0.2, 25)), ("_mu", (0.5, 20)), ("_m2", (30, 200)), ("_wan", (2, 300)),
    ("amount", (500, 20000)), ("yuan", (0, 20000)), ("income", (0, 20000)), ("expense", (0, 5000)), ("cost", (0, 5000)),
    ("transfer", (0, 3000)), ("share", (0, 100)), ("pct", (0, 100)), ("percent", (0, 100)), ("age", (0, 90)),
)
_FUTURE_DATES = ("due", "until", "review", "expir", "deadline", "next_")
_ID_CARD_SAMPLES = ("11010519491231002X", "110105194912310021")
_EXTRA_KEYS = ("remark_extra", "device_note", "gps_raw", "old_value", "x_debug")


class _Drawer:
    """Plausible values by type and name; the hints refine them."""

    def __init__(self, form: _Form, rng: random.Random, today: date):
        self.form = form
        self.rng = rng
        self.today = today

    def anchor(self, top: dict[str, Any]) -> date:
        """The form's main date (the visit's or the survey's), once drawn; today before."""
        value = top.get(self.form.anchor) if self.form.anchor else None
        if isinstance(value, str) and len(value) >= 10:
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                pass
        return self.today

    def value(self, field: _Field, ctx: dict[str, Any], top: dict[str, Any]) -> Any:
        rng, kind, spec = self.rng, field.type, field.spec
        if kind == "select_one":
            return rng.choice(field.choices)
        if kind == "select_multiple":
            others = [c for c in field.choices if c != "none"]
            if not others or ("none" in field.choices and rng.random() < 0.25):
                return ["none"]
            picked = set(rng.sample(others, min(len(others), rng.randint(1, 3))))
            return [c for c in field.choices if c in picked]
        if kind in ("integer", "decimal"):
            return self.number(field, top)
        if kind == "text":
            return self.text(field, ctx, top)
        if kind == "date":
            return self.day(field, top).isoformat()
        if kind == "datetime":
            day = self.day(field, top)
            return f"{day.isoformat()}T{rng.randint(8, 19):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}+08:00"
        if kind == "geopoint":
            limit = spec.get("max_accuracy_m")
            high = 30.0 if limit is None else min(30.0, limit * 0.9)
            return {"lat": round(rng.uniform(24.7, 26.7), 6), "lon": round(rng.uniform(98.9, 101.0), 6),
                    "accuracy_m": round(rng.uniform(min(2.0, high / 2), high), 1),
                    "altitude_m": round(rng.uniform(1300, 3200), 1)}
        if kind in ("photo", "audio"):
            return f"{field.name}_{rng.getrandbits(24):06x}.{'jpg' if kind == 'photo' else 'm4a'}"
        raise NotImplementedError(f"no values of type {kind} ({field.key})")

    def number_range(self, field: _Field, top: dict[str, Any]) -> tuple[float, float]:
        low, high = field.spec.get("min"), field.spec.get("max")
        name = field.name
        if name.endswith("year") or name.endswith("_year"):
            year = self.anchor(top).year
            default = (year - 10 if low is None else low, year if high is None else high)
        else:
            default = next((span for part, span in _NUMBER_RANGES if part in name), (0, 30 if field.type == "integer" else 100))
        lo = default[0] if low is None else max(default[0], low)
        hi = default[1] if high is None else min(default[1], high)
        if lo > hi:
            width = default[1] - default[0]
            lo, hi = (low, high) if low is not None and high is not None else (
                (low, low + width) if low is not None else (high - width, high))
        return lo, hi

    def number(self, field: _Field, top: dict[str, Any]) -> int | float:
        lo, hi = self.number_range(field, top)
        if field.type == "integer":
            low, high = math.ceil(lo), math.floor(hi)
            return self.rng.randint(low, max(low, high))
        value = round(self.rng.uniform(lo, hi), 1 if hi - lo >= 1 else 3)
        return min(max(value, lo), hi)

    def day(self, field: _Field, top: dict[str, Any]) -> date:
        rng, name = self.rng, field.name
        if name == self.form.anchor:
            return self.today - timedelta(days=rng.randint(0, 45))
        anchor = self.anchor(top)
        if "birth" in name:
            return hints.birth_date_for_age(rng, anchor, rng.randint(0, 80))
        if any(word in name for word in _FUTURE_DATES):
            return anchor + timedelta(days=rng.randint(30, 730))
        return anchor - timedelta(days=rng.randint(0, 3 * 365))

    def text(self, field: _Field, ctx: dict[str, Any], top: dict[str, Any]) -> str:
        rng, name, limit = self.rng, field.name, field.spec.get("max_length")
        if field.pattern is not None:
            if all(field.pattern.fullmatch(sample) for sample in _ID_CARD_SAMPLES):
                return self.id_card(ctx, top)
            try:
                return _from_pattern(field.pattern_tree, rng)
            except NotImplementedError:
                return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(rng.randint(1, 12)))
        if name.endswith("_id"):
            text = f"{name[:-3]}-{rng.randint(1, 9999):04d}"
        elif "phone" in name:
            text = hints.mobile_phone(rng)
        elif "code" in name or name.endswith("_no"):
            text = hints.natural_village_code(rng)
        elif name.startswith("name_") or "alias" in name or "village" in name or "place" in name:
            text = hints.place_name(rng)
        elif "name" in name or "person" in name:
            text = hints.person_name(rng)
        elif "reason" in name:
            text = rng.choice(hints.REASONS)
        elif "description" in name or "need" in name:
            text = rng.choice(hints.DEFAULT_NEEDS)
        elif "unit" in name:
            text = rng.choice(hints.UNITS)
        else:
            text = hints.phrase(rng)
        return text[:limit] if limit else text

    def id_card(self, ctx: dict[str, Any], top: dict[str, Any]) -> str:
        birth = ctx.get("birth_date")
        if not (isinstance(birth, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", birth)):
            birth = hints.birth_date_for_age(self.rng, self.anchor(top), self.rng.randint(18, 80)).isoformat()
        sex = ctx.get("sex") if ctx.get("sex") in ("male", "female") else self.rng.choice(("male", "female"))
        code = top.get("natural_village_code") or top.get("village_code")
        return hints.id_card_no(self.rng, birth, sex, code[:6] if isinstance(code, str) else None)

    def candidates(self, field: _Field, ctx: dict[str, Any], top: dict[str, Any]) -> list[Any]:
        """Values to try one by one when random draws keep breaking the constraint."""
        rng, kind = self.rng, field.type
        found: list[Any] = []
        if kind == "select_one":
            found = list(field.choices)
        elif kind == "select_multiple":
            found = [[c] for c in field.choices]
            found += [[a, b] for i, a in enumerate(field.choices) for b in field.choices[i + 1:]][:60]
        elif kind in ("integer", "decimal"):
            found = [field.spec.get("min"), field.spec.get("max"), 0, 1]
            for scope in (ctx, ctx.get("$root") or {}):
                for key, value in scope.items():
                    if type(value) in (int, float) and not key.startswith("$"):
                        found += [value, value - 1, value + 1, value // 2]
                    elif type(value) is list and not key.startswith("$"):
                        found.append(len(value))  # counts of rows or of choices
            found = [v for v in found if v is not None]
            if kind == "integer":
                found = [int(v) for v in found if float(v).is_integer()]
                low, high = self.number_range(field, top)
                if high - low <= 200:
                    found += range(math.ceil(low), math.floor(high) + 1)
        elif kind == "date":
            anchor = self.anchor(top)
            found = [(anchor - timedelta(days=d)).isoformat() for d in (0, 1, 30, 365, 3650)]
            found += [(anchor + timedelta(days=d)).isoformat() for d in (1, 30, 365)]
        rng.shuffle(found)
        return found

    def fits(self, field: _Field, value: Any) -> bool:
        """Whether the value passes the field's own checks (choices, range, length, pattern, accuracy)."""
        kind, spec = field.type, field.spec
        if kind == "select_one":
            return value in field.choices
        if kind == "select_multiple":
            return type(value) is list and len(set(value)) == len(value) and all(v in field.choices for v in value)
        if kind in ("integer", "decimal"):
            if type(value) not in (int, float) or (kind == "integer" and not float(value).is_integer()):
                return False
            low, high = spec.get("min"), spec.get("max")
            return not ((low is not None and value < low) or (high is not None and value > high))
        if kind == "text":
            if type(value) is not str or (spec.get("max_length") is not None and len(value) > spec["max_length"]):
                return False
            return field.pattern is None or field.pattern.fullmatch(value) is not None
        if kind == "geopoint":
            limit = spec.get("max_accuracy_m")
            return type(value) is dict and (limit is None or value.get("accuracy_m", math.inf) <= limit)
        return True

    @staticmethod
    def holds(field: _Field, value: Any, ctx: dict[str, Any]) -> bool:
        """Whether the field's constraint holds for this value, the rest of ctx as it is."""
        if field.constraint is None:
            return True
        saved = ctx.get(field.name, _MISSING)
        ctx[field.name] = value
        ctx["$value"] = value
        try:
            return _truthy(field.constraint(ctx))
        finally:
            del ctx["$value"]
            if saved is _MISSING:
                del ctx[field.name]
            else:
                ctx[field.name] = saved


def _from_pattern(tree: Any, rng: random.Random) -> str:
    out: list[str] = []
    _emit(tree, rng, out)
    return "".join(out)


def _emit(items: Any, rng: random.Random, out: list[str]) -> None:
    for op, arg in items:
        kind = op.name
        if kind == "LITERAL":
            out.append(chr(arg))
        elif kind == "ANY":
            out.append(rng.choice(string.ascii_letters))
        elif kind == "IN":
            out.append(_pick_in(arg, rng))
        elif kind in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = arg
            for _ in range(rng.randint(low, min(high, low + 3))):
                _emit(sub, rng, out)
        elif kind == "SUBPATTERN":
            _emit(arg[-1], rng, out)
        elif kind == "BRANCH":
            _emit(rng.choice(arg[1]), rng, out)
        elif kind == "AT":
            continue
        else:
            raise NotImplementedError(kind)


def _pick_in(items: Any, rng: random.Random) -> str:
    pool: list[str] = []
    negate = False
    for op, arg in items:
        kind = op.name
        if kind == "NEGATE":
            negate = True
        elif kind == "LITERAL":
            pool.append(chr(arg))
        elif kind == "RANGE":
            pool += [chr(c) for c in range(arg[0], min(arg[1], arg[0] + 200) + 1)]
        elif kind == "CATEGORY":
            pool += {"CATEGORY_DIGIT": string.digits, "CATEGORY_WORD": string.ascii_letters + string.digits + "_",
                     "CATEGORY_SPACE": " "}.get(arg.name, string.ascii_letters)
        else:
            raise NotImplementedError(kind)
    if negate:
        pool = [c for c in string.ascii_letters + string.digits if c not in pool]
    return rng.choice(pool)


# --- filling a whole submission ------------------------------------------------------------------------------


class _Filler:
    def __init__(self, form: _Form, rng: random.Random, members: int | None, overrides: dict[str, Any] | None,
                 today: date):
        self.form = form
        self.rng = rng
        self.draw = _Drawer(form, rng, today)
        self.members = members
        self.plan: dict[str, Any] = {"today": today}
        self.data: dict[str, Any] = {}
        self.fixed: set[str] = set()  # paths given by the caller: never drawn, dropped or repaired
        self.skipped: set[str] = set()  # optional fields decided absent
        self.redraws: dict[str, int] = {}
        self.passes = 0
        self.deferred = False
        for name, value in (overrides or {}).items():
            field = form.top.by_name.get(name)
            self.fixed.add(name)
            if field is not None and field.repeat is not None and type(value) is list:
                self.data[name] = [dict(row) for row in value]
                self.fixed.update(f"{name}[{i}].{key}" for i, row in enumerate(value) for key in row)
            elif value is not None:
                self.data[name] = value

    def run(self) -> dict[str, Any]:
        errors: list[Any] = []
        for self.passes in range(1, MAX_PASSES + 1):
            ctx = self.context()
            self.deferred = False
            if self.walk(self.form.top, self.data, ctx, ctx, None, "") or self.deferred:
                continue
            self.set_calculations(ctx)  # the walk changed nothing, so ctx is still the data's
            errors = self.form.validator.validate(self.data)
            if not errors:
                return _ordered(self.form.top, self.data)
            if not self.repair(errors):
                break
        raise FillError(self.form.form_id, errors)

    def context(self) -> dict[str, Any]:
        ctx = self.form.context(self.data)
        ctx["$plan"] = self.plan
        return ctx

    def walk(self, level: _Level, values: dict[str, Any], ctx: dict[str, Any], top: dict[str, Any],
             row: dict[str, Any] | None, prefix: str) -> bool:
        changed = False
        for field in level.fields:
            name, path = field.name, prefix + field.name
            if field.type == "calculate":
                continue
            if not _relevant(field, ctx):
                if values.get(name) is not None and path not in self.fixed:
                    del values[name]
                    ctx.pop(name, None)
                    changed = True
                continue
            if path in self.fixed:
                if field.repeat is not None and type(values.get(name)) is list:
                    changed |= self.walk_rows(field, values[name], ctx, top, path)
                continue
            derive = self.form.hints.derive.get(field.key)
            if derive is not None:
                value = self.hinted(derive(top, row, self.rng), field, ctx)
                if value is DEFER:
                    continue
                if value is OMIT:
                    if name in values:
                        del values[name]
                        ctx.pop(name, None)
                        changed = True
                    continue
                if value is not SKIP:
                    if values.get(name) != value or type(values.get(name)) is not type(value):
                        values[name] = ctx[name] = value
                        changed = True
                    continue
            if values.get(name) is not None:
                if field.repeat is not None and type(values[name]) is list:
                    changed |= self.walk_rows(field, values[name], ctx, top, path)
                continue
            if path in self.skipped:
                continue
            if field.repeat is not None:
                rows = self.new_rows(field, top)
                values[name] = rows
                ctx[name] = [{**r, "$root": top, "$params": self.form.params} for r in rows]
                changed = True  # the rows are filled on the next pass, when their calculations are known
                continue
            value = self.pick(field, ctx, top, row)
            if value is DEFER:
                continue
            if value is OMIT:
                self.skipped.add(path)
                continue
            values[name] = ctx[name] = value
            changed = True
        return changed

    def walk_rows(self, field: _Field, rows: list[Any], ctx: dict[str, Any], top: dict[str, Any], path: str) -> bool:
        contexts = ctx.get(field.name)
        if type(contexts) is not list or len(contexts) != len(rows):
            return False
        changed = False
        assert field.repeat is not None
        for index, (row, row_ctx) in enumerate(zip(rows, contexts, strict=True)):
            if type(row) is dict:
                changed |= self.walk(field.repeat, row, row_ctx, top, row_ctx, f"{path}[{index}].")
        return changed

    def hinted(self, value: Any, field: _Field, ctx: dict[str, Any]) -> Any:
        """A hint's answer with DEFER resolved: wait while passes remain, then draw the usual way."""
        if value is DEFER:
            if self.passes <= DEFER_PASSES:
                self.deferred = True
                return DEFER
            return SKIP
        if value is OMIT and _required(field, ctx):
            return SKIP
        return value

    def pick(self, field: _Field, ctx: dict[str, Any], top: dict[str, Any], row: dict[str, Any] | None) -> Any:
        hint = self.form.hints.draw.get(field.key)
        if hint is not None:
            value = self.hinted(hint(top, row, self.rng), field, ctx)
            if value is DEFER or value is OMIT:
                return value
            if value is not SKIP and self.draw.fits(field, value) and self.draw.holds(field, value, ctx):
                return value
        elif not _required(field, ctx) and self.rng.random() >= OPTIONAL_SHARE:
            return OMIT
        last: Any = OMIT
        for _ in range(DRAWS):
            value = self.draw.value(field, ctx, top)
            if self.draw.fits(field, value) and self.draw.holds(field, value, ctx):
                return value
            last = value
        for value in self.draw.candidates(field, ctx, top):
            if self.draw.fits(field, value) and self.draw.holds(field, value, ctx):
                return value
        return last  # breaks a rule that reads fields not drawn yet: the repair draws it again once they are

    def new_rows(self, field: _Field, top: dict[str, Any]) -> list[dict[str, Any]]:
        spec, rng = field.spec, self.rng
        low, high = spec.get("min_count") or 0, spec.get("max_count")
        if _required(field, top):
            low = max(low, 1)
        if field.name == "members" and self.members is not None:
            count = self.members
            if count < low or (high is not None and count > high):
                raise ValueError(f"{self.form.form_id}: members={count} is outside {low}..{high}")
        else:
            count = rng.choices(range(1, 8), HOUSEHOLD_SIZES)[0] if field.name == "members" else rng.randint(0, 3)
            count = max(low, count if high is None else min(high, count))
        seed = self.form.hints.rows.get(field.name)
        return seed(top, count, rng) if seed is not None else [{} for _ in range(count)]

    def set_calculations(self, ctx: dict[str, Any]) -> None:
        _set_calculations(self.form.top, self.data, ctx)
        for field in self.form.repeats:
            rows, contexts = self.data.get(field.name), ctx.get(field.name)
            if type(rows) is list and type(contexts) is list:
                assert field.repeat is not None
                for row, row_ctx in zip(rows, contexts, strict=True):
                    if type(row) is dict and _relevant(field, ctx):
                        _set_calculations(field.repeat, row, row_ctx)

    def repair(self, errors: list[Any]) -> bool:
        """Throws away each value the validator refused, so the next pass draws it again; False when stuck."""
        progress = False
        for error in errors:
            path = error.field
            if error.code == "calculation_mismatch":
                continue
            if error.code == "required":
                self.skipped.discard(path)
                progress = True
                continue
            if path in self.fixed:
                continue
            self.redraws[path] = self.redraws.get(path, 0) + 1
            if self.redraws[path] > REDRAWS_PER_FIELD:
                return False
            holder, key = _locate(self.data, path)
            if holder is not None and key in holder:
                del holder[key]
                progress = True
        return progress


def _set_calculations(level: _Level, values: dict[str, Any], ctx: dict[str, Any]) -> None:
    for field in level.fields:
        if field.type != "calculate":
            continue
        value = ctx.get(field.name)
        if value is None or not _relevant(field, ctx):
            values.pop(field.name, None)
        else:
            values[field.name] = value


def _locate(data: dict[str, Any], path: str) -> tuple[dict[str, Any] | None, str]:
    """The dict that holds the value at a validator path ("members[2].age"), and its key."""
    match = re.fullmatch(r"(\w+)\[(\d+)\]\.(\w+)", path)
    if match is None:
        return data, path
    rows = data.get(match[1])
    index = int(match[2])
    if type(rows) is list and index < len(rows) and type(rows[index]) is dict:
        return rows[index], match[3]
    return None, path


def _ordered(level: _Level, values: dict[str, Any]) -> dict[str, Any]:
    """A copy with the keys in the form's order (rows too)."""
    out: dict[str, Any] = {}
    for field in level.fields:
        if field.name in values:
            value = values[field.name]
            if field.repeat is not None and type(value) is list:
                value = [_ordered(field.repeat, row) if type(row) is dict else row for row in value]
            out[field.name] = value
    for key, value in values.items():
        out.setdefault(key, value)
    return out


def fill(definition: FormDefinition, rng: random.Random, *, members: int | None = None,
         overrides: dict[str, Any] | None = None, today: date | None = None) -> dict[str, Any]:
    """A valid submission's data for this form version, drawn from `rng` (same seed, same data).

    members: rows of the `members` repeat (default 1-7, about 3.8 on average).
    overrides: top-level values to use as given (None: leave the field out); a list for a repeat seeds its rows,
        whose keys are kept as given and the rest filled.
    today: the date the visit dates lead up to (REFERENCE_DATE by default, for repeatable data).

    Raises:
        FillError: no valid submission could be made (the form cannot be satisfied, or the overrides break it).
    """
    return _Filler(_form(definition), rng, members, overrides, today or REFERENCE_DATE).run()


# --- mutations -----------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Site:
    """One field at one place of a submission: top level, or one repetition of a repeat."""

    field: _Field
    path: str
    repeat: str | None
    index: int | None
    values: dict[str, Any]
    ctx: dict[str, Any]
    relevant: bool

    @property
    def present(self) -> bool:
        return self.values.get(self.field.name) is not None


def _sites(form: _Form, data: dict[str, Any]) -> list[_Site]:
    ctx = form.context(data)
    found = [_Site(f, f.name, None, None, data, ctx, _relevant(f, ctx)) for f in form.top.fields]
    for repeat in form.repeats:
        rows, contexts = data.get(repeat.name), ctx.get(repeat.name)
        if type(rows) is not list or type(contexts) is not list or not _relevant(repeat, ctx):
            continue
        assert repeat.repeat is not None
        for index, (row, row_ctx) in enumerate(zip(rows, contexts, strict=True)):
            if type(row) is dict:
                found += [_Site(f, f"{repeat.name}[{index}].{f.name}", repeat.name, index, row, row_ctx,
                                _relevant(f, row_ctx)) for f in repeat.repeat.fields]
    return found


def _changed(data: dict[str, Any], repeat: str | None, index: int | None, key: str, value: Any) -> dict[str, Any]:
    """A copy of data with one key of one level set (or deleted, for _DELETE); the rest is shared."""
    out = dict(data)
    holder = out
    if repeat is not None and index is not None:
        rows = list(out[repeat])
        rows[index] = holder = dict(rows[index])
        out[repeat] = rows
    if value is _DELETE:
        holder.pop(key, None)
    else:
        holder[key] = value
    return out


def _site_after(form: _Form, site: _Site, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The site's context in changed data, and whether the field is relevant there."""
    ctx = form.context(data)
    if site.repeat is not None:
        rows = ctx.get(site.repeat)
        ctx = rows[site.index] if type(rows) is list and site.index is not None else {}
    return ctx, _relevant(site.field, ctx)


def _shuffled(items: list[Any], rng: random.Random) -> list[Any]:
    return rng.sample(items, len(items))


def _mutation(kind: str, site: _Site, code: str, data: dict[str, Any], form: _Form) -> Mutation:
    return Mutation(kind, site.path, code, data, isolated=site.field.name not in form.read)


def _drop_required(form: _Form, data: dict[str, Any], sites: list[_Site], rng: random.Random) -> Mutation | None:
    candidates = [s for s in sites if s.relevant and s.present and s.field.type != "calculate" and _required(s.field, s.ctx)]
    for site in _shuffled(candidates, rng):
        changed = _changed(data, site.repeat, site.index, site.field.name, _DELETE)
        ctx, relevant = _site_after(form, site, changed)
        if relevant and _required(site.field, ctx):
            return _mutation("drop_required", site, "required", changed, form)
    return None


def _answer_irrelevant(form: _Form, data: dict[str, Any], sites: list[_Site], rng: random.Random) -> Mutation | None:
    candidates = [s for s in sites if not s.relevant and not s.present and s.field.type not in ("calculate", "repeat")]
    drawer = _Drawer(form, rng, REFERENCE_DATE)
    for site in _shuffled(candidates, rng):
        top = site.ctx.get("$root", site.ctx)
        value = drawer.value(site.field, site.ctx, top)
        changed = _changed(data, site.repeat, site.index, site.field.name, value)
        if not _site_after(form, site, changed)[1]:
            return _mutation("answer_irrelevant", site, "not_relevant", changed, form)
    return None


def _breaking_values(form: _Form, site: _Site, data: dict[str, Any], rng: random.Random) -> list[tuple[Any, str]]:
    """Values of the right type that break this field's range, length, pattern or constraint, with the code."""
    field, spec = site.field, site.field.spec
    found: list[tuple[Any, str]] = []
    if field.type in ("integer", "decimal"):
        step = 1 if field.type == "integer" else 0.5
        if spec.get("min") is not None:
            found.append((spec["min"] - step, "out_of_range"))
        if spec.get("max") is not None:
            found.append((spec["max"] + step, "out_of_range"))
    elif field.type == "text":
        limit = spec.get("max_length")
        if limit is not None and field.pattern is None:
            found.append(("字" * (limit + 1), "out_of_range"))
        if field.pattern is not None:
            found += [(text, "constraint") for text in ("x", "12-34", "字") if not field.pattern.fullmatch(text)][:1]
    elif field.type == "geopoint" and spec.get("max_accuracy_m") is not None:
        found.append(({**site.values[field.name], "accuracy_m": spec["max_accuracy_m"] + 10}, "out_of_range"))
    elif field.type == "select_multiple":
        value = site.values[field.name]
        found.append(([value[0], *value], "constraint"))
    if field.constraint is not None and field.type != "repeat":
        drawer = _Drawer(form, rng, REFERENCE_DATE)
        top = site.ctx.get("$root", site.ctx)
        tries = [drawer.value(field, site.ctx, top) for _ in range(DRAWS)] + drawer.candidates(field, site.ctx, top)
        for value in tries[:40]:
            if not drawer.fits(field, value) or value == site.values[field.name]:
                continue
            changed = _changed(data, site.repeat, site.index, field.name, value)
            ctx, relevant = _site_after(form, site, changed)
            if relevant and not drawer.holds(field, value, ctx):
                found.append((value, "constraint"))
                break
    return found


def _break_constraint(form: _Form, data: dict[str, Any], sites: list[_Site], rng: random.Random) -> Mutation | None:
    candidates = [s for s in sites if s.relevant and s.present and s.field.type not in ("calculate", "repeat")]
    for site in _shuffled(candidates, rng):
        options = _breaking_values(form, site, data, rng)
        if options:
            value, code = rng.choice(options)
            changed = _changed(data, site.repeat, site.index, site.field.name, value)
            return _mutation("break_constraint", site, code, changed, form)
    return None


def _wrong_type_value(field: _Field, value: Any) -> Any:
    kind = field.type
    if kind in ("integer", "decimal"):
        return str(value)
    if kind in ("text", "photo", "audio"):
        return 42
    if kind == "select_one":
        return 1
    if kind == "select_multiple":
        return value[0] if value else "none"
    if kind == "date":
        return {"date": value}
    if kind == "datetime":
        return 1_700_000_000
    if kind == "geopoint":
        return [value.get("lat"), value.get("lon")] if type(value) is dict else "25.6,100.2"
    if kind == "repeat":
        return {"rows": len(value) if type(value) is list else 0}
    raise NotImplementedError(kind)


def _wrong_type(form: _Form, data: dict[str, Any], sites: list[_Site], rng: random.Random) -> Mutation | None:
    candidates = [s for s in sites if s.relevant and s.present and s.field.type != "calculate"]
    if not candidates:
        return None
    site = rng.choice(candidates)
    value = _wrong_type_value(site.field, site.values[site.field.name])
    return _mutation("wrong_type", site, "type", _changed(data, site.repeat, site.index, site.field.name, value), form)


def _unknown_choice(form: _Form, data: dict[str, Any], sites: list[_Site], rng: random.Random) -> Mutation | None:
    candidates = [s for s in sites if s.relevant and s.present and s.field.type in ("select_one", "select_multiple")]
    if not candidates:
        return None
    site = rng.choice(candidates)
    unknown = next(name for name in ("not_a_choice", "unknown_option", "zz_other") if name not in site.field.choices)
    value = unknown if site.field.type == "select_one" else [*site.values[site.field.name], unknown]
    changed = _changed(data, site.repeat, site.index, site.field.name, value)
    return _mutation("unknown_choice", site, "unknown_choice", changed, form)


def _wrong_calculation(form: _Form, data: dict[str, Any], sites: list[_Site], rng: random.Random) -> Mutation | None:
    candidates = [s for s in sites if s.present and s.field.type == "calculate"]
    if not candidates:
        return None
    site = rng.choice(candidates)
    value = site.values[site.field.name]
    if type(value) is bool:
        wrong: Any = not value
    elif type(value) is int:
        wrong = value + 1 + abs(value) // 10
    elif type(value) is float:
        wrong = value * 1.01 + 1
    else:
        wrong = f"{value}_x"
    changed = _changed(data, site.repeat, site.index, site.field.name, wrong)
    return Mutation("wrong_calculation", site.path, "calculation_mismatch", changed, isolated=True)


def _unknown_field(form: _Form, data: dict[str, Any], sites: list[_Site], rng: random.Random) -> Mutation | None:
    places: list[tuple[str | None, int | None, _Level]] = [(None, None, form.top)]
    for repeat in form.repeats:
        rows = data.get(repeat.name)
        assert repeat.repeat is not None
        if type(rows) is list:
            places += [(repeat.name, index, repeat.repeat) for index, row in enumerate(rows) if type(row) is dict]
    repeat, index, level = rng.choice(places)
    key = next(name for name in _EXTRA_KEYS if name not in level.by_name)
    path = key if repeat is None else f"{repeat}[{index}].{key}"
    value = rng.choice(("x", 1, True, ["a"]))
    return Mutation("unknown_field", path, "unknown_field", _changed(data, repeat, index, key, value), isolated=True)


_MUTATORS: dict[str, Callable[[_Form, dict[str, Any], list[_Site], random.Random], Mutation | None]] = {
    "drop_required": _drop_required,
    "answer_irrelevant": _answer_irrelevant,
    "break_constraint": _break_constraint,
    "wrong_type": _wrong_type,
    "unknown_choice": _unknown_choice,
    "wrong_calculation": _wrong_calculation,
    "unknown_field": _unknown_field,
}


def mutate(definition: FormDefinition, data: dict[str, Any], rng: random.Random, kind: str) -> Mutation | None:
    """One mutation of this kind, at a place of this submission where it applies; None when there is none."""
    form = _form(definition)
    return _MUTATORS[kind](form, data, _sites(form, data), rng)


def mutations(definition: FormDefinition, data: dict[str, Any], rng: random.Random) -> list[Mutation]:
    """One mutation of each kind that applies to this valid submission, in MUTATION_KINDS order."""
    form = _form(definition)
    sites = _sites(form, data)
    found = (_MUTATORS[kind](form, data, sites, rng) for kind in MUTATION_KINDS)
    return [mutation for mutation in found if mutation is not None]


def iter_fields(definition: FormDefinition) -> Iterator[tuple[str, dict[str, Any]]]:
    """(hint key, spec) of every value-holding field, top level first: for tests and the simulator."""
    form = _form(definition)
    for field in form.top.fields:
        yield field.key, field.spec
        if field.repeat is not None:
            for inner in field.repeat.fields:
                yield inner.key, inner.spec
