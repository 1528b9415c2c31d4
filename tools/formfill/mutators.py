"""Breaking a valid submission in one place, one kind at a time, with the problem the validator must report there."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from survey_forms.definition import FormDefinition
from tools.formfill.form import FillField, FillForm, FillLevel, fill_form, relevant, required
from tools.formfill.hints.base import REFERENCE_DATE
from tools.formfill.values import DRAWS, Drawer

MUTATION_KINDS = ("drop_required", "answer_irrelevant", "break_constraint", "wrong_type", "unknown_choice",
                  "wrong_calculation", "unknown_field")
EXTRA_KEYS = ("remark_extra", "device_note", "gps_raw", "old_value", "x_debug")
_DELETE = object()


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


def mutate(definition: FormDefinition, data: dict[str, Any], rng: random.Random, kind: str) -> Mutation | None:
    """One mutation of this kind, at a place of this submission where it applies; None when there is none."""
    form = fill_form(definition)
    return _MUTATORS[kind](form, data, _sites(form, data), rng)


def mutations(definition: FormDefinition, data: dict[str, Any], rng: random.Random) -> list[Mutation]:
    """One mutation of each kind that applies to this valid submission, in MUTATION_KINDS order."""
    form = fill_form(definition)
    sites = _sites(form, data)
    found = (_MUTATORS[kind](form, data, sites, rng) for kind in MUTATION_KINDS)
    return [mutation for mutation in found if mutation is not None]


@dataclass(eq=False)
class _Site:
    """One field at one place of a submission: top level, or one repetition of a repeat."""

    field: FillField
    path: str
    repeat: str | None
    index: int | None
    values: dict[str, Any]
    ctx: dict[str, Any]
    relevant: bool

    @property
    def present(self) -> bool:
        return self.values.get(self.field.name) is not None

    def changed(self, data: dict[str, Any], value: Any) -> dict[str, Any]:
        return _changed(data, self.repeat, self.index, self.field.name, value)


def _sites(form: FillForm, data: dict[str, Any]) -> list[_Site]:
    ctx = form.context(data)
    found = [_Site(f, f.name, None, None, data, ctx, relevant(f, ctx)) for f in form.top.fields]
    for repeat in form.repeats:
        rows, contexts = data.get(repeat.name), ctx.get(repeat.name)
        if type(rows) is not list or type(contexts) is not list or not relevant(repeat, ctx):
            continue
        assert repeat.repeat is not None
        for index, (row, row_ctx) in enumerate(zip(rows, contexts, strict=True)):
            if type(row) is dict:
                found += [_Site(f, f"{repeat.name}[{index}].{f.name}", repeat.name, index, row, row_ctx,
                                relevant(f, row_ctx)) for f in repeat.repeat.fields]
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


def _site_after(form: FillForm, site: _Site, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The site's context in changed data, and whether the field is relevant there."""
    ctx = form.context(data)
    if site.repeat is not None:
        rows = ctx.get(site.repeat)
        ctx = rows[site.index] if type(rows) is list and site.index is not None else {}
    return ctx, relevant(site.field, ctx)


def _shuffled(items: list[Any], rng: random.Random) -> list[Any]:
    return rng.sample(items, len(items))


def _mutation(kind: str, site: _Site, code: str, data: dict[str, Any], form: FillForm) -> Mutation:
    return Mutation(kind, site.path, code, data, isolated=site.field.name not in form.read)


def _drop_required(form: FillForm, data: dict[str, Any], sites: list[_Site], rng: random.Random) -> Mutation | None:
    candidates = [s for s in sites if s.relevant and s.present and s.field.type != "calculate" and required(s.field, s.ctx)]
    for site in _shuffled(candidates, rng):
        changed = site.changed(data, _DELETE)
        ctx, still_relevant = _site_after(form, site, changed)
        if still_relevant and required(site.field, ctx):
            return _mutation("drop_required", site, "required", changed, form)
    return None


