"""A submission's answers laid out by its form, for a person to read: labels in both languages, choices by their
label, groups as sections and repeats as tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

# Display-only fields hold no answer.
_NO_VALUE = frozenset({"note", "group", "repeat"})

Shown = Callable[[dict[str, Any], Any], Any]  # (the field's definition, its value) -> the value the reader may see


def _unchanged(_field: dict[str, Any], value: Any) -> Any:
    return value


def lay_out(document: dict[str, Any], data: dict[str, Any], shown: Shown = _unchanged) -> list[dict[str, Any]]:
    """The form's top level as a list of items, in form order:

    - {"kind": "field", "name", "label", "type", "value", "choice"} where choice is the label of the chosen
      choice (a list of them for select_multiple), else None;
    - {"kind": "group", "name", "label", "items": [...]};
    - {"kind": "repeat", "name", "label", "columns": [{"name", "label", "type"}], "rows": [[{"value", "choice"}]]}.

    `shown` decides what a reader sees of each value (core.masking through the caller); answers the form does not
    know (an older version's, a misspelt name) are left out, as the form could not label them.
    """
    choices = {name: spec.get("choices", []) for name, spec in (document.get("choice_lists") or {}).items()}
    return list(_items(document["fields"], data if type(data) is dict else {}, choices, shown))


def _items(fields: list[dict[str, Any]], data: dict[str, Any], lists: dict[str, list], shown: Shown) -> Iterator[dict]:
    for field in fields:
        kind, name, label = field["type"], field["name"], field.get("label", {})
        if kind == "group":
            yield {"kind": "group", "name": name, "label": label, "items": list(_items(field["fields"], data, lists, shown))}
        elif kind == "repeat":
            leaves = list(_leaves(field["fields"]))
            rows = data.get(name) if type(data.get(name)) is list else []
            yield {"kind": "repeat", "name": name, "label": label,
                   "columns": [{"name": leaf["name"], "label": leaf.get("label", {}), "type": leaf["type"]}
                               for leaf in leaves],
                   "rows": [[_cell(leaf, row if type(row) is dict else {}, lists, shown) for leaf in leaves]
                            for row in rows]}
        elif kind not in _NO_VALUE:
            yield {"kind": "field", "name": name, "label": label, "type": kind, **_cell(field, data, lists, shown)}


def _leaves(fields: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """A repeat's answer fields, its groups flattened into the table's columns."""
    for field in fields:
        if field["type"] == "group":
            yield from _leaves(field["fields"])
        elif field["type"] not in _NO_VALUE:
            yield field


def _cell(field: dict[str, Any], data: dict[str, Any], lists: dict[str, list], shown: Shown) -> dict[str, Any]:
    value = shown(field, data.get(field["name"]))
    options = field.get("choices") or lists.get(field.get("choice_list", ""), [])
    labels = {choice["name"]: choice.get("label", {}) for choice in options}
    if field["type"] == "select_one" and isinstance(value, str):
        return {"value": value, "choice": labels.get(value)}
    if field["type"] == "select_multiple" and isinstance(value, list):
        return {"value": value, "choice": [labels.get(item) for item in value if isinstance(item, str)]}
    return {"value": value, "choice": None}
