"""The household monitoring visit form (household_visit v1): schema, names, references and risk flags.

These checks stand on their own (JSON Schema plus a small walk over the JsonLogic) so the form can be
checked before the loader is in place; the loader's own checks will replace part of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
FORM_PATH = ROOT / "survey_forms" / "definitions" / "household_visit" / "v1.json"
ENTITY_PATHS = {name: ROOT / "survey_forms" / "entities" / f"{name}.json" for name in ("household", "person")}
SCHEMA_PATH = ROOT / "schemas" / "form_definition.schema.json"

ALLOWED_OPERATORS = {
    "var", "missing", "missing_some", "if", "==", "===", "!=", "!==", "!", "!!", "or", "and", ">", ">=", "<", "<=",
    "max", "min", "+", "-", "*", "/", "%", "map", "filter", "reduce", "all", "some", "none", "merge", "in", "cat", "substr",
}
ITERATORS = {"map", "filter", "reduce", "all", "some", "none"}
RULE_KEYS = ("relevant", "required", "constraint", "calculation")
VALUE_FIELD_TYPES = {"group", "note"}  # fields without a value of their own
CATALOGUE_TYPE = {"text": {"text"}, "integer": {"integer", "decimal"}, "decimal": {"decimal"}, "boolean": {"boolean"},
                  "select_one": {"select_one"}, "select_multiple": {"select_multiple"}, "date": {"date"},
                  "datetime": {"datetime"}, "geopoint": {"geopoint"}, "photo": {"photo"}}
RISK_FLAGS = {  # domain.md 3.15
    "income_below_monitoring_line", "income_below_watch_line", "income_drop", "medical_oop_above_line",
    "child_out_of_school", "member_uninsured", "house_unsafe", "water_unsafe", "food_or_clothing_insecure",
    "zero_employment", "no_labour_no_dibao", "severe_illness_or_disability", "two_after_not_in_training",
}


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


FORM = _load(FORM_PATH)
CATALOGUE = {name: _load(path)["properties"] for name, path in ENTITY_PATHS.items()}


def _flatten(fields: list[dict]) -> Iterator[dict]:
    """The fields of one level: groups are opened, repeats are not (they start a level of their own)."""
    for spec in fields:
        yield spec
        if spec["type"] == "group":
            yield from _flatten(spec["fields"])


def _levels() -> dict[str | None, list[dict]]:
    """Fields by level: None for the top of the form, the repeat's name otherwise."""
    levels: dict[str | None, list[dict]] = {None: list(_flatten(FORM["fields"]))}
    for spec in levels[None]:
        if spec["type"] == "repeat":
            levels[spec["name"]] = list(_flatten(spec["fields"]))
    return levels


LEVELS = _levels()


def _value_names(level: str | None) -> set[str]:
    return {spec["name"] for spec in LEVELS[level] if spec["type"] not in VALUE_FIELD_TYPES}


# --- the JsonLogic walk -------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    names: frozenset[str]  # vars readable by their plain name
    root: bool = False  # $root.<top-level field> readable
    params: bool = True  # $params.<parameter> readable
    value: str | None = None  # what $value is: None (no $value), "scalar", or a repeat's name
    repeats: dict[str, str] = field(default_factory=dict)  # var name -> repeat whose elements it holds


def _level_scope(level: str | None, constrained: dict | None = None) -> Scope:
    names = _value_names(level)
    repeats = {spec["name"]: spec["name"] for spec in LEVELS[level] if spec["type"] == "repeat"}
    value = None
    if constrained is not None:
        value = constrained["name"] if constrained["type"] == "repeat" else "scalar"
        if value != "scalar":
            repeats["$value"] = value
    return Scope(frozenset(names), root=level is not None, value=value, repeats=repeats)


def _element_repeat(collection: Any, scope: Scope) -> str | None:
    """The repeat whose elements an iterator walks over (None: plain values such as choice names)."""
    if isinstance(collection, dict) and len(collection) == 1:
        (operator, args), = collection.items()
        if operator == "var":
            name = args[0] if isinstance(args, list) else args
            return scope.repeats.get(name)
        if operator == "filter":
            return _element_repeat(args[0], scope)
    return None


