"""Assignments: a supervisor or admin tells an enumerator which area or household to visit with which form."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from core.errors import Forbidden, InvalidInput, NotFound
from core.scope import covers, in_scope, one_in_scope
from server.models import (
    Action,
    Area,
    Assignment,
    AssignmentState,
    AuditOutcome,
    FormVersion,
    Household,
    User,
    UserArea,
    may,
)
from server.services import audit
from server.services.auth import Principal


@dataclass(frozen=True)
class NewAssignment:
    assignee: str  # username
    area_code: str | None
    household_id: uuid.UUID | None
    form_id: str
    round: str
    due_date: date | None


def create(session: Session, actor: Principal, new: NewAssignment) -> Assignment:
    """Stores an open assignment, which reaches the assignee's device on its next pull.

    A household assignment takes the household's area. The area must be in both the actor's and the assignee's
    scope: the actor cannot hand out work outside its own areas, and the assignee could not see it.

    Raises:
        Forbidden: the actor may not assign, or the area is outside the actor's scope (audited).
        NotFound: no such assignee, area, household or published form.
        InvalidInput: the assignee cannot take assignments or cannot see the area; no area nor household given; the
            area is retired.
    """
    if not may(actor.role, Action.assign_work):
        raise Forbidden("Only supervisors and admins assign work.")
    area_code = _area_of(session, actor, new)
    if not covers(actor.scope, area_code):
        audit.record(session, "assignment.create", AuditOutcome.denied, actor_id=actor.user_id, actor=actor.username,
                     target=area_code, area_code=area_code, details={"reason": "out_of_scope"})
        raise Forbidden(f"Area {area_code} is outside your areas.")
    # A user is named to a supervisor only when one of the user's areas lies in the supervisor's: another county's
    # usernames and roles are not to be probed through this answer (issue 11).
    assignee = session.scalar(select(User).where(
        User.username == new.assignee, User.disabled_at.is_(None),
        exists().where(UserArea.user_id == User.id, in_scope(UserArea.area_code, actor.scope))))
    if assignee is None:
        raise NotFound(f"No active user '{new.assignee}' in your areas.")
    if not may(assignee.role, Action.be_assigned):
        raise InvalidInput(f"'{assignee.username}' is a {assignee.role.value}; "
                           "only enumerators and supervisors take assignments.")
    if not covers(assignee.scope, area_code):
        raise InvalidInput(f"Area {area_code} is outside the areas of '{assignee.username}'; widen their scope first.")
    if session.scalar(select(FormVersion.form_id).where(FormVersion.form_id == new.form_id).limit(1)) is None:
        raise NotFound(f"No published form '{new.form_id}'.")
    assignment = Assignment(assignee_id=assignee.id, area_code=area_code, household_id=new.household_id,
                            form_id=new.form_id, round=new.round, due_date=new.due_date, created_by=actor.user_id)
    session.add(assignment)
    session.flush()
    audit.record(session, "assignment.create", AuditOutcome.success, actor_id=actor.user_id, actor=actor.username,
                 target=str(assignment.id), area_code=area_code,
                 details={"assignee": assignee.username, "form_id": new.form_id, "round": new.round})
    return assignment


def cancel(session: Session, actor: Principal, assignment_id: uuid.UUID) -> Assignment:
    """Marks an assignment cancelled (kept, so the device learns of it on its next pull).

    Raises:
        Forbidden: the actor may not assign.
        NotFound: no such assignment in the actor's scope.
    """
    if not may(actor.role, Action.assign_work):
        raise Forbidden("Only supervisors and admins assign work.")
    assignment = one_in_scope(session, select(Assignment).where(Assignment.id == assignment_id), Assignment.area_code,
                              actor.scope, f"No assignment {assignment_id} in your areas.")
    assignment.state = AssignmentState.cancelled
    session.flush()
    audit.record(session, "assignment.cancel", AuditOutcome.success, actor_id=actor.user_id, actor=actor.username,
                 target=str(assignment.id), area_code=assignment.area_code)
    return assignment


def _area_of(session: Session, actor: Principal, new: NewAssignment) -> str:
    if new.household_id is not None:
        # Someone else's household answers as if it did not exist: ids are not to be probed.
        area_code = one_in_scope(session, select(Household.area_code).where(Household.id == new.household_id),
                                 Household.area_code, actor.scope, f"No household {new.household_id} in your areas.")
        if new.area_code is not None and new.area_code != area_code:
            raise InvalidInput(f"Household {new.household_id} is in area {area_code}, not {new.area_code}.")
        return area_code
    if new.area_code is None:
        raise InvalidInput("Give an area code or a household to assign.")
    if not covers(actor.scope, new.area_code):
        return new.area_code  # refused and audited by the caller, before anything about it is read
    retired_at = one_in_scope(session, select(Area.retired_at).where(Area.code == new.area_code), Area.code,
                              actor.scope, f"No area {new.area_code}.")
    if retired_at is not None:
        # Work is handed out in current areas; the households of a retired one can still be assigned one by one.
        raise InvalidInput(f"Area {new.area_code} was retired on {retired_at:%Y-%m-%d}: an official file no longer has "
                           "it. Assign the area that took it over, or its households one by one.")
    return new.area_code
