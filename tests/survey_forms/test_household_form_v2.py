"""The household monitoring visit form, version 2 (issue 13, item 4): each correction against v1, on realistic households.

Every correction has a test that builds one household, fills it in as a cadre would with v1 and with v2, and shows
that v1's false flag (or miss) is gone in v2; every new risk flag has a test with its tier. The households are whole,
valid submissions (the validator finds no problem), so what is shown is what the server would record. Risk flags are
evaluated here from the form's own rules over the server's calculations, with the tier the form gives each flag.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from core.pii import Protector
from schemas.form_definition import form_definition_schema
from survey_forms import loader, rules
from survey_forms.catalogue import load_catalogue
from survey_forms.definition import FormDefinition, canonical_bytes
from survey_forms.levels import levels_of
from survey_forms.prefill import prefill_targets
from survey_forms.references import UNKNOWN, reads
from survey_forms.validator import compile_form
from sync import evidence
from tests.survey_forms.test_village_forms import FORM_OPERATORS, foreign_choices, form_rules

FOLDER = loader.DEFINITIONS_DIR / "household_visit"
V1_PATH, V2_PATH = FOLDER / "v1.json", FOLDER / "v2.json"
# The canonical bytes of v1 as published: a published version never changes (README, "Where definitions live").
V1_SHA256 = "54a64df1688907607eedb701b81aa80f96ad9254629addca9fa9704044af7b8c"  # pragma: allowlist secret


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


V1, V2 = _load(V1_PATH), _load(V2_PATH)
COMPILED = {1: compile_form(FormDefinition.from_document(V1)), 2: compile_form(FormDefinition.from_document(V2))}
DOCUMENTS = {1: V1, 2: V2}
TIERS = {  # domain.md 3.15 "Tiers", and issue 13 item 4 (12)
    "income_below_monitoring_line": "case", "income_drop": "case", "rigid_spending_below_line": "case",
    "child_out_of_school": "case", "member_uninsured": "case", "house_unsafe": "case", "water_unsafe": "case",
    "food_or_clothing_insecure": "case", "self_declared": "case", "category_proposed": "case",
    "income_below_watch_line": "watch", "zero_employment": "watch", "no_labour_no_dibao": "watch",
    "severe_illness_or_disability": "watch", "two_after_not_in_training": "watch", "medical_oop_above_line": "watch",
    "house_not_appraised": "watch",
}
V2_ONLY_TOP = ("gps_skip_reason", "last_income_total_net", "renovation_status", "toilet_in_use", "proposed_category",
               "elimination_consent")
INCOME_ITEMS = ("income_wage", "income_business_gross", "cost_business", "income_property", "transfer_dibao",
                "transfer_tekun", "transfer_pension", "transfer_eco_compensation", "transfer_agri_subsidy",
                "transfer_disability", "transfer_other")
CURRENT = ("present", "born", "married_in")
PROTECTOR = Protector(bytes(range(32)))  # a test key: these households carry no ID or phone number anyway


# --- realistic households -------------------------------------------------------------------------------------------

VISIT_DATE = "2026-03-10"  # school year from 1 September 2025


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def person(name: str, sex: str, birth_date: str, relation: str, **changes: Any) -> dict[str, Any]:
    """A member as a cadre records them in v2: by default a healthy Bai adult in wage work in the county.
    A change to None leaves that answer out."""
    row = {
        "name": name, "sex": sex, "birth_date": birth_date, "relation_to_head": relation, "member_status": "present",
        "ethnicity": "bai", "education_level": "junior", "schooling_status": "not_applicable",
        "health_status": "healthy", "has_disability": "no", "self_care": "full", "medical_oop": 0,
        "labour_ability": "ordinary", "employment_status": "in_county", "work_months": 10, "skills_training": "none",
        "medical_insurance": "resident", "insurance_subsidised": "no", "family_doctor_signed": "yes",
        "pension_insurance": "contributing", "speaks_mandarin": "yes",
    }
    row.update(changes)
    return _without_none(row)


def elder(name: str, sex: str, birth_date: str, relation: str, **changes: Any) -> dict[str, Any]:
    """A member over 60: weak labour, farming a little, drawing the pension (the Mandarin question is not asked)."""
    return person(name, sex, birth_date, relation, **{
        "education_level": "illiterate", "labour_ability": "weak", "employment_status": "farming", "work_months": None,
        "pension_insurance": "receiving", "speaks_mandarin": None, **changes})


def child(name: str, sex: str, birth_date: str, relation: str, **changes: Any) -> dict[str, Any]:
    """A member under 16 at junior secondary school."""
    return person(name, sex, birth_date, relation, **{
        "education_level": "primary", "schooling_status": "junior", "student_aid": "yes", "labour_ability": "none",
        "employment_status": "not_in_labour_force", "work_months": None, "skills_training": None,
        "pension_insurance": "not_applicable", "speaks_mandarin": None, **changes})


# 杨家, a lifted-out Bai family of four in 漾濞: he works in the county town, she farms, their son works in Shanghai,
# his mother (76, high blood pressure) helps on the land. Last verified net income: 52 000 yuan for 2025.
YANG = [
    person("杨建国", "male", "1975-04-12", "head"),
    person("李秀兰", "female", "1977-09-03", "spouse", education_level="primary", employment_status="farming",
           work_months=None),
    person("杨志强", "male", "2001-05-20", "son", education_level="senior", employment_status="outside_province",
           work_months=11, works_in_shanghai="yes", migrant_travel_subsidy="yes", skills_training="trained"),
    elder("张桂英", "female", "1950-02-14", "parent", health_status="chronic", chronic_diseases=["hypertension"]),
]
INCOME_2025 = {  # net: 38 000 + (16 000 − 5 000) + 600 + 2 400 = 52 000
    "income_year": 2025, "income_wage": 38000, "income_business_gross": 16000, "cost_business": 5000,
    "income_property": 600, "transfer_dibao": 0, "transfer_tekun": 0, "transfer_pension": 1800,
    "transfer_eco_compensation": 300, "transfer_agri_subsidy": 300, "transfer_disability": 0, "transfer_other": 0,
}
ROUTINE = {
    "visit_date": VISIT_DATE, "visit_reason": "routine", "respondent_name": "杨建国", "respondent_relation": "head",
    "location": {"lat": 25.669412, "lon": 99.952178, "accuracy_m": 8.5, "altitude_m": 1650.0},
    "photo_house": "house_front_0310.jpg", "informed_consent": "yes",
    "natural_village_code": "532922100201001", "household_type": "tuopin", "poverty_exit_year": 2018,
    "is_dibao": "no", "tekun_support": "none", "is_relocated": "no",
    "members": YANG,
    "income_year": 2025, "last_income_total_net": 52000,
    "expense_education": 0, "expense_other_rigid": 0, "income_drop": "none",
    "food_secure": "yes", "clothing_secure": "yes", "hospitalised_this_year": "no", "village_clinic_access": "yes",
    "housing_grade": "B", "house_structure": "brick_concrete", "housing_solution": "own_safe",
    "seismic_zone_7plus": "yes", "housing_policies_received": ["seismic_retrofit"],
    "water_source": "tap_centralised", "water_quantity_ok": "yes", "water_quality_ok": "yes",
    "water_convenience_ok": "yes", "water_reliability_ok": "yes", "seasonal_shortage": "no",
    "drought_water_delivery": "no",
    "main_industries": ["walnut", "cattle"], "linked_entity": "cooperative", "cultivated_land_mu": 6.5,
    "micro_credit": "no", "agri_insurance": "yes", "return_to_poverty_insurance": "yes",
    "toilet": "sanitary_yard", "toilet_in_use": "yes", "garbage_bin": "yes", "livestock_separated": "yes",
    "power_supply": "yes", "clean_energy_cooking": "yes", "road_to_door_hardened": "yes", "broadband_or_4g_home": "yes",
    "monitoring_category": "none", "proposed_category": "none",
}


def visit(members: list[dict[str, Any]] | None = None, **changes: Any) -> dict[str, Any]:
    """A v2 routine visit of 杨家 (last year's figures kept), with changes; a change to None leaves the answer out."""
    data = copy.deepcopy(ROUTINE)
    if members is not None:
        data["members"] = copy.deepcopy(members)
    data.update(changes)
    return _without_none(data)


def annual(members: list[dict[str, Any]] | None = None, income: dict[str, Any] | None = None,
           **changes: Any) -> dict[str, Any]:
    """A v2 annual income verification of 杨家: the whole year's income entered, last year's figures not shown."""
    return visit(members, **{"visit_reason": "annual_verification", "last_income_total_net": None,
                             **(income or INCOME_2025), **changes})


def as_v1(data: dict[str, Any], income: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """The same visit filled in on a v1 phone: what v1 makes the cadre type, and what it has no question for.

    v1 asks every income item on every visit (default 0; `income` says what was typed, else this year's entered
    items or the household's 2025 figures), the household size, head's name and ethnicity and the household's medical
    spending as typed values, and health as a single choice: a disabled member who is also ill is recorded by the
    illness, a disabled member without illness as 'disabled'. A child who finished junior school and stays at home can
    only be 'not at school'.
    """
    v1 = {key: value for key, value in copy.deepcopy(data).items() if key not in V2_ONLY_TOP}
    if v1.get("visit_reason") == "annual_verification":
        v1["visit_reason"] = "routine"
    entered = any(key in data for key in INCOME_ITEMS)
    typed = income or ({key: data[key] for key in ("income_year", *INCOME_ITEMS) if key in data} if entered else INCOME_2025)
    v1.update(typed)
    members = v1["members"]
    current = [row for row in members if row["member_status"] in CURRENT]
    head = next(row for row in current if row["relation_to_head"] == "head")
    v1.update(householder_name=head["name"], household_size=len(current), ethnicity_of_head=head["ethnicity"],
              expense_medical_oop=sum(row.get("medical_oop", 0) for row in members))
    for row in members:
        row.pop("medical_oop", None)
        if row.pop("has_disability", None) == "yes" and row.get("health_status") == "healthy":
            row["health_status"] = "disabled"
        elif row.get("health_status") != "disabled":
            for name in ("disability_type", "disability_grade", "disability_allowances"):
                row.pop(name, None)
        if row.get("schooling_status") == "completed_compulsory":
            row["schooling_status"] = "not_applicable"
    v1.update(changes)
    return _without_none(v1)


def problems(version: int, data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(error.field, error.code) for error in COMPILED[version].validate(data)]


def computed(version: int, data: dict[str, Any]) -> dict[str, Any]:
    return COMPILED[version].computed(data)


def flags(version: int, data: dict[str, Any]) -> dict[str, str | None]:
    """The risk flags that hold for a valid submission: code -> the tier the form gives it (v1 gives none)."""
    assert problems(version, data) == [], "the household must be a valid submission"
    values = computed(version, data)
    held = {flag["code"]: flag.get("tier") for flag in DOCUMENTS[version]["rules"]["risk_flags"]
            if rules.truthy(rules.apply(flag["when"], values))}
    if version == 2:  # the server's own assessment puts each flag in the tier the form gives it
        raised = COMPILED[2].assess(data).flags
        assert (set(raised.risk), set(raised.watch)) == ({code for code, tier in held.items() if tier == "case"},
                                                         {code for code, tier in held.items() if tier == "watch"})
    return held


def as_sent(version: int, data: dict[str, Any]) -> dict[str, Any]:
    """The data as a phone sends it: with the values of the calculate fields (the server recomputes and checks them)."""
    values, irrelevant = computed(version, data), COMPILED[version].irrelevant(data)
    calculated = {level: [item.spec["name"] for item in fields.fields if item.spec["type"] == "calculate"]
                  for level, fields in levels_of(DOCUMENTS[version]).items()}

    def with_calculations(row: dict[str, Any], done: dict[str, Any], level: str | None, skip: frozenset[str]) -> dict:
        return {**row, **{name: done[name] for name in calculated[level] if done.get(name) is not None
                          and name not in skip}}

    sent = with_calculations(data, values, None, irrelevant.top)
    sent["members"] = [with_calculations(row, done, "members", skip) for row, done, skip in
                       zip(data["members"], values["members"], irrelevant.rows["members"], strict=True)]
    return sent


def carried(version: int, data: dict[str, Any]) -> dict[str, Any]:
    """What reconciliation takes from the submission for the household (sync.evidence.carried): "household.<property>"
    -> value; a property its own answers make irrelevant is carried as None (cleared), an unanswered one not at all."""
    sent = as_sent(version, data)
    assessment = COMPILED[version].assess(sent)
    assert assessment.errors == [], assessment.errors
    found = evidence.carried(evidence.SaveMap.of(DOCUMENTS[version]), sent, None, PROTECTOR, {}, assessment.irrelevant)
    return {f"household.{name}": value for name, value in found.items() if not name.startswith(evidence.MEMBER)}


def _field(document: dict[str, Any], level: str | None, name: str) -> dict[str, Any]:
    return levels_of(document)[level].names[name].spec


# --- the form as a whole -------------------------------------------------------------------------------------------------


def test_v2_passes_the_loader_checks_and_loads_at_its_path() -> None:
    assert [str(p) for p in loader.check(V2, form_definition_schema(), load_catalogue())] == []
    definition = loader.load(V2_PATH, form_definition_schema())
    assert (definition.form_id, definition.version, definition.subject) == ("household_visit", 2, "household")
    assert (V2["title"], V2["roles"], V2["default_language"]) == (V1["title"], V1["roles"], V1["default_language"])


def test_v1_as_published_is_unchanged() -> None:
    assert hashlib.sha256(canonical_bytes(V1)).hexdigest() == V1_SHA256
    assert V1["version"] == 1 and "tier" not in json.dumps(V1["rules"])


def test_chinese_text_round_trips() -> None:
    text = V2_PATH.read_text(encoding="utf-8")
    assert "\\u" not in text
    assert json.dumps(json.loads(text), ensure_ascii=False, indent=2) + "\n" == text


def test_the_parameters_are_v1s_defaults_and_rules_read_thresholds_only_through_them() -> None:
    assert V2["parameters"] == V1["parameters"]
    for where in form_rules(V2):
        for number in re.findall(r"(?<![\w.])\d{4,}(?![\w.])", json.dumps(where.rule)):
            assert int(number) not in (6000, 10000, 4620), f"{where.pointer}: write $params, not {number}"
    reads_params = {read.path for where in form_rules(V2) for read in reads(where.rule) if read.path
                    and read.path.startswith("$params.")}
    assert {"$params.monitoring_line", "$params.watch_line"} <= reads_params


def test_rules_use_the_form_operators_and_compare_selects_with_their_own_choices() -> None:
    published = [V1, *(_load(path) for path in loader.DEFINITIONS_DIR.glob("village_*/v1.json"))]
    known = {op for document in published for where in form_rules(document) for op in rules.operators_used(where.rule)}
    for where in form_rules(V2):
        assert rules.operators_used(where.rule) <= FORM_OPERATORS, where.pointer
        assert rules.operators_used(where.rule) <= known, f"{where.pointer}: an operator no published form uses yet"
        assert [read.pointer for read in reads(where.rule) if read.element_of == UNKNOWN] == [], where.pointer
    assert foreign_choices(V2) == []


def test_every_v1_field_keeps_its_name_and_save_to_target_and_its_prefill() -> None:
    old, new = levels_of(V1), levels_of(V2)
    for level, fields in old.items():
        for name, item in fields.names.items():
            assert name in new[level].names, f"{level}.{name} is gone"
            assert new[level].names[name].spec.get("save_to") == item.spec.get("save_to"), f"{level}.{name}"
    assert prefill_targets(V1) <= prefill_targets(V2)


def test_the_new_properties_are_declared_and_health_data_is_personal() -> None:
    catalogue = load_catalogue()
    targets = {item.spec["save_to"] for level in levels_of(V2).values() for item in level.fields if "save_to" in item.spec}
    assert all(catalogue.get(target) is not None for target in targets)
    assert {"has_disability", "medical_oop"} <= catalogue.personal("person")
    assert not {"elimination_consent", "renovation_status", "toilet_in_use", "proposed_category"} & catalogue.personal(
        "household")


def test_the_base_household_is_valid_in_both_versions_and_raises_no_flag() -> None:
    assert flags(2, visit()) == {}
    assert flags(2, annual()) == {}
    assert flags(1, as_v1(visit())) == {}


def test_v1_and_v2_visits_of_one_household_carry_the_same_values() -> None:
    v2, v1 = annual(), as_v1(annual())
    old, new = carried(1, v1), carried(2, v2)
    assert old.keys() <= new.keys()
    # The same answers save to the same properties; only what a correction means to change differs: farming now
    # counts as work, for 李秀兰 and 张桂英.
    assert {target for target in old if new[target] != old[target]} == {"household.employed_members"}
    assert (old["household.employed_members"], new["household.employed_members"]) == (2, 4)
    assert new["household.householder_name"] == "杨建国" and new["household.household_size"] == 4


# --- 1 finished compulsory education ---------------------------------------------------------------------------------


def test_a_15_year_old_who_finished_junior_school_is_not_out_of_school() -> None:
    # 杨小芳 was 15 on 1 September 2025, finished junior secondary school last summer and helps at home.
    daughter = child("杨小芳", "female", "2010-06-18", "daughter", education_level="junior",
                     schooling_status="completed_compulsory", student_aid=None)
    household = visit([*YANG, daughter])

    assert "child_out_of_school" in flags(1, as_v1(household, dropout_returned="na"))  # v1: "not at school"
    assert "child_out_of_school" not in flags(2, household)
    row = computed(2, household)["members"][4]
    assert (row["is_compulsory_age"], row["out_of_school"]) == (True, False)
    assert computed(2, household)["children_out_of_school"] == 0
    # She is a "two-after" youth now: a follow-up for vocational education, not a case.
    assert flags(2, household) == {"two_after_not_in_training": "watch"}


def test_a_child_who_really_dropped_out_still_counts_and_finishing_needs_junior_school() -> None:
    son = child("杨小龙", "male", "2012-10-02", "grandchild", schooling_status="dropped_out", dropout_reason="work",
                student_aid=None)
    assert flags(2, visit([*YANG, son], dropout_returned="in_progress"))["child_out_of_school"] == "case"
    claimed = child("杨小龙", "male", "2012-10-02", "grandchild", schooling_status="completed_compulsory",
                    student_aid=None)
    assert ("members[4].schooling_status", "constraint") in problems(2, visit([*YANG, claimed]))


# --- 2 farming and self-employment are work -------------------------------------------------------------------------


def test_a_farming_family_is_not_a_zero_employment_family() -> None:
    # 赵家 grows walnuts and raises cattle on its own land; nobody works for a wage.
    farmers = [
        person("赵德明", "male", "1972-08-09", "head", employment_status="farming", work_months=None),
        person("王春梅", "female", "1974-01-23", "spouse", employment_status="farming", work_months=None),
        person("赵永福", "male", "1996-12-01", "son", employment_status="farming", work_months=None),
    ]
    household = visit(farmers, respondent_name="赵德明", last_income_total_net=39000)

    assert "zero_employment" in flags(1, as_v1(household))
    assert computed(2, household)["employed_members"] == 3
    assert "zero_employment" not in flags(2, household)
    # Self-employment counted already in v1, and still does; a family where nobody works is still watched.
    shop = [*farmers[:2], {**farmers[2], "employment_status": "self_employed"}]
    assert (computed(1, as_v1(visit(shop)))["employed_members"], computed(2, visit(shop))["employed_members"]) == (1, 3)
    nobody = [{**row, "employment_status": "unemployed"} for row in farmers]
    assert flags(2, visit(nobody, respondent_name="赵德明"))["zero_employment"] == "watch"


# --- 3 disability asked apart from illness ----------------------------------------------------------------------------


@pytest.mark.parametrize(("illness", "grade"), [("serious_illness", "3"), ("chronic", "2")],
                         ids=["seriously ill, grade 3", "chronically ill, grade 2"])
def test_a_disabled_member_who_is_ill_counts_as_severe(illness: str, grade: str) -> None:
    # 张桂英 holds a disability certificate and is ill too; she can still look after herself in part.
    mother = elder("张桂英", "female", "1950-02-14", "parent", health_status=illness, self_care="partial",
                   chronic_diseases=["hypertension"] if illness == "chronic" else None, has_disability="yes",
                   disability_type=["physical"], disability_grade=grade, labour_ability="lost",
                   employment_status="not_in_labour_force")
    household = visit([*YANG[:3], mother])

    # v1 has one answer for both. Recorded by her illness, a grade-2 disability is lost; recorded by her disability
    # certificate (grade 3), the serious illness is lost. Either way v1 does not see a severe condition.
    v1 = as_v1(household)
    if illness == "serious_illness":
        row = v1["members"][3]
        row.update(health_status="disabled", disability_type=["physical"], disability_grade=grade)
    assert "severe_illness_or_disability" not in flags(1, v1)

    assert flags(2, household)["severe_illness_or_disability"] == "watch"
    assert computed(2, household)["members"][3]["severe_condition"] is True
    assert computed(2, household)["has_serious_illness"] is (illness == "serious_illness")


def test_disability_alone_and_the_dependent_elderly_still_count() -> None:
    grade1 = elder("张桂英", "female", "1950-02-14", "parent", has_disability="yes", disability_type=["visual"],
                   disability_grade="1", health_status="healthy")
    assert flags(2, visit([*YANG[:3], grade1]))["severe_illness_or_disability"] == "watch"
    grade4 = {**grade1, "disability_grade": "4"}
    assert "severe_illness_or_disability" not in flags(2, visit([*YANG[:3], grade4]))
    bedridden = elder("张桂英", "female", "1950-02-14", "parent", self_care="none", labour_ability="lost",
                      employment_status="not_in_labour_force")
    assert flags(2, visit([*YANG[:3], bedridden]))["severe_illness_or_disability"] == "watch"
    not_disabled = {**YANG[3], "disability_grade": "2"}
    assert ("members[3].disability_grade", "not_relevant") in problems(2, visit([*YANG[:3], not_disabled]))


# --- 4 out-of-pocket medical spending per member ------------------------------------------------------------------------


def test_medical_spending_is_asked_per_member_and_added_up_for_the_household() -> None:
    # 张桂英 died in January after treatment; 杨志强 split off into his own household in 2025 and paid 3 000 for an
    # operation. v1's single household total was typed with his bill in it.
    members = [
        person("杨建国", "male", "1975-04-12", "head", medical_oop=1200),
        person("李秀兰", "female", "1977-09-03", "spouse", education_level="primary", employment_status="farming",
               work_months=None, medical_oop=800),
        {"name": "杨志强", "sex": "male", "birth_date": "2001-05-20", "relation_to_head": "son",
         "member_status": "split_household", "ethnicity": "bai"},
        {"name": "张桂英", "sex": "female", "birth_date": "1950-02-14", "relation_to_head": "parent",
         "member_status": "deceased", "ethnicity": "bai", "medical_oop": 2500},
    ]
    household = visit(members, last_income_total_net=39000)

    assert "medical_oop_above_line" in flags(1, as_v1(household, expense_medical_oop=7500))
    assert computed(2, household)["expense_medical_oop"] == 4500
    assert "medical_oop_above_line" not in flags(2, household)
    assert carried(2, household)["household.expense_medical_oop"] == 4500

    bill = [*members[:3], {**members[3], "medical_oop": 6000}]
    assert flags(2, visit(bill, last_income_total_net=39000))["medical_oop_above_line"] == "watch"
    split_off = [members[0], members[1], {**members[2], "medical_oop": 3000}, members[3]]
    assert ("members[2].medical_oop", "not_relevant") in problems(2, visit(split_off, last_income_total_net=39000))
    assert ("expense_medical_oop", "calculation_mismatch") in problems(2, {**household, "expense_medical_oop": 7500})
    assert _field(V2, "members", "medical_oop")["save_to"] == "person.medical_oop"


# --- 5 houses awaiting repair; houses never appraised ---------------------------------------------------------------------


def test_a_house_awaiting_repair_is_recorded_and_flagged_while_the_family_lives_in_it() -> None:
    graded_c = {"housing_grade": "C", "lives_in_graded_house": "yes", "housing_solution": "repaired",
                "housing_policies_received": ["renovation"]}
    awaiting = visit(**graded_c, renovation_status="awaiting")
    assert ("renovation_status", "unknown_field") in problems(1, {**as_v1(awaiting), "renovation_status": "awaiting"})
    assert flags(2, awaiting)["house_unsafe"] == "case"
    assert carried(2, awaiting)["household.renovation_status"] == "awaiting"
    assert ("renovation_status", "required") in problems(2, visit(**graded_c))
    # Under repair, the family staying with relatives: no one lives in the dangerous house, so no flag.
    moved = visit(**{**graded_c, "lives_in_graded_house": "no", "housing_solution": "lives_with_relatives"},
                  renovation_status="in_progress")
    assert "house_unsafe" not in flags(2, moved) and computed(2, moved)["housing_safe"] is True


def test_a_house_never_appraised_is_put_on_the_watch_list() -> None:
    household = visit(housing_grade="not_appraised", housing_solution="own_safe")
    assert flags(1, as_v1(household)) == {}  # v1 says nothing about it
    assert flags(2, household) == {"house_not_appraised": "watch"}


# --- 6 toilet type and use -------------------------------------------------------------------------------------------------


def test_a_sanitary_toilet_that_is_not_used_does_not_count() -> None:
    unused = visit(toilet="sanitary_yard", toilet_in_use="no")
    assert carried(1, as_v1(unused))["household.toilet"] == "sanitary_yard"  # all v1 knows
    assert computed(2, unused)["sanitary_toilet_used"] is False
    assert carried(2, unused)["household.toilet_in_use"] == "no"
    assert computed(2, visit())["sanitary_toilet_used"] is True
    assert ("toilet_in_use", "not_relevant") in problems(2, visit(toilet="none"))
    assert ("toilet_in_use", "required") in problems(2, visit(toilet_in_use=None))


# --- 7 consent to risk elimination ------------------------------------------------------------------------------------------


def test_consent_to_the_visit_is_not_consent_to_risk_elimination() -> None:
    # 段家, a marginal household under monitoring since 2024, is visited before its risk is to be declared eliminated:
    # the family agrees to the visit but not to ending the monitoring.
    monitored = {"household_type": "non_tuopin", "poverty_exit_year": None, "monitoring_category": "marginal",
                 "proposed_category": None, "risk_types": ["illness"], "main_risk_type": "illness",
                 "identified_date": "2024-05-10", "identification_channel": "cadre_screening",
                 "visit_reason": "risk_elimination_check"}
    refuses = visit(**monitored, elimination_consent="no")

    assert problems(1, as_v1(refuses)) == []
    assert carried(1, as_v1(refuses))["household.informed_consent"] == "yes"  # all v1 records
    values = carried(2, refuses)
    assert (values["household.informed_consent"], values["household.elimination_consent"]) == ("yes", "no")
    assert ("elimination_consent", "required") in problems(2, visit(**monitored))  # asked on every such check
    assert problems(2, visit(**monitored, elimination_consent="yes", risk_elimination_review_date="2026-03-20")) == []
    # A routine visit that does not bring it up leaves the answer of the last check as it is.
    routine = visit(**{**monitored, "visit_reason": "routine"})
    assert problems(2, routine) == [] and "household.elimination_consent" not in carried(2, routine)
    # Once the household is no longer monitored, its consent is cleared with the category.
    assert carried(2, visit(elimination_consent=None))["household.elimination_consent"] is None
    assert _field(V2, None, "elimination_consent")["save_to"] == "household.elimination_consent"


# --- 8 values that follow from the members are calculated ---------------------------------------------------------------


def test_the_size_name_and_ethnicity_of_the_household_are_calculated() -> None:
    # A grandson was born in December: the phone still shows last year's household size of 4.
    baby = child("杨小宝", "male", "2025-12-02", "grandchild", member_status="born", education_level="preschool_na",
                 schooling_status="not_applicable", student_aid=None)
    household = visit([*YANG, baby], last_income_total_net=52000)

    assert ("household_size", "constraint") in problems(1, as_v1(household, household_size=4))
    assert ("householder_name", "constraint") in problems(1, as_v1(household, householder_name="杨建明"))
    assert problems(2, household) == []
    values = computed(2, household)
    assert (values["household_size"], values["householder_name"], values["ethnicity_of_head"]) == (5, "杨建国", "bai")
    assert values["income_per_capita"] == 52000 / 5
    assert ("household_size", "calculation_mismatch") in problems(2, {**household, "household_size": 4})
    for name in ("household_size", "householder_name", "ethnicity_of_head"):
        spec = _field(V2, None, name)
        assert spec["type"] == "calculate" and spec["save_to"] == _field(V1, None, name)["save_to"]


# --- 9 income in full on annual verification visits ----------------------------------------------------------------------


def test_a_routine_visit_keeps_last_years_verified_income() -> None:
    household = visit()  # no income entered: last year's 52 000 shown read-only
    # v1 asks every item on every visit, each starting at 0: a routine visit that does not re-ask income sends zeros.
    zeros = {"income_year": 2025, **dict.fromkeys(INCOME_ITEMS, 0)}
    assert {"income_below_monitoring_line", "income_below_watch_line"} <= flags(1, as_v1(household, income=zeros)).keys()

    values = computed(2, household)
    assert (values["income_entered"], values["income_total_net"], values["income_per_capita"]) == (False, 52000, 13000)
    assert flags(2, household) == {}
    kept = carried(2, household)  # nothing entered: the items are neither overwritten nor cleared
    assert [name for name in (*INCOME_ITEMS, "income_transfer") if f"household.{name}" in kept] == []
    assert (kept["household.income_total_net"], kept["household.income_per_capita"]) == (52000, 13000)
    shown = _field(V2, None, "last_income_total_net")
    assert (shown["read_only"], shown["prefill"], shown["save_to"]) == (True, True, "household.income_total_net")
    # The year of the figures in use is always sent (pre-filled): the yearly monitoring line of that year applies.
    assert _field(V2, None, "income_year")["prefill"] is True
    assert carried(2, household)["household.income_year"] == 2025


def test_an_annual_verification_asks_the_whole_years_income() -> None:
    assert problems(2, annual()) == []
    assert computed(2, annual())["income_total_net"] == 52000
    missing = annual(transfer_pension=None)
    assert problems(2, missing) == [("transfer_pension", "required")]
    # The phone shows last year's figure on the annual verification too, for comparison: what is saved is this year's.
    compared = annual(income={**INCOME_2025, "income_wage": 34000}, last_income_total_net=52000)
    assert computed(2, compared)["income_total_net"] == 48000
    assert carried(2, compared)["household.income_total_net"] == 48000
    # A routine visit may bring the figures up to date, but only in full (the phone stops showing last year's
    # figures once an item is entered, so they are not sent).
    assert problems(2, visit(income_wage=30000, last_income_total_net=None)) == [
        (name, "required") for name in INCOME_ITEMS if name != "income_wage"]
    # A household with no verified figures on record gets the full income on any visit.
    assert ("income_wage", "required") in problems(2, visit(last_income_total_net=None))


# --- 10 GPS may be skipped with a reason ------------------------------------------------------------------------------------


def test_a_visit_without_a_gps_fix_is_accepted_with_a_reason() -> None:
    # 杨家 lives at the bottom of a gorge where the phone finds no satellites.
    no_fix = visit(location=None, gps_skip_reason="no_signal")
    assert problems(1, as_v1(no_fix)) == [("location", "required")]
    assert problems(2, no_fix) == []
    assert "household.location" not in carried(2, no_fix)
    assert problems(2, visit(location=None)) == [("location", "required"), ("gps_skip_reason", "required")]
    assert problems(2, visit(gps_skip_reason="no_signal")) == [("gps_skip_reason", "not_relevant")]


# --- 11 hints speak to village cadres ----------------------------------------------------------------------------------------

DEVELOPER_WORDS = re.compile(r"[A-Za-z]+_[A-Za-z_]+|\$|[{}]|参数|parameter|服务器|server|WGS|JsonLogic|\bvar\b|\bnull\b",
                             re.IGNORECASE)
CJK = re.compile(r"[\u4e00-\u9fff]")


def _texts(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, language, text) of every hint, and of every note (whose label is all it shows)."""
    found = []

    def walk(fields: list[dict[str, Any]]) -> None:
        for spec in fields:
            shown = [spec["hint"]] if "hint" in spec else []
            shown += [spec["label"]] if spec["type"] == "note" else []
            found.extend((spec["name"], lang, text[lang]) for text in shown for lang in ("zh", "en"))
            walk(spec.get("fields", []))

    walk(document["fields"])
    return found


def test_hints_speak_to_village_cadres_in_plain_chinese_and_english() -> None:
    assert [name for name, _, text in _texts(V1) if DEVELOPER_WORDS.search(text)]  # e.g. "max_gps_accuracy_m"
    assert [(name, lang, text) for name, lang, text in _texts(V2) if DEVELOPER_WORDS.search(text)] == []
    for name, lang, text in _texts(V2):
        assert text.strip(), name
        assert bool(CJK.search(text)) is (lang == "zh"), (name, lang, text)


# --- 12 risk flags in tiers, and the new flags ---------------------------------------------------------------------------------


def test_every_risk_flag_has_its_tier() -> None:
    assert {flag["code"]: flag.get("tier") for flag in V2["rules"]["risk_flags"]} == TIERS
    # v1's flags keep their rules: what changed is what they read (employment, severe conditions, the calculations).
    old = {flag["code"]: flag["when"] for flag in V1["rules"]["risk_flags"]}
    assert {flag["code"]: flag["when"] for flag in V2["rules"]["risk_flags"] if flag["code"] in old} == old


def test_rigid_spending_that_brings_income_below_the_line_opens_a_case() -> None:
    # Net income 30 000 for four (7 500 a head) but 5 000 of medical bills and 2 000 for school: 5 750 a head left.
    members = [*YANG[:3], {**YANG[3], "medical_oop": 5000}]
    income = {"income_year": 2025, "income_wage": 20000, "income_business_gross": 12000, "cost_business": 4000,
              "income_property": 0, "transfer_dibao": 0, "transfer_tekun": 0, "transfer_pension": 1800,
              "transfer_eco_compensation": 0, "transfer_agri_subsidy": 200, "transfer_disability": 0,
              "transfer_other": 0}
    household = annual(members, income, expense_education=2000)
    values = computed(2, household)
    assert (values["income_per_capita"], values["income_after_rigid_per_capita"]) == (7500, 5750)
    assert flags(2, household) == {"rigid_spending_below_line": "case", "income_below_watch_line": "watch"}
    # Below the line without any rigid spending: the income flag alone, not a rigid-spending one.
    assert flags(2, visit(last_income_total_net=20000)) == {"income_below_monitoring_line": "case",
                                                           "income_below_watch_line": "watch"}


def test_the_households_own_application_opens_a_case() -> None:
    household = visit(visit_reason="self_declared")
    assert flags(2, household) == {"self_declared": "case"}
    assert flags(1, as_v1(household)) == {}


def test_a_category_the_cadre_proposes_opens_a_case() -> None:
    # 王家, an ordinary household, lost its cattle in the autumn floods: the cadre proposes it as a marginal household.
    proposal = {"household_type": "non_tuopin", "poverty_exit_year": None, "proposed_category": "marginal",
                "risk_types": ["disaster", "industry_failure"], "main_risk_type": "disaster"}
    assert flags(2, visit(**proposal)) == {"category_proposed": "case"}
    assert ("risk_types", "required") in problems(2, visit(**{**proposal, "risk_types": None,
                                                              "main_risk_type": None}))
    assert ("proposed_category", "constraint") in problems(2, visit(**{**proposal, "proposed_category": "unstable_tuopin"}))
    monitored = visit(**{**proposal, "monitoring_category": "marginal"})
    assert ("proposed_category", "not_relevant") in problems(2, monitored)


# --- each remaining rule of domain.md 3.15 on v2, with its section ------------------------------------------------

_SIXTY = dict(elder("张桂英", "female", "1950-02-14", "parent"))


def _changed(row: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A member with changes; a change to None leaves the answer out (it no longer applies)."""
    return _without_none({**row, **changes})
RULES = [  # (code, domain.md section, the 杨家 visit changed so that the rule holds)
    ("water_unsafe", "3.9 water_safe: all four indicators", lambda: visit(water_quality_ok="no")),
    ("food_or_clothing_insecure", "3.5 两不愁", lambda: visit(food_secure="no")),
    ("income_drop", "3.4 income_drop = significant", lambda: visit(income_drop="significant",
                                                                   income_drop_reason="大儿子务工受伤，回家休养")),
    ("member_uninsured", "3.7 uninsured_members", lambda: visit([_changed(YANG[0], medical_insurance="none",
                                                                           insurance_subsidised=None), *YANG[1:]])),
    ("medical_oop_above_line", "3.4 expense_medical_oop above the monitoring line",
     lambda: visit([*YANG[:3], _changed(YANG[3], medical_oop=8000, health_status="serious_illness",
                                        chronic_diseases=None)])),
    ("income_below_watch_line", "3.4 watch_line, [002] 53.42% below 10 000", lambda: visit(last_income_total_net=36000)),
    ("income_below_monitoring_line", "3.4 monitoring_line", lambda: visit(last_income_total_net=20000)),
    ("no_labour_no_dibao", "3.15: no member able to work and neither 低保 nor 特困",
     lambda: visit([{**_SIXTY, "relation_to_head": "head", "name": "张桂英", "labour_ability": "lost",
                     "employment_status": "not_in_labour_force"}], last_income_total_net=8000)),
]


@pytest.mark.parametrize(("code", "section", "household"), RULES, ids=[code for code, _, _ in RULES])
def test_each_rule_holds_where_the_domain_says_with_its_tier(code, section, household) -> None:
    """domain.md 3.15: the flag holds for the household the cited section describes, in the tier of 3.15 "Tiers"."""
    data = household()
    assert problems(2, data) == [], (section, problems(2, data))
    raised = flags(2, data)
    assert raised.get(code) == TIERS[code], (section, raised)
