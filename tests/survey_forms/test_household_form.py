"""The household monitoring visit form (household_visit v1): what it must say, its risk flags and its calculations.

The format's own rules (schema, unique names, choice lists, scopes of vars, operators, save_to targets and their types,
risk flag codes, calculation cycles) are loader.check's; the checks it does not make are shared with the village
forms' tests (FORM_OPERATORS, form_rules, foreign_choices).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from schemas.form_definition import form_definition_schema
from survey_forms import loader, rules
from survey_forms.catalogue import ENTITIES_DIR, load_catalogue
from survey_forms.definition import FormDefinition
from survey_forms.levels import levels_of
from survey_forms.references import UNKNOWN, reads
from survey_forms.validator import compile_form
from tests.survey_forms.test_village_forms import FORM_OPERATORS, foreign_choices, form_rules

FORM_PATH = loader.DEFINITIONS_DIR / "household_visit" / "v1.json"
ENTITY_PATHS = {name: ENTITIES_DIR / f"{name}.json" for name in ("household", "person")}
RISK_FLAGS = {  # domain.md 3.15
    "income_below_monitoring_line", "income_below_watch_line", "income_drop", "medical_oop_above_line",
    "child_out_of_school", "member_uninsured", "house_unsafe", "water_unsafe", "food_or_clothing_insecure",
    "zero_employment", "no_labour_no_dibao", "severe_illness_or_disability", "two_after_not_in_training",
}


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


FORM = _load(FORM_PATH)
LEVELS = levels_of(FORM)


def _problems(document: dict[str, Any]) -> list[str]:
    return [str(problem) for problem in loader.check(document, form_definition_schema(), load_catalogue())]


# --- tests --------------------------------------------------------------------------------------


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(form_definition_schema())


def test_form_passes_the_loader_checks() -> None:
    assert _problems(FORM) == []


def test_identity_of_the_form() -> None:
    identity = (FORM["form_id"], FORM["version"], FORM["subject"], FORM["default_language"])
    assert identity == ("household_visit", 1, "household", "zh")
    assert FORM["title"] == {"zh": "农户监测走访表", "en": "Household monitoring visit"}
    assert set(FORM["roles"]) == {"enumerator", "supervisor"}


@pytest.mark.parametrize("path", [FORM_PATH, *ENTITY_PATHS.values()], ids=lambda path: path.name)
def test_chinese_text_round_trips(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "\\u" not in text, "Chinese is written as characters, not escapes"
    assert json.dumps(json.loads(text), ensure_ascii=False, indent=2) + "\n" == text


def test_members_and_measures_are_the_repeats() -> None:
    repeats = {item.spec["name"]: item.spec for item in LEVELS[None].fields if item.spec["type"] == "repeat"}
    assert set(repeats) == {"members", "measures"}
    assert (repeats["members"]["min_count"], repeats["members"]["max_count"]) == (1, 30)
    assert repeats["measures"]["min_count"] == 0
    assert "monitoring_status" not in LEVELS[None].names, "monitoring_status is server-owned"


def test_catalogue_marks_personal_data() -> None:
    catalogue = load_catalogue()
    assert {"householder_name", "householder_id_card_no", "phone", "household_signature"} <= catalogue.personal("household")
    sensitive = {"name", "id_card_no", "health_status", "chronic_diseases", "disability_type", "disability_grade"}
    assert sensitive <= catalogue.personal("person")
    assert not {"income_per_capita", "housing_grade", "monitoring_category"} & catalogue.personal("household")
    for path in ENTITY_PATHS.values():
        for prop in _load(path)["properties"].values():
            assert prop["label"]["zh"] and prop["label"]["en"] and isinstance(prop["personal"], bool)


def test_every_choice_list_is_used_and_versioned() -> None:
    lists = FORM["choice_lists"]
    used = {item.spec["choice_list"] for level in LEVELS.values() for item in level.fields if "choice_list" in item.spec}
    assert lists.keys() <= used, f"unused lists: {lists.keys() - used}"
    for name, choice_list in lists.items():
        assert choice_list["version"] in {"GK-2026.1", "seed-2026.1"}
        if choice_list["version"].startswith("GK"):  # general knowledge, to be replaced by the county's list
            assert choice_list["source"].startswith("[GK]"), name


def test_ethnicity_is_the_full_national_list() -> None:
    choices = FORM["choice_lists"]["ethnicity"]["choices"]
    assert len(choices) == 57 and choices[-1]["name"] == "other"
    labels = {choice["name"]: choice["label"]["zh"] for choice in choices}
    assert labels["han"] == "汉族" and labels["bai"] == "白族" and labels["wa"] == "佤族" and labels["lahu"] == "拉祜族"
    assert all(label.endswith("族") for name, label in labels.items() if name != "other")


def test_rules_use_the_form_operators_and_iterate_over_repeats() -> None:
    for where in form_rules(FORM):
        assert rules.operators_used(where.rule) <= FORM_OPERATORS, where.pointer
        assert [read.pointer for read in reads(where.rule) if read.element_of == UNKNOWN] == [], where.pointer


def test_rules_compare_select_fields_with_their_own_choices() -> None:
    assert foreign_choices(FORM) == []


def _with_rule(level: str | None, rule: Any) -> list[str]:
    """The loader's problems with the form once the first field of a level is relevant by this rule."""
    document = copy.deepcopy(FORM)
    item = levels_of(document)[level].fields[0]
    item.spec["relevant"] = rule
    problems = loader.check(document, form_definition_schema(), load_catalogue())
    assert all(problem.pointer.startswith(f"{item.pointer}/relevant") for problem in problems), problems
    return [str(problem) for problem in problems]


