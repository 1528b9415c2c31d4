"""The monitoring procedure of domain.md 3.13: its steps, opening candidate cases when case-tier risk flags hold, and
bringing the assistance measures (3.14) visits record to the case they belong to.

Only supervisors take a case through its steps (server/services/monitoring.py); the risk rules only open candidates.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from enum import IntEnum
from functools import cache

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.models import CaseStep, MonitoringState
from survey_forms.loader import DEFINITIONS_DIR

CATEGORIES = ("unstable_tuopin", "marginal", "sudden_hardship")  # 脱贫不稳定户, 边缘易致贫户, 突发严重困难户
CHANNELS = ("self_declared", "cadre_screening", "department_alert")  # 农户自主申报, 干部排查, 部门筛查预警


class Level(IntEnum):
    """How far up an actor's scope must reach for a step: the length of the area code it covers the household with."""

    any = 15
    township = 9
    county = 6


@dataclass(frozen=True)
class Step:
    from_states: frozenset[MonitoringState]
    to_state: MonitoringState
    level: Level = Level.any
    closes: bool = False


_S = MonitoringState
# Who may take each step is a supervisor (or admin) whose scope reaches `level`: the county decides (county scope),
# the township checks; the village review and the measures are recorded by the supervisor who was there.
STEPS: dict[CaseStep, Step] = {
    CaseStep.village_review: Step(frozenset({_S.candidate}), _S.village_reviewed),
    CaseStep.township_check: Step(frozenset({_S.village_reviewed}), _S.township_checked, Level.township),
    CaseStep.identify: Step(frozenset({_S.township_checked}), _S.identified, Level.county),
    CaseStep.dismiss: Step(frozenset({_S.candidate, _S.village_reviewed, _S.township_checked}), _S.dismissed,
                           closes=True),
    CaseStep.assist: Step(frozenset({_S.identified, _S.assisted}), _S.assisted),
    CaseStep.review_elimination: Step(frozenset({_S.assisted}), _S.elimination_noticed),
    CaseStep.withdraw_elimination: Step(frozenset({_S.elimination_noticed}), _S.assisted),
    CaseStep.eliminate: Step(frozenset({_S.elimination_noticed}), _S.risk_eliminated, Level.county, closes=True),
    CaseStep.follow_up_long_term: Step(frozenset({_S.identified, _S.assisted}), _S.long_term_follow_up, Level.county),
}

# A case starts at the device time of the first visit, among those that made the household's current version, whose
# case-tier flags hold: the same set of visits gives the same start whatever order they arrived in, so the measures
# later visits record fall in the case the same way too.
_OPEN_CANDIDATES = text("""
WITH opened AS (
    -- A household with an open case keeps it: the unique index on open cases decides, probing it once per household.
    INSERT INTO monitoring_case (household_id, state, opened_from)
    SELECT h.id, 'candidate', (
        SELECT min(coalesce(s.collected_at, s.received_at)) FROM submission AS s
        WHERE s.uuid IN (SELECT CAST(u AS uuid) FROM unnest((
                  SELECT v.submission_uuids FROM entity_version AS v
                  WHERE v.entity_type = 'household' AND v.entity_id = h.id::text ORDER BY v.version DESC LIMIT 1)) AS u)
          AND cardinality(s.risk_flags) > 0)
    FROM household AS h WHERE h.id = ANY(CAST(:ids AS uuid[])) AND cardinality(h.risk_flags) > 0
    ON CONFLICT (household_id) WHERE closed_at IS NULL DO NOTHING
    RETURNING id, household_id
)
INSERT INTO monitoring_event (case_id, step, from_state, to_state, comment)
SELECT opened.id, 'opened', NULL, 'candidate', '风险规则触发 · risk flags hold: ' || array_to_string(h.risk_flags, ', ')
FROM opened JOIN household AS h ON h.id = opened.household_id
RETURNING (SELECT household_id FROM opened WHERE opened.id = case_id)
""")

