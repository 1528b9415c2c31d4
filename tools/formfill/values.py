"""Drawing one plausible value for a field, by its type and name, and checking it against the field's own rules."""

from __future__ import annotations

import math
import random
import re
import string
from datetime import date, timedelta
from typing import Any

from survey_forms import rules
from tools.formfill import idcard, patterns, samples
from tools.formfill.form import FillField, FillForm

NUMBER_RANGES = (  # by a part of the field's name, when min/max leave it open
    ("month", (1, 12)), ("_km", (0.2, 25)), ("_mu", (0.5, 20)), ("_m2", (30, 200)), ("_wan", (2, 300)),
    ("amount", (500, 20000)), ("yuan", (0, 20000)), ("income", (0, 20000)), ("expense", (0, 5000)), ("cost", (0, 5000)),
    ("transfer", (0, 3000)), ("share", (0, 100)), ("pct", (0, 100)), ("percent", (0, 100)), ("age", (0, 90)),
)
DRAWS = 12  # random draws of a value before trying every candidate
FUTURE_DATES = ("due", "until", "review", "expir", "deadline", "next_")
_MISSING = object()


class Drawer:
    """Plausible values by type and name; the hints refine them."""

    def __init__(self, form: FillForm, rng: random.Random, today: date):
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

    def value(self, field: FillField, ctx: dict[str, Any], top: dict[str, Any]) -> Any:
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

    def number_range(self, field: FillField, top: dict[str, Any]) -> tuple[float, float]:
        low, high = field.spec.get("min"), field.spec.get("max")
        name = field.name
        if name.endswith("year") or name.endswith("_year"):
            year = self.anchor(top).year
            default = (year - 10 if low is None else low, year if high is None else high)
        else:
            default = next((span for part, span in NUMBER_RANGES if part in name), (0, 30 if field.type == "integer" else 100))
        lo = default[0] if low is None else max(default[0], low)
        hi = default[1] if high is None else min(default[1], high)
        if lo > hi:
            width = default[1] - default[0]
            lo, hi = (low, high) if low is not None and high is not None else (
                (low, low + width) if low is not None else (high - width, high))
        return lo, hi

    def number(self, field: FillField, top: dict[str, Any]) -> int | float:
        lo, hi = self.number_range(field, top)
        if field.type == "integer":
            low, high = math.ceil(lo), math.floor(hi)
            return self.rng.randint(low, max(low, high))
        value = round(self.rng.uniform(lo, hi), 1 if hi - lo >= 1 else 3)
        return min(max(value, lo), hi)

    def day(self, field: FillField, top: dict[str, Any]) -> date:
        rng, name = self.rng, field.name
        if name == self.form.anchor:
            return self.today - timedelta(days=rng.randint(0, 45))
        anchor = self.anchor(top)
        if "birth" in name:
            return samples.birth_date_for_age(rng, anchor, rng.randint(0, 80))
        if any(word in name for word in FUTURE_DATES):
            return anchor + timedelta(days=rng.randint(30, 730))
        return anchor - timedelta(days=rng.randint(0, 3 * 365))

    def text(self, field: FillField, ctx: dict[str, Any], top: dict[str, Any]) -> str:
        rng, name, limit = self.rng, field.name, field.spec.get("max_length")
        if field.pattern is not None:
            if all(field.pattern.fullmatch(sample) for sample in idcard.SAMPLES):
                return self.id_card(ctx, top)
            if field.pattern_nodes is not None:
                return patterns.draw(field.pattern_nodes, rng)
            return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(rng.randint(1, 12)))
        if name.endswith("_id"):
            text = f"{name[:-3]}-{rng.randint(1, 9999):04d}"
        elif "phone" in name:
            text = samples.mobile_phone(rng)
        elif "code" in name or name.endswith("_no"):
            text = samples.natural_village_code(rng)
        elif name.startswith("name_") or "alias" in name or "village" in name or "place" in name:
            text = samples.place_name(rng)
        elif "name" in name or "person" in name:
            text = samples.person_name(rng)
        elif "reason" in name:
            text = rng.choice(samples.REASONS)
        elif "description" in name or "need" in name:
            text = rng.choice(samples.DEFAULT_NEEDS)
        elif "unit" in name:
            text = rng.choice(samples.UNITS)
        else:
            text = samples.phrase(rng)
        return text[:limit] if limit else text

    def id_card(self, ctx: dict[str, Any], top: dict[str, Any]) -> str:
        birth = ctx.get("birth_date")
        if not (isinstance(birth, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", birth)):
            birth = samples.birth_date_for_age(self.rng, self.anchor(top), self.rng.randint(18, 80)).isoformat()
        sex = ctx.get("sex") if ctx.get("sex") in ("male", "female") else self.rng.choice(("male", "female"))
        code = top.get("natural_village_code") or top.get("village_code")
        return idcard.id_card_no(self.rng, birth, sex, code[:6] if isinstance(code, str) else None)

    def candidates(self, field: FillField, ctx: dict[str, Any], top: dict[str, Any]) -> list[Any]:
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

    @staticmethod
    def fits(field: FillField, value: Any) -> bool:
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
    def holds(field: FillField, value: Any, ctx: dict[str, Any]) -> bool:
        """Whether the field's constraint holds for this value, the rest of ctx as it is."""
        if field.constraint is None:
            return True
        saved = ctx.get(field.name, _MISSING)
        ctx[field.name] = value
        ctx["$value"] = value
        try:
            return rules.truthy(field.constraint(ctx))
        finally:
            del ctx["$value"]
            if saved is _MISSING:
                del ctx[field.name]
            else:
                ctx[field.name] = saved
