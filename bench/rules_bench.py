"""Evaluations/s of compiled survey-form rules, closures against generated code: `.venv/bin/python bench/rules_bench.py [s]`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from survey_forms.rules import compile_rule  # noqa: E402 - after the path set-up, so the script runs from anywhere

RULES = {
    "school-age dropout (and of 3 comparisons)": {"and": [
        {">=": [{"var": "age"}, 6]}, {"<=": [{"var": "age"}, 15]}, {"==": [{"var": "schooling_status"}, "dropped_out"]}]},
    "income below the monitoring line": {"<": [
        {"/": [{"var": "income_total"}, {"var": "household_size"}]}, {"var": "$params.monitoring_line"}]},
    "choice in a list": {"in": [{"var": "housing_grade"}, ["C", "D"]]},
    "uninsured members (reduce over filter)": {"reduce": [
        {"filter": [{"var": "members"}, {"==": [{"var": "medical_insurance"}, "none"]}]},
        {"+": [{"var": "accumulator"}, 1]}, 0]},
}
DATA = {
    "age": 12, "schooling_status": "dropped_out", "income_total": 21000, "household_size": 4, "housing_grade": "C",
    "$params": {"monitoring_line": 6000},
    "members": [{"medical_insurance": kind} for kind in ("none", "urban_rural", "none", "commercial")],
}

# The household visit form's own rules, on a household of six as the validator sees it (a member's data is its row
# with $root and $params; calculated fields filled in).
FORM = json.loads((Path(__file__).resolve().parents[1] / "survey_forms/definitions/household_visit/v1.json").read_text("utf-8"))
PARAMS = {name: spec["value"] for name, spec in FORM["parameters"].items()}
MEMBERS = [
    {"sex": "male", "birth_date": "1980-05-01", "relation_to_head": "head", "member_status": "present", "ethnicity": "yi",
     "education_level": "junior", "schooling_status": "not_applicable", "health_status": "healthy", "self_care": "full",
     "labour_ability": "ordinary", "employment_status": "outside_province", "skills_training": "trained",
     "medical_insurance": "resident", "id_card_no": "53092319800501123X"},
    {"sex": "female", "birth_date": "1982-11-20", "relation_to_head": "spouse", "member_status": "present", "ethnicity": "yi",
     "education_level": "primary", "schooling_status": "not_applicable", "health_status": "chronic", "self_care": "full",
     "labour_ability": "weak", "employment_status": "farming", "medical_insurance": "none"},
    {"sex": "male", "birth_date": "2013-06-15", "relation_to_head": "son", "member_status": "present", "ethnicity": "yi",
     "education_level": "primary", "schooling_status": "junior", "health_status": "healthy", "self_care": "full",
     "labour_ability": "none", "employment_status": "not_in_labour_force", "medical_insurance": "resident"},
    {"sex": "female", "birth_date": "2009-09-01", "relation_to_head": "daughter", "member_status": "present",
     "ethnicity": "han", "education_level": "junior", "schooling_status": "dropped_out", "health_status": "disabled",
     "disability_grade": "2", "self_care": "partial", "labour_ability": "none", "employment_status": "not_in_labour_force",
     "medical_insurance": "resident"},
    {"sex": "male", "birth_date": "1948-01-01", "relation_to_head": "parent", "member_status": "present", "ethnicity": "yi",
     "education_level": "none", "schooling_status": "not_applicable", "health_status": "serious_illness", "self_care": "none",
     "labour_ability": "none", "employment_status": "not_in_labour_force", "medical_insurance": "resident"},
    {"sex": "male", "birth_date": "1940-01-01", "relation_to_head": "parent", "member_status": "deceased", "ethnicity": "yi"},
]
TOP = {"visit_date": "2026-03-10", "household_size": 5, "household_type": "tuopin", "is_dibao": "no", "is_relocated": "no",
       "housing_grade": "B", "income_drop": "none", "micro_credit": "yes", "monitoring_category": "unstable_tuopin",
       "water_quantity_ok": "yes", "water_quality_ok": "yes", "water_convenience_ok": "yes", "water_reliability_ok": "yes",
       "food_secure": "yes", "clothing_secure": "yes", "income_wage": 18000, "income_business_gross": 9000,
       "cost_business": 3000, "income_property": 400, "transfer_eco_compensation": 300, "transfer_agri_subsidy": 500,
       "expense_medical_oop": 1200, "$params": PARAMS}


def _rules(fields: list[dict], key: str) -> list:
    found = []
    for field in fields:
        if key in field and type(field[key]) is not bool:
            found.append(field[key])
        if field.get("type") != "repeat":
            found.extend(_rules(field.get("fields", []), key))
    return found


def _groups() -> dict[str, tuple[list, list]]:
    """(rules, data) of each group of the form's rules, with the calculations done so the data is realistic."""
    members_field = next(field for field in FORM["fields"] if field["name"] == "members")
    member_calcs = _rules(members_field["fields"], "calculation")
    top_calcs = _rules(FORM["fields"], "calculation")
    rows = [{**member, "$root": TOP, "$params": PARAMS} for member in MEMBERS]
    names = [field["name"] for field in _fields(members_field["fields"]) if "calculation" in field]
    for _ in range(2):  # document order, twice: every calculation then sees those it depends on
        for row in rows:
            for name, rule in zip(names, member_calcs, strict=True):
                row[name] = _quiet(compile_rule(rule), row)
    TOP["members"] = rows
    top_names = [field["name"] for field in _fields(FORM["fields"]) if "calculation" in field and field not in
                 _fields(members_field["fields"])]
    for name, rule in zip(top_names, top_calcs, strict=True):
        TOP[name] = _quiet(compile_rule(rule), TOP)
    relevance = [rule for rule in _rules(members_field["fields"], "relevant") if rule is not None]
    unique = list({json.dumps(rule, sort_keys=True): rule for rule in relevance}.values())
    top_rules = _rules(FORM["fields"], "relevant") + [flag["when"] for flag in FORM["rules"]["risk_flags"]]
    return {
        f"member calculations ({len(member_calcs)} rules x {len(rows)} members)": (member_calcs, rows),
        f"member relevance ({len(unique)} distinct rules x {len(rows)} members)": (unique, rows),
        f"top-level calculations ({len(top_calcs)} rules)": (top_calcs, [TOP]),
        f"top-level relevance and risk flags ({len(top_rules)} rules)": (top_rules, [TOP]),
    }


