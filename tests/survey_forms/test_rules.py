"""survey_forms.rules beyond the conformance suites: the allowed operators, compile errors, our var conventions, the API."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey_forms import rules
from survey_forms.rules import RuleError, RuleSyntaxError, apply, compile_rule, operators_used, referenced_vars

DROPOUT = {"and": [{">=": [{"var": "age"}, 6]}, {"<=": [{"var": "age"}, 15]},
                   {"==": [{"var": "schooling_status"}, "dropped_out"]}]}


def test_allowed_operators_are_the_supported_ones() -> None:
    assert rules.ALLOWED_OPERATORS == frozenset({
        "var", "val", "exists", "missing", "missing_some",
        "if", "?:", "and", "or", "!", "!!", "??", "try", "throw", "preserve",
        "==", "===", "!=", "!==", "<", "<=", ">", ">=",
        "+", "-", "*", "/", "%", "max", "min",
        "cat", "substr", "in", "merge",
        "map", "filter", "reduce", "all", "some", "none",
    })


@pytest.mark.parametrize(("rule", "operator", "pointer"), [
    ({"log": "x"}, "log", "/"),
    ({"and": [True, {"if": [{"method": ["a", "b"]}]}]}, "method", "/and/1/if/0"),
    ({"/": [1, {"a/b~": 2}]}, "a/b~", "/~1/1"),
])
def test_an_unknown_operator_is_named_with_its_pointer(rule: object, operator: str, pointer: str) -> None:
    with pytest.raises(RuleSyntaxError) as raised:
        compile_rule(rule)
    assert raised.value.operator == operator
    assert raised.value.pointer == pointer
    assert f'"{operator}"' in str(raised.value) and pointer in str(raised.value)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(("rule", "pointer"), [
    ({"if": 5}, "/"),
    ({"and": {"var": "flags"}}, "/"),
    ({"map": [{"var": "xs"}, {"<": [1]}]}, "/map/1"),
    ({"-": []}, "/"),
    ({"%": [7]}, "/"),
    ({"max": []}, "/"),
    ({"map": [None, {"var": ""}]}, "/map/0"),
    ({"filter": [{"var": "xs"}]}, "/"),
    ({"substr": []}, "/"),
])
def test_statically_wrong_arguments_are_refused_when_compiling(rule: object, pointer: str) -> None:
    with pytest.raises(RuleSyntaxError) as raised:
        compile_rule(rule)
    assert raised.value.type == "Invalid Arguments"
    assert raised.value.pointer == pointer


@pytest.mark.parametrize("rule", [
    {"==": [{"var": "a"}, {"x": 1, "y": 2}]},  # a literal object: must be wrapped in preserve
    {"in": ["a", ("a", "b")]},  # a tuple is not JSON
    {"var": {1, 2}},
])
def test_malformed_rules_are_refused(rule: object) -> None:
    with pytest.raises(RuleSyntaxError):
        compile_rule(rule)


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    rule: object = {"var": "x"}
    for _ in range(rules.MAX_DEPTH + 5):
        rule = {"!": [rule]}
    with pytest.raises(RuleSyntaxError, match="nested deeper"):
        compile_rule(rule)
    with pytest.raises(RuleSyntaxError):
        referenced_vars(rule)


def test_literal_objects_go_through_preserve() -> None:
    assert apply({"preserve": {"x": 1, "y": [2]}}) == {"x": 1, "y": [2]}
    assert apply({"!!": [{}]}) is True  # an empty object needs no preserve


def test_evaluation_errors_carry_their_type() -> None:
    with pytest.raises(RuleError) as raised:
        apply({"/": [{"var": "income"}, {"var": "size"}]}, {"income": 100, "size": 0})
    assert raised.value.type == "NaN" and raised.value.error == {"type": "NaN"}
    with pytest.raises(RuleError) as raised:
        apply({"throw": {"var": "problem"}}, {"problem": {"type": "bad_visit", "field": "visit_date"}})
    assert raised.value.type == "bad_visit" and raised.value.error["field"] == "visit_date"
    with pytest.raises(RuleError) as raised:
        apply({"all": [{"var": "members"}, True]}, {})
    assert raised.value.type == "Invalid Arguments"


def test_form_conventions_are_plain_keys_with_dotted_paths() -> None:
    top = {"visit_date": "2026-03-01", "household_size": 4}
    data = {"age": 12, "$value": 12, "$root": top, "$params": {"monitoring_line": 6000, "compulsory_age_min": 6}}
    assert apply({"var": "$root.visit_date"}, data) == "2026-03-01"
    assert apply({"var": "$params.monitoring_line"}, data) == 6000
    assert apply({">=": [{"var": "$value"}, {"var": "$params.compulsory_age_min"}]}, data) is True
    assert apply({"var": "$params.missing_one"}, data) is None
    assert apply({"var": ["$params.missing_one", 7]}, data) == 7
    assert apply({"var": "$root.household_size"}, data) == 4
    assert apply({"var": ""}, data) is data


def test_var_paths_and_defaults() -> None:
    data = {"members": [{"name": "李四", "age": 40}, {"name": "王五", "age": None}], "zero": 0, "blank": None}
    assert apply({"var": "members.1.name"}, data) == "王五"
    assert apply({"var": "members.2.name"}, data) is None
    assert apply({"var": "members.01.name"}, data) is None  # not an array index in JavaScript either
    assert apply({"var": ["members.1.age", 0]}, data) == 0  # null takes the default
    assert apply({"var": ["zero", 5]}, data) == 0  # 0 is a value
    assert apply({"var": ["blank", "n/a"]}, data) == "n/a"
    assert apply({"var": "members.length"}, data) == 2  # as JavaScript's property access


def test_inside_iterators_var_reads_the_element_and_val_climbs_out() -> None:
    data = {"members": [{"age": 5}, {"age": 9}, {"age": 17}], "$params": {"compulsory_age_min": 6}}
    in_element = {"filter": [{"var": "members"}, {">=": [{"var": "age"}, {"var": "$params.compulsory_age_min"}]}]}
    assert apply(in_element, data) == data["members"]  # the pitfall: the element has no $params, and null is 0
    climbing = {"filter": [{"var": "members"}, {">=": [{"var": "age"}, {"val": [[2], "$params", "compulsory_age_min"]}]}]}
    assert apply(climbing, data) == [{"age": 9}, {"age": 17}]
    indexed = {"map": [{"var": "members"}, {"val": [[1], "index"]}]}
    assert apply(indexed, data) == [0, 1, 2]
    assert apply({"map": [{"var": "members"}, {"val": [[9], "x"]}]}, data) == [None, None, None]


def test_null_against_text_is_unequal_not_an_error() -> None:
    assert apply({"==": [{"var": "answer"}, "yes"]}, {}) is False
    assert apply({"!=": [{"var": "answer"}, "yes"]}, {}) is True
    assert apply({"<": [{"var": "answer"}, "b"]}, {}) is False
    assert apply({"==": [{"var": "answer"}, 0]}, {}) is True  # null is 0 as a number, as the suites say
    with pytest.raises(RuleError):
        apply({"==": [{"var": "answer"}, "yes"]}, {"answer": 1})


@pytest.mark.parametrize(("text", "number"), [
    (" 12 ", 12), ("0x10", 16), ("1e2", 100), (".5", 0.5), ("-0", 0), ("\u3000 7\u00a0", 7), ("Infinity", float("inf")),
])
def test_strings_become_numbers_as_in_javascript(text: str, number: float) -> None:
    assert apply({"+": [text]}) == number


@pytest.mark.parametrize("text", ["１２", "١٢", "1_000", "12abc", "inf", "nan", "-0x10", "0x"])
def test_strings_javascript_cannot_read_as_numbers_are_nan(text: str) -> None:
    with pytest.raises(RuleError, match="NaN"):
        apply({"+": [text, 1]})


def test_numbers_keep_their_javascript_shape() -> None:
    assert apply({"/": [21000, 4]}) == 5250 and type(apply({"/": [21000, 4]})) is int
    assert apply({"/": [1, 3]}) == pytest.approx(1 / 3)
    assert apply({"%": [-8, 3]}) == -2 and apply({"%": [8, -3]}) == 2 and apply({"%": [5.5, 2]}) == 1.5
    assert apply({"*": [2**40, 2**40]}) == float(2**80)  # past 2**53 numbers are doubles
    assert apply({"cat": [1.0, "|", 0.1, "|", 1e21, "|", 1e-7, "|", 0.000001, "|", -0.0, "|", 2**60]}) == \
        "1|0.1|1e+21|1e-7|0.000001|0|1152921504606847000"
    assert apply({"cat": [[1, [2, None]], {"preserve": {"a": 1}}, None, True]}) == "1,2,[object Object]true"


def test_strings_compare_and_cut_by_utf16_units() -> None:
    assert apply({"<": ["\U00020000", "\uff21"]}) is True  # a surrogate pair sorts before U+FF21, as in JavaScript
    assert apply({"substr": ["\U00020000x", 2]}) == "x"
    assert apply({"substr": ["云南省大理州", 2, 1]}) == "省"
    assert apply({"in": ["大理", "云南省大理州"]}) is True


def test_in_with_literal_choices() -> None:
    assert apply({"in": [{"var": "grade"}, ["C", "D"]]}, {"grade": "D"}) is True
    assert apply({"in": [{"var": "grade"}, ["C", "D"]]}, {"grade": None}) is False
    assert apply({"in": [1, [True, "1", 1.0]]}) is True
    assert apply({"in": [1, [True, "1"]]}) is False


def test_compile_once_evaluate_many() -> None:
    rule = copy.deepcopy(DROPOUT)
    evaluate = compile_rule(rule)
    rule["and"].clear()  # the closures do not go back to the rule
    assert evaluate({"age": 12, "schooling_status": "dropped_out"}) is True
    assert evaluate({"age": 16, "schooling_status": "dropped_out"}) is False
    assert evaluate({"age": 12}) is False
    assert evaluate() is False  # no data at all: age is missing


def test_results_do_not_share_the_rules_literals() -> None:
    evaluate = compile_rule({"if": [{"var": "x"}, ["a", "b"], {"preserve": {"k": [1]}}]})
    first = evaluate({"x": 1})
    first.append("c")
    assert evaluate({"x": 1}) == ["a", "b"]
    other = evaluate({})
    other["k"].append(2)
    assert evaluate({}) == {"k": [1]}


def test_evaluation_does_not_change_the_data() -> None:
    data = {"members": [{"age": 5, "insured": False}, {"age": 40, "insured": True}], "n": "3"}
    before = copy.deepcopy(data)
    apply({"reduce": [{"filter": [{"var": "members"}, {"!": {"var": "insured"}}]},
                      {"+": [{"var": "accumulator"}, {"var": "current.age"}]}, {"+": {"var": "n"}}]}, data)
    assert data == before


def test_a_compiled_rule_is_fast() -> None:
    evaluate = compile_rule(DROPOUT)
    data = {"age": 12, "schooling_status": "dropped_out"}
    count, started = 20_000, time.perf_counter()
    for _ in range(count):
        evaluate(data)
    # About a million a second on the development machine; the bound leaves room for a busy CI.
    assert count / (time.perf_counter() - started) > 50_000


def test_referenced_vars_of_the_outer_scope() -> None:
    rule = {"and": [
        {"<": [{"var": "income_per_capita"}, {"var": "$params.monitoring_line"}]},
        {">": [{"var": ["$root.visit_date", "2026-01-01"]}, "2025-12-31"]},
        {"some": [{"var": "members"}, {"and": [{"==": [{"var": "disability"}, "severe"]},
                                               {"<": [{"var": "age"}, {"val": [[2], "$params", "age_limit"]}]}]}]},
        {"reduce": [{"var": "plots"}, {"+": [{"var": "accumulator"}, {"var": "current.area"}]}, {"var": "base_area"}]},
        {"missing": ["head_name", "address.village"]},
        {"try": [{"var": "risky"}, {"var": "type"}]},
        {"var": {"cat": ["computed", "_name"]}},
        {"preserve": {"var": "not_a_read"}},
    ]}
    assert referenced_vars(rule) == {"income_per_capita", "$params.monitoring_line", "$root.visit_date", "members",
                                     "$params.age_limit", "plots", "base_area", "head_name", "address.village",
                                     "risky", "computed", "_name"} - {"computed", "_name"}
    inner = referenced_vars(rule, include_iterator_scopes=True) - referenced_vars(rule)
    assert inner == {"disability", "age", "accumulator", "current.area", "type"}


def test_referenced_vars_of_whole_data_and_val_keys() -> None:
    assert referenced_vars({"map": [{"var": ""}, 1]}) == {""}
    assert referenced_vars({"val": ["household", "head", "name"]}) == {"household.head.name"}
    assert referenced_vars({"exists": "phone"}) == {"phone"}
    assert referenced_vars({"missing_some": [1, ["phone", "wechat"]]}) == {"phone", "wechat"}
    assert referenced_vars({"map": [{"var": "xs"}, {"val": [[1], "index"]}]}, include_iterator_scopes=True) == {"xs"}


def test_operators_used() -> None:
    assert operators_used(DROPOUT) == {"and", ">=", "<=", "==", "var"}
    assert operators_used({"if": [{"preserve": {"cat": 1}}, [{"var": "a"}], 2]}) == {"if", "preserve", "var"}
    with pytest.raises(RuleSyntaxError):
        operators_used({"eval": "x"})


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.floats(-1e3, 1e3, allow_nan=False),
                     st.sampled_from(["", "0", "1", "2.5", "a", "李", "1e2", "x"]))
_JSON = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.sampled_from(["a", "b", "x"]), inner, max_size=3)),
                     max_leaves=8)
_OPERATORS = sorted(rules.ALLOWED_OPERATORS - {"preserve"})


def _rules_strategy() -> st.SearchStrategy:
    paths = st.sampled_from(["a", "b", "x", "a.b", "", "a.0", "x.a"])
    leaves = st.one_of(_SCALARS, paths.map(lambda path: {"var": path}))

    def extend(inner: st.SearchStrategy) -> st.SearchStrategy:
        return st.one_of(
            st.tuples(st.sampled_from(_OPERATORS), st.lists(inner, max_size=3)).map(lambda pair: {pair[0]: pair[1]}),
            st.tuples(st.sampled_from(_OPERATORS), inner).map(lambda pair: {pair[0]: pair[1]}),
        )

    return st.recursive(leaves, extend, max_leaves=10)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule=_rules_strategy(), data=st.dictionaries(st.sampled_from(["a", "b", "x"]), _JSON, max_size=3))
def test_any_rule_either_compiles_and_answers_or_fails_with_our_errors(rule: object, data: dict) -> None:
    try:
        evaluate = compile_rule(rule)
    except RuleSyntaxError:
        return
    try:
        evaluate(data)
    except RuleError:
        pass


# --- the generated code (survey_forms.rules.codegen); test_rules_equivalence compares it with the closures at length ---

def test_the_closures_stay_available_as_the_reference() -> None:
    data = {"age": 12, "schooling_status": "dropped_out"}
    reference, fast = compile_rule(DROPOUT, fast=False), compile_rule(DROPOUT)
    assert reference(data) is fast(data) is True
    assert reference.__name__ == fast.__name__ == "evaluate"
    assert fast(data=data) is True and fast() is False  # the same signature: evaluate(data=None)


@pytest.mark.parametrize("text", [
    "x') or __import__('os').system('false') or ('",
    'x" + str(1/0) + "',
    "a\nb\r\\c\x00d",
    "\0" + "0" + "\0",  # what the generator marks field reads with
    "{d}{up}",
    "\udc80 lone surrogate",
])
def test_rule_text_is_data_never_code(text: str) -> None:
    data = {text: "value", "x": text, "a": {text: 1}}
    assert apply({"val": text}, data) == "value"  # val does not split on dots
    assert apply({"===": [{"var": "x"}, text]}, data) is True
    assert apply({"in": [{"var": "x"}, [text, "other"]]}, data) is True
    assert apply({"cat": [text, {"val": text}]}, data) == text + "value"
    for rule in ({"var": text}, {"var": [text, text]}, {"var": f"a.{text}"}, {"filter": [[{"preserve": data}], {"var": text}]}):
        assert apply(rule, data) == compile_rule(rule, fast=False)(data)


def test_data_that_is_not_an_object_goes_through_the_closures() -> None:
    rule = {"if": [{"var": "0"}, {"+": [{"var": "1"}, 1]}, {"var": ""}]}
    assert apply(rule, [True, 4]) == 5
    assert apply(rule, [0, 4]) == [0, 4]
    assert apply(rule, "12") == 3  # "12"[0] is "1", true; "12"[1] is "2"
    assert apply(rule, None) is None
    assert apply({"map": [{"var": "xs"}, {"*": [{"var": ""}, 2]}]}, {"xs": [1, "2", None]}) == [2, 4, 0]
    assert apply({"filter": [{"var": "xs"}, {"var": "a"}]}, {"xs": [{"a": 1}, "a", {"a": 0}, [1]]}) == [{"a": 1}]


def test_deep_rules_are_generated_in_several_functions() -> None:
    rule: object = {"var": "a"}
    for _ in range(rules.MAX_DEPTH - 1):
        rule = {"+": [rule, {"substr": ["12", 1]}]}
    assert apply(rule, {"a": 1}) == 1 + 2 * (rules.MAX_DEPTH - 1)
    assert apply(rule, {"a": "1"}) == compile_rule(rule, fast=False)({"a": "1"})


def test_too_deep_data_is_an_error_either_way() -> None:
    nested: list = []
    for _ in range(5000):
        nested = [nested]
    for fast in (True, False):
        with pytest.raises(RuleError, match="Too Deep"):
            compile_rule({"cat": [{"var": "x"}]}, fast=fast)({"x": nested})


def test_compiling_the_household_form_is_quick() -> None:
    form = json.loads((Path(rules.__file__).parents[1] / "definitions/household_visit/v1.json").read_text(encoding="utf-8"))
    found: list = []

    def walk(fields: list) -> None:
        for field in fields:
            found.extend(field[key] for key in ("relevant", "required", "constraint", "calculation")
                         if type(field.get(key, True)) is not bool)
            walk(field.get("fields", []))

    walk(form["fields"])
    started = time.perf_counter()
    for rule in found:
        compile_rule(rule)
    # About 40 ms on the development machine; once per form version.
    assert time.perf_counter() - started < 2.0
