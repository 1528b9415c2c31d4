"""Automatic checks of accepted submissions, computed in PostGIS: flags on the submission and, where it applies, its entity.

GPS outside the subject's village, far from the household's known position, at (0,0), missing or imprecise; a device
clock off by more than a day; a new household or village placed in a retired area; a possible duplicate household.
Supervisors see the flags (domain.md 6.2); nothing is refused for them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Limits:
    village_distance_m: float = 2000  # beyond the village boundary (mountain villages are spread out)
    moved_distance_m: float = 200  # from the household's known position
    max_accuracy_m: float = 50
    clock_skew_seconds: float = 24 * 3600


# (0,0) and about 100 m around it is "null island": a phone that had no fix and sent zeros.
_SUBMISSION_CHECKS = text("""
WITH s AS (SELECT uuid, subject_type, subject_id, entity_id, area_code, location, gps_accuracy_m, clock_skew_seconds
           FROM submission WHERE uuid = ANY(CAST(:uuids AS uuid[])) AND state = 'accepted')
INSERT INTO flag (code, submission_uuid, entity_type, entity_id, details)
SELECT 'gps_missing', s.uuid, NULL, NULL, '{}'::jsonb FROM s WHERE s.location IS NULL
UNION ALL
SELECT 'gps_impossible', s.uuid, NULL, NULL, jsonb_build_object('lat', ST_Y(s.location), 'lon', ST_X(s.location))
FROM s WHERE s.location IS NOT NULL AND (abs(ST_X(s.location)) < 0.001 AND abs(ST_Y(s.location)) < 0.001)
UNION ALL
SELECT 'gps_poor_accuracy', s.uuid, NULL, NULL, jsonb_build_object('accuracy_m', s.gps_accuracy_m)
FROM s WHERE s.gps_accuracy_m > :max_accuracy
UNION ALL
SELECT 'clock_skew', s.uuid, NULL, NULL, jsonb_build_object('skew_seconds', round(s.clock_skew_seconds))
FROM s WHERE abs(s.clock_skew_seconds) > :skew
UNION ALL
SELECT 'gps_outside_village', s.uuid, s.subject_type,
       CASE WHEN s.subject_type = 'village' THEN s.area_code ELSE s.entity_id::text END,
       jsonb_build_object('area_code', a.code,
                          'distance_m', round(ST_Distance(a.boundary::geography, s.location::geography)::numeric))
FROM s JOIN area AS a ON a.code = s.area_code
WHERE s.location IS NOT NULL AND NOT (abs(ST_X(s.location)) < 0.001 AND abs(ST_Y(s.location)) < 0.001) AND a.boundary IS NOT NULL
  AND NOT ST_DWithin(a.boundary::geography, s.location::geography, :village_distance)
UNION ALL
SELECT 'gps_far_from_previous', s.uuid, 'household', s.entity_id::text,
       jsonb_build_object('distance_m', round(ST_Distance(h.location::geography, s.location::geography)::numeric))
FROM s JOIN household AS h ON h.id = s.subject_id
WHERE s.location IS NOT NULL AND NOT (abs(ST_X(s.location)) < 0.001 AND abs(ST_Y(s.location)) < 0.001) AND h.location IS NOT NULL
  AND NOT ST_DWithin(h.location::geography, s.location::geography, :moved)
UNION ALL
-- A household or village not yet in this area: a new one, or a household moving in. A retired code is still a
-- known area (a phone that pulled before the retirement offers it), so the data is kept and the supervisor decides;
-- visits to those already there are not flagged. Checked before reconciliation creates or moves them.
SELECT 'area_retired', s.uuid, s.subject_type,
       CASE WHEN s.subject_type = 'village' THEN s.area_code ELSE s.entity_id::text END,
       jsonb_build_object('area_code', a.code, 'retired_at', a.retired_at)
FROM s JOIN area AS a ON a.code = s.area_code AND a.retired_at IS NOT NULL
WHERE CASE WHEN s.subject_type = 'village' THEN NOT EXISTS (SELECT FROM village AS v WHERE v.area_code = s.area_code)
           ELSE NOT EXISTS (SELECT FROM household AS h WHERE h.id = s.entity_id AND h.area_code = s.area_code) END
""")

# After reconciliation: another household of the same area with the same number, or whose head has the same
# ID hash, may be the same family recorded twice (two devices, or a re-registration).
_DUPLICATES = text("""
WITH touched AS (SELECT id, area_code, household_no FROM household WHERE id = ANY(CAST(:ids AS uuid[]))),
found AS (
    SELECT t.id, other.id AS other_id, 'household_no' AS reason FROM touched AS t
    JOIN household AS other ON other.area_code = t.area_code AND other.household_no = t.household_no AND other.id <> t.id
    UNION
    -- One household at a time, each look-up through an index: OFFSET 0 keeps the planner from joining whole tables
    -- on statistics that lag behind a first round's growth.
    SELECT t.id, other.id, 'head_id_card' FROM touched AS t
    CROSS JOIN LATERAL (SELECT head.id_card_hash FROM person AS head
                        WHERE head.household_id = t.id AND head.relation_to_head = 'head' OFFSET 0) AS head
    CROSS JOIN LATERAL (SELECT other_head.household_id FROM person AS other_head
                        WHERE other_head.id_card_hash = head.id_card_hash AND other_head.relation_to_head = 'head'
                        OFFSET 0) AS other_head
    JOIN household AS other ON other.id = other_head.household_id AND other.area_code = t.area_code AND other.id <> t.id
)
INSERT INTO flag (code, entity_type, entity_id, details)
SELECT 'possible_duplicate_household', 'household', f.id::text,
       jsonb_build_object('other_household', f.other_id, 'reason', f.reason)
FROM found AS f
WHERE NOT EXISTS (SELECT 1 FROM flag WHERE flag.entity_type = 'household' AND flag.entity_id = f.id::text
                  AND flag.code = 'possible_duplicate_household'
                  AND flag.details ->> 'other_household' = f.other_id::text)
""")


def check_submissions(session: Session, uuids: list[uuid.UUID], limits: Limits) -> None:
    """Flags of the newly accepted submissions; run before reconciliation moves the household to its new position."""
    if uuids:
        session.execute(_SUBMISSION_CHECKS, {
            "uuids": uuids, "max_accuracy": limits.max_accuracy_m, "skew": limits.clock_skew_seconds,
            "village_distance": limits.village_distance_m, "moved": limits.moved_distance_m})


def check_duplicates(session: Session, household_ids: list[uuid.UUID]) -> None:
    if household_ids:
        session.execute(_DUPLICATES, {"ids": household_ids})
