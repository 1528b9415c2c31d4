"""Filling a whole submission: walk the form, draw what is relevant, let the server calculate, repair, repeat."""

from __future__ import annotations

import random
import re
from datetime import date
from typing import Any

from server.demo.households import HOUSEHOLD_SIZE_WEIGHTS, HOUSEHOLD_SIZES
from survey_forms.definition import FormDefinition
from tools.formfill.form import FillField, FillForm, FillLevel, fill_form, relevant, required
from tools.formfill.hints import DEFER, OMIT, SKIP
from tools.formfill.hints.base import REFERENCE_DATE
from tools.formfill.values import DRAWS, Drawer

MAX_PASSES = 60  # walks over the form; households settle in four or five
DEFER_PASSES = 4  # a hint may wait this many passes for the fields it needs
REDRAWS_PER_FIELD = 8  # times the repair may throw a value away and draw it again
OPTIONAL_SHARE = 0.75  # share of optional fields (without a hint) that get a value


class FillError(RuntimeError):
    """No valid submission came out of the walk (a form that cannot be satisfied, or overrides that break it)."""

    def __init__(self, form_id: str, errors: list[Any]):
        self.errors = errors
        listed = "; ".join(f"{e.field}: {e.code}" for e in errors[:10])
        super().__init__(f"{form_id}: no valid submission after {MAX_PASSES} passes ({listed})")


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
    return _Filler(fill_form(definition), rng, members, overrides, today or REFERENCE_DATE).run()


class _Filler:
    def __init__(self, form: FillForm, rng: random.Random, members: int | None, overrides: dict[str, Any] | None,
                 today: date):
        self.form = form
        self.rng = rng
        self.draw = Drawer(form, rng, today)
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

    def walk(self, level: FillLevel, values: dict[str, Any], ctx: dict[str, Any], top: dict[str, Any],
             row: dict[str, Any] | None, prefix: str) -> bool:
        changed = False
        for field in level.fields:
            name, path = field.name, prefix + field.name
            if field.type == "calculate":
                continue
            if not relevant(field, ctx):
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

    def walk_rows(self, field: FillField, rows: list[Any], ctx: dict[str, Any], top: dict[str, Any], path: str) -> bool:
        contexts = ctx.get(field.name)
        if type(contexts) is not list or len(contexts) != len(rows):
            return False
        changed = False
        assert field.repeat is not None
        for index, (row, row_ctx) in enumerate(zip(rows, contexts, strict=True)):
            if type(row) is dict:
                changed |= self.walk(field.repeat, row, row_ctx, top, row_ctx, f"{path}[{index}].")
        return changed

    def hinted(self, value: Any, field: FillField, ctx: dict[str, Any]) -> Any:
        """A hint's answer with DEFER resolved: wait while passes remain, then draw the usual way."""
        if value is DEFER:
            if self.passes <= DEFER_PASSES:
                self.deferred = True
                return DEFER
            return SKIP
        if value is OMIT and required(field, ctx):
            return SKIP
        return value

    def pick(self, field: FillField, ctx: dict[str, Any], top: dict[str, Any], row: dict[str, Any] | None) -> Any:
        hint = self.form.hints.draw.get(field.key)
        if hint is not None:
            value = self.hinted(hint(top, row, self.rng), field, ctx)
            if value is DEFER or value is OMIT:
                return value
            if value is not SKIP and self.draw.fits(field, value) and self.draw.holds(field, value, ctx):
                return value
        elif not required(field, ctx) and self.rng.random() >= OPTIONAL_SHARE:
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

    def new_rows(self, field: FillField, top: dict[str, Any]) -> list[dict[str, Any]]:
        spec, rng = field.spec, self.rng
        low, high = spec.get("min_count") or 0, spec.get("max_count")
        if required(field, top):
            low = max(low, 1)
        if field.name == "members" and self.members is not None:
            count = self.members
            if count < low or (high is not None and count > high):
                raise ValueError(f"{self.form.form_id}: members={count} is outside {low}..{high}")
        else:
            # Households as large as the demo's (server/demo/households.py); other repeats get 0-3 rows.
            count = rng.choices(HOUSEHOLD_SIZES, HOUSEHOLD_SIZE_WEIGHTS)[0] if field.name == "members" else rng.randint(0, 3)
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
                    if type(row) is dict and relevant(field, ctx):
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


def _set_calculations(level: FillLevel, values: dict[str, Any], ctx: dict[str, Any]) -> None:
    for field in level.fields:
        if field.type != "calculate":
            continue
        value = ctx.get(field.name)
        if value is None or not relevant(field, ctx):
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


def _ordered(level: FillLevel, values: dict[str, Any]) -> dict[str, Any]:
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
