"""Hints for the household's members (household_visit's `members` repeat): who lives there and what each one does."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from server.demo import names
from tools.formfill.hints.base import DEFER, OMIT, SKIP, Hint, choose, day_of, rows_of, today, weighted, yes
from tools.formfill.idcard import id_card_no
from tools.formfill.samples import birth_date_for_age, person_name

CURRENT = ("present", "born", "married_in")  # the statuses of people who count in the household
NOT_STUDYING = (None, "not_applicable", "completed_compulsory", "dropped_out", "physically_unable")
EMPLOYED = ("outside_province", "in_province_outside_county", "in_county", "public_welfare_job", "assistance_workshop",
            "self_employed")
ETHNICITIES = {"bai": 35, "han": 30, "yi": 18, "hui": 5, "lisu": 3, "miao": 2, "naxi": 2, "zang": 1, "lahu": 1,
               "pumi": 1, "dai": 1, "achang": 1}


def current_members(top: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for row in rows_of(top, "members") if row.get("member_status") in CURRENT]


def head_of(top: dict[str, Any]) -> dict[str, Any] | None:
    return next((row for row in current_members(top) if row.get("relation_to_head") == "head"), None)


def age_of(row: dict[str, Any] | None) -> int | None:
    age = row.get("age_years") if row else None
    return age if type(age) is int else None


def studying(row: dict[str, Any]) -> bool:
    return row.get("schooling_status") not in NOT_STUDYING


def from_v2(top: dict[str, Any]) -> bool:
    """Whether the household_visit version being filled is v2 or later, where disability is its own question
    (`has_disability`, so health_status offers no `disabled`), 15-17-year-olds may have `completed_compulsory`, each
    member has `medical_oop` and a routine visit may leave the income empty.

    A hint does not see the field it fills (its choices), so the hints the versions share tell them apart by a
    calculation that v2 brought: the server computes every calculation from the first pass on (None while its inputs
    are missing), so `income_entered` is in `top` from the start in v2 and never in v1. The v1 branches of the hints
    draw exactly as before, so a seed gives the same v1 household as it always did.
    """
    return "income_entered" in top


def severely_disabled(row: dict[str, Any]) -> bool:
    """A disability of grade 1 or 2 (重度残疾), asked apart from illness from v2 on."""
    return row.get("has_disability") == "yes" and row.get("disability_grade") in ("1", "2")


def _family(count: int, rng: random.Random) -> list[tuple[str, str, int]]:
    """(relation, sex, age) of `count` people: a head, usually a spouse, children, sometimes parents or grandchildren."""
    head_sex = "male" if rng.random() < 0.85 else "female"
    other_sex = "female" if head_sex == "male" else "male"
    three_generations = count >= 5 and rng.random() < 0.5
    head_age = rng.randint(50, 72) if three_generations else rng.randint(26, 70 if count <= 2 else 58)
    people = [("head", head_sex, head_age)]
    if count >= 2 and rng.random() < 0.88:
        people.append(("spouse", other_sex, max(20, min(95, head_age + rng.randint(-6, 4)))))
    if head_age <= 55 and len(people) < count and rng.random() < 0.45:
        for relation in ("parent", "parent")[: rng.randint(1, min(2, count - len(people)))]:
            age = min(96, head_age + rng.randint(22, 32))
            people.append((relation, rng.choice(("male", "female")), age))
    if three_generations and count - len(people) >= 2:
        child_age = rng.randint(max(20, head_age - 38), max(20, head_age - 22))
        child_sex = "male" if rng.random() < 0.75 else "female"
        people.append(("son" if child_sex == "male" else "daughter", child_sex, child_age))
        in_law = "daughter_in_law" if child_sex == "male" else "son_in_law"
        people.append((in_law, "female" if child_sex == "male" else "male", max(20, child_age + rng.randint(-4, 3))))
        while len(people) < count and rng.random() < 0.9:
            people.append(("grandchild", rng.choice(("male", "female")), rng.randint(0, max(0, min(16, child_age - 20)))))
    while len(people) < count:
        youngest, oldest = max(0, head_age - 42), max(0, head_age - 20)
        if oldest >= 0 and rng.random() < 0.85:
            sex = rng.choice(("male", "female"))
            people.append(("son" if sex == "male" else "daughter", sex, rng.randint(youngest, oldest)))
        else:
            people.append((rng.choice(("sibling", "other", "grandchild")), rng.choice(("male", "female")),
                           rng.randint(0, 60)))
    return people[:count]


def _status(relation: str, age: int, rng: random.Random) -> str:
    if relation == "head":
        return "present"
    if age <= 1 and rng.random() < 0.6:
        return "born"
    if relation in ("spouse", "daughter_in_law", "son_in_law") and rng.random() < 0.08:
        return "married_in"
    if rng.random() < 0.06:
        if relation == "parent" or age >= 75:
            return "deceased"
        if relation == "daughter" and age >= 20:
            return "married_out"
        if age >= 18:
            return rng.choice(("moved_out", "split_household"))
    return "present"


def member_rows(top: dict[str, Any], count: int, rng: random.Random) -> list[dict[str, Any]]:
    """The people of the household, with names, sexes, birth dates, identity numbers and their relation to the head."""
    visit = day_of(top.get("visit_date"), today(top))
    code = top.get("natural_village_code")
    region = code[:6] if isinstance(code, str) else None
    family_name = names.surname(rng)
    ethnicity = weighted(rng, ETHNICITIES)
    rows = []
    for relation, sex, age in _family(count, rng):
        birth = birth_date_for_age(rng, visit, age).isoformat()
        blood = relation in ("head", "son", "daughter", "grandchild", "sibling") or (relation == "parent" and sex == "male")
        name = person_name(rng, sex, int(birth[:4]), family_name if blood else None)
        row = {"name": name, "sex": sex, "birth_date": birth, "relation_to_head": relation,
               "member_status": _status(relation, age, rng),
               "ethnicity": ethnicity if blood or rng.random() < 0.6 else weighted(rng, ETHNICITIES)}
        if age >= 1 or rng.random() < 0.5:
            row["id_card_no"] = id_card_no(rng, birth, sex, region)
        rows.append(row)
    return rows


def _aged(hint: Callable[[int, dict[str, Any], random.Random], Any]) -> Hint:
    """A member hint that needs the member's age (a server calculation, there from the second pass)."""
    def run(top, row, rng):
        age = age_of(row)
        return DEFER if age is None else hint(age, row, rng)

    return run


