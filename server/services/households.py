"""Households and villages as supervisors read them: state, members, history, conflicts, flags, cases and measures.

What a reader sees of personal data is decided by core.masking, the one policy for every path out; an unmasked ID
number is decrypted only for the grant, and each such read is audited (design.md, reliability P1).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import geo
from core.masking import MEMBER, RecordView
from core.pii import Protector
from core.scope import in_scope, one_in_scope
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
    Submission,
    Village,
)
from server.services import audit
from server.services.auth import Principal


def household_view(session: Session, viewer: Principal, household_id: uuid.UUID, protector: Protector) -> dict[str, Any]:
    """Raises:
    NotFound: no such household in the viewer's areas (the same answer for both).
    """
    household, lat, lon = one_in_scope(
        session, select(Household, *geo.latlon_columns(Household.location)).where(Household.id == household_id),
        Household.area_code, viewer.scope, f"No household {household_id} in your areas.")
    view = RecordView(viewer.role, protector.open_value)
    members = session.scalars(select(Person).where(Person.household_id == household_id).order_by(Person.person_key)).all()
    named = member_names(household_id, {person.person_key: person.id for person in members})
    measures = session.scalars(select(AssistanceMeasure).where(AssistanceMeasure.household_id == household_id)
                               .order_by(AssistanceMeasure.measure_date, AssistanceMeasure.id)).all()
    result = {
        "id": household.id, "area_code": household.area_code, "household_no": household.household_no,
        "householder_name": view.value("household", "householder_name", household.householder_name),
        "location": geo.latlon(lat, lon), "version": household.version, "risk_flags": household.risk_flags,
        "watch_flags": household.watch_flags,
        "properties": view.properties("household", household.properties),
        "members": [_member(person, protector, view) for person in members],
        "history": _history(session, "household", str(household_id), view, named),
        "conflicts": open_conflicts(session, "household", str(household_id), view, named),
        "flags": [{"code": f.code, "submission_uuid": f.submission_uuid, "details": f.details, "raised_at": f.raised_at}
                  for f in session.scalars(select(Flag).where(Flag.entity_type == "household",
                                                              Flag.entity_id == str(household_id)).order_by(Flag.id))],
        "monitoring": _cases(session, household_id, measures, view),
        "measures_outside_cases": [_measure(m, view) for m in measures if m.case_id is None],
    }
    if view.clear and any(person.id_card_encrypted for person in members):
        audit.record(session, "pii.read", AuditOutcome.success, actor_id=viewer.user_id, actor=viewer.username,
                     target=str(household_id), area_code=household.area_code, details={"what": "id_card_no"})
    return result


def member_names(household_id: uuid.UUID, person_ids: dict[str | None, uuid.UUID]) -> Callable[[str], str]:
    """How history and conflicts name a member outside the server: by the person's id, never by the key that
    reconciliation matches on (a name and birth year when no ID number is known).

    A key no person row holds any more (a member a correction renamed) gets the id reconciliation would give it.
    """
    def shown(name: str) -> str:
        if not name.startswith(MEMBER):
            return name
        key, _, prop = name[len(MEMBER):].partition("/")
        return f"{MEMBER}{person_ids.get(key) or uuid.uuid5(household_id, key)}/{prop}"

    return shown


def _member(person: Person, protector: Protector, view: RecordView) -> dict[str, Any]:
    number = protector.decrypt(person.id_card_encrypted, person.id.bytes) if person.id_card_encrypted else None
    return {
        "id": person.id, "name": view.value("person", "name", person.name), "sex": person.sex,
        "birth_date": view.value("person", "birth_date", person.birth_date), "relation_to_head": person.relation_to_head,
        "id_card_no": view.id_card(number), "properties": view.properties("person", person.properties),
    }


def _history(session: Session, entity_type: str, entity_id: str, view: RecordView,
             named: Callable[[str], str]) -> list[dict[str, Any]]:
    versions = session.scalars(select(EntityVersion).where(
        EntityVersion.entity_type == entity_type, EntityVersion.entity_id == entity_id).order_by(EntityVersion.version)).all()
    # Each version with the flags its visits raised (both tiers), as the entity had them then.
    uuids = [uuid.UUID(u) for v in versions for u in v.submission_uuids]
    raised = {str(row.uuid): [*(row.risk_flags or ()), *(row.watch_flags or ())] for row in session.execute(
        select(Submission.uuid, Submission.risk_flags, Submission.watch_flags).where(Submission.uuid.in_(uuids)))}
    return [{"version": v.version, "submission_uuids": v.submission_uuids,
             "risk_flags": sorted({flag for u in v.submission_uuids for flag in raised.get(u, ())}),
             "changes": changes_shown(v, entity_type, view, named)}
            for v in versions]


def changes_shown(version: EntityVersion, entity_type: str, view: RecordView,
                  named: Callable[[str], str]) -> dict[str, list[Any]]:
    """A version's changes ({property: [before, after]}) as the reader may see them."""
    return {named(name): [view.change(entity_type, name, value) for value in change]
            for name, change in version.changes.items()}


