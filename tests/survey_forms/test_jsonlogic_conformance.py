"""The JsonLogic conformance suites (tests/data/conformance/jsonlogic) against survey_forms.rules, one test per file."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from survey_forms import rules

# A copy of the shared suites lives in the repository (its SOURCE.md says where from), so a bare clone runs them;
# JSONLOGIC_SUITES points at another copy, e.g. a newer shared folder, to try it before copying it in.
DEFAULT_SUITES = Path(__file__).resolve().parents[1] / "data" / "conformance" / "jsonlogic"
SUITES = Path(os.environ.get("JSONLOGIC_SUITES") or DEFAULT_SUITES)

# Cases deliberately not supported: (suite file, description, why). Each must still fail; one that passes must go.
UNSUPPORTED: list[tuple[str, str, str]] = []


def _suite_files() -> list[str]:
    index = SUITES / "index.json"
    if not index.is_file():
        return ["index.json"]  # one test, which fails and says where the suites were looked for
    return json.loads(index.read_text(encoding="utf-8"))


def same(actual: Any, expected: Any) -> bool:
    """Equal as JSON values: true is not 1, but 2 and 2.0 are the same number."""
    if type(actual) is bool or type(expected) is bool:
        return type(actual) is type(expected) and actual == expected
    if type(actual) in (int, float) and type(expected) in (int, float):
        return actual == expected
    if type(actual) is list and type(expected) is list:
        return len(actual) == len(expected) and all(same(a, e) for a, e in zip(actual, expected, strict=True))
    if type(actual) is dict and type(expected) is dict:
        return actual.keys() == expected.keys() and all(same(actual[key], expected[key]) for key in expected)
    return type(actual) is type(expected) and actual == expected


def case_name(case: dict[str, Any]) -> str:
    return case.get("description") or json.dumps(case["rule"])


def mismatch(case: dict[str, Any]) -> str | None:
    """None when the evaluator answers as the case says, else what went wrong."""
    try:
        evaluate = rules.compile_rule(case["rule"])
        result = evaluate(copy.deepcopy(case.get("data")))
        again = evaluate(case.get("data"))
    except rules.RuleError as error:
        return _error_mismatch(case, error.error, "RuleError")
    except rules.RuleSyntaxError as error:
        # Statically invalid arguments are refused when compiling, as json-logic-engine's build does.
        return _error_mismatch(case, {"type": error.type}, f"RuleSyntaxError ({error})")
    if "error" in case:
        return f"expected error {case['error']}, got {result!r}"
    if not same(result, case["result"]):
        return f"expected {case['result']!r}, got {result!r}"
    if not same(again, result):
        return f"a second evaluation gave {again!r}, the first {result!r}"
    return None


def _error_mismatch(case: dict[str, Any], error: Any, raised: str) -> str | None:
    if "error" not in case:
        return f"expected {case['result']!r}, raised {raised} {error}"
    return None if same(error, case["error"]) else f"expected error {case['error']}, raised {raised} {error}"


@pytest.mark.parametrize("suite", _suite_files())
def test_suite(suite: str, jsonlogic_tally: dict[str, tuple[int, int, int]]) -> None:
    if not (SUITES / "index.json").is_file():
        pytest.fail(f"JsonLogic conformance suites not found: no index.json in {SUITES} (see "
                    "tests/data/conformance/SOURCE.md, or set JSONLOGIC_SUITES to the suites folder)")
    cases = [item for item in json.loads((SUITES / suite).read_text(encoding="utf-8")) if isinstance(item, dict)]
    unsupported = {description: why for file, description, why in UNSUPPORTED if file == suite}
    problems: list[str] = []
    passed = expected_failures = 0
    for number, case in enumerate(cases):
        name, wrong = case_name(case), mismatch(case)
        if name in unsupported:
            expected_failures += 1
            if wrong is None:
                problems.append(f"#{number} {name}: listed as unsupported ({unsupported[name]}) but passes now: "
                                "remove it from UNSUPPORTED")
        elif wrong is None:
            passed += 1
        else:
            problems.append(f"#{number} {name}: {wrong}")
    stale = unsupported.keys() - {case_name(case) for case in cases}
    problems += [f"{name}: listed as unsupported but the suite has no such case" for name in sorted(stale)]
    jsonlogic_tally[suite] = (passed, len(cases), expected_failures)
    assert not problems, f"{suite}: {len(problems)} of {len(cases)} cases wrong:\n" + "\n".join(problems)