def _education_level(age, row, rng):
    if age < 6:
        return "preschool_na"
    if age <= 12:
        return "primary"
    if age <= 15:
        return "junior"
    if age <= 18:
        return weighted(rng, {"junior": 2, "senior": 5, "secondary_vocational": 3})
    if age >= 65:
        return weighted(rng, {"illiterate": 4, "primary": 5, "junior": 1})
    if age >= 45:
        return weighted(rng, {"illiterate": 1, "primary": 5, "junior": 4, "senior": 1})
    return weighted(rng, {"primary": 2, "junior": 6, "senior": 2, "secondary_vocational": 1.5, "college_plus": 1})


def _schooling_status(top, row, rng):
    school_age = row.get("school_age_years") if row else None
    if type(school_age) is int and 15 <= school_age <= 17 and from_v2(top):
        return _schooling_after_compulsory(row, rng)
    if type(school_age) is not int:
        return DEFER
    if school_age < 3:
        return "not_applicable"
    if school_age < 6:
        return weighted(rng, {"preschool": 8, "not_applicable": 2})
    if school_age <= 11:
        return weighted(rng, {"primary": 97, "dropped_out": 1, "physically_unable": 0.5, "home_teaching": 0.5})
    if school_age <= 14:
        return weighted(rng, {"junior": 95, "dropped_out": 3, "physically_unable": 0.5, "home_teaching": 0.5})
    if school_age <= 18:
        return weighted(rng, {"senior_high": 45, "secondary_vocational": 30, "not_applicable": 20, "dropped_out": 5})
    if school_age <= 22:
        return weighted(rng, {"higher_vocational": 15, "undergraduate": 15, "not_applicable": 70})
    return "not_applicable"