def test_the_loader_refuses_what_the_form_must_not_do() -> None:
    assert _with_rule(None, {"var": "age_years"})  # a member field from the top level
    assert _with_rule(None, {"var": "$root.visit_date"})  # $root only inside repeats
    assert _with_rule("members", {"var": "$root.visit_date"}) == []
    inside_filter = {"filter": [{"var": "members"}, {"<": [{"var": "age_years"}, {"var": "$params.compulsory_age_max"}]}]}
    assert _with_rule(None, inside_filter)  # $params is out of reach inside an iterator
    assert _with_rule(None, {"log": [1]})


def test_every_risk_flag_of_the_domain_is_present() -> None:
    assert {flag["code"] for flag in FORM["rules"]["risk_flags"]} == RISK_FLAGS


def test_thresholds_are_parameters() -> None:
    params = FormDefinition.from_document(FORM).parameters
    assert params["monitoring_line"] == 6000 and params["watch_line"] == 10000 and params["dibao_standard"] == 4620
    assert (params["compulsory_age_min"], params["compulsory_age_max"]) == (6, 15)
    flags = {flag["code"]: flag["when"] for flag in FORM["rules"]["risk_flags"]}
    assert flags["income_below_monitoring_line"] == {"<": [{"var": "income_per_capita"}, {"var": "$params.monitoring_line"}]}


# --- calculations on a sample household ----------------------------------------------------------

SAMPLE = {
    "visit_date": "2026-03-10",
    "household_size": 4,
    "income_wage": 18000, "income_business_gross": 9000, "cost_business": 3000, "income_property": 400,
    "transfer_dibao": 0, "transfer_tekun": 0, "transfer_pension": 1800, "transfer_eco_compensation": 300,
    "transfer_agri_subsidy": 500, "transfer_disability": 0, "transfer_other": 0,
    "members": [
        {"name": "张国强", "relation_to_head": "head", "member_status": "present", "birth_date": "1980-05-01",
         "schooling_status": "not_applicable", "employment_status": "outside_province", "labour_ability": "ordinary",
         "medical_insurance": "resident", "education_level": "junior"},
        {"name": "李玉芬", "relation_to_head": "spouse", "member_status": "present", "birth_date": "1982-11-20",
         "schooling_status": "not_applicable", "employment_status": "farming", "labour_ability": "ordinary",
         "medical_insurance": "none", "education_level": "primary"},
        # 12 on 1 Sept 2025, dropped out: counted
        {"name": "张小明", "relation_to_head": "son", "member_status": "present", "birth_date": "2013-06-15",
         "schooling_status": "dropped_out", "medical_insurance": "resident", "education_level": "primary"},
        # turns 6 on 2 Sept 2025, so 5 on 1 Sept: not yet of compulsory-school age
        {"name": "张小红", "relation_to_head": "daughter", "member_status": "present", "birth_date": "2019-09-02",
         "schooling_status": "preschool", "medical_insurance": "resident", "education_level": "preschool_na"},
        {"name": "张老三", "relation_to_head": "parent", "member_status": "deceased", "birth_date": "1940-01-01",
         "medical_insurance": "none"},
    ],
}


def test_sample_household_calculations() -> None:
    data = compile_form(FormDefinition.from_document(FORM)).computed(SAMPLE)  # with $params

    assert [member["age_years"] for member in data["members"]] == [45, 43, 12, 6, 86]
    assert [member["is_compulsory_age"] for member in data["members"]] == [False, False, True, False, False]
    assert data["income_transfer"] == 2600
    assert data["income_total_net"] == 27000
    assert data["income_per_capita"] == 6750
    assert (data["compulsory_age_children"], data["children_out_of_school"]) == (1, 1)
    assert data["uninsured_members"] == 1  # the deceased member no longer counts
    assert (data["labour_members"], data["employed_members"]) == (2, 1)
    size = LEVELS[None].names["household_size"].spec
    assert rules.apply(size["constraint"], {**data, "$value": 4})
    assert not rules.apply(size["constraint"], {**data, "$value": 5})
    flags = {flag["code"] for flag in FORM["rules"]["risk_flags"] if rules.truthy(rules.apply(flag["when"], data))}
    assert {"income_below_watch_line", "child_out_of_school", "member_uninsured"} <= flags
    assert "income_below_monitoring_line" not in flags
