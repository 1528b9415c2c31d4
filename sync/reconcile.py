"""Reconciliation: each touched entity's evidence merged (sync.merge) into its current state, versions and conflicts.

A push's new visits are merged onto the entity's stored tail (its latest generation, sync.merge.extend) when they only
add to its history: later than everything merged, from no older version, correcting nothing merged and corrected by
nothing merged, renaming no member. Anything else, and a rebuild, replays the entity from its baseline and every
accepted submission about it. Both give the same entity whatever the arrival order (tests/sync/test_merge_extend.py,
test_s4_order.py); the tail only spares a push the O(visits) replay. The evidence of each submission was worked out
once, at ingest (submission.evidence); a push's entities are written with a few statements (sync.entity_writes).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC
from functools import partial
from typing import Any

from sqlalchemy import null, select, text, tuple_
from sqlalchemy.orm import Session

from core.pii import Protector
from server.models import ConflictResolution, Household, Submission, SubmissionState, Village
from sync.compiled_forms import CompiledForms
from sync.entity_writes import PERSON_COLUMNS, EntityWrites, Known  # noqa: F401 (PERSON_COLUMNS: sync.pull reads it here)
from sync.evidence import AREA, Seen, aliases, carried, renamed, seen_people, village_id, with_sealed_answers
from sync.ingest import Accepted
from sync.merge import Evidence, Merged, Resolution, Tail, conflicts_of, extend, merge

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) FROM unnest(CAST(:keys AS text[])) AS key "
             "ORDER BY key")
_EVIDENCE = (Submission.entity_id, Submission.uuid, Submission.subject_type, Submission.area_code, Submission.device_id,
             Submission.base_version, Submission.collected_at, Submission.supersedes, Submission.evidence,
             Submission.risk_flags)
# Entities where a new submission corrects one merged before, or one merged before corrects a new one (it arrived
# after its correction): either reaches back into the history, which only a replay rewrites.
_REACHING_BACK = text("""
SELECT DISTINCT s.entity_id FROM submission AS s
WHERE s.entity_id = ANY(CAST(:entities AS uuid[])) AND s.state = 'accepted' AND s.uuid <> ALL(CAST(:new AS uuid[]))
  AND (s.uuid = ANY(CAST(:corrected AS uuid[])) OR s.supersedes = ANY(CAST(:new AS uuid[])))
""")


def reconcile_submissions(session: Session, accepted: Sequence[Accepted], protector: Protector,
                          id_cards: dict[str, str]) -> list[uuid.UUID]:
    """Merges these newly accepted submissions into the entities they are about; returns those entities' ids.

    id_cards: clear text of the ID tokens these submissions brought, for the encrypted column.
    """
    rows = [row for row in accepted if row.entity_id is not None]
    entity_ids = sorted({row.entity_id for row in rows})
    if entity_ids:
        _reconcile(session, entity_ids, protector, id_cards, rows)
    return entity_ids


def reconcile_entities(session: Session, entity_ids: Iterable[uuid.UUID], protector: Protector,
                       id_cards: dict[str, str]) -> int:
    """Rebuilds these entities from their baseline and every accepted submission about them; returns how many had any."""
    ids = sorted(set(entity_ids))
    return _reconcile(session, ids, protector, id_cards, None) if ids else 0


def _reconcile(session: Session, ids: list[uuid.UUID], protector: Protector, id_cards: dict[str, str],
               new_rows: Sequence[Any] | None) -> int:
    """new_rows: the evidence a push brought, to merge onto the stored tails where it can; None: replay every entity."""
    # One transaction at a time per entity, locked in one order (no deadlock): the second of two concurrent pushes
    # about a household waits, then reads the first one's submission and tail too.
    session.execute(_LOCK, {"keys": [str(i) for i in ids]})
    households = _known(session, ids, with_tails=new_rows is not None)
    rows_by_entity: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in new_rows or ():
        rows_by_entity[row.entity_id].append(row)
    tails = _tails(session, households, rows_by_entity) if new_rows is not None else {}
    keys = {entity_id: _history_key(entity_id, rows) for entity_id, rows in rows_by_entity.items()}
    resolutions = _resolutions(session, keys.values()) if keys else {}
    writes = EntityWrites(protector, id_cards)
    extended = {entity_id for entity_id, tail in tails.items()
                if _extended(writes, entity_id, households.get(entity_id), tail, rows_by_entity[entity_id],
                             resolutions.get(keys[entity_id], ()))}
    # A household without a row has nothing merged yet (every push that accepts a visit writes its household): its
    # evidence is what this push brought. Any other entity is replayed from all its evidence.
    fresh = {entity_id: rows for entity_id, rows in rows_by_entity.items()
             if entity_id not in households and rows[0].subject_type == "household"}
    replayed = fresh | _all_evidence(session, [i for i in ids if i not in extended and i not in fresh])
    more = {entity_id: _history_key(entity_id, rows) for entity_id, rows in replayed.items() if entity_id not in keys}
    if more:
        resolutions |= _resolutions(session, more.values())
        keys |= more
    for entity_id, rows in replayed.items():
        _replayed(writes, entity_id, households.get(entity_id), rows, resolutions.get(keys[entity_id], ()))
    writes.flush(session)
    return len(extended) + len(replayed)


def rebuild_all(session: Session, forms: CompiledForms, protector: Protector, batch: int = 500,
                progress: Callable[[int, int, uuid.UUID], None] | None = None, after: uuid.UUID | None = None,
                commit: Callable[[], None] | None = None) -> int:
    """Replays every accepted submission into its entity, as each push did; returns the number of entities rebuilt.

    Entities go in order of their id, `batch` at a time, each batch committed by `commit` before the next, so a
    rebuild holds no lock and no snapshot for long (the pull feed waits for nothing) and, stopped, goes on from the
    last id `progress` reported (`after`). The evidence is worked out again from each payload, so a rebuild also
    takes up a change of that code.
    """
    accepted = (Submission.entity_id.is_not(None), Submission.state == SubmissionState.accepted)
    query = select(Submission.entity_id).distinct().where(*accepted).order_by(Submission.entity_id)
    ids = session.scalars(query if after is None else query.where(Submission.entity_id > after)).all()
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        id_cards = _recompute_evidence(session, forms, protector, chunk)
        reconcile_entities(session, chunk, protector, id_cards)
        if commit is not None:
            commit()
        if progress is not None:
            progress(min(start + batch, len(ids)), len(ids), chunk[-1])
    return len(ids)


def _recompute_evidence(session: Session, forms: CompiledForms, protector: Protector,
                        entity_ids: list[uuid.UUID]) -> dict[str, str]:
    """The evidence of these entities' accepted submissions, from their payloads; the ID tokens met, in clear."""
    rows = session.execute(select(Submission.uuid, Submission.form_id, Submission.form_version, Submission.area_code,
                                  Submission.payload)
                           .where(Submission.entity_id.in_(entity_ids), Submission.state == SubmissionState.accepted))
    id_cards: dict[str, str] = {}
    for row in rows:
        save_map = forms.save_map(session, row.form_id, row.form_version)
        if save_map is None:
            values = None
        else:
            data = with_sealed_answers(save_map, row.payload["data"], partial(protector.open, context=row.uuid.bytes))
            values = carried(save_map, data, row.area_code, protector, id_cards)
        session.execute(Submission.__table__.update().where(Submission.uuid == row.uuid).values(evidence=values))
    return id_cards


