"""Demo households and their members: location, family, names, and the record each carries (type, income, case).

The record's parts come from profiles.py (type, support, case state, income band), incomes.py and cases.py.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from server.demo import names
from server.demo import proportions as p
from server.demo.areas import AreaRow, area_rng
from server.demo.cases import DemoCase, make_case
from server.demo.geometry import ewkt_point, points_around
from server.demo.incomes import ELDERLY_AGE, income
from server.demo.profiles import Profile

REFERENCE_YEAR = 2025
INCOME_YEAR = REFERENCE_YEAR - 1  # visits in the reference year ask about the last full year
LABOUR_AGE_MIN = 16  # the household form's labour_age_min; from ELDERLY_AGE on, a member is not counted as labour
# Members per household, 1-7: the mean is 3.79, near the 3.6-3.9 of domain.md 2.5.
HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6, 7)
HOUSEHOLD_SIZE_WEIGHTS = (7, 15, 21, 25, 18, 9, 5)


@dataclass(frozen=True)
class Member:
    name: str
    sex: str
    birth_year: int
    relation_to_head: str


@dataclass(frozen=True)
class DemoHousehold:
    values: dict[str, Any]  # as insert(Household) takes it
    members: list[dict[str, Any]]  # as insert(Person) takes them
    case: DemoCase | None


def generate_households(seed: int, natural_village: AreaRow, profiles: Sequence[Profile],
                        actor_id: uuid.UUID | None = None) -> Iterator[DemoHousehold]:
    """The households of one natural village, one for each profile, numbered 0001.. within it; actor_id: who took
    their cases' steps."""
    rng = area_rng(seed, natural_village.code, "households")
    # Records and cases draw from their own generator, so the people and places do not shift with them.
    details = area_rng(seed, natural_village.code, "records")
    spots = points_around(natural_village.boundary, natural_village.centroid, len(profiles), rng)
    county_code = natural_village.code[:6]
    for number, ((x, y), profile) in enumerate(zip(spots, profiles, strict=True), start=1):
        household_id = _uuid(rng)
        family = make_family(rng, no_labour=profile.no_labour)
        while profile.needs_labour and not _labour(family):
            family = make_family(rng)
        members = [
            {"id": _uuid(rng), "household_id": household_id, "county_code": county_code, "name": m.name,
             "sex": m.sex, "birth_date": _birth_date(rng, m.birth_year), "relation_to_head": m.relation_to_head,
             "person_key": f"nb:{m.name}|{m.birth_year}"}
            for m in family
        ]
        case = make_case(details, household_id, profile, len(family), actor_id)
        properties = {"householder_name": family[0].name, "location": {"lat": y, "lon": x},
                      **_record(details, profile, family), **(case.properties if case else {"monitoring_category": "none"})}
        yield DemoHousehold(
            values={
                "id": household_id, "area_code": natural_village.code, "household_no": f"{number:04d}",
                "householder_name": family[0].name, "location": ewkt_point(x, y),
                # As reconciliation would write version 1 (sync/entity_writes.py): the registry's own properties.
                "properties": properties, **_flags(properties),
                "registry": _registry(natural_village.code, properties, members),
            },
            members=members,
            case=case,
        )


def _record(rng: random.Random, profile: Profile, family: list[Member]) -> dict[str, Any]:
    """Identity and classification (domain.md 3.2) and the year's income (3.4), in the household form's names."""
    ages = [INCOME_YEAR - member.birth_year for member in family]
    labour = _labour(family)
    tuopin = profile.household_type == "tuopin"
    exit_years = list(p.EXIT_YEARS)
    return {"household_size": len(family), "household_type": profile.household_type,
            **({"poverty_exit_year": rng.choices(exit_years, list(p.EXIT_YEARS.values()))[0]} if tuopin else {}),
            "is_dibao": "yes" if profile.is_dibao else "no", "tekun_support": profile.tekun_support,
            "labour_members": labour, **income(rng, profile, ages, labour, INCOME_YEAR)}


def _labour(family: list[Member]) -> int:
    """Members of working age: the demo asks no one's labour ability, so age alone counts (domain.md 3.3)."""
    return sum(LABOUR_AGE_MIN <= INCOME_YEAR - member.birth_year < ELDERLY_AGE for member in family)


def _flags(properties: dict[str, Any]) -> dict[str, list[str]]:
    """The household form's income and support flags (domain.md 3.15) that its record raises, by tier: the demo
    records no health, schooling, housing or water, so their flags cannot hold."""
    per_head = properties["income_per_capita"]
    risk = ["income_below_monitoring_line"] if per_head < p.MONITORING_LINE else []
    watch = ["income_below_watch_line"] if per_head < p.WATCH_LINE else []
    if properties["labour_members"] == 0 and properties["is_dibao"] != "yes" and properties["tekun_support"] == "none":
        watch.append("no_labour_no_dibao")
    return {"risk_flags": risk, "watch_flags": watch}


def _registry(area_code: str, properties: dict[str, Any], members: list[dict]) -> dict:
    """The record as the registry would hold it, in the property names the household form saves to."""
    registry = {"area_code": area_code, **properties}
    for member in members:
        for name in ("name", "sex", "relation_to_head"):
            registry[f"members/{member['person_key']}/{name}"] = member[name]
        registry[f"members/{member['person_key']}/birth_date"] = member["birth_date"].isoformat()
    return registry


