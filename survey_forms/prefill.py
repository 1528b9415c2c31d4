"""Which entity properties a form pre-fills: the `save_to` targets of its fields marked `prefill`."""

from __future__ import annotations

from typing import Any

from survey_forms.levels import levels_of


def prefill_targets(document: dict[str, Any]) -> set[str]:
    """Targets such as "household.phone", from every level of the form (a prefill without save_to has none)."""
    return {item.spec["save_to"] for level in levels_of(document).values() for item in level.fields
            if item.spec.get("prefill") and "save_to" in item.spec}