def _known(session: Session, ids: list[uuid.UUID], with_tails: bool) -> dict[uuid.UUID, Known]:
    tail = Household.merge_tail if with_tails else null()
    rows = session.execute(select(Household.id, Household.area_code, Household.household_no, Household.registry, tail)
                           .where(Household.id.in_(ids)))
    return {row[0]: Known(*row) for row in rows}


def _tails(session: Session, households: dict[uuid.UUID, Known],
           rows_by_entity: dict[uuid.UUID, list[Any]]) -> dict[uuid.UUID, dict[str, Any]]:
    """The stored tails of the entities whose new evidence may be merged onto them."""
    tails = {entity_id: h.merge_tail for entity_id, h in households.items() if h.merge_tail is not None}
    areas = {rows[0].area_code for rows in rows_by_entity.values() if rows[0].subject_type == "village"}
    if areas:
        tails |= {village_id(area): tail for area, tail in session.execute(
            select(Village.area_code, Village.merge_tail).where(Village.area_code.in_(areas),
                                                                Village.merge_tail.is_not(None)))}
    if tails:
        new = [row.uuid for entity_id in tails for row in rows_by_entity[entity_id]]
        corrected = [row.supersedes for entity_id in tails for row in rows_by_entity[entity_id] if row.supersedes]
        for entity_id in session.scalars(_REACHING_BACK, {"entities": list(tails), "new": new, "corrected": corrected}):
            del tails[entity_id]
    return tails


