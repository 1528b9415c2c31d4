"""The merge of an entity's evidence (protocol.md, corrections and conflicts): every case, and order independence."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.merge import Evidence, Resolution, merge


def visit(uuid: str, base: int | None, device: str = "phone-a", made_at: str = "2026-11-20T09:00:00+08:00",
          supersedes: str | None = None, **carried) -> Evidence:
    return Evidence(uuid, device, base, made_at, carried, supersedes)


def test_a_first_visit_creates_version_one_and_a_later_one_builds_on_it():
    merged = merge([visit("u1", None, income=5000, phone="138"), visit("u2", 1, income=7000, phone="138")])
    assert merged.state == {"income": 7000, "phone": "138"}
    assert merged.version == 2
    assert [(v.number, v.uuids, dict(v.changes)) for v in merged.versions] == [
        (1, ("u1",), {"income": (None, 5000), "phone": (None, "138")}),
        (2, ("u2",), {"income": (5000, 7000)}),
    ]
    assert merged.conflicts == []


def test_concurrent_visits_changing_different_fields_merge():
    first = visit("u1", None, income=5000, phone="138", housing="A")
    a = visit("ua", 1, "phone-a", income=6000, phone="138", housing="A")
    b = visit("ub", 1, "phone-b", income=5000, phone="139", housing="A")
    merged = merge([first, a, b])
    assert merged.state == {"income": 6000, "phone": "139", "housing": "A"}
    assert merged.version == 2 and merged.conflicts == []
    assert merged.versions[-1].uuids == ("ua", "ub")


def test_a_field_changed_by_both_to_different_values_is_a_conflict_and_keeps_the_earlier_value():
    first = visit("u1", None, housing="A")
    merged = merge([first, visit("ua", 1, "phone-a", housing="C"), visit("ub", 1, "phone-b", housing="D")])
    assert merged.state == {"housing": "A"}
    conflict, = merged.conflicts
    assert (conflict.property, conflict.generation, conflict.base_value) == ("housing", 1, "A")
    assert [(c.device_id, c.value, c.uuid) for c in conflict.candidates] == [("phone-a", "C", "ua"), ("phone-b", "D", "ub")]


def test_the_same_change_from_two_devices_is_no_conflict():
    merged = merge([visit("u1", None, housing="A"), visit("ua", 1, "phone-a", housing="C"),
                    visit("ub", 1, "phone-b", housing="C")])
    assert merged.state == {"housing": "C"} and merged.conflicts == []


def test_a_resolution_applies_the_chosen_value_and_marks_the_conflict_resolved():
    evidence = [visit("u1", None, housing="A"), visit("ua", 1, "phone-a", housing="C"), visit("ub", 1, "phone-b", housing="D")]
    merged = merge(evidence, [Resolution("housing", 1, "D")])
    assert merged.state == {"housing": "D"}
    assert [c.resolved for c in merged.conflicts] == [True]


def test_an_older_visit_arriving_after_a_newer_one_never_overwrites_newer_values():
    first = visit("u1", None, income=5000, housing="A")
    older = visit("u2", 1, "phone-a", income=5500, housing="A")
    newer = visit("u3", 2, "phone-b", income=8000, housing="A")
    for order in ([first, older, newer], [first, newer, older], [newer, older, first]):
        merged = merge(order)
        assert merged.state == {"income": 8000, "housing": "A"}
        assert merged.version == 3


def test_a_correction_replaces_the_effect_of_the_submission_it_corrects():
    first = visit("u1", None, income=5000)
    wrong = visit("u2", 1, income=50000)
    fixed = visit("u3", 1, supersedes="u2", income=5200)
    merged = merge([first, wrong, fixed])
    assert merged.state == {"income": 5200}
    assert merged.superseded == {"u2"}
    assert [v.uuids for v in merged.versions] == [("u1",), ("u3",)]


def test_one_devices_visits_in_one_generation_follow_each_other_in_the_order_it_made_them():
    first = visit("u1", None, income=5000)
    morning = visit("u2", 1, made_at="2026-11-20T09:00:00+08:00", income=6000)
    evening = visit("u3", 1, made_at="2026-11-20T18:00:00+08:00", income=6500)
    merged = merge([first, evening, morning])
    assert merged.state == {"income": 6500} and merged.conflicts == []


def test_numbers_compare_as_numbers_but_true_is_not_one():
    merged = merge([visit("u1", None, size=4, insured=True), visit("u2", 1, size=4.0, insured=1)])
    assert merged.versions[-1].changes == {"insured": (True, 1)}


# S4's core: any order of the same evidence gives the same entity, conflicts and history.
DEVICES = ["phone-a", "phone-b", "phone-c"]
VALUES = st.sampled_from([0, 1, 2, "A", "C", None, [1, 2]])


@st.composite
def evidence_sets(draw) -> list[Evidence]:
    count = draw(st.integers(1, 12))
    items = []
    for index in range(count):
        carried = draw(st.dictionaries(st.sampled_from(["a", "b", "c", "members/k1/name"]), VALUES, max_size=4))
        supersedes = f"u{draw(st.integers(0, index - 1))}" if index and draw(st.booleans()) and draw(st.booleans()) else None
        items.append(Evidence(f"u{index}", draw(st.sampled_from(DEVICES)), draw(st.sampled_from([None, 1, 2, 3, 5])),
                              f"2026-11-2{draw(st.integers(0, 9))}T09:00:00+08:00", carried, supersedes))
    return items


@settings(max_examples=300, deadline=None)
@given(evidence=evidence_sets(), seed=st.integers(0, 2**32))
def test_any_order_of_the_same_evidence_gives_the_same_entity_conflicts_and_history(evidence, seed):
    shuffled = list(evidence)
    random.Random(seed).shuffle(shuffled)
    first, second = merge(evidence), merge(shuffled)
    assert (first.state, first.version, first.versions, first.conflicts, first.superseded) == (
        second.state, second.version, second.versions, second.conflicts, second.superseded)


def test_a_registry_record_is_the_baseline_that_visits_build_on():
    registry = {"householder_name": "杨建华", "members/nb:杨建华|1975/sex": "male"}
    merged = merge([visit("u1", 1, householder_name="杨建华", phone="138"), visit("u0", None, "phone-b", phone="139")],
                   baseline=(1, registry))
    # Evidence claiming no base version starts from the baseline too: both are concurrent edits of version 1.
    assert merged.version == 2
    assert merged.state["householder_name"] == "杨建华" and "members/nb:杨建华|1975/sex" in merged.state
    assert [c.property for c in merged.conflicts] == ["phone"]
