"""Reconciliation: each touched entity's evidence replayed (sync.merge) into its current state, versions and conflicts.

Incremental reconciliation and a full rebuild are the same code: an entity is always rebuilt from its baseline and
every accepted submission about it, so the two cannot drift apart and arrival order cannot matter. The evidence
of each submission was worked out once, at ingest (submission.evidence); a push's entities are written with a
few statements for the whole batch.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy import case, delete, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core import geo
from core.pii import Protector
from server.models import (
    ConflictResolution,
    EntityConflict,
    EntityVersion,
    Household,
    Person,
    Submission,
    SubmissionState,
    Village,
)
from sync.compiled_forms import CompiledForms
from sync.evidence import AREA, MEMBER, carried, renamed, same_people, with_sealed_answers
from sync.merge import Evidence, Merged, Resolution, merge

# Person properties that are columns of their own; the rest stay in person.properties.
PERSON_COLUMNS = ("name", "sex", "birth_date", "relation_to_head")
ID_CARD = "id_card_no"
_DROP_PEOPLE = text("""
DELETE FROM person AS p WHERE p.household_id = ANY(CAST(:households AS uuid[])) AND NOT EXISTS (
    SELECT 1 FROM unnest(CAST(:kept_households AS uuid[]), CAST(:kept_keys AS text[])) AS kept (household_id, person_key)
    WHERE kept.household_id = p.household_id AND kept.person_key = p.person_key)
