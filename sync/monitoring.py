"""The monitoring state machine of domain.md 3.13: which moves exist, opening candidate cases when risk flags hold,
and keeping the assistance measures (3.14) visits record on the household's open case.

Only a supervisor moves a case (server/services/monitoring.py); the risk rules only propose, by opening a candidate.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from functools import cache

from sqlalchemy import text
from sqlalchemy.orm import Session

from survey_forms.loader import DEFINITIONS_DIR

CATEGORIES = ("unstable_tuopin", "marginal", "sudden_hardship")  # 脱贫不稳定户, 边缘易致贫户, 突发严重困难户
OPEN_STATES = ("candidate", "identified", "assisted")


@dataclass(frozen=True)
class Move:
    from_state: str
    to_state: str
    needs_category: bool = False
    closes: bool = False


MOVES = {
    "identify": Move("candidate", "identified", needs_category=True),  # village review, publicity, approval
    "dismiss": Move("candidate", "dismissed", closes=True),  # verified: no risk
    "assist": Move("identified", "assisted"),  # measures recorded
    "eliminate": Move("assisted", "risk_eliminated", closes=True),  # 评议会, consent, publicity, approval
}

_OPEN_CANDIDATES = text("""
WITH opened AS (
    -- A household with an open case keeps it: the unique index on open cases decides, probing it once per household.
    INSERT INTO monitoring_case (household_id, state)
    SELECT h.id, 'candidate' FROM household AS h WHERE h.id = ANY(CAST(:ids AS uuid[])) AND cardinality(h.risk_flags) > 0
    ON CONFLICT (household_id) WHERE closed_at IS NULL DO NOTHING
    RETURNING id, household_id
)
INSERT INTO monitoring_event (case_id, from_state, to_state, comment)
SELECT opened.id, NULL, 'candidate', '风险规则触发 · risk flags hold: ' || array_to_string(h.risk_flags, ', ')
FROM opened JOIN household AS h ON h.id = opened.household_id
""")


def open_candidates(session: Session, household_ids: list[uuid.UUID]) -> None:
    """A household whose risk flags hold and that has no open case gets a new candidate case (a new risk after an
    eliminated one opens a new case: the old one stays in the history)."""
    if household_ids:
        session.execute(_OPEN_CANDIDATES, {"ids": household_ids})


# A visit's measures go to the household's open case; with none open they stay on the household (case_id null).
# A correction's measures take the place of those of the visit it corrects, whichever of the two arrives first.
_RECORD_VISIT_MEASURES = text("""
WITH corrected AS (
    -- Only what the correction's own entity recorded: a correction never reaches into another household (issue 11).
    DELETE FROM assistance_measure AS m USING submission AS correction
    WHERE correction.uuid = ANY(CAST(:uuids AS uuid[])) AND m.submission_uuid = correction.supersedes
      AND m.household_id = correction.entity_id
)
INSERT INTO assistance_measure (household_id, case_id, measure_type, measure_scope, measure_date, amount_yuan,
                                responsible_person, submission_uuid, position)
SELECT s.entity_id, c.id, m.row->>'measure_type', m.row->>'measure_scope', CAST(m.row->>'measure_date' AS date),
       CAST(m.row->>'amount_yuan' AS numeric), m.row->>'responsible_person', s.uuid, m.position - 1
FROM submission AS s
CROSS JOIN LATERAL jsonb_array_elements(
    CASE jsonb_typeof(s.payload->'data'->'measures') WHEN 'array' THEN s.payload->'data'->'measures' END
) WITH ORDINALITY AS m(row, position)
LEFT JOIN monitoring_case AS c ON c.household_id = s.entity_id AND c.closed_at IS NULL
WHERE s.uuid = ANY(CAST(:uuids AS uuid[])) AND s.state = 'accepted' AND s.subject_type = 'household'
  AND s.entity_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM submission AS later WHERE later.supersedes = s.uuid AND later.state = 'accepted'
                  AND later.entity_id = s.entity_id)
ON CONFLICT (submission_uuid, position) DO NOTHING
""")


def record_visit_measures(session: Session, submission_uuids: list[uuid.UUID]) -> None:
    """The measures of these accepted visits (their `measures` repeat), each on its household's open case."""
    if submission_uuids:
        session.execute(_RECORD_VISIT_MEASURES, {"uuids": submission_uuids})


@cache
def measure_types() -> frozenset[str]:
    """The measure types of domain.md 3.14, from the household visit form, so phones and supervisors share one list."""
    document = json.loads((DEFINITIONS_DIR / "household_visit" / "v1.json").read_text(encoding="utf-8"))
    return frozenset(choice["name"] for choice in document["choice_lists"]["measure_type"]["choices"])
