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
from survey_forms.risk_tiers import NO_FLAGS, RaisedFlags
from sync import monitoring
from sync.compiled_forms import CompiledForms
from sync.entity_writes import PERSON_COLUMNS, EntityWrites, Known  # noqa: F401 (PERSON_COLUMNS: sync.pull reads it here)
from sync.evidence import AREA, Seen, aliases, carried, renamed, seen_people, village_id, with_sealed_answers
from sync.ingest import Accepted
from sync.merge import Evidence, Merged, Resolution, Tail, conflicts_of, extend, merge
from sync.yearly_parameters import Lookup

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) FROM unnest(CAST(:keys AS text[])) AS key "
             "ORDER BY key")
_EVIDENCE = (Submission.entity_id, Submission.uuid, Submission.subject_type, Submission.area_code, Submission.device_id,
             Submission.base_version, Submission.collected_at, Submission.supersedes, Submission.evidence,
             Submission.risk_flags, Submission.watch_flags, Submission.form_id, Submission.form_version)
# The case-tier flag reconciliation raises itself: income per head fell sharply against the version before.
INCOME_DROP = "income_drop"
# Entities where a new submission corrects one merged before, or one merged before corrects a new one (it arrived
# after its correction): either reaches back into the history, which only a replay rewrites.
_REACHING_BACK = text("""
SELECT DISTINCT s.entity_id FROM submission AS s
WHERE s.entity_id = ANY(CAST(:entities AS uuid[])) AND s.state = 'accepted' AND s.uuid <> ALL(CAST(:new AS uuid[]))
  AND (s.uuid = ANY(CAST(:corrected AS uuid[])) OR s.supersedes = ANY(CAST(:new AS uuid[])))
""")


def reconcile_submissions(session: Session, accepted: Sequence[Accepted], protector: Protector,
                          id_cards: dict[str, str], forms: CompiledForms) -> list[uuid.UUID]:
    """Merges these newly accepted submissions into the entities they are about; returns those entities' ids.

    id_cards: clear text of the ID tokens these submissions brought, for the encrypted column.
    """
    rows = [row for row in accepted if row.entity_id is not None]
    entity_ids = sorted({row.entity_id for row in rows})
    if entity_ids:
        _reconcile(session, entity_ids, protector, id_cards, forms, rows)
    return entity_ids


def reconcile_entities(session: Session, entity_ids: Iterable[uuid.UUID], protector: Protector,
                       id_cards: dict[str, str], forms: CompiledForms) -> int:
    """Rebuilds these entities from their baseline and every accepted submission about them; returns how many had any."""
    ids = sorted(set(entity_ids))
    return _reconcile(session, ids, protector, id_cards, forms, None) if ids else 0


def _reconcile(session: Session, ids: list[uuid.UUID], protector: Protector, id_cards: dict[str, str],
               forms: CompiledForms, new_rows: Sequence[Any] | None) -> int:
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
    drop = partial(_drop_percent, session, forms)
    extended = {entity_id for entity_id, tail in tails.items()
                if _extended(writes, entity_id, households.get(entity_id), tail, rows_by_entity[entity_id],
                             resolutions.get(keys[entity_id], ()), drop)}
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
        _replayed(writes, entity_id, households.get(entity_id), rows, resolutions.get(keys[entity_id], ()), drop)
    writes.flush(session)
    return len(extended) + len(replayed)


def rebuild_all(session: Session, forms: CompiledForms, protector: Protector, batch: int = 500,
                progress: Callable[[int, int, uuid.UUID], None] | None = None, after: uuid.UUID | None = None,
                commit: Callable[[], None] | None = None) -> int:
    """Replays every accepted submission into its entity, as each push did; returns the number of entities rebuilt.

    Entities go in order of their id, `batch` at a time, each batch committed by `commit` before the next, so a
    rebuild holds no lock and no snapshot for long (the pull feed waits for nothing) and, stopped, goes on from the
    last id `progress` reported (`after`). The evidence and risk flags are worked out again from each payload, so a
    rebuild also takes up a change of that code (and splits flags stored before their tiers).
    """
    accepted = (Submission.entity_id.is_not(None), Submission.state == SubmissionState.accepted)
    query = select(Submission.entity_id).distinct().where(*accepted).order_by(Submission.entity_id)
    ids = session.scalars(query if after is None else query.where(Submission.entity_id > after)).all()
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        id_cards = _recompute_evidence(session, forms, protector, chunk)
        reconcile_entities(session, chunk, protector, id_cards, forms)
        monitoring.attach_measures(session, chunk)  # each visit's measures on the case its time falls in
        if commit is not None:
            commit()
        if progress is not None:
            progress(min(start + batch, len(ids)), len(ids), chunk[-1])
    return len(ids)


