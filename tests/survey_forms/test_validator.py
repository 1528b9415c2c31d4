"""The submission validator on the small test form: each kind of problem, at its path, in both languages."""

import math

import pytest

from survey_forms.validator import compile_form
from tests.survey_forms.helpers import VALID_SUBMISSION, small_form, submission

FORM = compile_form(small_form())


def _codes(data):
    return {(e.field, e.code) for e in FORM.validate(data)}


def test_a_valid_submission_has_no_problems():
    assert FORM.validate(submission()) == []


def test_messages_are_bilingual():
    error = FORM.validate(submission(householder_name=None))[0]
    assert error.as_dict() == {"field": "householder_name", "code": "required", "message": error.message}
    assert "必填" in error.message and "required" in error.message


@pytest.mark.parametrize(("changes", "expected"), [
    ({"householder_name": None}, ("householder_name", "required")),
    ({"household_size": "3"}, ("household_size", "type")),
    ({"household_size": 31}, ("household_size", "out_of_range")),
    ({"household_size": 2}, ("household_size", "constraint")),
    ({"housing_grade": "E"}, ("housing_grade", "unknown_choice")),
    ({"livestock_kinds": ["cattle", "yaks"]}, ("livestock_kinds", "unknown_choice")),
    ({"has_livestock": "no"}, ("livestock_kinds", "not_relevant")),
    ({"nickname": "x"}, ("nickname", "unknown_field")),
    ({"income_per_capita": 6000}, ("income_per_capita", "calculation_mismatch")),
    ({"children_out_of_school": 0}, ("children_out_of_school", "calculation_mismatch")),
    ({"visit_date": "2026-13-01"}, ("visit_date", "type")),
    ({"income_wage": -1}, ("income_wage", "out_of_range")),
    ({"members": []}, ("members", "required")),
    ({"members": [{"name": f"成员{n}"} for n in range(31)]}, ("members", "out_of_range")),
    ({"members": "three people"}, ("members", "type")),
    ({"householder_name": "杨" * 51}, ("householder_name", "out_of_range")),
    ({"householder_name": "杨\x00"}, ("householder_name", "type")),
    ({"householder_name": "\ud800"}, ("householder_name", "type")),
])
def test_each_kind_of_problem_has_its_code_at_its_path(changes, expected):
    assert expected in _codes(submission(**changes))


def test_paths_point_into_repeats():
    data = submission()
    data["members"][2]["schooling_status"] = None
    data["members"][1]["sex"] = "other"
    data["members"][0]["age"] = 51
    assert _codes(data) >= {
        ("members[2].schooling_status", "required"),
        ("members[2].dropout_reason", "not_relevant"),
        ("members[1].sex", "unknown_choice"),
        ("members[0].age", "unknown_field"),
    }


def test_relevance_and_requirement_follow_recomputed_values():
    data = submission()
    # Born 2000: not of compulsory age, so schooling is no longer required even though the device said so.
    data["members"][2].update(birth_date="2000-05-01", age_years=26, is_compulsory_age=False)
    data["children_out_of_school"] = 0
    data["income_per_capita"] = 5000.166666666667
    assert FORM.validate(data) == []


@pytest.mark.parametrize("location", [
    {"lat": 91, "lon": 99.9, "accuracy_m": 5},
    {"lat": 25, "lon": -181, "accuracy_m": 5},
    {"lat": 25, "lon": 99.9, "accuracy_m": -1},
    {"lat": 25, "lon": 99.9, "accuracy_m": 80},
    {"lat": 25, "lon": 99.9},
])
def test_gps_out_of_range(location):
    assert ("location", "out_of_range") in _codes(submission(location=location))


@pytest.mark.parametrize("location", [
    {"lat": math.nan, "lon": 99.9, "accuracy_m": 5},
    {"lat": 25, "lon": math.inf, "accuracy_m": 5},
    {"lat": "25", "lon": 99.9, "accuracy_m": 5},
    {"lat": 25, "lon": 99.9, "accuracy_m": 5, "speed": 3},
    [25, 99.9],
])
def test_gps_that_is_not_a_finite_point(location):
    assert ("location", "type") in _codes(submission(location=location))


def test_data_that_is_not_an_object():
    assert [e.code for e in FORM.validate(["not", "an", "object"])] == ["type"]


def test_computed_values_are_the_servers():
    computed = FORM.computed(submission(income_per_capita=1, children_out_of_school=9))
    assert computed["income_per_capita"] == pytest.approx(5000.1666667)
    assert computed["children_out_of_school"] == 1
    assert [row["age_years"] for row in computed["members"]] == [51, 48, 12]


def test_the_submission_is_not_changed_by_validation():
    data = submission()
    FORM.validate(data)
    assert data == VALID_SUBMISSION


@pytest.mark.parametrize(("changes", "expected"), [
    ({"visit_date": "2026-W47-5"}, ("visit_date", "type")),
    ({"location": {"lat": 25.6, "lon": 99.9, "accuracy_m": 5, "captured_at": "2026-11-20T10:00:00"}}, ("location", "type")),
    ({"householder_name": "   "}, ("householder_name", "required")),
    ({"householder_name": ""}, ("householder_name", "required")),
    ({"photo_house": ".."}, ("photo_house", "type")),
    ({"location": {"lat": 25.6, "lon": 99.9, "accuracy_m": 5, "captured_at": 12}}, ("location", "type")),
])
def test_blank_answers_and_malformed_values(changes, expected):
    assert expected in _codes(submission(**changes))


def test_a_blank_answer_to_a_field_that_does_not_apply_is_no_answer():
    assert FORM.validate(submission(has_livestock="no", livestock_kinds=[])) == []