def _birth_date(rng: random.Random, year: int) -> date:
    return date(year, 1, 1) + timedelta(days=rng.randrange(365))


def _uuid(rng: random.Random) -> uuid.UUID:
    """A version-4 UUID drawn from the seeded generator, so ids repeat with the seed."""
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def make_family(rng: random.Random, no_labour: bool = False) -> list[Member]:
    """The members of one household, the head first; children take the head's surname.

    no_labour: an elderly head, alone or with a spouse, as most households under 特困 support or long-term follow-up are.
    """
    if no_labour:
        return _elderly(rng)
    size = rng.choices(HOUSEHOLD_SIZES, HOUSEHOLD_SIZE_WEIGHTS)[0]
    # Women head about a fifth of rural households (widows, and uxorilocal marriages common among the Bai).
    head_sex = "male" if rng.random() < 0.8 else "female"
    head_year = rng.randint(1940, 1990) if size == 1 else rng.randint(1950, 1995)
    family_name = names.surname(rng)
    family = [_person(rng, family_name, head_sex, head_year, "head")]
    if size >= 2 and rng.random() < 0.85:
        family.append(_spouse(rng, head_sex, head_year))
    if head_year >= 1972 and len(family) < size and rng.random() < 0.5:
        family.extend(_parents(rng, family_name, head_year, rng.randint(1, min(size - len(family), 2))))
    if head_year <= 1965 and size - len(family) >= 3 and rng.random() < 0.6:
        family.extend(_extended(rng, family_name, head_year, size - len(family)))
    if len(family) < size and rng.random() < 0.05:
        family.append(_person(rng, names.surname(rng), _sex(rng), head_year + rng.randint(-10, 10), "other"))
    family.extend(_children(rng, family_name, head_year, size - len(family)))
    return _distinct_names(rng, family)


def _elderly(rng: random.Random) -> list[Member]:
    head_sex = "male" if rng.random() < 0.6 else "female"
    head_year = rng.randint(1935, INCOME_YEAR - ELDERLY_AGE - 2)
    family = [_person(rng, names.surname(rng), head_sex, head_year, "head")]
    if rng.random() < 0.3:
        spouse = _spouse(rng, head_sex, head_year)
        family.append(spouse if INCOME_YEAR - spouse.birth_year >= ELDERLY_AGE else
                      Member(spouse.name, spouse.sex, head_year, spouse.relation_to_head))
    return _distinct_names(rng, family)


def _distinct_names(rng: random.Random, family: list[Member]) -> list[Member]:
    """Renames a member who drew the name of another, since no family gives two members one name."""
    seen: set[str] = set()
    distinct = []
    for member in family:
        while member.name in seen:  # every surname in names.SURNAMES has one character
            member = _person(rng, member.name[0], member.sex, member.birth_year, member.relation_to_head)
        seen.add(member.name)
        distinct.append(member)
    return distinct


# The relation_to_head choices of the household form (domain.md 3.3) name a child or in-law by sex.
BY_SEX = {"child": ("son", "daughter"), "child_in_law": ("son_in_law", "daughter_in_law")}


def _person(rng: random.Random, family_name: str, sex: str, birth_year: int, relation: str) -> Member:
    if relation in BY_SEX:
        relation = BY_SEX[relation][sex != "male"]
    return Member(family_name + names.given_name(rng, sex, birth_year), sex, birth_year, relation)


def _sex(rng: random.Random) -> str:
    return "male" if rng.random() < 0.52 else "female"


def _spouse(rng: random.Random, head_sex: str, head_year: int) -> Member:
    # Husbands are usually a few years older than their wives.
    gap = rng.randint(-1, 5)
    sex, year = ("female", head_year + gap) if head_sex == "male" else ("male", head_year - gap)
    return _person(rng, names.surname(rng), sex, year, "spouse")


def _parents(rng: random.Random, family_name: str, head_year: int, count: int) -> list[Member]:
    father_year = head_year - rng.randint(22, 34)
    parents = [_person(rng, names.surname(rng), "female", father_year + rng.randint(0, 4), "parent"),
               _person(rng, family_name, "male", father_year, "parent")]
    rng.shuffle(parents)
    return parents[:count]


def _extended(rng: random.Random, family_name: str, head_year: int, room: int) -> list[Member]:
    """An older head living with a grown child, the child's spouse and grandchildren."""
    child_year = head_year + rng.randint(20, 30)
    child_sex = _sex(rng)
    members = [_person(rng, family_name, child_sex, child_year, "child"),
               _person(rng, names.surname(rng), "female" if child_sex == "male" else "male",
                       child_year + rng.randint(-3, 3), "child_in_law")]
    latest = REFERENCE_YEAR - 1
    for _ in range(room - 2):
        year = min(child_year + rng.randint(20, 32), latest)
        members.append(_person(rng, family_name, _sex(rng), year, "grandchild"))
    return members


def _children(rng: random.Random, family_name: str, head_year: int, count: int) -> list[Member]:
    latest = REFERENCE_YEAR - 1
    years = sorted(min(head_year + rng.randint(20, 38), latest) for _ in range(max(count, 0)))
    return [_person(rng, family_name, _sex(rng), year, "child") for year in years]
