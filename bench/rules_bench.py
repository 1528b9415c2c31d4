"""Evaluations per second of compiled survey-form rules: `.venv/bin/python bench/rules_bench.py [seconds]`."""

from __future__ import annotations

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


def rate(rule: object, seconds: float) -> float:
    evaluate = compile_rule(rule)
    count, batch, started = 0, 10_000, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(batch):
            evaluate(DATA)
        count += batch
    return count / elapsed


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    for name, rule in RULES.items():
        print(f"{rate(rule, seconds):>12,.0f} evaluations/s  {name}")


if __name__ == "__main__":
    main()
