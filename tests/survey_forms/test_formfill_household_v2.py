"""Random household_visit v2 fills look like a village, as v1's do (tools/formfill/hints, domain.md 3.3-3.15).

v1 fills are the calibrated reference: v2 asks disability apart from illness, lets routine visits keep the last
verified income and adds a proposed category and more case flags, and its random households must not come out
disabled by the half, proposed for monitoring by the majority or flagged for a case several times as often.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from schemas.form_definition import form_definition_schema
from survey_forms import loader
from survey_forms.validator import compile_form
from tools import formfill

HOUSEHOLDS = 300
CURRENT = ("present", "born", "married_in")
PROPOSED = ("unstable_tuopin", "marginal", "sudden_hardship")
FORMS = {d.version: d for d in loader.load_all(form_definition_schema()) if d.form_id == "household_visit"}


@pytest.fixture(scope="module")
def households() -> dict[int, list[tuple[dict[str, Any], list[str]]]]:
    """(data with the server's calculations, case-tier flags) of the same seeds' households, by version."""
    drawn = {}
    for version in (1, 2):
        form = compile_form(FORMS[version])
        drawn[version] = []
        for seed in range(HOUSEHOLDS):
            data = formfill.fill(FORMS[version], random.Random(seed))
            assert form.validate(data) == []
            drawn[version].append((form.computed(data), form.risk_flags(data).risk))
    return drawn


def _members(households: list[tuple[dict[str, Any], list[str]]]) -> list[dict[str, Any]]:
    return [row for data, _ in households for row in data["members"] if row["member_status"] in CURRENT]


def test_a_few_percent_are_disabled_more_of_them_old(households) -> None:
    members = _members(households[2])
    disabled = [row for row in members if row["has_disability"] == "yes"]
    assert 0.02 * len(members) <= len(disabled) <= 0.07 * len(members)
    old = [row for row in members if row["age_years"] >= 60]
    assert sum(row["has_disability"] == "yes" for row in old) / len(old) > len(disabled) / len(members)
    assert all("disability_grade" in row and row["disability_type"] for row in disabled)
    assert all("disability_grade" not in row for row in members if row["has_disability"] == "no")
    v1_disabled = sum(row["health_status"] == "disabled" for row in _members(households[1]))
    assert 0.02 * len(_members(households[1])) <= v1_disabled <= 0.07 * len(_members(households[1]))


def test_few_households_get_a_proposed_category_and_case_flags_stay_near_v1(households) -> None:
    proposed = [data for data, _ in households[2] if data.get("proposed_category") in PROPOSED]
    assert len(proposed) <= 0.1 * HOUSEHOLDS
    assert all(data.get("risk_types") for data in proposed)
    case = {version: sum(bool(flags) for _, flags in households[version]) / HOUSEHOLDS for version in (1, 2)}
    assert case[2] <= case[1] + 0.1


def test_most_15_to_17_year_olds_study_and_a_minority_finished_compulsory_school(households) -> None:
    youths = [row for row in _members(households[2]) if 15 <= row["school_age_years"] <= 17]
    finished = [row for row in youths if row["schooling_status"] == "completed_compulsory"]
    studying = [row for row in youths if row["schooling_status"] in ("senior_high", "secondary_vocational")]
    assert finished and len(finished) <= 0.3 * len(youths) and len(studying) >= 0.6 * len(youths)
    assert all(row["employment_status"] != "not_in_labour_force" for row in finished if row["age_years"] >= 16
               and row["labour_ability"] not in ("lost", "none"))


def test_working_age_people_at_home_farm(households) -> None:
    working_age = [row for row in _members(households[2]) if 16 <= row["age_years"] < 60]
    status = [row["employment_status"] for row in working_age]
    assert status.count("farming") >= 0.2 * len(status) and status.count("unemployed") <= 0.05 * len(status)


def test_medical_costs_are_mostly_nothing_or_small(households) -> None:
    costs = [row["medical_oop"] for row in _members(households[2])]
    assert sum(cost == 0 for cost in costs) >= 0.4 * len(costs)
    assert sum(cost > 6000 for cost in costs) <= 0.03 * len(costs)
    above_line = sum(data["expense_medical_oop"] > 6000 for data, _ in households[2])
    assert above_line <= 0.12 * HOUSEHOLDS


def test_the_income_is_entered_on_annual_verification_and_sometimes_on_other_visits(households) -> None:
    visits = [data for data, _ in households[2]]
    annual = [data for data in visits if data["visit_reason"] == "annual_verification"]
    others = [data for data in visits if data["visit_reason"] != "annual_verification"]
    assert 0.1 * HOUSEHOLDS <= len(annual) <= 0.35 * HOUSEHOLDS
    assert all(data["income_entered"] for data in annual)
    assert 0.1 * len(others) <= sum(data["income_entered"] for data in others) <= 0.6 * len(others)
    assert all(data["income_entered"] for data in visits if data.get("last_income_total_net") is None)


def test_gps_is_skipped_rarely_and_other_new_answers_are_plausible(households) -> None:
    visits = [data for data, _ in households[2]]
    assert sum("gps_skip_reason" in data for data in visits) <= 0.08 * HOUSEHOLDS
    assert all(("location" in data) != ("gps_skip_reason" in data) for data in visits)
    toilets = [data["toilet_in_use"] for data in visits if data["toilet"] != "none"]
    assert toilets.count("yes") >= 0.8 * len(toilets)
    assert all("renovation_status" in data for data in visits if data["housing_grade"] in ("C", "D"))
    checks = [data for data in visits if data["visit_reason"] == "risk_elimination_check"
              and data["monitoring_category"] != "none"]
    assert all(data["elimination_consent"] in ("yes", "no") for data in checks)


def test_a_revisit_fills_what_the_household_had_cleared() -> None:
    """A property pulled as null (a visit made its field irrelevant, so it was cleared) pre-fills nothing: the revisit
    answers the field anew when it applies again (here: the household is now monitored, so its risk types are asked)."""
    from tools.simulate.make import Subject, make_item

    definition = FORMS[2]
    prefill = {"monitoring_category": "marginal", "risk_types": None, "main_risk_type": None, "household_type": "non_tuopin",
               "income_year": 2025}
    for seed in range(20):
        made = make_item(definition, Subject("household", "532922100201001", "5b1a1ad4-6f4e-4d6f-9a43-9d7a1e3f4a11", 1,
                                             None, prefill=prefill, members=[]), random.Random(seed))  # noqa: S311
        data = made.item["data"]
        if data.get("monitoring_category") == "marginal":  # kept from the pull: the risk types are answered anew
            assert data["risk_types"], seed