def _problems(rule: Any, scope: Scope, where: str) -> Iterator[str]:
    if isinstance(rule, list):
        for item in rule:
            yield from _problems(item, scope, where)
        return
    if not isinstance(rule, dict):
        return
    assert len(rule) == 1, f"{where}: a rule object has exactly one operator: {rule}"
    (operator, args), = rule.items()
    if operator not in ALLOWED_OPERATORS:
        yield f"{where}: operator {operator!r} is not allowed"
        return
    if operator == "var":
        name = args[0] if isinstance(args, list) else args
        if not _readable(name, scope):
            yield f"{where}: var {name!r} is not readable here"
        return
    if operator in ITERATORS:
        yield from _problems(args[0], scope, where)
        repeat = _element_repeat(args[0], scope)
        element = _value_names(repeat) if repeat else set()
        if operator == "reduce":
            names = {"accumulator", "current"} | {f"current.{name}" for name in element}
            yield from _problems(args[2:], scope, where)
        else:
            names = element | {""}
        yield from _problems(args[1], Scope(frozenset(names), params=False), where)
        return
    yield from _problems(args, scope, where)


def _readable(name: Any, scope: Scope) -> bool:
    if not isinstance(name, str):
        return False
    if name.startswith("$root."):
        return scope.root and name.removeprefix("$root.") in _value_names(None)
    if name.startswith("$params."):
        return scope.params and name.removeprefix("$params.") in FORM["parameters"]
    if name == "$value":
        return scope.value is not None
    return name in scope.names


def _rules() -> Iterator[tuple[str, Any, Scope]]:
    for level, specs in LEVELS.items():
        for spec in specs:
            where = f"{level or 'top'}.{spec['name']}"
            for key in RULE_KEYS:
                if key in spec and not isinstance(spec[key], bool):
                    scope = _level_scope(level, spec if key == "constraint" else None)
                    yield f"{where}.{key}", spec[key], scope
    for flag in FORM["rules"]["risk_flags"]:
        yield f"risk_flags.{flag['code']}", flag["when"], _level_scope(None)


# --- tests --------------------------------------------------------------------------------------


def test_form_passes_the_json_schema() -> None:
    schema = _load(SCHEMA_PATH)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(FORM)]
    assert errors == []


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


def test_names_are_unique_per_level() -> None:
    for level, specs in LEVELS.items():
        names = [spec["name"] for spec in specs]
        assert len(names) == len(set(names)), (level, sorted({name for name in names if names.count(name) > 1}))


def test_members_and_measures_are_the_repeats() -> None:
    repeats = {spec["name"]: spec for spec in LEVELS[None] if spec["type"] == "repeat"}
    assert set(repeats) == {"members", "measures"}
    assert (repeats["members"]["min_count"], repeats["members"]["max_count"]) == (1, 30)
    assert repeats["measures"]["min_count"] == 0
    assert "monitoring_status" not in _value_names(None), "monitoring_status is server-owned"


def test_every_save_to_names_a_catalogue_property_of_a_compatible_type() -> None:
    expected_entity = {None: "household", "members": "person"}
    for level, specs in LEVELS.items():
        for spec in specs:
            if "save_to" not in spec:
                continue
            entity, prop = spec["save_to"].split(".", 1)
            assert entity == expected_entity.get(level), (level, spec["name"], spec["save_to"])
            assert prop in CATALOGUE[entity], spec["save_to"]
            value_type = spec["value_type"] if spec["type"] == "calculate" else spec["type"]
            assert CATALOGUE[entity][prop]["type"] in CATALOGUE_TYPE[value_type], (spec["save_to"], value_type)


def test_catalogue_marks_personal_data() -> None:
    personal = {entity: {name for name, prop in props.items() if prop["personal"]} for entity, props in CATALOGUE.items()}
    assert {"householder_name", "householder_id_card_no", "phone", "household_signature"} <= personal["household"]
    sensitive = {"name", "id_card_no", "health_status", "chronic_diseases", "disability_type", "disability_grade"}
    assert sensitive <= personal["person"]
    assert not {"income_per_capita", "housing_grade", "monitoring_category"} & personal["household"]
    for props in CATALOGUE.values():
        for prop in props.values():
            assert prop["label"]["zh"] and prop["label"]["en"]


def test_every_choice_list_referenced_exists_and_choice_names_are_unique() -> None:
    lists = FORM["choice_lists"]
    used = {spec["choice_list"] for specs in LEVELS.values() for spec in specs if "choice_list" in spec}
    assert used <= lists.keys(), used - lists.keys()
    assert lists.keys() <= used, f"unused lists: {lists.keys() - used}"
    for name, choice_list in lists.items():
        names = [choice["name"] for choice in choice_list["choices"]]
        assert len(names) == len(set(names)), name
        assert choice_list["version"] in {"GK-2026.1", "seed-2026.1"}
        if choice_list["version"].startswith("GK"):  # general knowledge, to be replaced by the county's list
            assert choice_list["source"].startswith("[GK]"), name