def _schooling_after_compulsory(row: dict[str, Any], rng: random.Random) -> Any:
    """v2, aged 15-17 on 1 September: most are in senior high or vocational school; a minority finished junior
    secondary and left (`completed_compulsory`, the 两后生 of tomorrow); a few dropped out."""
    if row.get("education_level") is None:
        return DEFER
    finished_junior = row.get("education_level") in ("junior", "senior", "secondary_vocational", "college_plus")
    return weighted(rng, {"senior_high": 50, "secondary_vocational": 30, "completed_compulsory": 15 if finished_junior else 0,
                          "dropped_out": 5})


def _health_status(top, row, rng):
    age = age_of(row)
    if age is None:
        return DEFER
    chronic = 0.04 + (0.2 if age >= 50 else 0) + (0.15 if age >= 70 else 0)
    if from_v2(top):  # illness only: disability is has_disability
        return weighted(rng, {"healthy": 1 - chronic - 0.03, "chronic": chronic, "serious_illness": 0.03})
    return weighted(rng, {"healthy": 1 - chronic - 0.07, "chronic": chronic, "serious_illness": 0.03, "disabled": 0.04})


def _has_disability(age, row, rng):
    """v2: a few percent of people, most of them old (about 4% in all, as v1's `disabled` health status gave)."""
    chance = 0.012 if age < 16 else 0.03 if age < 45 else 0.055 if age < 60 else 0.1 if age < 75 else 0.16
    return "yes" if rng.random() < chance else "no"


def _disability_type(top, row, rng):
    if not from_v2(top):
        return [rng.choice(("visual", "hearing", "physical", "intellectual"))]
    return [weighted(rng, {"physical": 30, "hearing": 22, "visual": 14, "multiple": 14, "intellectual": 8, "mental": 8,
                           "speech": 2})]


def _disability_grade(top, row, rng):
    """v2: grades 3 and 4 (mild) are the commoner; about a third are grade 1-2 (重度). v1: drawn as before."""
    if not from_v2(top):
        return SKIP
    return weighted(rng, {"1": 12, "2": 22, "3": 30, "4": 36})


def _disability_allowances(top, row, rng):
    """v2: the care allowance for grades 1-2, the living allowance for the disabled in dibao households."""
    if not from_v2(top):
        from tools.formfill.walk import OPTIONAL_SHARE  # here: walk imports the hints

        return OMIT if rng.random() >= OPTIONAL_SHARE else SKIP  # as without a hint, so v1 draws as before
    allowances = []
    if top.get("is_dibao") == "yes" and rng.random() < 0.9:
        allowances.append("living")
    if severely_disabled(row) and rng.random() < 0.9:
        allowances.append("care")
    return allowances or OMIT


def _medical_oop(top, row, rng):
    """v2, yuan this year after insurance: mostly 0 or small, large for a few of the seriously ill or hospitalised."""
    if row.get("member_status") == "deceased":  # those who died this year, often after a stay in hospital
        return 0 if rng.random() < 0.5 else round(rng.uniform(500, 8000))
    health = row.get("health_status")
    if health is None or row.get("has_disability") is None:
        return DEFER
    draw = rng.random()
    if health == "serious_illness":
        cost = rng.uniform(6000, 25000) if draw < 0.25 else rng.uniform(1000, 5000)
    elif health == "chronic":
        cost = rng.uniform(5000, 12000) if draw < 0.015 else 0 if draw < 0.2 else rng.uniform(200, 2000)
    else:
        cost = rng.uniform(2000, 8000) if draw < 0.01 else 0 if draw < 0.7 else rng.uniform(30, 800)
    if row.get("has_disability") == "yes" and rng.random() < 0.5:
        cost += rng.uniform(200, 1500)
    return round(cost)


