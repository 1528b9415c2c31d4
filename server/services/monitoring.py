"""Supervisors take a household's monitoring case through the procedure of domain.md 3.13, one audited step at a time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import Conflict, Forbidden, InvalidInput
from core.masking import RecordView
from core.scope import in_scope, one_in_scope
from server.models import (
    OPEN_STATES,
    Action,
    AssistanceMeasure,
    AuditOutcome,
    CaseStep,
    Household,
    MeasureStatus,
    MonitoringCase,
    MonitoringEvent,
    may,
)
from server.services import audit, elimination
from server.services.auth import Principal
from sync import monitoring
from sync.monitoring import CATEGORIES, CHANNELS, STEPS, Level

# The form's default monitoring line, until the yearly parameters say the year's (domain.md 3.4).
DEFAULT_MONITORING_LINE = Decimal(6000)


@dataclass(frozen=True)
class StepRequest:
    """What a supervisor sends with a step; which parts a step needs is checked by `move`."""

    step: CaseStep
    step_date: date | None = None  # when it happened: the meeting, the check, the decision
    minutes: str | None = None  # 会议记录 of a village review
    comment: str | None = None
    category: str | None = None
    risk_types: Sequence[str] = ()
    channel: str | None = None
    measures: Sequence[dict[str, Any]] = field(default_factory=tuple)


def move(session: Session, actor: Principal, household_id: uuid.UUID, request: StepRequest,
         settings: elimination.Settings) -> MonitoringCase:
    """Takes the household's open case one step (sync.monitoring.STEPS); dated, audited, and checked first.

    Raises:
        Forbidden: the actor is not a supervisor or admin, or their areas do not reach the level the step needs
            (the county decides and approves; the township checks).
        NotFound: no such household in the actor's areas.
        Conflict (409): the case is not in a state this step moves from, or the public notice has not run its length.
        InvalidInput (422): the step lacks what justifies it (a date, minutes, a category, risk types, measures) or
            what must hold does not (elimination: risk, income, consent, labour).
    """
    if not may(actor.role, Action.move_monitoring_case):
        raise Forbidden("只有督导员确认监测决定，手机只能提出 · Only supervisors confirm monitoring decisions; the phone "
                        "only proposes them.")
    household = one_in_scope(session, select(Household).where(Household.id == household_id), Household.area_code,
                             actor.scope, f"No household {household_id} in your areas.")
    step = STEPS[request.step]
    _check_level(actor, household.area_code, step.level)
    case = session.scalar(select(MonitoringCase).join(Household, Household.id == MonitoringCase.household_id).where(
        MonitoringCase.household_id == household_id, MonitoringCase.state.in_(OPEN_STATES),
        in_scope(Household.area_code, actor.scope)).with_for_update(of=MonitoringCase))
    if case is None or case.state not in step.from_states:
        state = case.state.value if case is not None else "no open case"
        allowed = ", ".join(sorted(s.value for s in step.from_states))
        raise Conflict(f"此步骤不能在当前状态进行 · Cannot {request.step.value} a case that is {state}; this step moves a "
                       f"case that is {allowed}.", details={"state": state, "from": sorted(s.value for s in step.from_states)})
    details = _justified(session, case, household, request, settings)
    session.add_all(AssistanceMeasure(household_id=household_id, case_id=case.id, recorded_by=actor.user_id,
                                      **_measure(measure)) for measure in request.measures)
    session.add(MonitoringEvent(case_id=case.id, step=request.step, from_state=case.state, to_state=step.to_state,
                                actor_id=actor.user_id, comment=request.comment, step_date=request.step_date,
                                details=details))
    case.state = step.to_state
    if request.step is CaseStep.identify:
        case.category, case.risk_types, case.channel = request.category, sorted(request.risk_types), request.channel
    if request.step is CaseStep.review_elimination:
        case.notice_started_on, case.notice_days = request.step_date, settings.notice_days
    if request.step is CaseStep.withdraw_elimination:
        case.notice_started_on, case.notice_days = None, None
    if step.closes:
        case.closed_at = datetime.now(UTC)
    session.flush()
    audit.record(session, f"monitoring.{request.step.value}", AuditOutcome.success, actor_id=actor.user_id,
                 actor=actor.username, target=str(household_id), area_code=household.area_code,
                 details={"case": str(case.id), "to": step.to_state.value, "category": case.category,
                          "step_date": request.step_date.isoformat() if request.step_date else None,
                          "measures": len(request.measures)})
    return case


def _check_level(actor: Principal, area_code: str, level: Level) -> None:
    if not any(area_code.startswith(code) and len(code) <= level for code in actor.scope):
        who = {Level.county: "县级 · a county-level user (areas of a county or wider)",
               Level.township: "乡镇级 · a township-level user (areas of a township or wider)"}.get(level, "")
        raise Forbidden(f"此步骤须由{who.split(' · ')[0]}账号完成 · This step is taken by {who.split(' · ')[-1]}.",
                        details={"level": level.name})


def _justified(session: Session, case: MonitoringCase, household: Household, request: StepRequest,
               settings: elimination.Settings) -> dict[str, Any]:
    """What the step records beyond its date and comment; raises InvalidInput or Conflict when it is not justified."""
    step = request.step
    needs_date = {CaseStep.village_review, CaseStep.township_check, CaseStep.identify, CaseStep.review_elimination}
    if step in needs_date and request.step_date is None:
        raise InvalidInput("须填写此步骤的日期 · This step needs the date it took place (step_date).")
    if request.step_date is not None and request.step_date > elimination.today():
        raise InvalidInput("日期不能晚于今天 · step_date cannot be in the future.")
    if step in {CaseStep.village_review, CaseStep.review_elimination} and not (request.minutes or "").strip():
        raise InvalidInput("须附评议会议记录 · A village review records its minutes.")
    if step in {CaseStep.township_check, CaseStep.dismiss, CaseStep.withdraw_elimination, CaseStep.follow_up_long_term} \
            and not (request.comment or "").strip():
        raise InvalidInput("须写明意见或理由 · This step records its opinion or reason (comment).")
    if request.measures and step is not CaseStep.assist:
        raise InvalidInput("帮扶措施随“帮扶”步骤记录 · Measures are recorded with the assist step.")
    if step is CaseStep.identify:
        _check_identification(request)
    if step is CaseStep.assist:
        _check_measures(session, case, request.measures)
    details: dict[str, Any] = {"minutes": request.minutes} if request.minutes else {}
    if step in {CaseStep.review_elimination, CaseStep.eliminate}:
        if step is CaseStep.eliminate:
            ends = elimination.notice_ends(case.notice_started_on, case.notice_days)
            if elimination.today() < ends:
                raise Conflict(f"公示期未满，{ends.isoformat()}起方可审定 · The public notice runs until {ends.isoformat()}; "
                               "the county approves after it.", details={"notice_ends": ends.isoformat()})
        reasons = elimination.reasons_against(session, household, settings, DEFAULT_MONITORING_LINE, elimination.today())
        if reasons:
            raise InvalidInput("风险消除条件不满足 · The risk cannot be eliminated yet.",
                               details={"reasons": [reason.as_dict() for reason in reasons]})
        details["checked"] = {"monitoring_line": str(DEFAULT_MONITORING_LINE),
                              "months_above_line": settings.months_above_line}
    if step is CaseStep.follow_up_long_term and not elimination.no_labour(household):
        raise InvalidInput("长期跟踪监测适用于无劳动能力家庭 · Long-term follow-up is for households without labour; "
                           "this household has members able to work.")
    return details


def _check_identification(request: StepRequest) -> None:
    if request.category not in CATEGORIES:
        raise InvalidInput(f"纳入监测须选择类别 · Identifying needs a category: one of {', '.join(CATEGORIES)}.")
    unknown = sorted(set(request.risk_types) - monitoring.risk_types())
    if not request.risk_types or unknown:
        raise InvalidInput("纳入监测须选择风险类型 · Identifying needs the risk types (domain.md 3.13)"
                           + (f"; unknown: {', '.join(unknown)}" if unknown else "."), details={"unknown": unknown})
    if request.channel not in CHANNELS:
        raise InvalidInput(f"须选择发现渠道 · Identifying needs the channel it was found by: one of {', '.join(CHANNELS)}.")


def _check_measures(session: Session, case: MonitoringCase, measures: Sequence[dict[str, Any]]) -> None:
    """Each new measure names a known type, its responsible person and the case's risks it answers; the case ends up
    with one measure at least (sent now or recorded by a visit)."""
    unknown = sorted({measure["measure_type"] for measure in measures} - monitoring.measure_types())
    if unknown:
        raise InvalidInput(f"未知的帮扶措施 · Unknown measure type {', '.join(unknown)}.", details={"unknown": unknown})
    for index, measure in enumerate(measures):
        if not (measure.get("responsible_person") or "").strip():
            raise InvalidInput("每项措施须有帮扶责任人 · Each measure names its responsible person.",
                               details={"measure": index})
        answered = set(measure.get("risk_types") or ())
        if not answered or not answered <= set(case.risk_types):
            raise InvalidInput("每项措施须对应本案的风险类型 · Each measure names the case's risks it answers: "
                               f"{', '.join(case.risk_types)}.", details={"measure": index, "case_risks": case.risk_types})
    if not measures and not session.scalar(select(func.count()).select_from(AssistanceMeasure).where(
            AssistanceMeasure.case_id == case.id)):
        raise InvalidInput("帮扶需记录措施 · Assisting records what is done: send the measures, or record them in a visit.")


def _measure(measure: dict[str, Any]) -> dict[str, Any]:
    return {**measure, "risk_types": sorted(measure.get("risk_types") or ()),
            "status": MeasureStatus(measure.get("status") or MeasureStatus.in_progress)}



def cases_in_scope(session: Session, viewer: Principal, state: str | None, area_code: str | None,
                   limit: int) -> list[dict[str, Any]]:
    """The monitoring cases of the reader's households in this state (every open one without it), the longest
    waiting first (by when each last moved), for the supervisors' list of what to take forward."""
    states = [state] if state else [open_state.value for open_state in OPEN_STATES]
    last_step = (select(MonitoringEvent.case_id, func.max(MonitoringEvent.at).label("at"))
                 .group_by(MonitoringEvent.case_id).subquery())
    query = (select(MonitoringCase, Household.area_code, Household.household_no, Household.householder_name,
                    last_step.c.at)
             .join(Household, Household.id == MonitoringCase.household_id)
             .outerjoin(last_step, last_step.c.case_id == MonitoringCase.id)
             .where(in_scope(Household.area_code, viewer.scope), MonitoringCase.state.in_(states))
             .order_by(func.coalesce(last_step.c.at, MonitoringCase.opened_at), MonitoringCase.id).limit(limit))
    if area_code:
        query = query.where(in_scope(Household.area_code, (area_code,)))
    view = RecordView(viewer.role)
    return [{"id": case.id, "household_id": case.household_id, "state": case.state.value, "category": case.category,
             "risk_types": case.risk_types, "opened_at": case.opened_at, "last_moved_at": moved or case.opened_at,
             "area_code": area, "household_no": number,
             "householder_name": view.value("household", "householder_name", name)}
            for case, area, number, name, moved in session.execute(query)]
