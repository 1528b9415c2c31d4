"""Which entity properties a form pre-fills: the `save_to` targets of its fields marked `prefill`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from survey_forms.levels import levels_of


def prefill_fields(document: dict[str, Any]) -> dict[str | None, dict[str, str]]:
    """Per level (None for the top, else the repeat's name): field name -> the target it starts from.

    A prefill without save_to has none: there is no property to take its value from.
    """
    return {name: {item.spec["name"]: item.spec["save_to"] for item in level.fields
                   if item.spec.get("prefill") and "save_to" in item.spec}
            for name, level in levels_of(document).items()}


def prefill_targets(document: dict[str, Any]) -> set[str]:
    """Targets such as "household.phone" or "person.name", from every level of the form."""
    return {target for fields in prefill_fields(document).values() for target in fields.values()}


def by_entity(targets: Iterable[str]) -> defaultdict[str, frozenset[str]]:
    """Targets grouped by entity, {"person": {"name", ...}, ...}; an entity no target names has none."""
    grouped: defaultdict[str, frozenset[str]] = defaultdict(frozenset)
    for target in targets:
        entity, _, name = target.partition(".")
        grouped[entity] |= {name}
    return grouped
