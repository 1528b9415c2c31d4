"""The generated validator against the interpreter it stands for: the same problems and calculations for real forms'
submissions, valid, mutated and filled with junk; and shortcuts that accept only what the value checks accept.

The interpreter (compile_form(definition, generated=False)) lists problems in the order the values were sent, the
generated functions in form order, so problems are compared as sorted lists.
"""

from __future__ import annotations

import copy
import math
import random
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from schemas.form_definition import form_definition_schema
from survey_forms import loader
from survey_forms.checks import answered, same_value, value_check
from survey_forms.definition import FormDefinition
from survey_forms.level_codegen import accept_function
from survey_forms.levels import levels_of
from survey_forms.validator import CompiledForm, FieldError, compile_form
from tests.survey_forms.helpers import small_form, submission
from tools import formfill
from tools.formfill.mutators import EXTRA_KEYS

BIG_INT = 2**1000  # float's range ends at 2**1024: values on both sides of the edge
DEFINITIONS = [*loader.load_all(form_definition_schema()), small_form()]
FORM_IDS = [d.form_id for d in DEFINITIONS]
COMPILED: dict[str, tuple[CompiledForm, CompiledForm]] = {
    d.form_id: (compile_form(d), compile_form(d, generated=False)) for d in DEFINITIONS}
SEEDS = st.integers(0, 2**32 - 1)
DELETE = object()
forms = pytest.mark.parametrize("definition", DEFINITIONS, ids=FORM_IDS)

# Values a device should never send, and the edges of each check: blanks, NUL, a lone surrogate, integral floats,
# booleans, NaN and infinities, integers past float's range (the interpreter raises OverflowError on those where it
# asks math.isfinite), 29 February, week dates, file names made of dots.
EDGES = ["", " ", "\u3000", "\x00", "\ud800", "杨", "yes", "no", "none", "other", "2026-02-29", "2024-02-29", "0000-01-01",
         "2026-W47-5", "2026-11-20T10:00:00+08:00", "2026-11-20T10:00:00", "..", "a/b.jpg", "house.jpg", 0, 1, -1, 3.0,
         2.5, -0.0, True, False, 2**53 + 1, BIG_INT, 10**400, math.nan, math.inf, -math.inf, [], {}, [""], ["yes", "yes"],
         {"lat": 25.6, "lon": 99.9, "accuracy_m": 5}, [{}], [{"name": "x"}]]
BREAKING = ["x", "12-34", "字" * 600, -1, 31, 10**6, 0.5, 2019, ["yes", "not_a_choice"],
            {"lat": 25.6, "lon": 99.9, "accuracy_m": 500}, {"lat": 95, "lon": 99.9}]  # of patterns, lengths, ranges
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-(2**1100), 2**1100), st.floats(),
                    st.text(max_size=8), st.sampled_from(EDGES))
JUNK = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                         max_size=3), max_leaves=6)


def _problems(form: CompiledForm, data: Any) -> list[tuple[str, str, str]]:
    return sorted((error.field, error.code, error.message) for error in form.validate(data))


def _without_root(computed: dict[str, Any]) -> dict[str, Any]:
    """The computed data with each row's $root taken out (it is the whole again: == would go round for ever)."""
    return {key: [{k: v for k, v in row.items() if k != "$root"} if type(row) is dict else row for row in value]
            if type(value) is list else value for key, value in computed.items()}


def assert_same(definition: FormDefinition, data: Any) -> None:
    generated, reference = COMPILED[definition.form_id]
    before = copy.deepcopy(data)
    expected = _problems(reference, data)  # never raises: any value at all is a problem report, not a crash
    assert _problems(generated, data) == expected
    if type(data) is dict:
        assert _without_root(generated.computed(data)) == _without_root(reference.computed(data))
    assert repr(data) == repr(before)  # not changed by validation (repr: NaN is not == to itself)


def _changed(data: dict[str, Any], repeat: str | None, index: int | None, key: str, value: Any) -> dict[str, Any]:
    """A copy of data with one key of one level set, or deleted for DELETE."""
    out = copy.deepcopy(data)
    holder = out if repeat is None else out[repeat][index]
    if value is DELETE:
        holder.pop(key, None)
    else:
        holder[key] = value
    return out


# --- the same problems ---------------------------------------------------------------------------------------------


@forms
@settings(max_examples=60, deadline=None)
@given(seed=SEEDS)
def test_valid_and_mutated_submissions_have_the_same_problems(definition: FormDefinition, seed: int) -> None:
    rng = random.Random(seed)
    data = formfill.fill(definition, rng)
    assert_same(definition, data)
    for mutation in formfill.mutations(definition, data, rng):
        assert_same(definition, mutation.data)


