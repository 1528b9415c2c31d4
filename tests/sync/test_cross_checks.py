"""Supervisor cross-checks (issue 13, domain.md 6.2): each fires on a realistic case and stays quiet on the near miss.

The item checks run on a household visit's clear data, as ingest holds it before ID numbers are sealed; the village
check runs in PostGIS after reconciliation. Field names are the household_visit v1 and village_infrastructure v1 ones.
"""

from __future__ import annotations

import copy
import json
import random
import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select, text

from core.id_card import check_character
from server.models import Area, AreaLevel, Flag
from survey_forms.definition import FormDefinition
from sync import cross_checks
from sync.cross_checks import CrossCheck, item_checks
from sync.evidence import NAMESPACE
from tests.survey_forms.test_village_forms import load
from tests.sync.conftest import AREA, batch, item
from tools import formfill

URL = "/api/v1/sync/submissions"
ADMIN_VILLAGE, VILLAGE = "532922100001", "532922100001001"
# Made-up numbers of 漾濞 (532922) whose check characters the algorithm gives (tests/core/test_id_card.py).
HEAD_ID, WIFE_ID, SON_ID, BOY_ID = "53292219750302013X", "532922197808150023", "532922200106180150", "532922201405010316"


def member(name: str, id_card_no: str, sex: str, birth_date: str, relation: str, employment: str,
           **labour: Any) -> dict[str, Any]:
    return {"name": name, "id_card_no": id_card_no, "sex": sex, "birth_date": birth_date, "relation_to_head": relation,
            "member_status": "present", "employment_status": employment, **labour}


# A 脱贫户 of 苍山西镇 as the v1 household form records it: the father farms, the mother is a cleaner (公益性岗位),
# the elder son works in Guangdong for ten months and got the travel subsidy, the younger son is at school.
FAMILY: dict[str, Any] = {
    "visit_date": "2026-11-20", "householder_name": "杨建华", "householder_id_card_no": HEAD_ID, "household_size": 4,
    "household_type": "tuopin", "is_dibao": "no", "tekun_support": "none",
    "members": [
        member("杨建华", HEAD_ID, "male", "1975-03-02", "head", "farming"),
        member("李秀英", WIFE_ID, "female", "1978-08-15", "spouse", "public_welfare_job",
               public_welfare_job_type="cleaner"),
        member("杨志强", SON_ID, "male", "2001-06-18", "son", "outside_province", work_months=10,
               migrant_travel_subsidy="yes"),
        member("杨小龙", BOY_ID, "male", "2014-05-01", "son", "not_in_labour_force"),
    ],
    "income_year": 2025, "income_wage": 46000, "income_business_gross": 9000, "cost_business": 2500,
    "income_property": 0, "transfer_dibao": 0, "transfer_tekun": 0, "transfer_pension": 0,
    "transfer_eco_compensation": 300, "transfer_agri_subsidy": 620, "transfer_disability": 0, "transfer_other": 0,
    "income_transfer": 920,
}


