"""Reconciliation: each touched entity's evidence replayed (sync.merge) into its current state, versions and conflicts.

Incremental reconciliation and a full rebuild are the same code: an entity is always rebuilt from its baseline and
every accepted submission about it, so the two cannot drift apart and arrival order cannot matter.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.models import EntityConflict, EntityVersion, Household, Person, Submission, SubmissionState, Village
from sync import geo
from sync.compiled_forms import CompiledForms
from sync.evidence import MEMBER, Extracted, extract
from sync.merge import Merged, merge
from sync.pii import Protector

# Person properties that are columns of their own; the rest stay in person.properties.
PERSON_COLUMNS = ("name", "sex", "birth_date", "relation_to_head")
ID_CARD = "id_card_no"


def reconcile_submissions(session: Session, submission_uuids: Iterable[uuid.UUID], forms: CompiledForms,
                          protector: Protector) -> int:
    """Rebuilds every entity these submissions are about; returns how many entities."""
    uuids = list(submission_uuids)
    if not uuids:
        return 0
    entity_ids = session.scalars(select(Submission.entity_id).distinct().where(
        Submission.uuid.in_(uuids), Submission.entity_id.is_not(None))).all()
    return reconcile_entities(session, entity_ids, forms, protector)


def reconcile_entities(session: Session, entity_ids: Iterable[uuid.UUID], forms: CompiledForms,
                       protector: Protector) -> int:
    ids = sorted(set(entity_ids))
    # One transaction at a time per entity, in a fixed order (no deadlock): the second of two concurrent pushes
    # about a household waits, then reads the first one's submission too.
    for entity_id in ids:
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": str(entity_id)})
    rows = session.execute(
        select(Submission.entity_id, Submission.subject_type, Submission.area_code, Submission.form_id,
               Submission.form_version, Submission.device_id, Submission.payload)
        .where(Submission.entity_id.in_(ids), Submission.state == SubmissionState.accepted)).all()
    by_entity: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in rows:
        by_entity[row.entity_id].append(row)
    for entity_id, evidence_rows in by_entity.items():
        extracted = [_extract(session, forms, row, protector) for row in evidence_rows]
        extracted = [e for e in extracted if e is not None]
        if evidence_rows[0].subject_type == "village":
            _rebuild_village(session, _latest_area(evidence_rows), extracted)
        else:
            _rebuild_household(session, entity_id, _latest_area(evidence_rows), extracted, protector)
    return len(by_entity)


def rebuild_all(session: Session, forms: CompiledForms, protector: Protector, batch: int = 500,
                progress: Callable[[int, int], None] | None = None) -> int:
    """Replays every accepted submission into its entity, as incremental reconciliation did; returns the entities."""
    ids = session.scalars(select(Submission.entity_id).distinct().where(
        Submission.entity_id.is_not(None), Submission.state == SubmissionState.accepted).order_by(Submission.entity_id)).all()
    for start in range(0, len(ids), batch):
        reconcile_entities(session, ids[start:start + batch], forms, protector)
        if progress is not None:
            progress(min(start + batch, len(ids)), len(ids))
    return len(ids)


def _extract(session: Session, forms: CompiledForms, row: Any, protector: Protector) -> Extracted | None:
    save_map = forms.save_map(session, row.form_id, row.form_version)
    return None if save_map is None else extract(save_map, row.payload, row.device_id, protector)


def _latest_area(rows: list[Any]) -> str:
    """The area of the evidence of the highest base version (ties: the greatest uuid): where the entity is now."""
    latest = max(rows, key=lambda row: (row.payload.get("base_version") or 0, row.payload["uuid"]))
    return latest.area_code


def _rebuild_household(session: Session, household_id: uuid.UUID, area_code: str, extracted: list[Extracted],
                       protector: Protector) -> None:
    household = session.get(Household, household_id)
    baseline = (1, household.registry) if household is not None and household.registry else (0, {})
    merged = merge([e.evidence for e in extracted], baseline=baseline)
    own = {name: value for name, value in merged.state.items() if not name.startswith(MEMBER)}
    location = own.get("location")
    values = {
        "id": household_id, "area_code": household.area_code if household is not None else area_code,
        "household_no": own.get("national_household_no") or (household.household_no if household is not None else None),
        "householder_name": own.get("householder_name"),
        "location": geo.point(location["lat"], location["lon"]) if isinstance(location, dict) else None,
        # ID numbers never in clear here: the form pre-fills them from the person, not from these properties.
        "properties": {name: value for name, value in own.items() if not str(value).startswith("hash:")},
        "version": merged.version,
    }
    statement = insert(Household).values(**values)
    session.execute(statement.on_conflict_do_update(index_elements=["id"], set_={
        name: statement.excluded[name] for name in ("household_no", "householder_name", "location", "properties",
                                                    "version")}))
    _rebuild_people(session, household_id, values["area_code"][:6], merged, extracted, protector)
    _rebuild_history(session, "household", str(household_id), merged)


def _rebuild_people(session: Session, household_id: uuid.UUID, county_code: str, merged: Merged,
                    extracted: list[Extracted], protector: Protector) -> None:
    people: dict[str, dict[str, Any]] = defaultdict(dict)
    for name, value in merged.state.items():
        if name.startswith(MEMBER):
            key, _, prop = name[len(MEMBER):].partition("/")
            people[key][prop] = value
    clear = {token: plain for e in extracted for token, plain in e.id_cards.items()}
    rows = []
    for key, props in sorted(people.items()):
        person_id = uuid.uuid5(household_id, key)
        token = props.get(ID_CARD)
        rows.append({
            "id": person_id, "household_id": household_id, "county_code": county_code, "person_key": key,
            "name": props.get("name") or "", "sex": props.get("sex"), "birth_date": _date(props.get("birth_date")),
            "relation_to_head": props.get("relation_to_head"),
            "properties": {p: v for p, v in props.items() if p not in PERSON_COLUMNS and p != ID_CARD},
            "id_card_hash": bytes.fromhex(token[5:]) if token else None,
            "id_card_encrypted": protector.encrypt(clear[token], person_id.bytes) if token in clear else None,
        })
    if not rows:
        return
    statement = insert(Person).values(rows)
    session.execute(statement.on_conflict_do_update(
        index_elements=["household_id", "person_key"],
        set_={name: statement.excluded[name] for name in (*PERSON_COLUMNS, "properties", "id_card_hash",
                                                          "id_card_encrypted")}))


def _rebuild_village(session: Session, area_code: str, extracted: list[Extracted]) -> None:
    merged = merge([e.evidence for e in extracted])
    statement = insert(Village).values(area_code=area_code, properties=merged.state, version=merged.version)
    session.execute(statement.on_conflict_do_update(index_elements=["area_code"], set_={
        "properties": statement.excluded.properties, "version": statement.excluded.version, "updated_at": func.now()}))
    _rebuild_history(session, "village", area_code, merged)


def _rebuild_history(session: Session, entity_type: str, entity_id: str, merged: Merged) -> None:
    session.execute(delete(EntityVersion).where(EntityVersion.entity_type == entity_type,
                                                EntityVersion.entity_id == entity_id))
    session.execute(delete(EntityConflict).where(EntityConflict.entity_type == entity_type,
                                                 EntityConflict.entity_id == entity_id))
    if merged.versions:
        session.execute(insert(EntityVersion), [
            {"entity_type": entity_type, "entity_id": entity_id, "version": version.number,
             "submission_uuids": list(version.uuids), "changes": {k: list(v) for k, v in version.changes.items()}}
            for version in merged.versions])
    if merged.conflicts:
        session.execute(insert(EntityConflict), [
            {"entity_type": entity_type, "entity_id": entity_id, "property": conflict.property,
             "base_version": conflict.generation, "base_value": conflict.base_value, "resolved": conflict.resolved,
             "candidates": [{"device_id": c.device_id, "value": c.value, "uuid": c.uuid} for c in conflict.candidates]}
            for conflict in merged.conflicts])


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
