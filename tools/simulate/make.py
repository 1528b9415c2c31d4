"""Building one push item from a real form version with tools.formfill: valid, or broken on purpose in one place."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from survey_forms.definition import FormDefinition
from tools.formfill import REFERENCE_DATE, FillError, fill, iter_fields, mutations
from tools.simulate import photos, revisit

DALI = (25.6, 100.2)  # where a subject without any known position is placed
TIMEZONE = "+08:00"  # devices in Yunnan keep China Standard Time
PHOTO_BYTES = (2 * 1024, 16 * 1024)


@dataclass(frozen=True)
class Subject:
    """What a submission is about, as the device knows it."""

    type: str  # household or village
    area_code: str
    id: str | None = None  # None: a household the device has just found
    base_version: int | None = None
    point: tuple[float, float] | None = None  # (lat, lon) of the house or the area's centre
    name_zh: str | None = None
    prefill: Mapping[str, Any] | None = None  # the pulled state a revisit starts from; None: nothing pulled
    members: list[dict[str, Any]] = field(default_factory=list)  # the household's people as pulled, by person_key


@dataclass(frozen=True)
class Made:
    item: dict[str, Any]
    broken: str | None  # the formfill mutation kind when the item was broken on purpose

    @property
    def uuid(self) -> str:
        return self.item["uuid"]


def make_item(definition: FormDefinition, subject: Subject, rng: random.Random, *, members: int | None = None,
              broken: bool = False, photo_bytes: tuple[int, int] = PHOTO_BYTES, not_before: datetime | None = None) -> Made:
    """A push item about `subject` whose data formfill drew from `rng`; the same rng state gives the same item.

    not_before: when the device finished its previous visit; this one starts after it, as on a real phone.

    Raises:
        FillError: formfill found no valid data for this form with the subject's values.
    """
    uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    specs = dict(iter_fields(definition))
    lat, lon = _near(subject.point or DALI, rng, 0.0004 if subject.point else 0.02)
    fix = {"lat": lat, "lon": lon, "accuracy_m": round(rng.uniform(3, 25), 1), "altitude_m": round(rng.uniform(1500, 2600), 1)}
    overrides = _overrides(specs, subject, fix)
    if subject.prefill is None:
        data = fill(definition, rng, members=members, overrides=overrides)
    else:
        data = _revisit(definition, subject, rng, overrides)
    kind = None
    if broken and (found := mutations(definition, data, rng)):
        mutation = rng.choice(found)
        data, kind = mutation.data, mutation.kind
    started = _visit_start(specs, data, rng)
    if not_before is not None and started <= not_before:
        # One phone makes its visits one after another: its device times never go back (merge orders a device's
        # visits of one version by them). A visit date drawn earlier only sets the day of a device without one.
        started = not_before + timedelta(minutes=rng.randint(5, 40))
    collected = started + timedelta(minutes=rng.randint(15, 75))
    item = {
        "uuid": uid, "form_id": definition.form_id, "form_version": definition.version,
        "subject": {"type": subject.type, "id": subject.id, "area_code": subject.area_code},
        "base_version": subject.base_version,
        "started_at": started.isoformat(), "collected_at": collected.isoformat(),
        "gps": {**fix, "captured_at": (started + timedelta(minutes=2)).isoformat()},
        "data": data, "supersedes": None,
        "attachments": [photos.declare(uid, name, rng.randint(*photo_bytes)) for name in _file_names(specs, data)],
    }
    return Made(item, kind)


def _revisit(definition: FormDefinition, subject: Subject, rng: random.Random, overrides: dict[str, Any]) -> dict[str, Any]:
    """The data of a revisit, filled from the pulled state; what the form refuses of it now is answered anew too.

    A kept answer can clash with one given anew (a member who moved out no longer counts in the household size); a
    clash that no single answer explains (the head moved out: no head) is a change the visit does not make after all.
    """
    assert subject.prefill is not None
    given = revisit.answers(definition, subject.prefill, subject.members, rng)
    changes = revisit.CHANGED
    while True:
        try:
            return revisit.unanswered_removed(fill(definition, rng, overrides={**given, **overrides}))
        except FillError as error:
            if not [e for e in error.errors if revisit.forget(given, e.field)]:
                if changes == revisit.NO_CHANGE:
                    raise
                changes = revisit.NO_CHANGE
                given = revisit.answers(definition, subject.prefill, subject.members, rng, changes)


def _overrides(specs: dict[str, dict[str, Any]], subject: Subject, fix: dict[str, float]) -> dict[str, Any]:
    """Top-level values the device fills in itself: the subject's codes and names, and the GPS fix."""
    by_target = {"household.natural_village_code": subject.area_code, "village.code": subject.area_code,
                 "village.name_zh": subject.name_zh}
    overrides: dict[str, Any] = {}
    for key, spec in specs.items():
        if "." in key:
            continue  # a field inside a repeat
        if spec["type"] == "geopoint":
            limit = spec.get("max_accuracy_m")
            overrides[key] = {**fix, "accuracy_m": min(fix["accuracy_m"], limit * 0.9)} if limit else dict(fix)
        elif by_target.get(spec.get("save_to", "")) is not None:
            overrides[key] = by_target[spec["save_to"]]
    return overrides


def _file_names(specs: dict[str, dict[str, Any]], data: dict[str, Any]) -> list[str]:
    """The file names the data's photo and audio fields hold, at the top and in every repeat row, once each."""
    names: list[str] = []
    for key, spec in specs.items():
        if spec["type"] not in ("photo", "audio"):
            continue
        repeat, _, name = key.rpartition(".")
        rows = data.get(repeat) if repeat else [data]
        for row in rows if isinstance(rows, list) else []:
            value = row.get(name) if isinstance(row, dict) else None
            if isinstance(value, str) and value and value not in names:
                names.append(value)
    return names


def _visit_start(specs: dict[str, dict[str, Any]], data: dict[str, Any], rng: random.Random) -> datetime:
    """A morning or afternoon of the form's first top-level date (the visit's), in China Standard Time."""
    day = REFERENCE_DATE
    for key, spec in specs.items():
        if "." not in key and spec["type"] == "date" and isinstance(data.get(key), str):
            try:
                day = date.fromisoformat(data[key])
            except ValueError:  # a broken date: the mutation's doing
                continue
            break
    moment = datetime.fromisoformat(f"{day.isoformat()}T08:00:00{TIMEZONE}")
    return moment + timedelta(minutes=rng.randint(0, 9 * 60))


def _near(point: tuple[float, float], rng: random.Random, spread: float) -> tuple[float, float]:
    return round(point[0] + rng.uniform(-spread, spread), 6), round(point[1] + rng.uniform(-spread, spread), 6)
