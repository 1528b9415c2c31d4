"""Which subject each new submission is about: open assignments first, then known and new households and villages."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from survey_forms.definition import FormDefinition
from tools.simulate.knowledge import Knowledge
from tools.simulate.make import Subject

NATURAL_VILLAGE = "natural_village"


class NothingToSurvey(Exception):
    """The device knows no household, natural village or village form in its scope to fill anything about."""


@dataclass(frozen=True)
class Mix:
    new_households: float = 0.2  # share of household visits to households the device has not seen before
    villages: float = 0.1  # share of village forms, when the device has any
    # Share of revisits to the households of the device's own natural village: a work team visits its village's
    # households, so parallel devices seldom touch one household. 0: drawn from every household the device knows.
    own_village: float = 0.0


def plan(knowledge: Knowledge, forms: list[FormDefinition], rng: random.Random, count: int,
         mix: Mix = Mix(), team: int = 0) -> Iterator[tuple[FormDefinition, Subject]]:  # noqa: B008 (a frozen dataclass)
    """`count` (form, subject) pairs drawn from what the device knows; the same rng state gives the same plan.

    team: which natural village is the device's own (the team-th of those with known households, in code order).

    Raises:
        NothingToSurvey: no form the device has fits anything it knows.
    """
    household_forms = [f for f in forms if f.subject == "household"]
    village_forms = [f for f in forms if f.subject == "village" and knowledge.areas_at(_level(f))]
    households = knowledge.sorted_households() if household_forms else []
    own = _own_village(households, team)
    villages = knowledge.areas_at(NATURAL_VILLAGE) if household_forms else []
    if not (households or villages or village_forms):
        raise NothingToSurvey("the device knows no household, natural village or village form in its scope")
    by_id = {f.form_id: f for f in forms}
    planned = 0
    for assignment in knowledge.sorted_assignments():
        if planned == count:
            return
        found = _assigned(knowledge, by_id.get(assignment["form_id"]), assignment)
        if found is not None:
            planned += 1
            yield found
    village_share = mix.villages if village_forms else 0.0
    while planned < count:
        draw = rng.random()
        if village_forms and (draw < village_share or not (households or villages)):
            form = rng.choice(village_forms)
            yield form, _village(knowledge, rng.choice(knowledge.areas_at(_level(form))))
        elif villages and (draw < village_share + mix.new_households or not households):
            yield rng.choice(household_forms), _new_household(rng.choice(villages))
        else:
            drawn_from = own if own and rng.random() < mix.own_village else households
            yield rng.choice(household_forms), _household(knowledge, rng.choice(drawn_from))
        planned += 1


def _own_village(households: list[dict[str, Any]], team: int) -> list[dict[str, Any]]:
    codes = sorted({h["area_code"] for h in households})
    return [h for h in households if h["area_code"] == codes[team % len(codes)]] if codes else []


def _assigned(knowledge: Knowledge, form: FormDefinition | None,
              assignment: dict[str, Any]) -> tuple[FormDefinition, Subject] | None:
    if form is None:
        return None
    if form.subject == "household":
        household = knowledge.households.get(str(assignment.get("household_id")))
        if household is not None:
            return form, _household(knowledge, household)
        area = knowledge.areas.get(assignment["area_code"])
        return (form, _new_household(area)) if area and area.get("level") == NATURAL_VILLAGE else None
    area = knowledge.areas.get(assignment["area_code"])
    return (form, _village(knowledge, area)) if area and area.get("level") == _level(form) else None


def _level(form: FormDefinition) -> str:
    return form.document.get("subject_level", NATURAL_VILLAGE)


def _household(knowledge: Knowledge, household: dict[str, Any]) -> Subject:
    """A revisit: it starts from the household as pulled, its members included."""
    point = _lat_lon(household.get("location")) or _area_point(knowledge.areas.get(household["area_code"]))
    return Subject("household", household["area_code"], str(household["id"]), household.get("version"), point,
                   prefill=household.get("prefill"), members=household.get("members") or [])


def _new_household(area: dict[str, Any]) -> Subject:
    return Subject("household", area["code"], None, None, _area_point(area))


def _village(knowledge: Knowledge, area: dict[str, Any]) -> Subject:
    """A village as pulled starts from its state and version; one never surveyed has neither."""
    village = knowledge.villages.get(area["code"]) or {}
    return Subject("village", area["code"], None, village.get("version"), _area_point(area), _name_zh(area),
                   prefill=village.get("prefill"))


def _name_zh(area: dict[str, Any]) -> str | None:
    # The server sends {"name": {"zh", "en"}}; the brief for this tool said name_zh and name_en. Either will do.
    name = area.get("name")
    return name.get("zh") if isinstance(name, dict) else area.get("name_zh")


def _area_point(area: dict[str, Any] | None) -> tuple[float, float] | None:
    if not area:
        return None
    centroid = _lat_lon(area.get("centroid"))
    bbox = area.get("bbox")
    if centroid is None and isinstance(bbox, list) and len(bbox) == 4:
        centroid = ((bbox[1] + bbox[3]) / 2, (bbox[0] + bbox[2]) / 2)
    return centroid


def _lat_lon(value: Any) -> tuple[float, float] | None:
    if isinstance(value, dict) and isinstance(value.get("lat"), int | float) and isinstance(value.get("lon"), int | float):
        return value["lat"], value["lon"]
    return None