def open_conflicts(session: Session, entity_type: str, entity_id: str, view: RecordView, named: Callable[[str], str],
                   involving: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """The open conflicts (those a submission takes part in, when named), each resolved by choosing the uuid of a
    candidate or "base" (server/services/conflicts)."""
    query = select(EntityConflict).where(EntityConflict.entity_type == entity_type, EntityConflict.entity_id == entity_id,
                                         EntityConflict.resolved.is_(False)).order_by(EntityConflict.id)
    if involving is not None:
        query = query.where(EntityConflict.candidates.contains([{"uuid": str(involving)}]))
    return [{"id": c.id, "property": named(c.property), "base_version": c.base_version,
             "base_value": view.change(entity_type, c.property, c.base_value),
             "candidates": [{**candidate, "value": view.change(entity_type, c.property, candidate["value"])}
                            for candidate in c.candidates]}
            for c in session.scalars(query)]


def _cases(session: Session, household_id: uuid.UUID, measures: list[AssistanceMeasure],
           view: RecordView) -> list[dict[str, Any]]:
    cases = session.scalars(select(MonitoringCase).where(MonitoringCase.household_id == household_id)
                            .order_by(MonitoringCase.opened_at)).all()
    events = session.scalars(select(MonitoringEvent).where(MonitoringEvent.case_id.in_([c.id for c in cases]))
                             .order_by(MonitoringEvent.id)).all() if cases else []
    return [{"id": case.id, "state": case.state.value, "category": case.category, "risk_types": case.risk_types,
             "channel": case.channel, "opened_at": case.opened_at, "notice_started_on": case.notice_started_on,
             "notice_days": case.notice_days, "closed_at": case.closed_at,
             "events": [{"step": e.step.value, "from_state": e.from_state, "to_state": e.to_state,
                         "comment": view.text(e.comment), "step_date": e.step_date, "at": e.at,
                         "details": {**e.details, "minutes": view.text(e.details["minutes"])} if "minutes" in e.details
                         else e.details}
                        for e in events if e.case_id == case.id],
             "measures": [_measure(m, view) for m in measures if m.case_id == case.id]} for case in cases]


def _measure(measure: AssistanceMeasure, view: RecordView) -> dict[str, Any]:
    return {"measure_type": measure.measure_type, "measure_scope": measure.measure_scope,
            "measure_date": measure.measure_date, "amount_yuan": measure.amount_yuan,
            "responsible_person": view.text(measure.responsible_person), "risk_types": measure.risk_types,
            "status": measure.status.value, "submission_uuid": measure.submission_uuid,
            "recorded_at": measure.recorded_at}


def list_households(session: Session, viewer: Principal, *, area_code: str | None, flag: str | None,
                    watched: bool | None, monitoring_state: str | None, step: str | None, category: str | None,
                    after: str | None, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """A keyset page of the households in the viewer's scope, by id; returns the page and whether more follow.

    flag: a risk flag of either tier; watched: on the watch list (a watch-tier flag holds) or not;
    monitoring_state, step, category: a case of the household, open or closed, in that state, that took that step,
    of that category.
    """
    query = (select(Household.id, Household.area_code, Household.household_no, Household.householder_name,
                    Household.version, Household.risk_flags, Household.watch_flags)
             .where(in_scope(Household.area_code, viewer.scope)).order_by(Household.id).limit(limit + 1))
    if area_code is not None:
        query = query.where(Household.area_code.startswith(area_code, autoescape=True))
    if flag is not None:
        query = query.where(or_(Household.risk_flags.any(flag), Household.watch_flags.any(flag)))
    if watched is not None:
        on_list = func.cardinality(Household.watch_flags) > 0
        query = query.where(on_list if watched else ~on_list)
    if monitoring_state is not None or category is not None or step is not None:
        cases = select(MonitoringCase.household_id)
        if monitoring_state is not None:
            cases = cases.where(MonitoringCase.state == monitoring_state)
        if category is not None:
            cases = cases.where(MonitoringCase.category == category)
        if step is not None:
            cases = cases.where(MonitoringCase.id.in_(select(MonitoringEvent.case_id).where(MonitoringEvent.step == step)))
        query = query.where(Household.id.in_(cases))
    if after is not None:
        query = query.where(Household.id > uuid.UUID(after))
    rows = session.execute(query).all()
    view = RecordView(viewer.role)
    page = [{"id": r.id, "area_code": r.area_code, "household_no": r.household_no,
             "householder_name": view.value("household", "householder_name", r.householder_name), "version": r.version,
             "risk_flags": r.risk_flags, "watch_flags": r.watch_flags} for r in rows[:limit]]
    return page, len(rows) > limit


def village_view(session: Session, viewer: Principal, area_code: str, protector: Protector) -> dict[str, Any]:
    """A village's surveyed infrastructure state and its history.

    Raises:
        NotFound: no surveyed village of that code in the viewer's areas.
    """
    village = one_in_scope(session, select(Village).where(Village.area_code == area_code), Village.area_code,
                           viewer.scope, f"No surveyed village {area_code} in your areas.")
    view = RecordView(viewer.role, protector.open_value)
    return {
        "area_code": area_code, "version": village.version, "updated_at": village.updated_at,
        "risk_flags": village.risk_flags,
        "properties": view.properties("village", village.properties),
        "history": _history(session, "village", area_code, view, str),
        "conflicts": open_conflicts(session, "village", area_code, view, str),
    }