def _answer_irrelevant(form: FillForm, data: dict[str, Any], sites: list[_Site], rng: random.Random) -> Mutation | None:
    candidates = [s for s in sites if not s.relevant and not s.present and s.field.type not in ("calculate", "repeat")]
    drawer = Drawer(form, rng, REFERENCE_DATE)
    for site in _shuffled(candidates, rng):
        top = site.ctx.get("$root", site.ctx)
        changed = site.changed(data, drawer.value(site.field, site.ctx, top))
        if not _site_after(form, site, changed)[1]:
            return _mutation("answer_irrelevant", site, "not_relevant", changed, form)
    return None


def _breaking_values(form: FillForm, site: _Site, data: dict[str, Any], rng: random.Random) -> list[tuple[Any, str]]:
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
        drawer = Drawer(form, rng, REFERENCE_DATE)
        top = site.ctx.get("$root", site.ctx)
        tries = [drawer.value(field, site.ctx, top) for _ in range(DRAWS)] + drawer.candidates(field, site.ctx, top)
        for value in tries[:40]:
            if not drawer.fits(field, value) or value == site.values[field.name]:
                continue
            ctx, still_relevant = _site_after(form, site, site.changed(data, value))
            if still_relevant and not drawer.holds(field, value, ctx):
                found.append((value, "constraint"))
                break
    return found


def _break_constraint(form: FillForm, data: dict[str, Any], sites: list[_Site], rng: random.Random) -> Mutation | None:
    candidates = [s for s in sites if s.relevant and s.present and s.field.type not in ("calculate", "repeat")]
    for site in _shuffled(candidates, rng):
        options = _breaking_values(form, site, data, rng)
        if options:
            value, code = rng.choice(options)
            return _mutation("break_constraint", site, code, site.changed(data, value), form)
    return None


def _wrong_type_value(field: FillField, value: Any) -> Any:
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


def _wrong_type(form: FillForm, data: dict[str, Any], sites: list[_Site], rng: random.Random) -> Mutation | None:
    candidates = [s for s in sites if s.relevant and s.present and s.field.type != "calculate"]
    if not candidates:
        return None
    site = rng.choice(candidates)
    value = _wrong_type_value(site.field, site.values[site.field.name])
    return _mutation("wrong_type", site, "type", site.changed(data, value), form)


def _unknown_choice(form: FillForm, data: dict[str, Any], sites: list[_Site], rng: random.Random) -> Mutation | None:
    candidates = [s for s in sites if s.relevant and s.present and s.field.type in ("select_one", "select_multiple")]
    if not candidates:
        return None
    site = rng.choice(candidates)
    unknown = next(name for name in ("not_a_choice", "unknown_option", "zz_other") if name not in site.field.choices)
    value = unknown if site.field.type == "select_one" else [*site.values[site.field.name], unknown]
    return _mutation("unknown_choice", site, "unknown_choice", site.changed(data, value), form)


def _wrong_calculation(form: FillForm, data: dict[str, Any], sites: list[_Site], rng: random.Random) -> Mutation | None:
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
    return Mutation("wrong_calculation", site.path, "calculation_mismatch", site.changed(data, wrong), isolated=True)


def _unknown_field(form: FillForm, data: dict[str, Any], sites: list[_Site], rng: random.Random) -> Mutation | None:
    places: list[tuple[str | None, int | None, FillLevel]] = [(None, None, form.top)]
    for repeat in form.repeats:
        rows = data.get(repeat.name)
        assert repeat.repeat is not None
        if type(rows) is list:
            places += [(repeat.name, index, repeat.repeat) for index, row in enumerate(rows) if type(row) is dict]
    repeat, index, level = rng.choice(places)
    key = next(name for name in EXTRA_KEYS if name not in level.by_name)
    path = key if repeat is None else f"{repeat}[{index}].{key}"
    value = rng.choice(("x", 1, True, ["a"]))
    return Mutation("unknown_field", path, "unknown_field", _changed(data, repeat, index, key, value), isolated=True)


_MUTATORS: dict[str, Callable[[FillForm, dict[str, Any], list[_Site], random.Random], Mutation | None]] = {
    "drop_required": _drop_required,
    "answer_irrelevant": _answer_irrelevant,
    "break_constraint": _break_constraint,
    "wrong_type": _wrong_type,
    "unknown_choice": _unknown_choice,
    "wrong_calculation": _wrong_calculation,
    "unknown_field": _unknown_field,
}