def _self_care(age, row, rng):
    if age >= 80 or row.get("health_status") in ("serious_illness", "disabled") or severely_disabled(row):
        return weighted(rng, {"full": 4, "partial": 4, "none": 2})
    if row.get("has_disability") == "yes":  # v2, grade 3-4
        return weighted(rng, {"full": 8, "partial": 2})
    return "full" if age >= 3 else weighted(rng, {"full": 1, "partial": 1})


def _labour_ability(age, row, rng):
    if age < 16 or studying(row):
        return "none"
    if (row.get("health_status") in ("serious_illness", "disabled") or severely_disabled(row)) and rng.random() < 0.6:
        return "lost"
    if row.get("has_disability") == "yes" and age < 60 and rng.random() < 0.4:  # v2, grade 3-4
        return "weak"
    if age >= 75:
        return weighted(rng, {"lost": 6, "weak": 4})
    if age >= 60:
        return weighted(rng, {"weak": 6, "ordinary": 3, "lost": 1})
    return weighted(rng, {"skilled": 1.5, "ordinary": 7, "weak": 1.5})


def _employment_status(top, row, rng):
    age = age_of(row)
    if age is None:
        return DEFER
    if age < 16 or studying(row):
        return "not_in_labour_force"
    if row.get("labour_ability") in ("lost", "none"):
        return "not_in_labour_force"
    if age >= 60:
        return weighted(rng, {"farming": 7, "not_in_labour_force": 3})
    if from_v2(top):  # farming the family's land is work (v2's hint): few at home call themselves unemployed
        return weighted(rng, {"outside_province": 20, "in_province_outside_county": 15, "in_county": 15,
                              "public_welfare_job": 5, "assistance_workshop": 3, "self_employed": 7, "farming": 33,
                              "unemployed": 2})
    return weighted(rng, {"outside_province": 20, "in_province_outside_county": 15, "in_county": 15,
                          "public_welfare_job": 5, "assistance_workshop": 3, "self_employed": 7, "farming": 30,
                          "unemployed": 5})


def _pension(age, row, rng):
    if age < 16:
        return "not_applicable"
    if age >= 60:
        return "receiving" if rng.random() < 0.95 else "none"
    return "contributing" if rng.random() < 0.8 else "none"


def _special_groups(age, row, rng):
    if age < 16 and rng.random() < 0.12:
        return ["left_behind_child"]
    if age >= 60 and rng.random() < 0.1:
        return ["left_behind_elderly"]
    return OMIT


MEMBER_DRAW: dict[str, Hint] = {
    "members.education_level": _aged(_education_level),
    "members.schooling_status": _schooling_status,
    "members.yulu_plan": yes(0.7),
    "members.student_aid": yes(0.5),
    "members.health_status": _health_status,
    "members.chronic_diseases": lambda top, row, rng: rng.sample(("hypertension", "diabetes", "other"), rng.randint(1, 2)),
    "members.has_disability": _aged(_has_disability),
    "members.disability_type": _disability_type,
    "members.disability_grade": _disability_grade,
    "members.disability_allowances": _disability_allowances,
    "members.self_care": _aged(_self_care),
    "members.medical_oop": _medical_oop,
    "members.labour_ability": _aged(_labour_ability),
    "members.employment_status": _employment_status,
    "members.works_in_shanghai": yes(0.15),
    "members.work_months": lambda top, row, rng: rng.randint(3, 12),
    "members.skills_training": choose({"none": 70, "trained": 25, "certified": 5}),
    "members.migrant_travel_subsidy": yes(0.4),
    "members.medical_insurance": choose({"resident": 93, "employee": 3, "none": 4}),
    "members.family_doctor_signed": yes(0.85),
    "members.pension_insurance": _aged(_pension),
    "members.special_groups": _aged(_special_groups),
    "members.speaks_mandarin": yes(0.85),
}
