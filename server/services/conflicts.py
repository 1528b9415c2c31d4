"""Supervisors resolve the conflicts of households and villages: a choice stored as evidence, then the entity rebuilt."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import String, and_, cast, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.errors import Forbidden, InvalidInput, NotFound
from core.masking import MEMBER
from core.pii import Protector
from core.scope import in_scope, one_in_scope
from server.models import Action, AuditOutcome, ConflictResolution, EntityConflict, Household, Person, Village, may
from server.services import audit
from server.services.auth import Principal
from server.services.households import member_names
from server.services.push import COMPILED_FORMS
from sync.evidence import village_id
from sync.reconcile import reconcile_entities

KEEP_BASE = "base"


def resolve(session: Session, actor: Principal, entity_type: str, key: str, property_name: str | None,
            base_version: int, choice: str, comment: str | None, protector: Protector) -> dict[str, Any]:
    """Resolves the conflict over `property_name` from `base_version` with `choice`: the uuid of the candidate
    submission whose value wins, or "base" to keep the value both devices started from. Without a property, every
    open conflict from that version that the choice can settle is resolved with it: a visit's calculated answers
    then come with the answer they follow from.

    The choice is kept as evidence (conflict_resolution), so every later replay and a rebuild apply it too; a second
    choice for the same conflict replaces the first. A value no device sent cannot be chosen here: a visit that
    records it is the way to bring a new value, with its GPS and its author.

    Raises:
        Forbidden: the actor is not a supervisor or admin.
        NotFound: no such household or village in the actor's areas, or no such conflict.
        InvalidInput: the choice is neither "base" nor one of the conflict's candidates.
    """
    if not may(actor.role, Action.resolve_conflicts):
        raise Forbidden("Only supervisors and admins resolve conflicts.")
    area_code, entity_id = _entity(session, actor, entity_type, key)
    conflicts = session.scalars(select(EntityConflict).where(
        EntityConflict.entity_type == entity_type, EntityConflict.entity_id == key,
        EntityConflict.base_version == base_version).order_by(EntityConflict.id)).all()
    # The caller names a member's property as the read API shows it, by the person's id (core.masking).
    named = _member_names(session, entity_type, entity_id)
    if property_name is not None:
        conflict = next((c for c in conflicts if named(c.property) == property_name), None)
        if conflict is None:
            raise NotFound(f"No conflict over {property_name!r} from version {base_version} on this {entity_type}.")
        chosen = {conflict.property: _chosen_value(conflict, choice)}
    else:
        chosen = {c.property: _chosen_value(c, choice) for c in conflicts if not c.resolved and _settles(c, choice)}
        if not chosen:
            raise NotFound(f"No open conflict from version {base_version} on this {entity_type} that {choice!r} settles.")
    statement = insert(ConflictResolution).values([
        {"entity_type": entity_type, "entity_id": key, "property": name, "base_version": base_version, "value": value,
         "resolved_by": actor.user_id, "comment": comment} for name, value in sorted(chosen.items())])
    session.execute(statement.on_conflict_do_update(
        index_elements=["entity_type", "entity_id", "property", "base_version"],
        set_={"value": statement.excluded.value, "resolved_by": actor.user_id, "comment": comment}))
    reconcile_entities(session, [entity_id], protector, {}, COMPILED_FORMS)
    # Read from the table: reconciliation wrote with Core statements, past the objects this session holds.
    version = session.scalar(select(Household.version).where(Household.id == entity_id) if entity_type == "household"
                             else select(Village.version).where(Village.area_code == key))
    audit.record(session, "conflict.resolve", AuditOutcome.success, actor_id=actor.user_id, actor=actor.username,
                 target=f"{entity_type}:{key}", area_code=area_code,
                 details={"properties": sorted(map(named, chosen)), "base_version": base_version, "choice": choice})
    return {"entity_type": entity_type, "entity_id": key, "properties": sorted(map(named, chosen)),
            "base_version": base_version, "choice": choice, "version": version}


def _member_names(session: Session, entity_type: str, entity_id: uuid.UUID) -> Callable[[str], str]:
    if entity_type != "household":
        return str
    people = session.execute(select(Person.person_key, Person.id).where(Person.household_id == entity_id)).all()
    return member_names(entity_id, {key: person_id for key, person_id in people})


def _entity(session: Session, actor: Principal, entity_type: str, key: str) -> tuple[str, uuid.UUID]:
    """The entity's area code and its id in reconciliation; NotFound outside the actor's areas."""
    if entity_type == "household":
        return tuple(one_in_scope(session, select(Household.area_code, Household.id).where(Household.id == uuid.UUID(key)),
                                  Household.area_code, actor.scope, f"No household {key} in your areas."))
    one_in_scope(session, select(Village.area_code).where(Village.area_code == key), Village.area_code, actor.scope,
                 f"No surveyed village {key} in your areas.")
    return key, village_id(key)


def _settles(conflict: EntityConflict, choice: str) -> bool:
    return choice == KEEP_BASE or any(candidate["uuid"] == choice for candidate in conflict.candidates)


def _chosen_value(conflict: EntityConflict, choice: str) -> Any:
    if choice == KEEP_BASE:
        return conflict.base_value
    for candidate in conflict.candidates:
        if candidate["uuid"] == choice:
            return candidate["value"]
    uuids = ", ".join(c["uuid"] for c in conflict.candidates)
    raise InvalidInput(f"Choose {KEEP_BASE!r} or the uuid of one of the candidate submissions: {uuids}.",
                       details={"candidates": [c["uuid"] for c in conflict.candidates]})


def _open(viewer: Principal, area_code: str | None) -> tuple[list[Any], list[Any]]:
    """The clauses of the reader's open conflicts (of households, joined to them; of villages), in its areas or the
    one area it narrowed to: the list and the dashboard's count read the same ones."""
    households = [~EntityConflict.resolved, in_scope(Household.area_code, viewer.scope)]
    villages = [~EntityConflict.resolved, EntityConflict.entity_type == "village",
                in_scope(EntityConflict.entity_id, viewer.scope)]
    if area_code:
        households.append(in_scope(Household.area_code, (area_code,)))
        villages.append(in_scope(EntityConflict.entity_id, (area_code,)))
    return households, villages


