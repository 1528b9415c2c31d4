"""Households and villages as supervisors read them: state, members, history, conflicts, flags, cases and measures.

Personal data (the entity catalogue marks it) is masked for roles without the grant; an unmasked ID number is
decrypted only for supervisors and admins, and each such read is audited (design.md, reliability P1).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import geo
from core.errors import NotFound
from core.pii import Protector, mask_id_card
from core.scope import covers, in_scope
from server.models import (
    AssistanceMeasure,
    AuditOutcome,
    EntityConflict,
    EntityVersion,
    Flag,
    Household,
    MonitoringCase,
    MonitoringEvent,
    Person,
    Role,
    Village,
)
from server.services import audit
from server.services.auth import Principal
from survey_forms.catalogue import load_catalogue

PII_ROLES = (Role.admin, Role.supervisor)
MASK = "***"
_CATALOGUE = load_catalogue()
_PERSONAL = {entity: _CATALOGUE.personal(entity) for entity in ("household", "person", "village")}


def household_view(session: Session, viewer: Principal, household_id: uuid.UUID, protector: Protector) -> dict[str, Any]:
    """Raises:
    NotFound: no such household in the viewer's areas (the same answer for both).
    """
    household = session.get(Household, household_id)
    if household is None or not covers(viewer.scope, household.area_code):
        raise NotFound(f"No household {household_id} in your areas.")
    unmasked = viewer.role in PII_ROLES
    lat, lon = session.execute(select(*geo.latlon_columns(Household.location)).where(Household.id == household_id)).one()
    members = session.scalars(select(Person).where(Person.household_id == household_id).order_by(Person.person_key)).all()
    measures = session.scalars(select(AssistanceMeasure).where(AssistanceMeasure.household_id == household_id)
                               .order_by(AssistanceMeasure.measure_date, AssistanceMeasure.id)).all()
    view = {
        "id": household.id, "area_code": household.area_code, "household_no": household.household_no,
        "householder_name": household.householder_name if unmasked else MASK, "location": geo.latlon(lat, lon),
        "version": household.version, "risk_flags": household.risk_flags,
        "properties": _masked(household.properties, "household", unmasked),
        "members": [_member(person, protector, unmasked) for person in members],
        "history": _history(session, household_id, unmasked),
        "conflicts": _conflicts(session, "household", str(household_id), unmasked),
        "flags": [{"code": f.code, "submission_uuid": f.submission_uuid, "details": f.details, "raised_at": f.raised_at}
                  for f in session.scalars(select(Flag).where(Flag.entity_type == "household",
                                                              Flag.entity_id == str(household_id)).order_by(Flag.id))],
        "monitoring": _cases(session, household_id, measures),
        "measures_outside_cases": [m for m in measures if m.case_id is None],
    }
    if unmasked and any(person.id_card_encrypted for person in members):
        audit.record(session, "pii.read", AuditOutcome.success, actor_id=viewer.user_id, actor=viewer.username,
                     target=str(household_id), area_code=household.area_code, details={"what": "id_card_no"})
    return view


def _member(person: Person, protector: Protector, unmasked: bool) -> dict[str, Any]:
    number = protector.decrypt(person.id_card_encrypted, person.id.bytes) if person.id_card_encrypted else None
    return {
        "id": person.id, "name": person.name if unmasked else MASK, "sex": person.sex,
        "birth_date": person.birth_date if unmasked else None, "relation_to_head": person.relation_to_head,
        "id_card_no": number if unmasked else mask_id_card(number),
        "properties": _masked(person.properties, "person", unmasked),
    }


def _history(session: Session, household_id: uuid.UUID, unmasked: bool) -> list[dict[str, Any]]:
    versions = session.scalars(select(EntityVersion).where(
        EntityVersion.entity_type == "household", EntityVersion.entity_id == str(household_id))
        .order_by(EntityVersion.version))
    return [{"version": v.version, "submission_uuids": v.submission_uuids,
             "changes": {name: [_shown(name, value, unmasked) for value in change] for name, change in v.changes.items()}}
            for v in versions]


def _conflicts(session: Session, entity_type: str, entity_id: str, unmasked: bool) -> list[dict[str, Any]]:
    """The open conflicts, each resolved by choosing the uuid of a candidate or "base" (server/services/conflicts)."""
    conflicts = session.scalars(select(EntityConflict).where(
        EntityConflict.entity_type == entity_type, EntityConflict.entity_id == entity_id,
        EntityConflict.resolved.is_(False)).order_by(EntityConflict.id))
    return [{"property": c.property, "base_version": c.base_version,
             "base_value": _shown(c.property, c.base_value, unmasked, entity_type),
             "candidates": [{**candidate, "value": _shown(c.property, candidate["value"], unmasked, entity_type)}
                            for candidate in c.candidates]}
            for c in conflicts]


def _shown(name: str, value: Any, unmasked: bool, entity_type: str = "household") -> Any:
    """A value of the history as the viewer may see it; ID numbers there are only ever their keyed hash."""
    if isinstance(value, str) and value.startswith("hash:"):
        return "(ID number)"
    prop = name.rpartition("/")[2]
    entity = "person" if name.startswith("members/") else entity_type
    return value if unmasked or prop not in _PERSONAL[entity] or value is None else MASK


def _masked(properties: dict[str, Any], entity: str, unmasked: bool) -> dict[str, Any]:
    return {name: value if unmasked or name not in _PERSONAL[entity] else MASK for name, value in properties.items()}


def _cases(session: Session, household_id: uuid.UUID, measures: list[AssistanceMeasure]) -> list[dict[str, Any]]:
    cases = session.scalars(select(MonitoringCase).where(MonitoringCase.household_id == household_id)
                            .order_by(MonitoringCase.opened_at)).all()
    events = session.scalars(select(MonitoringEvent).where(MonitoringEvent.case_id.in_([c.id for c in cases]))
                             .order_by(MonitoringEvent.id)).all() if cases else []
    return [{"id": case.id, "state": case.state.value, "category": case.category, "opened_at": case.opened_at,
             "closed_at": case.closed_at,
             "events": [{"from_state": e.from_state, "to_state": e.to_state, "comment": e.comment, "at": e.at}
                        for e in events if e.case_id == case.id],
             "measures": [m for m in measures if m.case_id == case.id]} for case in cases]


def list_households(session: Session, viewer: Principal, *, area_code: str | None, flag: str | None,
                    monitoring_state: str | None, category: str | None, after: str | None,
                    limit: int) -> tuple[list[dict[str, Any]], bool]:
    """A keyset page of the households in the viewer's scope, by id; returns the page and whether more follow."""
    query = (select(Household.id, Household.area_code, Household.household_no, Household.householder_name,
                    Household.version, Household.risk_flags)
             .where(in_scope(Household.area_code, viewer.scope)).order_by(Household.id).limit(limit + 1))
    if area_code is not None:
        query = query.where(Household.area_code.startswith(area_code, autoescape=True))
    if flag is not None:
        query = query.where(Household.risk_flags.any(flag))
    if monitoring_state is not None or category is not None:
        cases = select(MonitoringCase.household_id).where(MonitoringCase.closed_at.is_(None))
        if monitoring_state is not None:
            cases = cases.where(MonitoringCase.state == monitoring_state)
        if category is not None:
            cases = cases.where(MonitoringCase.category == category)
        query = query.where(Household.id.in_(cases))
    if after is not None:
        query = query.where(Household.id > uuid.UUID(after))
    rows = session.execute(query).all()
    unmasked = viewer.role in PII_ROLES
    page = [{"id": r.id, "area_code": r.area_code, "household_no": r.household_no,
             "householder_name": r.householder_name if unmasked else MASK, "version": r.version,
             "risk_flags": r.risk_flags} for r in rows[:limit]]
    return page, len(rows) > limit


def village_view(session: Session, viewer: Principal, area_code: str) -> dict[str, Any]:
    """A village's surveyed infrastructure state and its history. Raises NotFound outside the viewer's areas."""
    village = session.get(Village, area_code)
    if village is None or not covers(viewer.scope, area_code):
        raise NotFound(f"No surveyed village {area_code} in your areas.")
    versions = session.scalars(select(EntityVersion).where(
        EntityVersion.entity_type == "village", EntityVersion.entity_id == area_code).order_by(EntityVersion.version))
    unmasked = viewer.role in PII_ROLES
    return {
        "area_code": area_code, "version": village.version, "updated_at": village.updated_at,
        "properties": _masked(village.properties, "village", unmasked),
        "history": [{"version": v.version, "submission_uuids": v.submission_uuids,
                     "changes": {k: [_shown(k, value, unmasked, "village") for value in c] for k, c in v.changes.items()}}
                    for v in versions],
        "conflicts": _conflicts(session, "village", area_code, unmasked),
    }
