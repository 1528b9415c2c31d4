"""The monitoring state machine of domain.md 3.13: which moves exist, and opening candidate cases when risk flags hold.

Only a supervisor moves a case (server/services/monitoring.py); the risk rules only propose, by opening a candidate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

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
WITH flagged AS (
    SELECT h.id FROM household AS h
    WHERE h.id = ANY(CAST(:ids AS uuid[])) AND cardinality(h.risk_flags) > 0
      AND NOT EXISTS (SELECT 1 FROM monitoring_case AS c WHERE c.household_id = h.id AND c.closed_at IS NULL)
), opened AS (
    INSERT INTO monitoring_case (household_id, state) SELECT id, 'candidate' FROM flagged RETURNING id, household_id
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