def family(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(FAMILY)
    data.update(changes)
    return data


def codes(data: dict[str, Any]) -> dict[str, CrossCheck]:
    return {check.code: check for check in item_checks(data)}


def test_a_consistent_family_raises_no_cross_check():
    """domain.md 6.2: wage earners with wages, no 低保 and no 低保金, a subsidy after ten months away, valid IDs."""
    assert item_checks(family()) == []


def test_a_form_that_asks_none_of_it_raises_nothing():
    """A missing field is a question not asked (another form, or a later version), never a problem."""
    assert item_checks({"visit_date": "2026-11-20", "income_wage": 12000, "members": [{"name": "杨建华"}]}) == []
    assert item_checks({"households_total": 40}) == []


# -- 低保 (domain.md 3.2 is_dibao, 3.4 transfer_dibao) --

@pytest.mark.parametrize("allowance", [0, None])
def test_a_dibao_household_without_dibao_allowance_is_flagged(allowance):
    """domain.md 6.2 dibao_without_allowance: is_dibao = yes but transfer_dibao is 0, or left out of the income."""
    data = family(is_dibao="yes", transfer_dibao=allowance)
    if allowance is None:
        del data["transfer_dibao"]
    check = codes(data)["dibao_without_allowance"]
    assert check.field == "transfer_dibao"
    assert check.details == {"reason": check.details["reason"], "is_dibao": "yes", "transfer_dibao": allowance}
    assert re.fullmatch(r"[^·]+ · [^·]+", check.details["reason"])  # 中文 · English


def test_a_dibao_household_with_its_allowance_is_fine():
    """domain.md 6.2 dibao_without_allowance, near miss: Lincang's 2020 standard 4620 yuan for one person (3.4)."""
    assert item_checks(family(is_dibao="yes", transfer_dibao=4620)) == []


def test_dibao_allowance_for_a_household_not_on_dibao_is_flagged():
    """domain.md 6.2 dibao_without_allowance, "and vice versa": transfer_dibao > 0 but is_dibao is not yes."""
    check = codes(family(is_dibao="no", transfer_dibao=2310))["allowance_without_dibao"]
    assert (check.field, check.details["is_dibao"], check.details["transfer_dibao"]) == ("is_dibao", "no", 2310)


def test_dibao_allowance_without_the_dibao_question_is_not_flagged():
    """A form without is_dibao did not ask it: no flag (house rule for a missing field)."""
    data = family(transfer_dibao=2310)
    del data["is_dibao"]
    assert item_checks(data) == []


# -- wages and workers (domain.md 3.3 employment_status, 3.4 income_wage) --

def farmers(**changes: Any) -> dict[str, Any]:
    """A family that farms and keeps a small shop: no one in wage work."""
    data = family(**changes)
    for row, work in zip(data["members"], ("farming", "self_employed", "farming", "not_in_labour_force"), strict=True):
        row["employment_status"] = work
        for labour in ("work_months", "migrant_travel_subsidy", "public_welfare_job_type"):
            row.pop(labour, None)
    return data


def test_wage_income_with_no_member_in_wage_work_is_flagged():
    """domain.md 6.2 wage_without_worker: income_wage > 0 but farming and self-employment are all the family does."""
    check = codes(farmers(income_wage=8000))["wage_without_worker"]
    assert (check.field, check.details["income_wage"], check.details["wage_earners"]) == ("income_wage", 8000, 0)


def test_a_farming_family_without_wages_is_fine():
    """domain.md 6.2 wage_without_worker, near miss: farming and a shop earn business income, not wages (3.4)."""
    assert item_checks(farmers(income_wage=0)) == []


@pytest.mark.parametrize("work", ["public_welfare_job", "assistance_workshop", "in_county"])
def test_a_public_job_a_workshop_or_a_local_job_explains_wage_income(work):
    """domain.md 3.4: income_wage is migrant and local wages, public-welfare-job pay and workshop wages."""
    data = farmers(income_wage=9600)
    data["members"][1]["employment_status"] = work
    assert item_checks(data) == []


@pytest.mark.parametrize("wage", [0, None])
def test_members_in_wage_work_without_wage_income_are_flagged(wage):
    """domain.md 6.2 wage_without_worker, the other way: members employed away or locally, income_wage 0 or missing."""
    data = family(income_wage=wage)
    if wage is None:
        del data["income_wage"]
    check = codes(data)["worker_without_wage"]
    assert (check.field, check.details["income_wage"], check.details["wage_earners"]) == ("income_wage", wage, 2)


def test_a_wage_earner_who_has_left_the_household_expects_no_wage():
    """domain.md 3.3 member_status: only members still counted in the household bring wages home."""
    data = farmers(income_wage=0)
    data["members"][2].update(member_status="moved_out", employment_status="outside_province")
    assert item_checks(data) == []


# -- the migrant-work travel subsidy (domain.md 3.3 migrant_travel_subsidy, work_months) --

def test_a_travel_subsidy_after_two_months_away_is_flagged():
    """domain.md 6.2 travel_subsidy_without_work: the subsidy needs at least 3 months of stable work away [002]."""
    data = family()
    data["members"][2]["work_months"] = 2
    check = codes(data)["travel_subsidy_without_work"]
    assert check.field == "members[2].migrant_travel_subsidy"
    assert (check.details["work_months"], check.details["min_months"]) == (2, 3)


def test_a_travel_subsidy_after_three_months_away_is_fine():
    """domain.md 6.2 travel_subsidy_without_work, near miss: exactly 3 months qualifies [002]."""
    data = family()
    data["members"][2]["work_months"] = 3
    assert item_checks(data) == []


def test_two_months_away_without_the_subsidy_is_fine():
    data = family()
    data["members"][2].update(work_months=2, migrant_travel_subsidy="no")
    assert item_checks(data) == []


# -- ID-card numbers (domain.md 3.2 householder_id_card_no, 3.3 id_card_no) --

def assert_no_number_in(check: CrossCheck) -> None:
    """The flag names the field; no part of any number is in it (not masked, not the last digits, not a hash)."""
    assert re.search(r"[0-9]{4}|[0-9a-f]{16}", json.dumps(check.details, ensure_ascii=False)) is None


def test_a_members_wrong_check_character_is_flagged_by_field_path_without_the_number():
    """domain.md 6.2 id_card_invalid: GB 11643-1999 check digit wrong; the flag says members[2].id_card_no."""
    data = family()
    data["members"][2]["id_card_no"] = SON_ID[:17] + "1"
    [check] = item_checks(data)
    assert (check.code, check.field, check.details["problem"]) == ("id_card_invalid", "members[2].id_card_no",
                                                                   "check_digit")
    assert_no_number_in(check)


@pytest.mark.parametrize(("number", "problem"), [
    ("5329221975030201", "pattern"),  # two digits short
    ("53292219750230013X", "birth_date"),  # 30 February, with a right check character
    ("532922202701010112", "birth_date"),  # born after the visit
])
def test_the_householders_impossible_number_is_flagged(number, problem):
    """domain.md 6.2 id_card_invalid: the 18-character pattern, or an impossible embedded birth date."""
    assert problem == "pattern" or number[-1] == check_character(number[:17])
    [check] = item_checks(family(householder_id_card_no=number))
    assert (check.field, check.details["problem"]) == ("householder_id_card_no", problem)
    assert_no_number_in(check)


def test_a_number_that_disagrees_with_the_members_birth_date_or_sex_is_flagged():
    """domain.md 6.2 id_card_invalid: birth date/sex inconsistent with the id [GK]."""
    data = family()
    data["members"][1]["birth_date"] = "1978-08-16"
    data["members"][3]["sex"] = "female"
    found = {check.field: check.details["problem"] for check in item_checks(data)}
    assert found == {"members[1].id_card_no": "birth_date_mismatch", "members[3].id_card_no": "sex_mismatch"}


def test_a_lower_case_x_and_a_member_without_a_number_are_fine():
    """A lower-case x is the check character X; a member without an ID number (a newborn) has nothing to check."""
    data = family(householder_id_card_no=HEAD_ID.lower())
    data["members"][0]["id_card_no"] = HEAD_ID.lower()
    del data["members"][3]["id_card_no"]
    assert item_checks(data) == []


# -- through the push and the database --

@pytest.fixture
def auth(household_form, make_user, sign_in):
    make_user("enum_a")
    return sign_in("enum_a")["auth"]


def push(client, auth, sent: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(URL, json=batch([sent]), headers=auth)
    assert answer.json["results"][0]["status"] == "accepted", answer.json
    return sent


def flags_of(db_session, code: str) -> list[Flag]:
    return list(db_session.scalars(select(Flag).where(Flag.code == code).order_by(Flag.id)))


def test_an_accepted_visit_is_flagged_on_its_household_and_no_table_holds_the_number(client, db_session,
                                                                                    household_form, auth):
    """domain.md 6.2 id_card_invalid: a wrong check character passes the form's pattern, so the visit is accepted, and
    the supervisor sees a flag on the submission and its household naming the field."""
    data = formfill.fill(household_form, random.Random(3), members=3)  # noqa: S311 - test data
    index = next(i for i, row in enumerate(data["members"]) if row["relation_to_head"] != "head")
    number = data["members"][index]["id_card_no"]
    wrong = number[:17] + next(c for c in "0123456789" if c != check_character(number[:17]))
    data["members"][index]["id_card_no"] = wrong
    sent = push(client, auth, item(form_id="household_visit", form_version=household_form.version, data=data))

    submission_uuid = uuid.UUID(sent["uuid"])  # the push recorded its flags
    cross_checks.record(db_session, {uuid.uuid4(): item_checks(sent["data"])})  # an unknown submission gets none
    [flag] = [f for f in flags_of(db_session, "id_card_invalid") if f.details["field"] == f"members[{index}].id_card_no"]
    household_id = uuid.uuid5(NAMESPACE, f"household:{submission_uuid}")
    assert (flag.submission_uuid, flag.entity_type, flag.entity_id) == (submission_uuid, "household", str(household_id))
    assert flag.details["problem"] == "check_digit"
    every_flag = db_session.scalar(text("SELECT string_agg(f::text, ' ') FROM flag AS f"))
    assert all(part not in every_flag for part in (wrong[:14], wrong[6:14], wrong[10:]))
    assert {f.submission_uuid for f in db_session.scalars(select(Flag))} == {submission_uuid}  # an unknown uuid: none


# -- village forms (domain.md 4.1 households_total, population_total) --

@pytest.fixture
def village_form(db_session, household_form) -> FormDefinition:
    """The natural village 上组 of 光明村, 苍山西镇, and the village_infrastructure form (published with the others)."""
    db_session.add_all([Area(code=ADMIN_VILLAGE, level=AreaLevel.admin_village, parent_code=AREA, name_zh="光明村"),
                        Area(code=VILLAGE, level=AreaLevel.natural_village, parent_code=ADMIN_VILLAGE, name_zh="上组")])
    db_session.commit()
    return FormDefinition.from_document(load("village_infrastructure"))


def record_households(db_session, count: int, present: int, gone: int = 0) -> None:
    """`count` households of the village, each with `present` members counted and `gone` who died or moved out."""
    for number in range(count):
        household_id = uuid.uuid4()
        db_session.execute(text("INSERT INTO household (id, area_code, household_no) VALUES (:id, :area, :no)"),
                           {"id": household_id, "area": VILLAGE, "no": f"{number + 1:04d}"})
        for n in range(present + gone):
            status = "present" if n < present else "deceased"
            db_session.execute(text("INSERT INTO person (id, household_id, county_code, name, person_key, properties) "
                                    "VALUES (:id, :household, '532922', :name, :key, CAST(:props AS jsonb))"),
                               {"id": uuid.uuid4(), "household": household_id, "name": f"成员{n}", "key": f"nb:成员{n}|?",
                                "props": json.dumps({"member_status": status})})


def survey_village(client, auth, definition: FormDefinition, households: int, population: int) -> uuid.UUID:
    data = formfill.fill(definition, random.Random(7), overrides={  # noqa: S311 - test data
        "natural_village_code": VILLAGE, "households_total": households, "households_resident": households,
        "population_total": population, "population_resident": population})
    sent = push(client, auth, item(form_id="village_infrastructure", form_version=definition.version, data=data,
                                   subject={"type": "village", "id": None, "area_code": VILLAGE}, attachments=[]))
    return uuid.UUID(sent["uuid"])


def test_village_counts_far_from_the_household_records_are_flagged(client, db_session, auth, village_form):
    """domain.md 6.2 village_counts_vs_households: 10 households on the form, 12 recorded (17% off)."""
    record_households(db_session, 12, present=4)
    submission_uuid = survey_village(client, auth, village_form, households=10, population=48)  # the push checks
    [flag] = flags_of(db_session, "village_counts_vs_households")
    assert (flag.submission_uuid, flag.entity_type, flag.entity_id) == (submission_uuid, "village", VILLAGE)
    assert {k: flag.details[k] for k in ("households_form", "households_recorded", "population_form",
                                         "population_recorded")} == {
        "households_form": 10, "households_recorded": 12, "population_form": 48, "population_recorded": 48}


def test_a_village_population_far_from_the_members_recorded_is_flagged(client, db_session, auth, village_form):
    """domain.md 6.2 village_counts_vs_households: the population, counted from members still in their households."""
    record_households(db_session, 10, present=4, gone=1)
    survey_village(client, auth, village_form, households=10, population=50)
    [flag] = flags_of(db_session, "village_counts_vs_households")
    assert (flag.details["population_form"], flag.details["population_recorded"]) == (50, 40)


def test_village_counts_within_ten_percent_are_fine(client, db_session, auth, village_form):
    """domain.md 6.2 village_counts_vs_households, near miss: 11 households against 12 (8%), 44 people against 48."""
    record_households(db_session, 12, present=4, gone=1)
    survey_village(client, auth, village_form, households=11, population=44)
    assert flags_of(db_session, "village_counts_vs_households") == []


def test_a_village_without_household_records_yet_is_not_compared(client, db_session, auth, village_form):
    """domain.md 4: counts come from household records where the list is complete; none started, nothing to compare."""
    survey_village(client, auth, village_form, households=35, population=130)
    assert flags_of(db_session, "village_counts_vs_households") == []
