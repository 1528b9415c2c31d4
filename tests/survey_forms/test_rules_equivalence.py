"""The generated rule code against the closure compiler (compile_rule(rule, fast=False)): same values, same errors."""

from __future__ import annotations

import copy
import json
import math
import os
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from survey_forms import rules
from survey_forms.rules import RuleError, RuleSyntaxError, compile_rule

DEFINITIONS = Path(__file__).resolve().parents[2] / "survey_forms" / "definitions"


def same(a: Any, b: Any) -> bool:
    """Identical as values: same types all the way down, floats to the sign of zero, NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return (a != a and b != b) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is dict:
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    return a == b


def outcome(evaluate, data: Any) -> tuple[str, Any]:
    try:
        return "value", evaluate(copy.deepcopy(data))
    except RuleError as error:
        return "RuleError", (error.type, error.error)
    except Exception as error:  # noqa: BLE001 - whatever the closures raise, the generated code must raise too
        return type(error).__name__, None


def assert_same_outcomes(rule: Any, datas: list[Any]) -> None:
    try:
        reference = compile_rule(rule, fast=False)
    except RuleSyntaxError as error:
        with pytest.raises(RuleSyntaxError) as raised:
            compile_rule(rule)
        assert (raised.value.pointer, raised.value.type, str(raised.value)) == (error.pointer, error.type, str(error))
        return
    fast = compile_rule(rule)
    for data in datas:
        expected, actual = outcome(reference, data), outcome(fast, data)
        assert expected[0] == actual[0] and same(expected[1], actual[1]), \
            f"rule {rule!r}\ndata {data!r}\nclosures {expected!r}\ngenerated {actual!r}"


# --- random rules and data ------------------------------------------------------------------------------------------

_TEXTS = ["", "0", "1", "-0", "-0.0", "2.5", " 7 ", "1e2", "0x10", "a", "b", "yes", "none", "head", "李", "云南省大理州",
          "2026-03-10", "1980-05-01", "53092319800501123X", "\U00020000x", "\uff21", "Infinity", "NaN", "9e999", "-9e99"]
_NUMBERS = [0, 1, 2, -1, 7, 100, 901, -0.0, 0.5, 2.5, -3.75, 1e21, 1e-7, 2**53, 2**53 + 1, -(2**53) - 3, 2**70, 10**400,
            math.inf, -math.inf]
# Chosen from lists (cheap to draw, which is most of this test's time), and now and then any float.
_SCALARS = st.sampled_from([None, True, False, *_NUMBERS, *range(-3, 13), *_TEXTS]) | st.floats(-1e3, 1e3, allow_nan=False)
_KEYS = ["a", "b", "x", "accumulator", "current", "$value"]
_JSON = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.sampled_from(_KEYS), inner, max_size=4)),
                     max_leaves=8)
_PATHS = ["a", "b", "x", "a.b", "a.0", "x.a", "a.length", "", "$root.a", "$params.a", "current.a", "accumulator", 0, 1,
          None, "a.b.c"]
_OPERATORS = sorted(rules.ALLOWED_OPERATORS)
# Random rules per run (each evaluated on up to four data); raise it for a longer search, e.g. before a release.
EXAMPLES = int(os.environ.get("RULES_EQUIVALENCE_EXAMPLES", "1500"))
_COMPARISONS = ["==", "===", "!=", "!==", "<", "<=", ">", ">="]


def _data() -> st.SearchStrategy:
    # Mostly objects (the generated code's own case), with $root and $params as the forms have them; sometimes not.
    record = st.dictionaries(st.sampled_from([*_KEYS, "$root", "$params"]), _JSON, max_size=5)
    return st.one_of(record, record, record, _JSON)


def _rules() -> st.SearchStrategy:
    paths = st.sampled_from(_PATHS)
    reads = st.one_of(paths.map(lambda p: {"var": p}), paths.map(lambda p: {"var": [p]}),
                      st.tuples(paths, _SCALARS).map(lambda pair: {"var": list(pair)}),
                      st.sampled_from(["a", "b", ["a", "b"], [[1], "index"], [[2], "a"], [[2], "$params", "a"]])
                      .map(lambda p: {"val": p}),
                      st.sampled_from(["a", ["a", "b"], "x"]).map(lambda p: {"exists": p}))
    leaves = st.one_of(_SCALARS, reads, st.just({}), st.builds(lambda v: {"preserve": v}, _JSON))

    def extend(inner: st.SearchStrategy) -> st.SearchStrategy:
        ints = st.integers(-12, 12)
        substr = st.tuples(inner, ints, st.none() | ints).map(
            lambda t: {"substr": [t[0], t[1]] if t[2] is None else [t[0], t[1], t[2]]})
        # Operands whose kind the generated code knows (numbers, strings), where it leaves coercions and checks out.
        typed = st.one_of(st.sampled_from(_NUMBERS + _TEXTS), substr, st.lists(inner, max_size=2).map(lambda xs: {"cat": xs}),
                          st.tuples(st.sampled_from(["+", "-", "*"]), st.lists(inner, min_size=1, max_size=3))
                          .map(lambda t: {t[0]: t[1]}), inner)
        return st.one_of(
            st.tuples(st.sampled_from(_OPERATORS), st.lists(inner, max_size=4)).map(lambda pair: {pair[0]: pair[1]}),
            st.tuples(st.sampled_from(_OPERATORS), inner).map(lambda pair: {pair[0]: pair[1]}),
            substr,
            st.tuples(st.sampled_from(_COMPARISONS), typed, _SCALARS).map(lambda t: {t[0]: [t[1], t[2]]}),
            st.tuples(st.sampled_from(_COMPARISONS), st.lists(typed, min_size=2, max_size=3)).map(lambda t: {t[0]: t[1]}),
            st.tuples(typed, st.lists(st.sampled_from(_TEXTS), min_size=1, max_size=3)).map(lambda t: {"in": [t[0], t[1]]}),
            st.tuples(st.sampled_from(["+", "-", "*", "/", "%", "max", "min"]), st.lists(typed, min_size=1, max_size=4))
            .map(lambda t: {t[0]: t[1]}),
            st.tuples(st.sampled_from(["and", "or", "if", "!", "!!", "??"]), st.lists(typed, max_size=5))
            .map(lambda t: {t[0]: t[1]}),
            st.tuples(paths, inner).map(lambda t: {"var": [t[0], t[1]]}),
            st.tuples(st.sampled_from(["map", "filter", "all", "some", "none"]), inner, inner).map(
                lambda t: {t[0]: [t[1], t[2]]}),
            st.tuples(inner, inner, inner).map(lambda t: {"reduce": [t[0], t[1], t[2]]}),
            st.lists(inner, max_size=3),
        )

    return st.recursive(leaves, extend, max_leaves=14)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rule=_rules(), datas=st.lists(_data(), min_size=1, max_size=3))
@example(rule={"+": [{"var": "a"}, {"var": "b"}]}, datas=[{"a": -0.0, "b": -0.0}, {"a": "-0.0", "b": -0.0}, {"a": 2**70}])
@example(rule={"+": [-0.0, "-0.0"]}, datas=[{}])  # the fold starts from 0: 0 + -0.0 is 0.0
@example(rule={"+": [{"+": [-0.0]}, {"*": [-0.0, 1]}]}, datas=[{}])  # two numbers: -0.0 + -0.0 stays -0.0
@example(rule={"-": [{"substr": [{"var": "a"}, 0, 4]}, {"substr": [{"var": "b"}, 0, 4]}]},
         datas=[{"a": "abcd", "b": None}, {"a": None}, {"a": "2026", "b": "1980"}])  # b's error comes before a's NaN
@example(rule={"*": [math.inf, 0, {"substr": [{"var": "b"}, 0]}]}, datas=[{}])  # so does it before inf * 0
@example(rule={"/": [{"cat": ["x"]}, {"substr": [{"var": "b"}]}]}, datas=[{}, {"b": "2"}])
@example(rule={"substr": [{"var": "a"}, -3, 2]}, datas=[{"a": t} for t in ("abcdef", "ab", "", "\U00020000abc", "李四五", 12345)])
@example(rule={"substr": [{"var": "a"}, 1, -1]}, datas=[{"a": t} for t in ("abcdef", "a", "", "\U00020000abc", None)])
@example(rule={"==": [{"var": "a"}, "yes"]}, datas=[{}, {"a": 1}, {"a": "yes"}, {"a": []}, {"a": None}, {"a": True}])
@example(rule={"!=": [{"var": "a"}, "1"]}, datas=[{}, {"a": 1}, {"a": "1"}, {"a": None}, {"a": True}])
@example(rule={"===": [{"var": "a"}, True]}, datas=[{"a": 1}, {"a": True}, {"a": "true"}, {}])
@example(rule={"!==": [{"var": "a"}, None]}, datas=[{"a": 0}, {"a": None}, {}])
@example(rule={"<": [{"var": "a"}, "b"]}, datas=[{"a": "\U00020000"}, {"a": "\uff21"}, {"a": None}, {"a": 1}])
@example(rule={"<": [{"cat": [{"var": "a"}]}, "\uff21"]}, datas=[{"a": "\U00020000"}, {"a": "\uff20"}])  # UTF-16 order
@example(rule={">": [{"cat": [{"var": "a"}]}, {"substr": [{"var": "b"}, 0]}]}, datas=[{"a": "\U00020000", "b": "\uff21"}])
@example(rule={"<=": [{"var": "a"}, {"var": "$root.a"}]}, datas=[{"a": "2026-03-10", "$root": {"a": "2026-03-11"}}])
@example(rule={"in": [{"var": "a"}, ["C", "D"]]}, datas=[{"a": "C"}, {"a": None}, {"a": ["C"]}, "C"])
@example(rule={"and": [{"var": "a"}, {"var": "b"}, 1]}, datas=[{"a": v, "b": v} for v in ({}, 0, "", [], None, "x", -0.0, [0])])
@example(rule={"or": [{"var": "a"}, {"substr": ["ab", 1]}, 1]}, datas=[{"a": v} for v in ({}, 0, "", [], None, "x", -0.0)])
@example(rule={"var": ["a.b", 5]}, datas=[{"a": v} for v in ([], "str", {"b": None}, {"b": 0}, None, {"b": {"c": 1}})])
@example(rule={"filter": [{"var": "a"}, {"some": [{"var": "b"}, {">": [{"var": ""}, {"var": "x"}]}]}]},
         datas=[{"a": [{"b": [1, 5], "x": 2}, {"b": [], "x": 0}, 3, None, {"b": None}], "x": 9}, {"a": None}, {"a": "s"}])
@example(rule={"map": [{"filter": [{"var": "a"}, {"var": "x.a"}]}, {"cat": [{"var": "b"}, {"substr": [{"var": ""}, 1]}]}]},
         datas=[{"a": [{"x": {"a": 1}, "b": "q"}, {"x": 0}, "text", [1], {"x": {"a": ""}}]}])
@example(rule={"and": [{"var": "b"}, {"some": [{"var": "a"}, {"and": [{"var": "b"}, {"var": "b"}]}]}]},
         datas=[{"b": 1, "a": [{"b": 0}, {"b": 0}]}, {"b": 1, "a": [{"x": 1}, {"b": 2}]}])  # the data's b is not the elements'
@example(rule={"all": [{"var": "a"}, {"var": "b"}]}, datas=[{"a": []}, {"a": None}, {"a": [{"b": 1}, {"b": 0}]}, {"a": [1, 2]}])
@example(rule={"none": [{"var": "a"}, {"===": [{"var": "b"}, "x"]}]}, datas=[{"a": []}, {"a": None}, {"a": [{"b": "x"}]}])
@example(rule={"reduce": [{"filter": [{"var": "a"}, {"var": "b"}]}, {"+": [{"var": "accumulator"}, 1]}, 0]},
         datas=[{"a": [{"b": 1}, {"b": 0}, {"b": "y"}, 7]}, {"a": None}, {"a": "s"}, {}])
@example(rule={"reduce": [{"var": "a"}, {"+": [{"var": "accumulator"}, 1.0]}, 0]}, datas=[{"a": [1, 2]}])  # 1.0: a float
@example(rule={"-": [{"substr": [{"var": "a"}, 0, 5]}, {"substr": [{"var": "a"}, 0, 5]}]},
         datas=[{"a": "9e999"}, {"a": "9e99"}, {"a": "99999"}])  # five characters can be Infinity: inf - inf is NaN
@example(rule={"+": [{"var": "a"}, {"var": "b"}, {"substr": [{"var": "x"}, 0]}]},
         datas=[{"a": "abc", "b": 1}, {"a": [1], "b": 1, "x": "2"}, {"a": True, "b": None, "x": "7"}])  # x's error first
@example(rule={"-": [{"var": "a"}, {"var": "a"}, {"var": "b"}]},
         datas=[{"a": -0.0, "b": 0}, {"a": 2**53 + 1, "b": -1}, {"a": 10**400, "b": 1.5}, {"a": "1e2", "b": "0x10"}])
@example(rule={"+": [{"var": "a"}, {"var": "a"}, {"var": "a"}]}, datas=[{"a": -0.0}, {"a": 2**53 + 1}, {"a": 2**53}])
@example(rule={"*": [{"substr": [{"var": "a"}, 0, 4]}, {"substr": [{"var": "a"}, 0, 4]}, {"substr": [{"var": "a"}, 0, 4]}, 0]},
         datas=[{"a": "9e99"}, {"a": "9999"}])
@example(rule={"var": ["a.b.c", "d"]}, datas=[{"a": v} for v in ([], "str", {"b": None}, {"b": "xyz"}, {"b": {"c": 0}})])
def test_generated_code_answers_as_the_closures(rule: Any, datas: list[Any]) -> None:
    assert_same_outcomes(rule, datas)


# --- the rules of the real forms ------------------------------------------------------------------------------------

def _form_rules(document: dict) -> list[Any]:
    found: list[Any] = []

    def walk(fields: list[dict]) -> None:
        for field in fields:
            found.extend(field[key] for key in ("relevant", "required", "constraint", "calculation")
                         if key in field and type(field[key]) is not bool)
            walk(field.get("fields", []))

    walk(document["fields"])
    found.extend(flag["when"] for flag in document.get("rules", {}).get("risk_flags", []))
    return found


def _choices(document: dict) -> list[str]:
    names = [choice["name"] for spec in document.get("choice_lists", {}).values() for choice in spec["choices"]]

    def walk(fields: list[dict]) -> None:
        for field in fields:
            names.extend(choice["name"] for choice in field.get("choices", []))
            walk(field.get("fields", []))

    walk(document["fields"])
    return sorted(set(names))


def _value(rng: random.Random, choices: list[str]) -> Any:
    kind = rng.randrange(12)
    if kind < 3:
        return rng.choice(choices)
    if kind == 3:
        return None
    if kind == 4:
        return rng.choice([True, False])
    if kind == 5:
        return rng.choice([0, 1, 5, 6, 15, 16, 60, 2000, 5999, 6000, 21000, -3, 0.5, 1234.5, 2**53 + 1])
    if kind == 6:
        return rng.choice(["1980-05-01", "2013-06-15", "2026-03-10", "2026-02-30", "2019", "1980-5-1", "", "二〇一三年",
                           "\U00020000-01-01", "53092319800501123X", "530923201306150012"])
    if kind == 7:
        return str(rng.choice([0, 3, 12, 2019, 6000, -1])) + rng.choice(["", ".5", " "])
    if kind == 8:
        return rng.sample(choices, rng.randrange(3))
    if kind == 9:
        return {"x": rng.choice(choices)}
    if kind == 10:
        return rng.randrange(-5, 3000)
    return rng.choice(choices + ["", "yes", "no"])


def _record(rng: random.Random, paths: set[str], choices: list[str], inner: set[str]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for path in sorted(paths):
        if rng.random() < 0.15:
            continue  # missing
        keys = path.split(".")
        target = record
        for key in keys[:-1]:
            target = target.setdefault(key, {}) if type(target.get(key)) is dict or key not in target else {}
        if inner and rng.random() < 0.6:
            # A repeat: rows with the fields the iterators read.
            target[keys[-1]] = [_record(rng, inner, choices, set()) for _ in range(rng.randrange(7))]
        else:
            target[keys[-1]] = _value(rng, choices)
    return record


def _form_cases() -> list[tuple[str, int, Any, dict[str, Any], list[str]]]:
    cases = []
    for path in sorted(DEFINITIONS.glob("*/v1.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        params = {name: spec["value"] for name, spec in document.get("parameters", {}).items()}
        for index, rule in enumerate(_form_rules(document)):
            cases.append((path.parent.name, index, rule, params, _choices(document)))
    return cases


_FORM_CASES = _form_cases()
DATA_PER_RULE = 300


def test_the_real_forms_have_rules_to_compare() -> None:
    assert len(_FORM_CASES) > 150


@pytest.mark.parametrize(("form", "index", "rule", "params", "choices"), _FORM_CASES,
                         ids=[f"{case[0]}-{case[1]}" for case in _FORM_CASES])
def test_real_form_rules_answer_as_the_closures(form: str, index: int, rule: Any, params: dict, choices: list[str]) -> None:
    rng = random.Random(f"{form}/{index}")
    outer = rules.referenced_vars(rule)
    inner = rules.referenced_vars(rule, include_iterator_scopes=True) - outer
    keys = {path.split(".", 1)[1] for path in outer if path.startswith("$root.")}
    datas = []
    for _ in range(DATA_PER_RULE):
        record = _record(rng, {path for path in outer if not path.startswith(("$root.", "$params."))}, choices, inner)
        record["$root"] = _record(rng, keys, choices, set())
        record["$params"] = params if rng.random() < 0.8 else _record(rng, {"monitoring_line", "labour_age_min"}, choices, set())
        if "$value" in outer or rng.random() < 0.3:
            record["$value"] = _value(rng, choices)
        datas.append(record)
    assert_same_outcomes(rule, datas)
