"""The form loader: good definitions load; each broken one fails with its JSON pointer and message."""

import json
from pathlib import Path

import pytest

from survey_forms import loader
from survey_forms.calculations import calculation_order
from survey_forms.definition import canonical_bytes
from survey_forms.levels import levels_of
from tests.survey_forms.helpers import CATALOGUE, DATA, SCHEMA, small_form, small_form_document

BROKEN = sorted((DATA / "broken").glob("*.json"))


def test_the_small_test_form_passes():
    assert loader.check(small_form_document(), SCHEMA, CATALOGUE) == []


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_each_broken_definition_fails_with_its_pointer_and_message(path):
    case = json.loads(path.read_text(encoding="utf-8"))
    problems = loader.check(case["definition"], SCHEMA, CATALOGUE)
    expected = case["expect"]
    matching = [p for p in problems if p.pointer == expected["pointer"] and expected["message"] in p.message]
    assert matching, f"expected {expected}, got {[str(p) for p in problems]}"


def test_every_problem_is_reported_not_just_the_first():
    document = small_form_document()
    document["fields"][1]["save_to"] = "household.nope"
    document["fields"][7]["choice_list"] = "nope"
    pointers = {p.pointer for p in loader.check(document, SCHEMA, CATALOGUE)}
    assert {"/fields/1/save_to", "/fields/7/choice_list"} <= pointers


def test_load_names_the_file_and_every_problem(tmp_path):
    folder = tmp_path / "small_household"
    folder.mkdir()
    document = small_form_document()
    document["fields"][1]["save_to"] = "household.nope"
    (folder / "v1.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(loader.FormDefinitionError) as raised:
        loader.load(folder / "v1.json", SCHEMA, CATALOGUE)
    assert "v1.json" in str(raised.value) and "/fields/1/save_to" in str(raised.value)


def test_a_file_must_sit_at_its_form_id_and_version(tmp_path):
    (tmp_path / "v2.json").write_text(json.dumps(small_form_document()), encoding="utf-8")
    with pytest.raises(loader.FormDefinitionError, match="definitions/small_household/v1.json"):
        loader.load(tmp_path / "v2.json", SCHEMA, CATALOGUE)


def test_a_file_that_is_not_json_is_a_clear_problem(tmp_path):
    path = tmp_path / "v1.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(loader.FormDefinitionError, match="cannot read the file as JSON"):
        loader.load(path, SCHEMA, CATALOGUE)


def test_chinese_text_round_trips_and_the_hash_is_of_the_served_bytes():
    definition = small_form()
    assert definition.title["zh"] == "小型农户表（测试）"
    assert "户主姓名".encode() in definition.content
    assert json.loads(definition.content) == small_form_document()
    assert canonical_bytes(json.loads(definition.content)) == definition.content


def test_calculations_are_ordered_after_what_they_read():
    order = calculation_order(levels_of(small_form_document()))
    position = {node: index for index, node in enumerate(order)}
    assert position[("members", "age_years")] < position[("members", "is_compulsory_age")]
    assert position[("members", "is_compulsory_age")] < position[(None, "children_out_of_school")]


@pytest.mark.parametrize("path", sorted(Path(loader.DEFINITIONS_DIR).glob("*/v*.json")), ids=lambda p: p.parent.name)
def test_every_form_in_the_repository_loads(path):
    definition = loader.load(path, SCHEMA)
    assert definition.form_id == path.parent.name