def test_ethnicity_is_the_full_national_list() -> None:
    choices = FORM["choice_lists"]["ethnicity"]["choices"]
    assert len(choices) == 57 and choices[-1]["name"] == "other"
    labels = {choice["name"]: choice["label"]["zh"] for choice in choices}
    assert labels["han"] == "汉族" and labels["bai"] == "白族" and labels["wa"] == "佤族" and labels["lahu"] == "拉祜族"
    assert all(label.endswith("族") for name, label in labels.items() if name != "other")


def test_every_rule_uses_allowed_operators_and_reads_only_what_it_can_see() -> None:
    problems = [problem for where, rule, scope in _rules() for problem in _problems(rule, scope, where)]
    assert problems == []


def test_rule_walk_rejects_what_the_form_must_not_do() -> None:
    top, member = _level_scope(None), _level_scope("members")
    assert list(_problems({"var": "age_years"}, top, "t"))  # a member field from the top level
    assert list(_problems({"var": "$root.visit_date"}, top, "t"))  # $root only inside repeats
    assert not list(_problems({"var": "$root.visit_date"}, member, "m"))
    inside_filter = {"filter": [{"var": "members"}, {"<": [{"var": "age_years"}, {"var": "$params.compulsory_age_max"}]}]}
    assert list(_problems(inside_filter, top, "t"))  # $params is out of reach inside an iterator
    assert list(_problems({"log": [1]}, top, "t"))


def test_every_risk_flag_of_the_domain_is_present() -> None:
    codes = [flag["code"] for flag in FORM["rules"]["risk_flags"]]
    assert len(codes) == len(set(codes))
    assert set(codes) == RISK_FLAGS


def test_thresholds_are_parameters() -> None:
    params = {name: spec["value"] for name, spec in FORM["parameters"].items()}
    assert params["monitoring_line"] == 6000 and params["watch_line"] == 10000 and params["dibao_standard"] == 4620
    assert (params["compulsory_age_min"], params["compulsory_age_max"]) == (6, 15)
    flags = {flag["code"]: flag["when"] for flag in FORM["rules"]["risk_flags"]}
    assert flags["income_below_monitoring_line"] == {"<": [{"var": "income_per_capita"}, {"var": "$params.monitoring_line"}]}


# --- calculations on a sample household, when the evaluator is there ---------------------------

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


def _fields_with(level: str | None, kind: str) -> list[dict]:
    return [spec for spec in LEVELS[level] if spec["type"] == kind]


def test_sample_household_calculations() -> None:
    rules = pytest.importorskip("survey_forms.rules", reason="the JsonLogic evaluator is not written yet")
    params = {name: spec["value"] for name, spec in FORM["parameters"].items()}
    data = json.loads(json.dumps(SAMPLE))
    for member in data["members"]:  # repeats first, then the top level; fields are in dependency order
        for spec in _fields_with("members", "calculate"):
            member[spec["name"]] = rules.apply(spec["calculation"], {**member, "$root": data, "$params": params})
    for spec in _fields_with(None, "calculate"):
        data[spec["name"]] = rules.apply(spec["calculation"], {**data, "$params": params})

    assert [member["age_years"] for member in data["members"]] == [45, 43, 12, 6, 86]
    assert [member["is_compulsory_age"] for member in data["members"]] == [False, False, True, False, False]
    assert data["income_transfer"] == 2600
    assert data["income_total_net"] == 27000
    assert data["income_per_capita"] == 6750
    assert (data["compulsory_age_children"], data["children_out_of_school"]) == (1, 1)
    assert data["uninsured_members"] == 1  # the deceased member no longer counts
    assert (data["labour_members"], data["employed_members"]) == (2, 1)
    size = next(spec for spec in LEVELS[None] if spec["name"] == "household_size")
    assert rules.apply(size["constraint"], {**data, "$value": 4, "$params": params})
    assert not rules.apply(size["constraint"], {**data, "$value": 5, "$params": params})
    flags = {flag["code"] for flag in FORM["rules"]["risk_flags"] if rules.apply(flag["when"], {**data, "$params": params})}
    assert {"income_below_watch_line", "child_out_of_school", "member_uninsured"} <= flags
    assert "income_below_monitoring_line" not in flags
