"""Per-form hints for tools.formfill: realistic values, and the cross-field rules random draws cannot hit.

What a hint is and may answer: tools/formfill/hints/base.py. A form without hints here is filled by type and name.
"""

from __future__ import annotations

from tools.formfill.hints.base import DEFER, NO_HINTS, OMIT, SKIP, FormHints, Hint
from tools.formfill.hints.household import HOUSEHOLD_VISIT
from tools.formfill.hints.village import VILLAGE_COLLECTIVE, VILLAGE_INFRASTRUCTURE

__all__ = ["DEFER", "HINTS", "NO_HINTS", "OMIT", "SKIP", "FormHints", "Hint", "hints_for"]

HINTS: dict[str, FormHints] = {
    "household_visit": HOUSEHOLD_VISIT,
    "village_infrastructure": VILLAGE_INFRASTRUCTURE,
    "village_collective": VILLAGE_COLLECTIVE,
}


def hints_for(form_id: str) -> FormHints:
    return HINTS.get(form_id, NO_HINTS)
