"""The two village survey forms (domain.md 4.1, 4.2) and the village property catalogue: shape, names, references, rules.

The format's own rules (schema, unique names, choice lists, scopes of vars, operators, save_to targets and their types,
risk flag codes, calculation cycles) are loader.check's, run here on each form. The rest is what these forms must say,
and checks loader.check does not make: only FORM_OPERATORS, iterators over a repeat (so every read is resolved), every
parameter used, select fields compared with their own choices, prefill only with save_to, every list used. The household
form's tests use the same helpers (form_rules, foreign_choices).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from schemas.form_definition import form_definition_schema
from survey_forms import loader, rules
from survey_forms.catalogue import COMPATIBLE, ENTITIES_DIR, load_catalogue
from survey_forms.definition import FormDefinition
from survey_forms.levels import FieldAt, Level, levels_of, rules_of
from survey_forms.loader import FORM_OPERATORS
from survey_forms.references import UNKNOWN, Read, reads
from survey_forms.validator import compile_form

CATALOGUE_PATH = ENTITIES_DIR / "village.json"

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
# The operators the forms are written with. loader.check accepts all of rules.ALLOWED_OPERATORS, which also has
# val, exists, ??, ?:, try, throw and preserve (for JSON Logic conformance); it does not resolve what val and exists
# read, so a rule using them would escape its scope check.
COMPARISONS = {"==", "!=", "===", "!==", "in"}
BILINGUAL_KEYS = {"title", "description", "label", "hint", "constraint_message"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def form_path(form_id: str) -> Path:
    return loader.DEFINITIONS_DIR / form_id / "v1.json"


def load(form_id: str) -> dict[str, Any]:
    return json.loads(form_path(form_id).read_text(encoding="utf-8"))


def catalogue() -> dict[str, Any]:
    return json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))


def all_fields(definition: dict[str, Any]) -> Iterator[FieldAt]:
    """Every field and group of the form, at every level."""
    for level in levels_of(definition).values():
        yield from level.fields
        yield from level.groups


# --- The rules of a form, for the checks loader.check does not make ----------------------------------------------------

@dataclass(frozen=True)
class FormRule:
    pointer: str
    rule: Any
    level: str | None  # where the rule stands: None for the top level, else the repeat's name
    constrained: FieldAt | None  # the field whose constraint this is (what $value is), else None


def form_rules(definition: dict[str, Any]) -> Iterator[FormRule]:
    """Every rule of the form: field and group rules at each level, and the risk flags."""
    for level in levels_of(definition).values():
        for item in [*level.fields, *level.groups]:
            for kind, rule, pointer in rules_of(item):
                yield FormRule(pointer, rule, level.name, item if kind == "constraint" else None)
    for index, flag in enumerate(definition.get("rules", {}).get("risk_flags", [])):
        yield FormRule(f"/rules/risk_flags/{index}/when", flag["when"], None, None)


def field_read(read: Read, where: FormRule, levels: dict[str | None, Level]) -> dict[str, Any] | None:
    """The spec of the field whose value a var reads, or None when it reads no field as a whole."""
    head, _, rest = (read.path or "").partition(".")
    element = read.element_of
    if element == "$value" and where.constrained is not None and where.constrained.spec["type"] == "repeat":
        element = where.constrained.spec["name"]  # a repeat's constraint walks its rows
    found: FieldAt | None
    if element is not None:
        if read.in_reduce:
            if head != "current":
                return None
            head = rest.partition(".")[0]
        found = levels[element].names.get(head) if element in levels else None
    elif head == "$value":
        found = where.constrained if not rest else None
    elif head == "$root":
        found = levels[None].names.get(rest)
    else:
        found = levels[where.level].names.get(read.path or "")
    return found.spec if found is not None else None


def compared_with(rule: Any, read: Read) -> list[Any] | None:
    """What a var is compared with when it is one side of ==, !=, ===, !== or in (the other side, as a list)."""
    tokens = [token.replace("~1", "/").replace("~0", "~") for token in read.pointer.split("/")[1:]]
    if len(tokens) < 3 or tokens[-3] not in COMPARISONS:
        return None
    node = rule
    for token in tokens[:-2]:
        node = node[int(token)] if isinstance(node, list) else node[token]
    if not isinstance(node, list) or len(node) != 2:
        return None
    other = node[1 - int(tokens[-2])]
    return other if isinstance(other, list) else [other]


def choice_names(definition: dict[str, Any], spec: dict[str, Any]) -> set[str] | None:
    if spec.get("type") not in ("select_one", "select_multiple"):
        return None
    choices = spec.get("choices") or definition["choice_lists"][spec["choice_list"]]["choices"]
    return {choice["name"] for choice in choices}


def foreign_choices(definition: dict[str, Any]) -> list[str]:
    """Where a rule compares a select field with strings that are not among the field's choices."""
    levels = levels_of(definition)
    found = []
    for where in form_rules(definition):
        for read in reads(where.rule):
            literals = compared_with(where.rule, read)
            if literals is None or not all(isinstance(x, str) for x in literals):
                continue
            spec = field_read(read, where, levels)
            names = choice_names(definition, spec) if spec else None
            if names is not None and not set(literals) <= names:
                found.append(f"{where.pointer}: {literals} not among the choices of {spec['name']}")
    return found


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
def test_definition_passes_the_loader_checks(form_id):
    assert [str(problem) for problem in loader.check(load(form_id), form_definition_schema(), load_catalogue())] == []


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
    for item in all_fields(definition):
        assert ("constraint" in item.spec) == ("constraint_message" in item.spec), item.spec["name"]