# A visit's measures are stored on the household; attach_measures then puts them on their case. A correction's
# measures take the place of those of the visit it corrects, whichever of the two arrives first.
_RECORD_VISIT_MEASURES = text("""
WITH corrected AS (
    -- Only what the correction's own entity recorded: a correction never reaches into another household (issue 11).
    DELETE FROM assistance_measure AS m USING submission AS correction
    WHERE correction.uuid = ANY(CAST(:uuids AS uuid[])) AND m.submission_uuid = correction.supersedes
      AND m.household_id = correction.entity_id
)
INSERT INTO assistance_measure (household_id, measure_type, measure_scope, measure_date, amount_yuan,
                                responsible_person, risk_types, submission_uuid, position)
SELECT s.entity_id, m.row->>'measure_type', m.row->>'measure_scope', CAST(m.row->>'measure_date' AS date),
       CAST(m.row->>'amount_yuan' AS numeric), m.row->>'responsible_person',
       CASE jsonb_typeof(m.row->'risk_types') WHEN 'array'
            THEN ARRAY(SELECT jsonb_array_elements_text(m.row->'risk_types')) ELSE '{}' END,
       s.uuid, m.position - 1
FROM submission AS s
CROSS JOIN LATERAL jsonb_array_elements(
    CASE jsonb_typeof(s.payload->'data'->'measures') WHEN 'array' THEN s.payload->'data'->'measures' END
) WITH ORDINALITY AS m(row, position)
WHERE s.uuid = ANY(CAST(:uuids AS uuid[])) AND s.state = 'accepted' AND s.subject_type = 'household'
  AND s.entity_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM submission AS later WHERE later.supersedes = s.uuid AND later.state = 'accepted'
                  AND later.entity_id = s.entity_id)
ON CONFLICT (submission_uuid, position) DO NOTHING
RETURNING household_id
""")

# Each measure a visit recorded belongs to the household's case whose span holds the visit's device time (from the
# visit that opened it until it closed), or to none: worked out again from the cases and the visits, so the order
# visits arrive in, a late case or a rebuild all give the same answer. Measures a supervisor recorded keep their case.
_ATTACH_MEASURES = text("""
WITH placed AS (
    SELECT m.id, (SELECT c.id FROM monitoring_case AS c
                  WHERE c.household_id = m.household_id AND c.opened_from IS NOT NULL
                    AND c.opened_from <= coalesce(s.collected_at, s.received_at)
                    AND (c.closed_at IS NULL OR coalesce(s.collected_at, s.received_at) < c.closed_at)
                  ORDER BY c.opened_from DESC LIMIT 1) AS case_id
    FROM assistance_measure AS m JOIN submission AS s ON s.uuid = m.submission_uuid
    WHERE m.household_id = ANY(CAST(:ids AS uuid[]))
)
UPDATE assistance_measure AS m SET case_id = placed.case_id FROM placed
WHERE m.id = placed.id AND m.case_id IS DISTINCT FROM placed.case_id
""")


def open_candidates(session: Session, household_ids: list[uuid.UUID]) -> None:
    """A household whose case-tier flags hold and that has no open case gets a new candidate case (a new risk after
    an eliminated one opens a new case: the old one stays in the history); measures already recorded by visits made
    since then join it."""
    if household_ids:
        opened = session.scalars(_OPEN_CANDIDATES, {"ids": household_ids}).all()
        attach_measures(session, sorted(set(opened)))


def record_visit_measures(session: Session, submission_uuids: list[uuid.UUID]) -> None:
    """The measures of these accepted visits (their `measures` repeat), each on the case it belongs to."""
    if submission_uuids:
        recorded = session.scalars(_RECORD_VISIT_MEASURES, {"uuids": submission_uuids}).all()
        attach_measures(session, sorted(set(recorded)))


def attach_measures(session: Session, household_ids: list[uuid.UUID]) -> None:
    """Puts each measure these households' visits recorded on the case its visit falls in (see _ATTACH_MEASURES)."""
    if household_ids:
        session.execute(_ATTACH_MEASURES, {"ids": household_ids})


@cache
def _choices(list_name: str) -> frozenset[str]:
    """A choice list of the household visit form, so phones and supervisors share one list of codes."""
    document = json.loads((DEFINITIONS_DIR / "household_visit" / "v1.json").read_text(encoding="utf-8"))
    return frozenset(choice["name"] for choice in document["choice_lists"][list_name]["choices"])


def measure_types() -> frozenset[str]:
    """The measure types of domain.md 3.14."""
    return _choices("measure_type")


def risk_types() -> frozenset[str]:
    """The risk types of domain.md 3.13."""
    return _choices("risk_types")