def _all_evidence(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    by_entity: dict[uuid.UUID, list[Any]] = defaultdict(list)
    if not ids:
        return by_entity
    for row in session.execute(select(*_EVIDENCE).where(Submission.entity_id.in_(ids),
                                                        Submission.state == SubmissionState.accepted)):
        by_entity[row.entity_id].append(row)
    return by_entity


def _extended(writes: EntityWrites, entity_id: uuid.UUID, household: Known | None, stored: dict[str, Any],
              rows: list[Any], chosen: Iterable[Resolution]) -> bool:
    """Merges the new evidence onto the stored tail and records the rows it changes; False if only a replay can."""
    tail = Tail.of_json(stored["merge"])
    evidence = [_evidence(row) for row in rows]
    if rows[0].subject_type == "village":
        merged = extend(tail, evidence, chosen)
        if merged is not None:
            stored_conflicts = conflicts_of(tail, chosen) if merged.since == tail.generation else []
            writes.village(rows[0].area_code, merged, {"merge": merged.tail.as_json()}, stored_conflicts)
        return merged is not None
    before = _seen_of_json(stored["people"])
    seen, names = before, aliases(before)
    added = seen_people(e.carried for e in evidence)
    if any(not values <= before.get(key, {}).get(prop, set()) for key, props in added.items()
           for prop, values in props.items()):
        seen = seen_people((e.carried for e in evidence), before)
        if aliases(seen) != names:
            return False  # a member now goes by another key: every visit naming them merges anew
    merged = extend(tail, _renamed(evidence, names), chosen)
    if merged is None:
        return False
    latest = set(merged.tail.uuids)
    flags = {flag for row in rows if str(row.uuid) in latest for flag in row.risk_flags or ()}
    if merged.tail.generation == tail.generation:  # the latest generation is still the stored one, grown
        flags |= set(stored["risk_flags"])
    # Joined onto the stored generation: its conflicts as stored, so that only those the new visits changed are
    # written again (devices that all started from one version can share a hundred conflicts).
    stored_conflicts = conflicts_of(tail, chosen) if merged.since == tail.generation else []
    writes.household(entity_id, household, rows[0].area_code, merged, sorted(flags),
                     _tail_json(merged, seen, sorted(flags)), before=tail.state, conflicts=stored_conflicts)
    return True


def _replayed(writes: EntityWrites, entity_id: uuid.UUID, household: Known | None, rows: list[Any],
              chosen: Iterable[Resolution]) -> None:
    evidence = [_evidence(row) for row in rows]
    if rows[0].subject_type == "village":
        merged = merge(evidence, chosen)
        writes.village(_latest_area(rows), merged, {"merge": merged.tail.as_json()})
        return
    version, state = _baseline(household)
    seen = seen_people([state, *(e.carried for e in evidence)])
    names = aliases(seen)
    merged = merge(_renamed(evidence, names), chosen, baseline=(version, renamed(state, names) if names else state))
    flags = _risk_flags(rows, merged)
    # A household's first visit keeps no tail, sparing the first round its writing: its next visit replays one.
    tail = _tail_json(merged, seen, flags) if household is not None else None
    writes.household(entity_id, household, _latest_area(rows), merged, flags, tail, before=None)


def _baseline(household: Known | None) -> tuple[int, dict[str, Any]]:
    """Version 1 of an imported household: its registry record, in the area it was registered in."""
    if household is None or not household.registry:
        return 0, {}
    return 1, {AREA: household.area_code, **household.registry}


def _evidence(row: Any) -> Evidence:
    # In UTC, whatever offset the device or the database session gave: made_at strings are compared as text.
    made_at = row.collected_at.astimezone(UTC).isoformat() if row.collected_at is not None else ""
    return Evidence(str(row.uuid), row.device_id, row.base_version, made_at, row.evidence or {},
                    None if row.supersedes is None else str(row.supersedes))


def _renamed(evidence: list[Evidence], names: dict[str, str]) -> list[Evidence]:
    """The evidence with members named by name and birth year moved to their ID key where one is known."""
    return [replace(e, carried=renamed(e.carried, names)) for e in evidence] if names else evidence


def _tail_json(merged: Merged, seen: Seen, risk_flags: list[str]) -> dict[str, Any]:
    """What a household keeps to merge its next visit: the tail, the people seen (for same_people), its risk flags."""
    people = {key: {prop: sorted(values) for prop, values in props.items()} for key, props in seen.items()}
    return {"merge": merged.tail.as_json(), "people": people, "risk_flags": risk_flags}


def _seen_of_json(people: dict[str, dict[str, list[str]]]) -> Seen:
    return {key: {prop: set(values) for prop, values in props.items()} for key, props in people.items()}


def _history_key(entity_id: uuid.UUID, rows: list[Any]) -> tuple[str, str]:
    """How versions, conflicts and resolutions name an entity: a household by its id, a village by its area code."""
    return ("village", _latest_area(rows)) if rows[0].subject_type == "village" else ("household", str(entity_id))


def _resolutions(session: Session, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[Resolution]]:
    """Supervisors' choices, evidence like the submissions: every replay applies them in their generation."""
    chosen: dict[tuple[str, str], list[Resolution]] = defaultdict(list)
    rows = session.scalars(select(ConflictResolution).where(
        tuple_(ConflictResolution.entity_type, ConflictResolution.entity_id).in_(list(keys))))
    for row in rows:
        chosen[(row.entity_type, row.entity_id)].append(Resolution(row.property, row.base_version, row.value))
    return chosen


def _risk_flags(rows: list[Any], merged: Merged) -> list[str]:
    """The risk flags that held in the visits that made the current version: the household as last seen."""
    latest = set(merged.versions[-1].uuids) if merged.versions else set()
    return sorted({flag for row in rows if str(row.uuid) in latest for flag in row.risk_flags or ()})


def _latest_area(rows: list[Any]) -> str:
    """The area of the evidence of the highest base version (ties: the greatest uuid): where the entity is now."""
    return max(rows, key=lambda row: (row.base_version or 0, str(row.uuid))).area_code


