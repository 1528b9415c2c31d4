"""Supervisors move a household's monitoring case, one audited step of the state machine at a time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import Conflict, Forbidden, InvalidInput
from core.scope import in_scope, one_in_scope
from server.models import AssistanceMeasure, AuditOutcome, Household, MonitoringCase, MonitoringEvent, MonitoringState, Role
from server.services import audit
from server.services.auth import Principal
from sync import monitoring
from sync.monitoring import CATEGORIES, MOVES, OPEN_STATES

SUPERVISORS = (Role.supervisor, Role.admin)


def move(session: Session, actor: Principal, household_id: uuid.UUID, action: str, category: str | None,
         comment: str | None, measures: Sequence[dict[str, Any]] = ()) -> MonitoringCase:
    """Moves the household's open case by `action` (identify, dismiss, assist, eliminate).

    Assisting records what is done: the measures sent with it go on the case, and a case with no measure at all
    (neither sent nor recorded by a visit) cannot be assisted.

    Raises:
        Forbidden: the actor is not a supervisor or admin.
        NotFound: no such household in the actor's areas.
        InvalidInput: an unknown action, identify without one of the three categories, measures with another
            action than assist or of an unknown type, or assist with no measure.
        Conflict: the household has no open case in the state this action moves from.
    """
    if actor.role not in SUPERVISORS:
        raise Forbidden("Only supervisors confirm monitoring decisions; the phone only proposes them.")
    area_code = one_in_scope(session, select(Household.area_code).where(Household.id == household_id), Household.area_code,
                             actor.scope, f"No household {household_id} in your areas.")
    step = MOVES.get(action)
    if step is None:
        raise InvalidInput(f"Unknown action {action!r}; one of: {', '.join(MOVES)}.")
    if step.needs_category and category not in CATEGORIES:
        raise InvalidInput(f"Identifying needs a category: one of {', '.join(CATEGORIES)}.")
    _check_measures(action, measures)
    case = session.scalar(select(MonitoringCase).join(Household, Household.id == MonitoringCase.household_id).where(
        MonitoringCase.household_id == household_id, MonitoringCase.state.in_(OPEN_STATES),
        in_scope(Household.area_code, actor.scope)).with_for_update(of=MonitoringCase))
    if case is None or case.state.value != step.from_state:
        state = case.state.value if case is not None else "no open case"
        raise Conflict(f"Cannot {action} from {state}: this action moves a {step.from_state} case.")
    if action == "assist" and not measures and not session.scalar(
            select(func.count()).select_from(AssistanceMeasure).where(AssistanceMeasure.case_id == case.id)):
        raise InvalidInput("帮扶需记录措施 · Assisting records what is done: send the measures, or record them in a visit.")
    session.add_all(AssistanceMeasure(household_id=household_id, case_id=case.id, recorded_by=actor.user_id, **measure)
                    for measure in measures)
    session.add(MonitoringEvent(case_id=case.id, from_state=case.state.value, to_state=step.to_state,
                                actor_id=actor.user_id, comment=comment))
    case.state = MonitoringState(step.to_state)
    if category is not None:
        case.category = category
    if step.closes:
        case.closed_at = datetime.now(UTC)
    session.flush()
    audit.record(session, f"monitoring.{action}", AuditOutcome.success, actor_id=actor.user_id, actor=actor.username,
                 target=str(household_id), area_code=area_code,
                 details={"case": str(case.id), "to": step.to_state, "category": case.category,
                          "measures": len(measures)})
    return case


def _check_measures(action: str, measures: Sequence[dict[str, Any]]) -> None:
    if measures and action != "assist":
        raise InvalidInput("Measures are recorded with the assist action.")
    unknown = sorted({measure["measure_type"] for measure in measures} - monitoring.measure_types())
    if unknown:
        raise InvalidInput(f"Unknown measure type {', '.join(unknown)}; one of: {', '.join(sorted(monitoring.measure_types()))}.",
                           details={"unknown": unknown})
