"""Properties of every form in survey_forms/definitions, over submissions drawn by tools/formfill from hypothesis seeds.

Generated submissions validate with no problem; each kind of mutation is reported with its code at its path (and,
when no rule reads the changed value, as the only problem); Chinese text survives JSON; every label, hint and
message has both languages. No database is needed.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.form_definition import form_definition_schema
from survey_forms import loader
from survey_forms.definition import FormDefinition
from survey_forms.validator import CompiledForm, compile_form
from tests.survey_forms.helpers import small_form
from tools import formfill
from tools.formfill.hints import OMIT
from tools.formfill.idcard import id_check_digit

DEFINITIONS = loader.load_all(form_definition_schema())
COMPILED = {(d.form_id, d.version): compile_form(d) for d in DEFINITIONS}
FORM_IDS = [f"{d.form_id}-v{d.version}" for d in DEFINITIONS]
HOUSEHOLD_FORMS = [d for d in DEFINITIONS if any(f["type"] == "repeat" and f["name"] == "members"
                                                 for _, f in formfill.iter_fields(d))]
SEEDS = st.integers(0, 2**32 - 1)
VALID_EXAMPLES = 100
MUTATION_EXAMPLES = 50
CJK = re.compile(r"[\u4e00-\u9fff]")
CURRENT = ("present", "born", "married_in")

forms = pytest.mark.parametrize("definition", DEFINITIONS, ids=FORM_IDS)


def _validator(definition: FormDefinition) -> CompiledForm:
    return COMPILED[(definition.form_id, definition.version)]


def _problems(definition: FormDefinition, data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(error.field, error.code) for error in _validator(definition).validate(data)]


def _differences(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    """Paths (validator format) where two submissions differ: top-level keys, or keys of the same repeat row."""
    found = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, OMIT), after.get(key, OMIT)
        if old == new and type(old) is type(new):
            continue
        if type(old) is list and type(new) is list and len(old) == len(new) and not prefix \
                and all(type(row) is dict for row in old + new):
            found += [path for index, (a, b) in enumerate(zip(old, new, strict=True))
                      for path in _differences(a, b, f"{key}[{index}].")]
        else:
            found.append(prefix + key)
    return found


# --- valid submissions -------------------------------------------------------------------------------------


@forms
@settings(max_examples=VALID_EXAMPLES, deadline=None)
@given(seed=SEEDS)
def test_generated_submissions_are_valid(definition: FormDefinition, seed: int) -> None:
    data = formfill.fill(definition, random.Random(seed))
    assert _problems(definition, data) == []


@settings(max_examples=50, deadline=None)
@given(seed=SEEDS)
def test_a_form_without_hints_is_filled_and_mutated_too(seed: int) -> None:
    definition = small_form()  # tests/data/forms/small_household.json: no hints in tools/formfill/hints/
    validator = compile_form(definition)
    rng = random.Random(seed)
    data = formfill.fill(definition, rng)
    assert validator.validate(data) == []
    for mutation in formfill.mutations(definition, data, rng):
        problems = [(error.field, error.code) for error in validator.validate(mutation.data)]
        assert (mutation.path, mutation.expected_code) in problems
        assert not mutation.isolated or problems == [(mutation.path, mutation.expected_code)]


@forms
@settings(max_examples=20, deadline=None)
@given(seed=SEEDS)
def test_the_same_seed_gives_the_same_submission_and_mutations(definition: FormDefinition, seed: int) -> None:
    first_rng, second_rng = random.Random(seed), random.Random(seed)
    first, second = formfill.fill(definition, first_rng), formfill.fill(definition, second_rng)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert formfill.mutations(definition, first, first_rng) == formfill.mutations(definition, second, second_rng)


@pytest.mark.parametrize("definition", HOUSEHOLD_FORMS, ids=[d.form_id for d in HOUSEHOLD_FORMS])
@settings(max_examples=25, deadline=None)
@given(seed=SEEDS, members=st.integers(1, 30))
def test_the_household_has_the_members_asked_for(definition: FormDefinition, seed: int, members: int) -> None:
    data = formfill.fill(definition, random.Random(seed), members=members)
    assert _problems(definition, data) == []
    assert len(data["members"]) == members
    current = [row for row in data["members"] if row["member_status"] in CURRENT]
    assert [row["relation_to_head"] for row in current].count("head") == 1
    assert data["household_size"] == len(current)
    for row in data["members"]:
        if "id_card_no" in row:
            number = row["id_card_no"]
            assert number[17] == id_check_digit(number[:17])
            assert number[6:14] == row["birth_date"].replace("-", "")


def test_the_identity_number_check_digit_follows_gb_11643() -> None:
    assert id_check_digit("11010519491231002") == "X"
    assert id_check_digit("44052418800101001") == "4"


@pytest.mark.parametrize("definition", HOUSEHOLD_FORMS, ids=[d.form_id for d in HOUSEHOLD_FORMS])
def test_households_are_realistic(definition: FormDefinition) -> None:
    line = definition.parameters["monitoring_line"]
    households = [formfill.fill(definition, random.Random(seed)) for seed in range(150)]
    per_head = [data["income_per_capita"] for data in households]
    assert sum(4000 <= value <= 30000 for value in per_head) >= 0.8 * len(per_head)
    assert 0.04 * len(per_head) <= sum(value < line for value in per_head) <= 0.3 * len(per_head)
    sizes = [len(data["members"]) for data in households]
    assert min(sizes) == 1 and max(sizes) == 7 and 3 <= sum(sizes) / len(sizes) <= 4.6
    relations = {row["relation_to_head"] for data in households for row in data["members"]}
    assert {"head", "spouse", "son", "daughter", "parent", "grandchild"} <= relations
    for data in households:
        head = next(row for row in data["members"] if row["relation_to_head"] == "head")
        assert data["householder_name"] == head["name"] and head["age_years"] >= 18
    children = [row for data in households for row in data["members"] if row.get("is_compulsory_age")]
    in_school = [row for row in children if row["schooling_status"] in ("primary", "junior", "senior_high",
                                                                         "secondary_vocational", "home_teaching")]
    assert len(children) >= 50 and len(in_school) >= 0.9 * len(children)


# --- mutations ---------------------------------------------------------------------------------------------


@forms
@pytest.mark.parametrize("kind", formfill.MUTATION_KINDS)
@settings(max_examples=MUTATION_EXAMPLES, deadline=None)
@given(seed=SEEDS)
def test_each_mutation_is_reported_at_its_path(definition: FormDefinition, kind: str, seed: int) -> None:
    rng = random.Random(seed)
    data = formfill.fill(definition, rng)
    mutation = formfill.mutate(definition, data, rng, kind)
    if mutation is None:  # nothing of this kind in this submission; test_every_kind_of_mutation_applies covers it
        return
    assert mutation.kind == kind
    assert _differences(data, mutation.data) == [mutation.path]  # one change, where the problem is
    problems = _problems(definition, mutation.data)
    assert (mutation.path, mutation.expected_code) in problems
    if mutation.isolated:
        assert problems == [(mutation.path, mutation.expected_code)]
    for error in _validator(definition).validate(mutation.data):
        zh, _, en = error.message.partition(" · ")
        assert zh.strip() and en.strip() and CJK.search(zh), error


@forms
def test_every_kind_of_mutation_applies(definition: FormDefinition) -> None:
    seen: dict[str, int] = dict.fromkeys(formfill.MUTATION_KINDS, 0)
    isolated: dict[str, int] = dict.fromkeys(formfill.MUTATION_KINDS, 0)
    for seed in range(40):
        rng = random.Random(seed)
        for mutation in formfill.mutations(definition, formfill.fill(definition, rng), rng):
            seen[mutation.kind] += 1
            isolated[mutation.kind] += mutation.isolated
    assert all(seen.values()), seen
    assert all(isolated.values()), isolated  # the strict check (the only problem) runs for every kind


# --- languages ---------------------------------------------------------------------------------------------


@forms
@settings(max_examples=30, deadline=None)
@given(seed=SEEDS)
def test_chinese_text_round_trips_through_json(definition: FormDefinition, seed: int) -> None:
    data = formfill.fill(definition, random.Random(seed))
    text = json.dumps(data, ensure_ascii=False)
    assert CJK.search(text) and "\\u" not in text
    assert json.loads(text.encode("utf-8").decode("utf-8")) == data
    assert _problems(definition, json.loads(text)) == []


def _bilingual(node: Any, where: str) -> list[str]:
    """Every {"zh", "en"} text of the definition that lacks one of the two (labels, hints, messages, titles)."""
    missing = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("label", "hint", "constraint_message", "title", "description") and isinstance(value, dict):
                missing += [f"{where}/{key}/{lang}" for lang in ("zh", "en")
                            if not isinstance(value.get(lang), str) or not value[lang].strip()]
            missing += _bilingual(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            missing += _bilingual(value, f"{where}/{index}")
    return missing


def _all_fields(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for spec in fields:
        found.append(spec)
        found += _all_fields(spec.get("fields", []))
    return found


@forms
def test_labels_render_in_chinese_and_english(definition: FormDefinition) -> None:
    document = definition.document
    for spec in _all_fields(document["fields"]):
        zh, en = spec["label"]["zh"].strip(), spec["label"]["en"].strip()
        assert zh and en and CJK.search(zh), spec["name"]
        for choice in spec.get("choices", []):
            assert choice["label"]["zh"].strip() and choice["label"]["en"].strip(), (spec["name"], choice["name"])
    for name, choice_list in document.get("choice_lists", {}).items():
        for choice in choice_list["choices"]:
            assert choice["label"]["zh"].strip() and choice["label"]["en"].strip(), (name, choice["name"])
    assert _bilingual(document, "") == []