@forms
@settings(max_examples=150, deadline=None)
@given(seed=SEEDS, draw=st.data())
def test_junk_values_and_unknown_keys_have_the_same_problems(definition: FormDefinition, seed: int, draw: st.DataObject) -> None:
    data = formfill.fill(definition, random.Random(seed))
    levels = levels_of(definition.document)
    choices = sorted({c["name"] for _, spec in formfill.iter_fields(definition) for c in spec.get("choices", [])}
                     | {c["name"] for spec in definition.document.get("choice_lists", {}).values() for c in spec["choices"]})
    values = st.one_of(JUNK, st.sampled_from(choices), st.just(DELETE),
                       st.lists(st.sampled_from(choices), min_size=1, max_size=3))
    for _ in range(draw.draw(st.integers(1, 3), label="changes")):
        places: list[tuple[str | None, int | None]] = [(None, None)]
        places += [(name, index) for name in levels if name is not None and type(data.get(name)) is list
                   for index, row in enumerate(data[name]) if type(row) is dict]
        repeat, index = draw.draw(st.sampled_from(places), label="place")
        names = sorted(item.spec["name"] for item in levels[repeat].fields)
        key = draw.draw(st.sampled_from([*names, *EXTRA_KEYS, "members[0].name", "$root", "$params", "$value"]), label="key")
        data = _changed(data, repeat, index, key, draw.draw(values, label="value"))
    assert_same(definition, data)


@forms
def test_each_edge_value_in_each_field_has_the_same_problems(definition: FormDefinition) -> None:
    data = formfill.fill(definition, random.Random(0))
    levels = levels_of(definition.document)
    places = [(None, None), *((name, 0) for name in levels if name is not None and data.get(name))]
    for repeat, index in places:
        for key in [*(item.spec["name"] for item in levels[repeat].fields), EXTRA_KEYS[0]]:
            for value in [*EDGES, DELETE, *BREAKING]:
                assert_same(definition, _changed(data, repeat, index, key, value))


@forms
@settings(max_examples=40, deadline=None)
@given(data=JUNK)
@example(data=[])
@example(data={"members": 5})
def test_anything_at_all_has_the_same_problems(definition: FormDefinition, data: Any) -> None:
    assert_same(definition, data)


def test_integers_past_floats_range_and_repeats_that_are_not_lists_are_reported_not_raised() -> None:
    # Both used to raise (OverflowError in math.isfinite, TypeError iterating 5), a 500 in push.
    label = {"zh": "字段", "en": "Field"}
    definition = FormDefinition.from_document({
        "form_id": "tiny", "version": 1, "subject": "household", "roles": ["enumerator"], "title": label,
        "fields": [{"name": "x", "type": "integer", "label": label},
                   {"name": "d", "type": "decimal", "label": label, "max": 10},
                   {"name": "y", "type": "calculate", "value_type": "integer", "label": label, "calculation": {"var": "x"}},
                   {"name": "rows", "type": "repeat", "label": label, "fields": [
                       {"name": "z", "type": "calculate", "value_type": "integer", "label": label, "calculation": 1}]}]})
    for generated in (True, False):
        form = compile_form(definition, generated)
        assert form.validate({"x": 10**400, "y": 10**400}) == []
        assert [(e.field, e.code) for e in form.validate({"d": 10**400})] == [("d", "out_of_range")]
        assert [(e.field, e.code) for e in form.validate({"rows": 5})] == [("rows", "type")]


def test_calculations_that_read_other_rows_are_done_for_every_row_first() -> None:
    # Consecutive calculations of a repeat share one loop over its rows only when none reads another row.
    label = {"zh": "字段", "en": "Field"}

    def calculate(name: str, logic: Any) -> dict[str, Any]:
        return {"name": name, "type": "calculate", "value_type": "integer", "label": label, "calculation": logic}

    total = {"reduce": [{"var": "$root.rows"}, {"+": [{"var": "accumulator"}, {"var": "current.a"}]}, 0]}
    definition = FormDefinition.from_document({
        "form_id": "tiny", "version": 1, "subject": "household", "roles": ["enumerator"], "title": label,
        "fields": [{"name": "rows", "type": "repeat", "label": label, "fields": [
            {"name": "n", "type": "integer", "label": label}, calculate("a", {"*": [{"var": "n"}, 2]}),
            calculate("b", total), calculate("c", {"+": [{"var": "b"}, {"var": "a"}]})]}]})
    data = {"rows": [{"n": 1, "a": 0, "b": 6}, {"n": 2, "a": 0, "b": 0, "c": 10}]}
    generated, reference = compile_form(definition), compile_form(definition, generated=False)
    rows = generated.computed(data)["rows"]
    assert [(row["a"], row["b"], row["c"]) for row in rows] == [(2, 6, 8), (4, 6, 10)]
    assert _without_root(generated.computed(data)) == _without_root(reference.computed(data))
    assert _problems(generated, data) == _problems(reference, data) != []


