"""Which risk flags open a monitoring case and which only put a household on the watch list (domain.md 3.15)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, NamedTuple


class RiskTier(StrEnum):
    case = "case"  # opens a candidate case (预警待核实, domain.md 3.13)
    watch = "watch"  # follow-up without a case: most lifted-out households sit below the watch line (Lincang 2020: 53.4%)


# A form that gives no tier (household_visit v1) gets the domain's: these flags watch, every other opens a case.
# medical_oop_above_line watches: the case-opening rigid-spending rule is spending against income, not spending alone.
WATCHED_BY_DEFAULT = frozenset({
    "income_below_watch_line", "zero_employment", "no_labour_no_dibao", "severe_illness_or_disability",
    "two_after_not_in_training", "medical_oop_above_line", "house_not_appraised",
})


def tier_of(flag: Mapping[str, Any]) -> RiskTier:
    """The tier of a form's risk flag ({code, tier?, when}): its own, else the default for its code."""
    if "tier" in flag:
        return RiskTier(flag["tier"])
    return RiskTier.watch if flag["code"] in WATCHED_BY_DEFAULT else RiskTier.case


class RaisedFlags(NamedTuple):
    """The risk flags that hold for one submission, by tier: stored as its risk_flags and watch_flags."""

    risk: list[str]  # case tier
    watch: list[str]


NO_FLAGS = RaisedFlags([], [])