""")
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) FROM unnest(CAST(:keys AS text[])) AS key "
             "ORDER BY key")


def reconcile_submissions(session: Session, submission_uuids: list[uuid.UUID], protector: Protector,
                          id_cards: dict[str, str]) -> list[uuid.UUID]:
    """Rebuilds every entity these submissions are about; returns their ids.

    id_cards: clear text of the ID tokens these submissions brought, for the encrypted column.
    """
    if not submission_uuids:
        return []
    entity_ids = list(session.scalars(select(Submission.entity_id).distinct().where(
        Submission.uuid.in_(submission_uuids), Submission.entity_id.is_not(None))))
    reconcile_entities(session, entity_ids, protector, id_cards)
    return entity_ids


def reconcile_entities(session: Session, entity_ids: Iterable[uuid.UUID], protector: Protector,
                       id_cards: dict[str, str]) -> int:
    ids = sorted(set(entity_ids))
    if not ids:
        return 0
    # One transaction at a time per entity, locked in one order (no deadlock): the second of two concurrent pushes
    # about a household waits, then reads the first one's submission too.
    session.execute(_LOCK, {"keys": [str(i) for i in ids]})
    rows = session.execute(
        select(Submission.entity_id, Submission.uuid, Submission.subject_type, Submission.area_code,
               Submission.device_id, Submission.base_version, Submission.collected_at, Submission.supersedes,
               Submission.evidence, Submission.risk_flags)
        .where(Submission.entity_id.in_(ids), Submission.state == SubmissionState.accepted)).all()
    by_entity: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in rows:
        by_entity[row.entity_id].append(row)
    households = {h.id: h for h in session.scalars(select(Household).where(Household.id.in_(by_entity)))}
    keys = {entity_id: _history_key(entity_id, evidence_rows) for entity_id, evidence_rows in by_entity.items()}
    resolutions = _resolutions(session, keys.values())
    writer = _Writer(protector, id_cards)
    for entity_id, evidence_rows in by_entity.items():
        evidence = [_evidence(row) for row in evidence_rows]
        chosen = resolutions.get(keys[entity_id], ())
        if evidence_rows[0].subject_type == "village":
            writer.village(_latest_area(evidence_rows), merge(evidence, chosen))
        else:
            household = households.get(entity_id)
            baseline = _baseline(household)
            evidence, baseline = _one_key_per_person(evidence, baseline)
            merged = merge(evidence, chosen, baseline=baseline)
            writer.household(entity_id, household, _latest_area(evidence_rows), merged, _risk_flags(evidence_rows, merged))
    writer.flush(session)
    return len(by_entity)


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


def _baseline(household: Household | None) -> tuple[int, dict[str, Any]]:
    """Version 1 of an imported household: its registry record, in the area it was registered in."""
    if household is None or not household.registry:
        return 0, {}
    return 1, {AREA: household.area_code, **household.registry}


def _evidence(row: Any) -> Evidence:
    made_at = row.collected_at.isoformat() if row.collected_at is not None else ""
    return Evidence(str(row.uuid), row.device_id, row.base_version, made_at, row.evidence or {},
                    None if row.supersedes is None else str(row.supersedes))


def _one_key_per_person(evidence: list[Evidence], baseline: tuple[int, dict[str, Any]]) -> tuple[
        list[Evidence], tuple[int, dict[str, Any]]]:
    """The evidence with members named by name and birth year moved to their ID key where one is known."""
    aliases = same_people([baseline[1], *(e.carried for e in evidence)])
    if not aliases:
        return evidence, baseline
    return ([replace(e, carried=renamed(e.carried, aliases)) for e in evidence],
            (baseline[0], renamed(baseline[1], aliases)))


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


class _Writer:
    """Collects the rows of every rebuilt entity of a batch, then writes each table with one or two statements."""

    def __init__(self, protector: Protector, id_cards: dict[str, str]):
        self.protector, self.id_cards = protector, id_cards
        self.households: list[dict[str, Any]] = []
        self.people: list[dict[str, Any]] = []
        self.villages: list[dict[str, Any]] = []
        self.histories: list[tuple[str, str, Merged]] = []
        self.new_entities: set[tuple[str, str]] = set()  # no versions or conflicts stored yet: nothing to replace

    def household(self, household_id: uuid.UUID, existing: Household | None, area_code: str, merged: Merged,
                  risk_flags: list[str]) -> None:
        own = {name: value for name, value in merged.state.items() if not name.startswith(MEMBER)}
        location = own.get("location")
        area_code = own.pop(AREA, None) or (existing.area_code if existing is not None else area_code)
        self.households.append({
            "id": household_id, "area_code": area_code,
            "household_no": own.get("national_household_no") or (existing.household_no if existing is not None else None),
            "householder_name": own.get("householder_name"),
            "location": geo.point(location["lat"], location["lon"]) if isinstance(location, dict) else None,
            # ID numbers never in clear here: forms pre-fill them from the person, not from these properties.
            "properties": {name: value for name, value in own.items() if not str(value).startswith("hash:")},
            "version": merged.version, "risk_flags": risk_flags,
        })
        self._people(household_id, area_code[:6], merged)
        self.histories.append(("household", str(household_id), merged))
        if existing is None:
            self.new_entities.add(("household", str(household_id)))

    def village(self, area_code: str, merged: Merged) -> None:
        self.villages.append({"area_code": area_code, "properties": merged.state, "version": merged.version})
        self.histories.append(("village", area_code, merged))

    def _people(self, household_id: uuid.UUID, county_code: str, merged: Merged) -> None:
        people: dict[str, dict[str, Any]] = defaultdict(dict)
        for name, value in merged.state.items():
            if name.startswith(MEMBER):
                key, _, prop = name[len(MEMBER):].partition("/")
                people[key][prop] = value
        for key, props in sorted(people.items()):
            person_id = uuid.uuid5(household_id, key)
            token = props.get(ID_CARD)
            clear = self.id_cards.get(token) if token else None
            self.people.append({
                "id": person_id, "household_id": household_id, "county_code": county_code, "person_key": key,
                "name": props.get("name") or "", "sex": props.get("sex"), "birth_date": _date(props.get("birth_date")),
                "relation_to_head": props.get("relation_to_head"),
                "properties": {p: v for p, v in props.items() if p not in PERSON_COLUMNS and p != ID_CARD},
                "id_card_hash": bytes.fromhex(token[5:]) if token else None,
                "id_card_encrypted": self.protector.encrypt(clear, person_id.bytes) if clear else None,
            })

    def flush(self, session: Session) -> None:
        # Core statements run with a list of rows: compiled once, sent as one pipelined batch (executemany).
        if self.households:
            statement = insert(Household.__table__)
            session.execute(statement.on_conflict_do_update(index_elements=["id"], set_={
                name: statement.excluded[name] for name in ("area_code", "household_no", "householder_name", "location",
                                                            "properties", "version", "risk_flags")}), self.households)
        known = [uuid.UUID(i) for t, i, _ in self.histories if t == "household" and (t, i) not in self.new_entities]
        if known:
            # A member gone from the state (only a superseded visit named them, or they now go by their ID key) loses
            # its row; rows are matched by person_key, so the people a registry import made keep their ids.
            session.execute(_DROP_PEOPLE, {"households": known, "kept_households": [p["household_id"] for p in self.people],
                                           "kept_keys": [p["person_key"] for p in self.people]})
        if self.people:
            statement = insert(Person.__table__)
            excluded, existing = statement.excluded, Person.__table__.c
            session.execute(statement.on_conflict_do_update(index_elements=["household_id", "person_key"], set_={
                **{name: excluded[name] for name in (*PERSON_COLUMNS, "county_code", "properties", "id_card_hash")},
                # A replay without the clear text at hand keeps what was encrypted when the number arrived. A row found
                # by its key under another id (its key renamed in place by a PII key rotation, sync/rekey.py) keeps
                # its own: the number is bound to the row's id, and this one was encrypted for the id a new row gets.
                "id_card_encrypted": case((existing.id == excluded.id, func.coalesce(excluded.id_card_encrypted,
                                                                                    existing.id_card_encrypted)),
                                          else_=existing.id_card_encrypted)}),
                self.people)
        if self.villages:
            statement = insert(Village.__table__)
            session.execute(statement.on_conflict_do_update(index_elements=["area_code"], set_={
                "properties": statement.excluded.properties, "version": statement.excluded.version,
                "updated_at": func.now()}), self.villages)
        self._history(session)

    def _history(self, session: Session) -> None:
        if not self.histories:
            return
        keys = [(t, i) for t, i, _ in self.histories if (t, i) not in self.new_entities]
        for model in (EntityVersion, EntityConflict) if keys else ():
            session.execute(delete(model).where(tuple_(model.entity_type, model.entity_id).in_(keys)))
        versions = [{"entity_type": t, "entity_id": i, "version": v.number, "submission_uuids": list(v.uuids),
                     "changes": v.changes}  # (before, after) pairs: JSON arrays
                    for t, i, merged in self.histories for v in merged.versions]
        conflicts = [{"entity_type": t, "entity_id": i, "property": c.property, "base_version": c.generation,
                      "base_value": c.base_value, "resolved": c.resolved,
                      "candidates": [{"device_id": x.device_id, "value": x.value, "uuid": x.uuid} for x in c.candidates]}
                     for t, i, merged in self.histories for c in merged.conflicts]
        if versions:
            session.execute(insert(EntityVersion.__table__), versions)
        if conflicts:
            session.execute(insert(EntityConflict.__table__), conflicts)


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