def test_problems_come_in_form_order_with_unknown_fields_last() -> None:
    data = submission(nickname="x", housing_grade="E", householder_name=None)
    data = {"nickname": data.pop("nickname"), "housing_grade": data.pop("housing_grade"), **data}
    generated, reference = COMPILED["small_household"]
    expected = [FieldError("householder_name", "required", "此项为必填项 · This field is required."),
                FieldError("housing_grade", "unknown_choice", "不是可选的选项：E · Not one of the choices: E."),
                FieldError("nickname", "unknown_field", "表单中没有此项 · This form has no such field.")]
    assert generated.validate(data) == expected
    assert reference.validate(data) == [expected[2], expected[1], expected[0]]


# --- the shortcuts -------------------------------------------------------------------------------------------------

CHOICES = frozenset({"yes", "no", "x y", "", " "})
POINT = {"lat": 25.6, "lon": 99.9, "accuracy_m": 5.0}
# Each spec with an answer its shortcut must accept, so that valid submissions seldom go past it.
SPECS: list[tuple[dict[str, Any], Any]] = [
    ({"type": "text"}, "杨建华"), ({"type": "text", "max_length": 3}, "abc"), ({"type": "text", "pattern": r"^\d{3}$"}, "123"),
    ({"type": "text", "max_length": 4, "pattern": "[a-z ]*"}, "ab c"),
    ({"type": "integer"}, -7), ({"type": "integer", "min": 1, "max": 30}, 30), ({"type": "integer", "min": 2.5}, 3),
    ({"type": "decimal"}, 2**60), ({"type": "decimal", "min": 0}, 0.5), ({"type": "decimal", "min": -1.5, "max": 1e300}, -1),
    ({"type": "select_one"}, "x y"), ({"type": "select_multiple"}, ["yes", ""]), ({"type": "date"}, "2024-12-31"),
    ({"type": "datetime"}, "2026-11-20T10:00:00+08:00"), ({"type": "geopoint"}, POINT),
    ({"type": "geopoint", "max_accuracy_m": 50}, POINT), ({"type": "photo"}, "house.jpg"), ({"type": "audio"}, "a.m4a"),
]
SPEC_IDS = ["-".join(str(value) for value in spec.values()) for spec, _ in SPECS]
DATES = st.one_of(
    st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.integers(0, 10000), st.integers(0, 13), st.integers(0, 32)),
    st.builds("-".join, st.tuples(*(st.text("0123456789 +-:.TWZ\u0663\uff11", min_size=n, max_size=n) for n in (4, 2, 2)))))
NUMBERS = st.one_of(st.integers(-BIG_INT - 2, -BIG_INT + 2), st.integers(BIG_INT - 2, BIG_INT + 2),
                    st.floats(-1e301, 1e301), st.integers(-40, 80).map(lambda n: n / 2))
NAMES = st.sampled_from(sorted(CHOICES))


@pytest.mark.parametrize(("spec", "usual"), SPECS, ids=SPEC_IDS)
@settings(max_examples=300, deadline=None)
@given(value=st.one_of(JUNK, DATES, NUMBERS, NAMES, st.lists(NAMES, max_size=4)))
def test_a_shortcut_accepts_only_answers_that_the_check_accepts(spec: dict[str, Any], usual: Any, value: Any) -> None:
    check = value_check(spec, CHOICES)
    if accept_function(spec, CHOICES, check)(value):
        assert answered(value) and check(value) is None


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(JUNK, NUMBERS))
def test_a_calculated_value_equal_to_ours_and_of_its_type_is_the_same_value(value: Any) -> None:
    # The generated shortcut for calculate fields.
    twin = copy.deepcopy(value)
    if value == twin:
        assert same_value(value, twin)


@pytest.mark.parametrize(("spec", "usual"), SPECS, ids=SPEC_IDS)
def test_a_shortcut_accepts_the_usual_answers(spec: dict[str, Any], usual: Any) -> None:
    assert accept_function(spec, CHOICES, value_check(spec, CHOICES))(usual)
