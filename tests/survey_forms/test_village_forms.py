"""The two village survey forms (domain.md 4.1, 4.2) and the village property catalogue: shape, names, references, rules."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = ROOT / "survey_forms" / "definitions"
CATALOGUE_PATH = ROOT / "survey_forms" / "entities" / "village.json"
SCHEMA = json.loads((ROOT / "schemas" / "form_definition.schema.json").read_text(encoding="utf-8"))

FORMS = {
    "village_infrastructure": "natural_village",
    "village_collective": "admin_village",
}
# domain.md 4.3: the village-level flags each form must raise, by code.
EXPECTED_FLAGS = {
    "village_infrastructure": {
        "no_hardened_road", "partial_water", "no_broadband", "no_ecommerce_point", "no_financial_point",
        "no_power_380v", "needs_public_toilet",
    },
    "village_collective": {"weak_collective_economy", "no_standard_clinic"},
}
ALLOWED_OPERATORS = {
    "var", "missing", "missing_some", "if", "==", "===", "!=", "!==", "!", "!!", "or", "and", ">", ">=", "<", "<=",
    "max", "min", "+", "-", "*", "/", "%", "map", "filter", "reduce", "all", "some", "none", "merge", "in", "cat", "substr",
}
ITERATORS = {"map", "filter", "reduce", "all", "some", "none"}
PROPERTY_TYPES = {
    "text", "integer", "decimal", "boolean", "date", "datetime", "geopoint", "select_one", "select_multiple", "photo",
}
# Which property types a field's value may be saved into (a calculate field's value is its value_type).
COMPATIBLE = {
    "text": {"text"}, "integer": {"integer"}, "decimal": {"decimal", "integer"}, "boolean": {"boolean"},
    "date": {"date"}, "datetime": {"datetime"}, "geopoint": {"geopoint"}, "select_one": {"select_one", "text"},
    "select_multiple": {"select_multiple"}, "photo": {"photo"},
}
NO_VALUE = {"note", "group"}
BILINGUAL_KEYS = {"title", "description", "label", "hint", "constraint_message"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def form_path(form_id: str) -> Path:
    return DEFINITIONS / form_id / "v1.json"


def load(form_id: str) -> dict[str, Any]:
    return json.loads(form_path(form_id).read_text(encoding="utf-8"))


def catalogue() -> dict[str, Any]:
    return json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))


def levels(definition: dict[str, Any]) -> dict[str | None, list[dict[str, Any]]]:
    """Every level (None: the top; else a repeat's name) with its fields, groups folded in and included."""
    found: dict[str | None, list[dict[str, Any]]] = {}

    def visit(fields: list[dict[str, Any]], level: str | None) -> None:
        for spec in fields:
            found.setdefault(level, []).append(spec)
            if spec["type"] == "group":
                visit(spec["fields"], level)
            elif spec["type"] == "repeat":
                found.setdefault(spec["name"], [])
                visit(spec["fields"], spec["name"])

    visit(definition["fields"], None)
    return found


def value_fields(definition: dict[str, Any]) -> dict[str | None, dict[str, dict[str, Any]]]:
    return {level: {f["name"]: f for f in fields if f["type"] not in NO_VALUE} for level, fields in levels(definition).items()}


def value_type(spec: dict[str, Any]) -> str:
    return spec["value_type"] if spec["type"] == "calculate" else spec["type"]


def choice_names(definition: dict[str, Any], spec: dict[str, Any]) -> set[str] | None:
    if spec.get("type") not in ("select_one", "select_multiple"):
        return None
    choices = spec.get("choices") or definition["choice_lists"][spec["choice_list"]]["choices"]
    return {choice["name"] for choice in choices}


# --- The rules of a form and what they read ------------------------------------------------------------------------

class Scope:
    """What a rule can read where it stands: its level's fields, the top, $params, $value, an iterator's element."""

    def __init__(self, definition: dict[str, Any], level: str | None, value_spec: dict[str, Any] | None,
                 element: str | None = None, in_reduce: bool = False) -> None:
        self.definition = definition
        self.fields = value_fields(definition)
        self.level = level
        self.value_spec = value_spec
        self.element = element  # a repeat's name, "$value" (a select_multiple), or None outside iterators
        self.in_reduce = in_reduce

    def entering(self, collection: Any, operator: str) -> Scope:
        return Scope(self.definition, self.level, self.value_spec, self._collection(collection), operator == "reduce")

    def _collection(self, rule: Any) -> str:
        (operator, args), = rule.items()
        if operator == "filter":
            return self._collection(args[0])
        assert operator == "var", f"iterate over a plain var or a filter of one, not {rule}"
        name = args[0] if isinstance(args, list) else args
        if name == "$value":
            return name
        assert self.element is None and name in self.fields, f"'{name}' is not a repeat that can be iterated here"
        return name

    def resolve(self, name: str) -> tuple[bool, dict[str, Any] | None]:
        """(readable, field spec when the name reads a field's value)."""
        head, _, rest = name.partition(".")
        if self.element is not None:
            if self.in_reduce:
                if name == "accumulator":
                    return True, None
                if head != "current":
                    return False, None
                if self.element == "$value":
                    return rest == "", None
                field = self.fields[self.element].get(rest.partition(".")[0])
                return field is not None, field
            field = self.fields[self.element].get(head) if self.element != "$value" else None
            return field is not None, field
        if head == "$params":
            return rest in self.definition.get("parameters", {}), None
        if head == "$value":
            return self.value_spec is not None, self.value_spec if not rest else None
        if head == "$root":
            field = self.fields[None].get(rest.partition(".")[0]) if self.level is not None else None
            return field is not None, field if "." not in rest else None
        field = self.fields[self.level].get(head)
        return field is not None, field if not rest else None


def var_name(rule: Any) -> str | None:
    if isinstance(rule, dict) and list(rule) == ["var"]:
        args = rule["var"]
        return args[0] if isinstance(args, list) else args
    return None


def walk_rule(rule: Any, scope: Scope) -> Iterator[tuple[str, Any, Scope]]:
    """(operator, arguments, scope) of every operation in a rule, iterator bodies in their element's scope."""
    if isinstance(rule, list):
        for item in rule:
            yield from walk_rule(item, scope)
        return
    if not isinstance(rule, dict):
        return
    assert len(rule) == 1, f"a JsonLogic operation has one key: {rule}"
    (operator, args), = rule.items()
    yield operator, args, scope
    if operator == "var":
        if isinstance(args, list):
            yield from walk_rule(args[1:], scope)
        return
    if operator in ITERATORS:
        yield from walk_rule(args[0], scope)
        yield from walk_rule(args[1], scope.entering(args[0], operator))
        yield from walk_rule(args[2:], scope)
        return
    yield from walk_rule(args, scope)


def rules_of(definition: dict[str, Any]) -> Iterator[tuple[str, Any, Scope]]:
    """(where, rule, scope) of every rule of the form: field rules, group relevance and risk flags."""
    for level, fields in levels(definition).items():
        for spec in fields:
            for kind in ("relevant", "required", "constraint", "calculation"):
                if kind in spec and not isinstance(spec[kind], bool):
                    value_spec = spec if kind == "constraint" else None
                    yield f"{spec['name']}.{kind}", spec[kind], Scope(definition, level, value_spec)
    for flag in definition.get("rules", {}).get("risk_flags", []):
        yield f"risk_flags.{flag['code']}", flag["when"], Scope(definition, None, None)


def bilingual_texts(node: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in BILINGUAL_KEYS:
                yield f"{pointer}/{key}", value
            else:
                yield from bilingual_texts(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from bilingual_texts(item, f"{pointer}/{index}")


# --- Tests ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("form_id", FORMS)
def test_definition_passes_the_json_schema(form_id):
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in Draft202012Validator(SCHEMA).iter_errors(load(form_id))]
    assert errors == []


@pytest.mark.parametrize("form_id", FORMS)
def test_identity_of_the_form(form_id):
    definition = load(form_id)
    assert definition["form_id"] == form_id
    assert definition["version"] == 1
    assert definition["subject"] == "village"
    assert definition["subject_level"] == FORMS[form_id]
    assert definition["default_language"] == "zh"
    assert definition["roles"] == ["enumerator", "supervisor"]
    assert list(definition["title"]) == ["zh", "en"]


@pytest.mark.parametrize("path", [*(form_path(f) for f in FORMS), CATALOGUE_PATH], ids=lambda p: p.parent.name)
def test_chinese_text_round_trips(path):
    text = path.read_text(encoding="utf-8")
    assert "\\u" not in text, "write real Chinese characters, not \\u escapes"
    assert json.dumps(json.loads(text), ensure_ascii=False, indent=2) + "\n" == text


@pytest.mark.parametrize("form_id", FORMS)
def test_every_text_is_bilingual(form_id):
    definition = load(form_id)
    texts = [*bilingual_texts(definition), *((f"/choice_lists/{n}", c["label"]) for n, spec in definition["choice_lists"].items()
                                            for c in spec["choices"])]
    for pointer, text in texts:
        assert list(text) == ["zh", "en"], pointer
        assert CJK.search(text["zh"]), f"{pointer}: the zh text has no Chinese"
        assert text["en"].strip(), pointer
    for fields in levels(definition).values():
        for spec in fields:
            assert ("constraint" in spec) == ("constraint_message" in spec), spec["name"]


@pytest.mark.parametrize("form_id", FORMS)
def test_names_are_unique_per_level(form_id):
    for level, fields in levels(load(form_id)).items():
        names = [spec["name"] for spec in fields]
        assert len(names) == len(set(names)), (level, sorted(n for n in names if names.count(n) > 1))


@pytest.mark.parametrize("form_id", FORMS)
def test_save_to_names_a_catalogue_property_of_a_compatible_type(form_id):
    properties = catalogue()["properties"]
    definition = load(form_id)
    for level, fields in levels(definition).items():
        for spec in fields:
            if "save_to" not in spec:
                assert not spec.get("prefill"), f"{spec['name']}: prefill without save_to has nothing to prefill from"
                continue
            assert level is None, f"{spec['name']}: only top-level fields of a village form save to the village"
            entity, _, name = spec["save_to"].partition(".")
            assert entity == "village" and name in properties, spec["save_to"]
            assert properties[name]["type"] in COMPATIBLE[value_type(spec)], spec["save_to"]


def test_catalogue_is_well_formed_and_every_property_is_saved_by_a_form():
    document = catalogue()
    assert document["entity"] == "village"
    saved = {spec["save_to"].partition(".")[2] for form_id in FORMS for fields in levels(load(form_id)).values()
             for spec in fields if "save_to" in spec}
    for name, spec in document["properties"].items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert spec["type"] in PROPERTY_TYPES, name
        assert isinstance(spec["personal"], bool), name
        assert list(spec["label"]) == ["zh", "en"] and CJK.search(spec["label"]["zh"]), name
    assert set(document["properties"]) == saved
    personal = {name for name, spec in document["properties"].items() if spec["personal"]}
    assert personal == {"contact_name", "contact_phone"}


@pytest.mark.parametrize("form_id", FORMS)
def test_choice_lists_exist_are_used_and_versioned(form_id):
    definition = load(form_id)
    lists = definition["choice_lists"]
    used = {spec["choice_list"] for fields in levels(definition).values() for spec in fields if "choice_list" in spec}
    assert used == set(lists)
    for name, spec in lists.items():
        names = [choice["name"] for choice in spec["choices"]]
        assert len(names) == len(set(names)), name
        if spec["version"].startswith("GK-"):
            assert spec["source"] == "[GK]", name
        else:
            assert re.match(r"(seed|proposal)-\d{4}\.\d+$", spec["version"]) and spec.get("source"), name


@pytest.mark.parametrize("form_id", FORMS)
def test_rules_use_allowed_operators_and_resolvable_vars(form_id):
    definition = load(form_id)
    for where, rule, scope in rules_of(definition):
        for operator, args, inner in walk_rule(rule, scope):
            assert operator in ALLOWED_OPERATORS, f"{where}: {operator}"
            if operator == "var":
                name = args[0] if isinstance(args, list) else args
                assert isinstance(name, str), f"{where}: a var's name must be written out"
                assert inner.resolve(name)[0], f"{where}: '{name}' is not readable here"


@pytest.mark.parametrize("form_id", FORMS)
def test_parameters_exist_and_are_all_used(form_id):
    definition = load(form_id)
    read = {name.partition(".")[2] for _, rule, scope in rules_of(definition) for op, args, _ in walk_rule(rule, scope)
            if op == "var" and (name := args[0] if isinstance(args, list) else args).startswith("$params.")}
    assert read == set(definition["parameters"])
    for name, spec in definition["parameters"].items():
        assert spec.get("source") and spec.get("unit"), name


@pytest.mark.parametrize("form_id", FORMS)
def test_rules_compare_select_fields_with_their_own_choices(form_id):
    definition = load(form_id)
    for where, rule, scope in rules_of(definition):
        for operator, args, inner in walk_rule(rule, scope):
            if operator in ("==", "!=", "===", "!==", "in") and isinstance(args, list) and len(args) == 2:
                for side, other in ((args[0], args[1]), (args[1], args[0])):
                    name = var_name(side)
                    literals = other if isinstance(other, list) else [other]
                    if name is None or not all(isinstance(x, str) for x in literals):
                        continue
                    spec = inner.resolve(name)[1]
                    names = choice_names(definition, spec) if spec else None
                    if names is not None:
                        assert set(literals) <= names, f"{where}: {literals} not among the choices of {spec['name']}"


@pytest.mark.parametrize("form_id", FORMS)
def test_domain_flags_are_present(form_id):
    flags = load(form_id)["rules"]["risk_flags"]
    codes = [flag["code"] for flag in flags]
    assert len(codes) == len(set(codes))
    assert EXPECTED_FLAGS[form_id] <= set(codes)
    assert all(flag.get("source") for flag in flags)


def test_the_centroid_is_a_geopoint_with_the_accuracy_limit():
    for form_id in FORMS:
        definition = load(form_id)
        centroid = value_fields(definition)[None]["centroid"]
        assert centroid["type"] == "geopoint"
        assert centroid["max_accuracy_m"] == definition["parameters"]["max_gps_accuracy_m"]["value"] == 50


# --- Calculations and flags on sample villages, when the rule evaluator is there ---------------------------------------

NATURAL_VILLAGE = {
    "households_total": 42, "households_resident": 35, "population_total": 160, "population_resident": 120,
    "tuopin_households": 12, "tuopin_population": 48, "monitored_households": 2, "monitored_population": 7,
    "road_access": "gravel", "water_supply_mode": "partly_centralised", "tap_households": 21, "seasonal_shortage": "no",
    "power_380v": "yes", "broadband": "none", "ecommerce_delivery_point": "no", "financial_service_point": "yes",
    "sanitary_toilet_households": 30, "public_toilet": "simple",
    "centroid": {"lat": 25.62, "lon": 99.95, "accuracy_m": 12.0, "altitude_m": 1900.0},
    "project_needs": [
        {"need_category": "infrastructure", "infrastructure_type": "road", "need_description": "组内道路硬化1.2公里",
         "beneficiary_households": 42, "estimated_investment_wan": 120, "priority": "high"},
        {"need_category": "industry", "need_description": "核桃初加工", "beneficiary_households": 20, "priority": "medium"},
    ],
}
ADMIN_VILLAGE = {
    "survey_year": 2026, "collective_income_year": 2025, "collective_operating_income": 38000,
    "clinic_standardised": "yes", "village_doctors": 1, "cultural_service_centre": "yes", "party_service_centre": "yes",
    "farmhouse_library": "yes", "sports_ground": "no", "committee_public_toilet": "yes",
    "first_secretary": "yes", "team_members": 3, "unstable_tuopin_population": 230, "reserve_cadres": 1,
    "project_assets": [
        {"asset_name": "茶叶初制所", "asset_class": "operating", "asset_category": "industry", "completion_year": 2019,
         "investment_wan": 80, "shanghai_funded": "yes", "registered": "yes", "handed_over": "yes", "annual_income_yuan": 12000},
        {"asset_name": "村组道路", "asset_class": "public_welfare", "asset_category": "infrastructure", "completion_year": 2020,
         "investment_wan": 150, "shanghai_funded": "no", "registered": "no", "handed_over": "yes"},
    ],
}


def evaluator():
    try:
        rules = importlib.import_module("survey_forms.rules")
    except ImportError:
        pytest.skip("survey_forms.rules (the JsonLogic evaluator) is not there yet")
    if not hasattr(rules, "apply"):
        pytest.skip("survey_forms.rules has no apply(rule, data)")
    return rules.apply


def computed(definition: dict[str, Any], values: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The top-level values with every calculation done, and the codes of the flags that hold."""
    apply = evaluator()
    params = {name: spec["value"] for name, spec in definition["parameters"].items()}
    calculations = [spec for spec in value_fields(definition)[None].values() if spec["type"] == "calculate"]
    data = dict(values)
    for _ in calculations:  # enough passes for any dependency order
        for spec in calculations:
            data[spec["name"]] = apply(spec["calculation"], {**data, "$params": params})
    flags = {flag["code"] for flag in definition["rules"]["risk_flags"] if apply(flag["when"], {**data, "$params": params})}
    return data, flags


def test_natural_village_calculations_and_flags():
    data, flags = computed(load("village_infrastructure"), NATURAL_VILLAGE)
    assert data["tuopin_share"] == pytest.approx(30.0)
    assert data["support_priority"] is True
    assert data["tap_water_share"] == pytest.approx(50.0)
    assert data["sanitary_toilet_share"] == pytest.approx(30 / 42 * 100)
    assert data["in_road_target_group"] is True and data["road_gap_priority"] is True
    assert data["infrastructure_gaps_count"] == 4
    assert data["basic_infrastructure_complete"] is False
    assert data["centroid_accuracy_ok"] is True
    assert data["project_needs_count"] == 2 and data["project_needs_investment_wan"] == pytest.approx(120)
    assert flags == {"no_hardened_road", "no_hardened_road_priority", "partial_water", "no_broadband", "no_ecommerce_point"}


def test_admin_village_calculations_and_flags():
    definition = load("village_collective")
    data, flags = computed(definition, ADMIN_VILLAGE)
    assert data["collective_income_band"] == "weak"
    assert data["collective_income_gap_to_target"] == pytest.approx(62000)
    assert data["assets_count"] == 2 and data["assets_unregistered_count"] == 1
    assert data["operating_assets_income"] == pytest.approx(12000)
    assert data["standard_clinic_and_doctor"] is True and data["public_services_complete"] is False
    assert data["work_team_required"] is True and data["work_team_meets_standard"] is False
    assert data["reserve_cadres_target_met"] is False
    assert flags == {"weak_collective_economy", "collective_income_below_target"}

    apply = evaluator()
    registered = value_fields(definition)[None]["collective_assets_registered"]
    params = {name: spec["value"] for name, spec in definition["parameters"].items()}
    assert not apply(registered["constraint"], {**data, "$params": params, "$value": "yes"})
    assert apply(registered["constraint"], {**data, "$params": params, "$value": "no"})