def _recompute_evidence(session: Session, forms: CompiledForms, protector: Protector,
                        entity_ids: list[uuid.UUID]) -> dict[str, str]:
    """The evidence and risk flags of these entities' accepted submissions, from their payloads; the ID tokens met,
    in clear."""
    rows = session.execute(select(Submission.uuid, Submission.form_id, Submission.form_version, Submission.area_code,
                                  Submission.collected_at, Submission.payload)
                           .where(Submission.entity_id.in_(entity_ids), Submission.state == SubmissionState.accepted))
    id_cards: dict[str, str] = {}
    yearly = Lookup(session)
    for row in rows:
        save_map = forms.save_map(session, row.form_id, row.form_version)
        if save_map is None:
            values, flags = None, NO_FLAGS
        else:
            data = with_sealed_answers(save_map, row.payload["data"], partial(protector.open, context=row.uuid.bytes))
            collected = row.collected_at.date() if row.collected_at else None
            assessment = forms.get(session, row.form_id, row.form_version).assess(
                data, yearly.overrides(row.area_code, data, collected))
            values = carried(save_map, data, row.area_code, protector, id_cards, assessment.irrelevant)
            flags = assessment.flags
        session.execute(Submission.__table__.update().where(Submission.uuid == row.uuid).values(
            evidence=values, risk_flags=flags.risk, watch_flags=flags.watch))
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
              rows: list[Any], chosen: Iterable[Resolution], drop: Callable[[list[Any]], float | None]) -> bool:
    """Merges the new evidence onto the stored tail and records the rows it changes; False if only a replay can."""
    tail = Tail.of_json(stored["merge"])
    evidence = [_evidence(row) for row in rows]
    if rows[0].subject_type == "village":
        merged = extend(tail, evidence, chosen)
        if merged is not None:
            stored_conflicts = conflicts_of(tail, chosen) if merged.since == tail.generation else []
            grown = merged.tail.generation == tail.generation
            flags = _village_flags(rows, set(merged.tail.uuids), stored.get("risk_flags", []) if grown else [])
            writes.village(rows[0].area_code, merged, {"merge": merged.tail.as_json(), "risk_flags": flags}, flags,
                           stored_conflicts)
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
    # The latest generation still the stored one, grown: its flags as stored hold too (tails kept before the watch
    # tier have no watch_flags).
    grown = merged.tail.generation == tail.generation
    flags = _flags_of(rows, set(merged.tail.uuids), RaisedFlags(stored["risk_flags"], stored.get("watch_flags", []))
                      if grown else NO_FLAGS, _income_dropped(merged, drop(rows)))
    # Joined onto the stored generation: its conflicts as stored, so that only those the new visits changed are
    # written again (devices that all started from one version can share a hundred conflicts).
    stored_conflicts = conflicts_of(tail, chosen) if merged.since == tail.generation else []
    writes.household(entity_id, household, rows[0].area_code, merged, flags, _tail_json(merged, seen, flags),
                     before=tail.state, conflicts=stored_conflicts)
    return True


def _replayed(writes: EntityWrites, entity_id: uuid.UUID, household: Known | None, rows: list[Any],
              chosen: Iterable[Resolution], drop: Callable[[list[Any]], float | None]) -> None:
    evidence = [_evidence(row) for row in rows]
    if rows[0].subject_type == "village":
        merged = merge(evidence, chosen)
        flags = _village_flags(rows, set(merged.versions[-1].uuids) if merged.versions else set())
        writes.village(_latest_area(rows), merged, {"merge": merged.tail.as_json(), "risk_flags": flags}, flags)
        return
    version, state = _baseline(household)
    seen = seen_people([state, *(e.carried for e in evidence)])
    names = aliases(seen)
    merged = merge(_renamed(evidence, names), chosen, baseline=(version, renamed(state, names) if names else state))
    flags = _flags_of(rows, set(merged.versions[-1].uuids) if merged.versions else set(),
                      dropped=_income_dropped(merged, drop(rows)))
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


def _tail_json(merged: Merged, seen: Seen, flags: RaisedFlags) -> dict[str, Any]:
    """What a household keeps to merge its next visit: the tail, the people seen (for same_people), its flags."""
    people = {key: {prop: sorted(values) for prop, values in props.items()} for key, props in seen.items()}
    return {"merge": merged.tail.as_json(), "people": people, "risk_flags": flags.risk, "watch_flags": flags.watch}


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


def _flags_of(rows: list[Any], latest: set[str], also: RaisedFlags = NO_FLAGS, dropped: bool = False) -> RaisedFlags:
    """The flags that held in the `latest` visits (those that made the current version: the household as last
    seen), with `also`, by tier; and income_drop when the current version's income fell sharply (`dropped`)."""
    made = [row for row in rows if str(row.uuid) in latest]
    risk = {*also.risk, *(flag for row in made for flag in row.risk_flags or ())} | ({INCOME_DROP} if dropped else set())
    return RaisedFlags(sorted(risk), sorted({*also.watch, *(flag for row in made for flag in row.watch_flags or ())}))


def _village_flags(rows: list[Any], latest: set[str], also: Iterable[str] = ()) -> list[str]:
    """A village's flags (domain.md 4.3) as its latest visits raised them: no case opens on a village, so the tiers are
    one list."""
    flags = _flags_of(rows, latest, RaisedFlags(list(also), []))
    return sorted({*flags.risk, *flags.watch})


def _income_dropped(merged: Merged, percent: float | None) -> bool:
    """Income per head fell by more than `percent` in the current version against the version before it (domain.md
    3.15 income_drop: "per-capita income fell > X% vs last visit")."""
    change = merged.versions[-1].changes.get("income_per_capita") if merged.versions else None
    if percent is None or change is None:
        return False
    before, after = change
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (before, after))
    return numbers and before > 0 and after < before * (1 - percent / 100)


def _drop_percent(session: Session, forms: CompiledForms, rows: list[Any]) -> float | None:
    """The income_drop_percent parameter of the form of the entity's latest visit, if that form has one."""
    latest = max(rows, key=lambda row: (row.base_version or 0, str(row.uuid)))
    form = forms.get(session, latest.form_id, latest.form_version) if latest.form_id else None
    value = form.parameters.get("income_drop_percent") if form is not None else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _latest_area(rows: list[Any]) -> str:
    """The area of the evidence of the highest base version (ties: the greatest uuid): where the entity is now."""
    return max(rows, key=lambda row: (row.base_version or 0, str(row.uuid))).area_code


