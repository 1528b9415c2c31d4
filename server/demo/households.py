"""Demo households and their members: locations in the natural village, family make-up, names."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from server.demo import names
from server.demo.areas import AreaRow, area_rng
from server.demo.geometry import ewkt_point, points_around

REFERENCE_YEAR = 2025
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


def generate_households(seed: int, natural_village: AreaRow, count: int) -> Iterator[DemoHousehold]:
    """`count` households of one natural village, numbered 0001.. within it."""
    rng = area_rng(seed, natural_village.code, "households")
    spots = points_around(natural_village.boundary, natural_village.centroid, count, rng)
    county_code = natural_village.code[:6]
    for number, (x, y) in enumerate(spots, start=1):
        household_id = _uuid(rng)
        family = make_family(rng)
        members = [
            {"id": _uuid(rng), "household_id": household_id, "county_code": county_code, "name": m.name,
             "sex": m.sex, "birth_date": _birth_date(rng, m.birth_year), "relation_to_head": m.relation_to_head,
             "person_key": f"nb:{m.name}|{m.birth_year}"}
            for m in family
        ]
        yield DemoHousehold(
            values={
                "id": household_id, "area_code": natural_village.code, "household_no": f"{number:04d}",
                "householder_name": family[0].name, "location": ewkt_point(x, y),
                "registry": _registry(natural_village.code, family[0].name, x, y, members),
            },
            members=members,
        )


def _registry(area_code: str, householder_name: str, x: float, y: float, members: list[dict]) -> dict:
    """The record as the registry would hold it, in the property names the household form saves to."""
    registry = {"area_code": area_code, "householder_name": householder_name, "location": {"lat": y, "lon": x}}
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


def make_family(rng: random.Random) -> list[Member]:
    """The members of one household, the head first; children take the head's surname."""
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
