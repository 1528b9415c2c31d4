"""The push item schema's fast check (generated code) and its explaining check (jsonschema) give the same answers."""

from __future__ import annotations

import copy
from typing import Any

import fastjsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.push_schema import _ITEM, _ITEM_IS_RIGHT, item_errors

RIGHT = {
    "uuid": "7f0c1a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "form_id": "household_visit", "form_version": 3,
    "subject": {"type": "household", "area_code": "532922100201", "id": None}, "base_version": 2,
    "supersedes": None, "started_at": "2026-11-22T09:10:00+08:00", "collected_at": "2026-11-22T09:30:00+08:00",
    "data": {"members": []}, "gps": {"lat": 25.67, "lon": 99.95, "accuracy_m": 8.5},
    "attachments": [{"name": "house.jpg", "sha256": "a" * 64, "size": 1024, "content_type": "image/jpeg"}],
}
# Every place a value sits in the item, as a path of keys.
PLACES = [("uuid",), ("form_id",), ("form_version",), ("subject",), ("subject", "type"), ("subject", "area_code"),
          ("subject", "id"), ("base_version",), ("supersedes",), ("started_at",), ("collected_at",), ("data",),
          ("gps",), ("gps", "lat"), ("gps", "lon"), ("gps", "accuracy_m"), ("attachments",),
          ("attachments", 0, "name"), ("attachments", 0, "sha256"), ("attachments", 0, "size"),
          ("attachments", 0, "content_type")]

UUID_WITHOUT_DASHES = "7f0c1a2e3b4d4e5f8a9b0c1d2e3f4a5b"  # pragma: allowlist secret
# Values where the two could part: integral floats, booleans, huge integers, near-UUIDs, times out of range.
ODD_VALUES = [
    None, True, False, 0, -1, 3.0, 1.5, 2**31 - 1, 2**31, 2**70, -91, 90, 180.0, 1e308, float("inf"), "", "3",
    UUID_WITHOUT_DASHES, "{7f0c1a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b}", "village", "Household",
    "10000-01-01T00:00:00+00:00", "2026-11-22T09:30:00", "1899-12-31T23:59:59+08:00", "image/png; q=1", "text/html",
    "../x", "a\x00b", "0" * 16, "5329", [], {}, [1], {"lat": 1},
]
VALUES = st.one_of(st.sampled_from(ODD_VALUES), st.integers(), st.floats(allow_nan=False), st.text(max_size=40),
                   st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


def _changed(changes: list[tuple[tuple, Any]], removed: list[tuple]) -> dict[str, Any]:
    item = copy.deepcopy(RIGHT)
    for path, value in changes:
        _place(item, path, value)
    for path in removed:
        _place(item, path, _REMOVE)
    return item


_REMOVE = object()


def _place(item: Any, path: tuple, value: Any) -> None:
    """Sets (or removes) the value at path, if the path still leads somewhere after earlier changes."""
    try:
        for key in path[:-1]:
            item = item[key]
        if value is _REMOVE:
            del item[path[-1]]
        else:
            item[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        pass


def _fast(item: Any) -> bool:
    try:
        _ITEM_IS_RIGHT(item)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


def test_a_right_item_is_right_to_both() -> None:
    assert _fast(RIGHT) and _ITEM.is_valid(RIGHT) and item_errors(RIGHT) == []


def test_every_odd_value_in_every_place_gets_the_same_answer() -> None:
    for place in PLACES:
        for value in [*ODD_VALUES, _REMOVE]:
            item = _changed([(place, value)], [])
            assert _fast(item) == _ITEM.is_valid(item), (place, value)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PLACES), VALUES), max_size=3),
       st.lists(st.sampled_from(PLACES), max_size=2))
def test_the_fast_check_agrees_with_jsonschema(changes, removed) -> None:
    item = _changed(changes, removed)
    assert _fast(item) == _ITEM.is_valid(item)
    assert (item_errors(item) == []) == _ITEM.is_valid(item)


def test_an_integral_float_is_no_integer_to_the_fast_check() -> None:
    item = _changed([(("form_version",), 3.0)], [])
    assert not _fast(item)
    assert [e["field"] for e in item_errors(item)] == ["form_version"]