@pytest.mark.parametrize("form_id", FORMS)
def test_only_saved_fields_are_prefilled(form_id):
    for item in all_fields(load(form_id)):
        if "save_to" not in item.spec:
            assert not item.spec.get("prefill"), f"{item.spec['name']}: prefill without save_to has nothing to prefill from"


def test_catalogue_is_well_formed_and_every_property_is_saved_by_a_form():
    document = catalogue()
    assert document["entity"] == "village"
    saved = {item.spec["save_to"].partition(".")[2] for form_id in FORMS for item in all_fields(load(form_id))
             if "save_to" in item.spec}
    property_types = set().union(*COMPATIBLE.values())
    for name, spec in document["properties"].items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert spec["type"] in property_types, name
        assert isinstance(spec["personal"], bool), name
        assert list(spec["label"]) == ["zh", "en"] and CJK.search(spec["label"]["zh"]), name
    assert set(document["properties"]) == saved
    assert load_catalogue().personal("village") == {"contact_name", "contact_phone"}


@pytest.mark.parametrize("form_id", FORMS)
def test_choice_lists_are_used_and_versioned(form_id):
    definition = load(form_id)
    lists = definition["choice_lists"]
    used = {item.spec["choice_list"] for item in all_fields(definition) if "choice_list" in item.spec}
    assert used == set(lists)
    for name, spec in lists.items():
        if spec["version"].startswith("GK-"):
            assert spec["source"] == "[GK]", name
        else:
            assert re.match(r"(seed|proposal)-\d{4}\.\d+$", spec["version"]) and spec.get("source"), name


def test_the_form_operators_are_operators_of_the_rules():
    assert FORM_OPERATORS <= rules.ALLOWED_OPERATORS


@pytest.mark.parametrize("form_id", FORMS)
def test_rules_use_the_form_operators_and_iterate_over_repeats(form_id):
    for where in form_rules(load(form_id)):
        assert rules.operators_used(where.rule) <= FORM_OPERATORS, where.pointer
        unknown = [read.pointer for read in reads(where.rule) if read.element_of == UNKNOWN]
        assert unknown == [], f"{where.pointer}: iterate over a repeat, $value or a filter of one, so reads resolve"


@pytest.mark.parametrize("form_id", FORMS)
def test_parameters_exist_and_are_all_used(form_id):
    definition = load(form_id)
    read = {r.path.partition(".")[2] for where in form_rules(definition) for r in reads(where.rule)
            if r.path is not None and r.path.startswith("$params.")}
    assert read == set(definition["parameters"])
    for name, spec in definition["parameters"].items():
        assert spec.get("source") and spec.get("unit"), name


@pytest.mark.parametrize("form_id", FORMS)
def test_rules_compare_select_fields_with_their_own_choices(form_id):
    assert foreign_choices(load(form_id)) == []


@pytest.mark.parametrize("form_id", FORMS)
def test_domain_flags_are_present(form_id):
    flags = load(form_id)["rules"]["risk_flags"]
    assert EXPECTED_FLAGS[form_id] <= {flag["code"] for flag in flags}
    assert all(flag.get("source") for flag in flags)


def test_the_centroid_is_a_geopoint_with_the_accuracy_limit():
    for form_id in FORMS:
        definition = load(form_id)
        centroid = levels_of(definition)[None].names["centroid"].spec
        assert centroid["type"] == "geopoint"
        assert centroid["max_accuracy_m"] == definition["parameters"]["max_gps_accuracy_m"]["value"] == 50


# --- Calculations and flags on sample villages -------------------------------------------------------------------------

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


def computed(definition: dict[str, Any], values: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The values with every calculation done by the server (and $params), and the codes of the flags that hold."""
    data = compile_form(FormDefinition.from_document(definition)).computed(values)
    flags = {flag["code"] for flag in definition["rules"]["risk_flags"] if rules.truthy(rules.apply(flag["when"], data))}
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

    registered = levels_of(definition)[None].names["collective_assets_registered"].spec
    assert not rules.apply(registered["constraint"], {**data, "$value": "yes"})
    assert rules.apply(registered["constraint"], {**data, "$value": "no"})
