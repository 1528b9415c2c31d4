"""Shared test data for the form tests: the small test form, its catalogue and a valid submission."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from schemas.form_definition import form_definition_schema
from survey_forms.catalogue import load_catalogue
from survey_forms.definition import FormDefinition
from survey_forms.loader import check

DATA = Path(__file__).resolve().parents[1] / "data" / "forms"
SCHEMA = form_definition_schema()
CATALOGUE = load_catalogue(DATA / "entities")


def small_form_document() -> dict[str, Any]:
    return json.loads((DATA / "small_household.json").read_text(encoding="utf-8"))


def small_form() -> FormDefinition:
    document = small_form_document()
    assert check(document, SCHEMA, CATALOGUE) == []
    return FormDefinition.from_document(document)


VALID_SUBMISSION: dict[str, Any] = {
    "visit_date": "2026-11-20",
    "location": {"lat": 25.67, "lon": 99.95, "accuracy_m": 8.0, "altitude_m": 1650},
    "photo_house": "house_front.jpg",
    "householder_name": "杨建华",
    "household_size": 3,
    "members": [
        {"name": "杨建华", "sex": "male", "birth_date": "1975-03-02", "age_years": 51, "is_compulsory_age": False,
         "schooling_status": "not_applicable"},
        {"name": "李秀英", "sex": "female", "birth_date": "1978-08-15", "age_years": 48, "is_compulsory_age": False},
        {"name": "杨小龙", "sex": "male", "birth_date": "2014-05-01", "age_years": 12, "is_compulsory_age": True,
         "schooling_status": "dropped_out", "dropout_reason": "厌学"},
    ],
    "income_wage": 12000,
    "income_business": 3000.5,
    "income_per_capita": 5000.166666666667,
    "children_out_of_school": 1,
    "housing_grade": "C",
    "has_livestock": "yes",
    "livestock_kinds": ["cattle", "pigs"],
}


def submission(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID_SUBMISSION)
    data.update(changes)
    return data
