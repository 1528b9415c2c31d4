"""What a hint is, what it may answer, and the small hints and helpers the per-form hints are built from.

A hint is `fn(top, row, rng) -> value`. `top` is the top level as rules see it (the values drawn so far, the
server's calculations, `$params`, and `$plan`: a dict that lives for one fill, where hints keep what they decided
once, such as the household's income); `row` is the repetition being filled (with `$root` and `$params`), or
None at the top level. A hint may answer SKIP (draw the usual way), OMIT (leave this optional field out) or
DEFER (not yet: the fields it needs are not filled; ask again on the next pass).

`FormHints.draw` is asked once, when a field is first filled; `FormHints.derive` on every pass, for values that
follow from the rest (the household size, the householder's name): a derive hint must answer the same for the
same submission, so it draws from `rng` only through `memo`. `FormHints.rows` seeds a repeat's rows.
Keys are the field name at the top level and "<repeat>.<field>" inside a repeat.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tools.formfill.samples import DALI_INDUSTRIES

REFERENCE_DATE = date(2026, 11, 20)  # "today" unless the caller says otherwise, so a seed always gives the same data


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


SKIP = _Sentinel("SKIP")
OMIT = _Sentinel("OMIT")
DEFER = _Sentinel("DEFER")

Hint = Callable[[dict[str, Any], "dict[str, Any] | None", random.Random], Any]
RowsHint = Callable[[dict[str, Any], int, random.Random], list[dict[str, Any]]]


@dataclass(frozen=True)
class FormHints:
    draw: Mapping[str, Hint] = field(default_factory=dict)
    derive: Mapping[str, Hint] = field(default_factory=dict)
    rows: Mapping[str, RowsHint] = field(default_factory=dict)


NO_HINTS = FormHints()


def weighted(rng: random.Random, options: Mapping[str, float]) -> str:
    names = list(options)
    return rng.choices(names, [options[name] for name in names])[0]


def memo(top: dict[str, Any], key: str, make: Callable[[], Any]) -> Any:
    """`make()` once per fill (kept in top["$plan"]), so a derive hint can draw at random and still be stable."""
    plan = top.setdefault("$plan", {})
    if key not in plan:
        plan[key] = make()
    return plan[key]


def day_of(value: Any, fallback: date) -> date:
    """A YYYY-MM-DD value as a date, or the fallback."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else fallback
    except ValueError:
        return fallback


def today(top: dict[str, Any]) -> date:
    """The date this fill leads up to (kept in the plan)."""
    return top.get("$plan", {}).get("today", REFERENCE_DATE)


def number(value: Any, default: float = 0) -> float:
    return value if type(value) in (int, float) else default


def rows_of(top: dict[str, Any], repeat: str) -> list[dict[str, Any]]:
    rows = top.get(repeat)
    return [row for row in rows if type(row) is dict] if type(rows) is list else []


def fixed(value: Any) -> Hint:
    return lambda top, row, rng: value


def choose(options: Mapping[str, float]) -> Hint:
    return lambda top, row, rng: weighted(rng, options)


def yes(probability: float) -> Hint:
    return lambda top, row, rng: "yes" if rng.random() < probability else "no"


def maybe(probability: float, hint: Hint) -> Hint:
    """An optional field: present with `probability`, drawn by `hint`."""
    return lambda top, row, rng: hint(top, row, rng) if rng.random() < probability else OMIT


def year_of(date_field: str) -> Hint:
    return lambda top, row, rng: day_of(top.get(date_field), today(top)).year


def main_industries(top, row, rng):
    return rng.sample(DALI_INDUSTRIES, rng.randint(1, 3)) if rng.random() < 0.85 else OMIT