_OF_HOUSEHOLD = and_(EntityConflict.entity_type == "household", EntityConflict.entity_id == cast(Household.id, String))


def count_open(session: Session, viewer: Principal, area_code: str | None) -> int:
    households, villages = _open(viewer, area_code)
    return (session.scalar(select(func.count()).select_from(EntityConflict).join(Household, _OF_HOUSEHOLD)
                           .where(*households)) or 0) + \
        (session.scalar(select(func.count()).select_from(EntityConflict).where(*villages)) or 0)


def open_in_scope(session: Session, viewer: Principal, area_code: str | None, limit: int) -> list[dict[str, Any]]:
    """The open conflicts of the reader's households and villages, oldest first: which entity, which property, how
    many versions compete. Their values are read, masked by role, on the entity's own page, where they are resolved."""
    households, villages = _open(viewer, area_code)
    rows = [*session.execute(select(EntityConflict, Household.area_code, Household.household_no)
                             .join(Household, _OF_HOUSEHOLD).where(*households).order_by(EntityConflict.id).limit(limit)),
            *((conflict, conflict.entity_id, None) for conflict in session.scalars(
                select(EntityConflict).where(*villages).order_by(EntityConflict.id).limit(limit)))]
    rows.sort(key=lambda row: row[0].id)
    return [{"id": conflict.id, "entity_type": conflict.entity_type, "entity_id": conflict.entity_id,
             "property": _shown(conflict.property), "base_version": conflict.base_version, "area_code": area,
             "household_no": number, "candidates": len(conflict.candidates)} for conflict, area, number in rows[:limit]]


def _shown(name: str) -> str:
    """A member's property without the key reconciliation matches the member by (a name and birth year when no ID
    number is known): the list names only the property; the household's page names the person by id."""
    if not name.startswith(MEMBER):
        return name
    return f"{MEMBER}…/{name.rpartition('/')[2]}"