def _fields(fields: list[dict]) -> list[dict]:
    found = []
    for field in fields:
        found.append(field)
        if field.get("type") != "repeat":
            found.extend(_fields(field.get("fields", [])))
    return found


def _quiet(evaluate, data):
    try:
        return evaluate(data)
    except Exception:  # noqa: BLE001 - as the validator: an evaluation error is no value
        return None


def rate(rule: object, seconds: float, fast: bool) -> float:
    evaluate = compile_rule(rule, fast=fast)
    count, batch, started = 0, 10_000, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(batch):
            evaluate(DATA)
        count += batch
    return count / elapsed


def group_rate(rules: list, datas: list, seconds: float, fast: bool) -> float:
    """Rule evaluations per second over the whole group, each rule on each data."""
    pairs = [(compile_rule(rule, fast=fast), data) for rule in rules for data in datas]
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for evaluate, data in pairs:
            _quiet(evaluate, data)
        count += len(pairs)
    return count / elapsed


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    print(f"{'closures':>12} {'generated':>12} {'speed-up':>8}  evaluations/s")
    for name, rule in RULES.items():
        before, after = rate(rule, seconds, False), rate(rule, seconds, True)
        print(f"{before:>12,.0f} {after:>12,.0f} {after / before:>7.1f}x  {name}")
    for name, (rules, datas) in _groups().items():
        before, after = group_rate(rules, datas, seconds, False), group_rate(rules, datas, seconds, True)
        print(f"{before:>12,.0f} {after:>12,.0f} {after / before:>7.1f}x  {name}")


if __name__ == "__main__":
    main()
