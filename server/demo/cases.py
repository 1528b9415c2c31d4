"""A demo household's monitoring case (domain.md 3.13–3.14): its dated events, measures, and what its record says.

The events follow sync.monitoring.STEPS from the opening to the case's state; the measures are those its assist steps
recorded, each answering one of the case's risks.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from core.clock import CHINA
from server.demo import names
from server.demo.profiles import Profile
from server.models import CaseStep, MeasureStatus, MonitoringState
from sync.monitoring import STEPS

S, C = MonitoringState, CaseStep
DEMO_TODAY = date(2025, 11, 28)  # the demo's "now", in its reference year: no step is dated later
NOTICE_DAYS = 7  # server/config.py's default ELIMINATION_NOTICE_DAYS
MONITORING_LINE = "6000"  # the household form's default, which the elimination checks record
MONTHS_ABOVE_LINE = 6  # server/config.py's default ELIMINATION_MONTHS_ABOVE_LINE

_CHECKS = [C.village_review, C.township_check]
_TO_ASSISTANCE = [*_CHECKS, C.identify, C.assist]
# The steps that led to each state, opening aside; a case taken back once during its notice goes round again.
PATHS: dict[MonitoringState, list[CaseStep]] = {
    S.candidate: [],
    S.village_reviewed: _CHECKS[:1],
    S.township_checked: _CHECKS,
    S.identified: [*_CHECKS, C.identify],
    S.assisted: _TO_ASSISTANCE,
    S.elimination_noticed: [*_TO_ASSISTANCE, C.review_elimination],
    S.risk_eliminated: [*_TO_ASSISTANCE, C.review_elimination, C.eliminate],
    S.long_term_follow_up: [*_TO_ASSISTANCE, C.follow_up_long_term],
    S.dismissed: [C.dismiss],
}
OBJECTION = [C.withdraw_elimination, C.assist, C.review_elimination]  # inserted before eliminate, now and then
# Days from the step before, [proposal]: the village meets within two weeks, the procedure takes about a month, the
# risk is eliminated after six months of income above the line and a full public notice.
GAPS = {C.village_review: (5, 15), C.township_check: (3, 10), C.identify: (3, 10), C.assist: (3, 20),
        C.review_elimination: (30 * MONTHS_ABOVE_LINE + 5, 330), C.withdraw_elimination: (2, NOTICE_DAYS - 1),
        C.eliminate: (NOTICE_DAYS, NOTICE_DAYS + 10), C.follow_up_long_term: (30, 120), C.dismiss: (3, 15)}
# How many days before DEMO_TODAY the last step falls; a running notice started under NOTICE_DAYS ago.
LAST_STEP_AGE = {S.candidate: (0, 20), S.village_reviewed: (0, 10), S.township_checked: (0, 10), S.identified: (0, 15),
                 S.assisted: (0, 60), S.elimination_noticed: (0, NOTICE_DAYS - 1), S.long_term_follow_up: (0, 200),
                 S.risk_eliminated: (0, 400), S.dismissed: (0, 300)}

# [proposal] Risk types by category, weighted: illness first, as in the seeds' lists (因病、因残、因学、因灾…, [002]).
RISKS = {
    "common": {"illness": 30, "unstable_employment": 18, "lack_of_labour": 10, "disability": 10, "industry_failure": 10,
               "schooling": 6, "high_rigid_expense": 6, "accident": 5, "disaster": 5},
    "sudden_hardship": {"illness": 35, "accident": 25, "disaster": 25, "high_rigid_expense": 15},
}
CHANNELS = {"cadre_screening": 60, "department_alert": 25, "self_declared": 15}  # [proposal]
# The measures that answer each risk (domain.md 3.14) [proposal]; 低保 only for a household that has it.
MEASURES = {
    "illness": ("medical_assistance", "family_doctor", "insurance_subsidy"), "disability": ("disability_allowance",),
    "schooling": ("education_aid",), "disaster": ("temporary_aid", "housing"), "accident": ("temporary_aid",),
    "lack_of_labour": ("public_welfare_job", "dibao"), "high_rigid_expense": ("temporary_aid", "medical_assistance"),
    "unstable_employment": ("employment_migrant", "skills_training", "workshop_job"),
    "industry_failure": ("industry", "micro_credit", "consumption"),
}
# Yuan [proposal]; insurance_subsidy is Lincang's 180 yuan a person for monitoring objects [002].
AMOUNTS = {"medical_assistance": (2_000, 15_000), "family_doctor": (0, 0), "disability_allowance": (1_200, 2_400),
           "education_aid": (1_500, 3_000), "temporary_aid": (1_000, 5_000), "housing": (10_000, 40_000),
           "public_welfare_job": (6_000, 9_600), "dibao": (2_000, 6_000), "employment_migrant": (300, 800),
           "skills_training": (500, 1_500), "workshop_job": (12_000, 24_000), "industry": (2_000, 5_000),
           "micro_credit": (10_000, 50_000), "consumption": (1_000, 3_000)}
MEASURE_STATUS = {S.assisted: MeasureStatus.in_progress, S.long_term_follow_up: MeasureStatus.in_progress,
                  S.elimination_noticed: MeasureStatus.done, S.risk_eliminated: MeasureStatus.done}


@dataclass(frozen=True)
class DemoCase:
    case: dict[str, Any]  # as insert(MonitoringCase) takes it
    events: list[dict[str, Any]]  # as insert(MonitoringEvent) takes them, in order
    measures: list[dict[str, Any]]  # as insert(AssistanceMeasure) takes them
    properties: dict[str, Any]  # what the household's record says of its monitoring (domain.md 3.13)


def make_case(rng: random.Random, household_id: uuid.UUID, profile: Profile, household_size: int,
              actor_id: uuid.UUID | None) -> DemoCase | None:
    """The profile's case, or None when it has none; actor_id: the supervisor who took its steps."""
    if profile.state is None:
        return None
    case_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    risks = _risks(rng, profile)
    channel = rng.choices(list(CHANNELS), list(CHANNELS.values()))[0]
    steps = _steps(rng, profile.state)
    events = _events(rng, case_id, steps, _dates(rng, profile.state, steps), channel, actor_id)
    identified = C.identify in steps
    reviews = [event["step_date"] for event in events if event["step"] is C.review_elimination]
    case = {"id": case_id, "household_id": household_id, "state": events[-1]["to_state"],
            "category": profile.category if identified else None, "risk_types": sorted(risks) if identified else [],
            "channel": channel if identified else None, "opened_at": events[0]["at"], "opened_from": events[0]["at"],
            "notice_started_on": reviews[-1] if reviews else None, "notice_days": NOTICE_DAYS if reviews else None,
            "closed_at": events[-1]["at"] if steps and STEPS[steps[-1]].closes else None}
    measures = _measures(rng, case, events, profile, risks, household_size, actor_id)
    return DemoCase(case, events, measures, _properties(case, events, profile, risks))


def _events(rng: random.Random, case_id: uuid.UUID, steps: list[CaseStep], days: list[date], channel: str,
            actor_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """The opening, then each step from the state the one before left: a path STEPS does not allow is a bug here."""
    events = [_event(case_id, C.opened, None, S.candidate, None, days[0], _opening(channel))]
    for step, day in zip(steps, days[1:], strict=True):
        rule, state = STEPS[step], events[-1]["to_state"]
        if state not in rule.from_states:
            raise ValueError(f"demo path {steps} takes {step.value} from {state.value}")
        events.append(_event(case_id, step, state, rule.to_state, actor_id, day, rng=rng))
    return events


def _properties(case: dict[str, Any], events: list[dict[str, Any]], profile: Profile,
                risks: list[str]) -> dict[str, Any]:
    """The monitoring fields of the household's record (domain.md 3.13), as the case stands."""
    if case["category"] is None:
        return {"monitoring_category": "none"}
    identify = next(event for event in events if event["step"] is C.identify)
    properties = {"monitoring_category": profile.category, "risk_types": sorted(risks), "main_risk_type": risks[0],
                  "identification_channel": case["channel"], "identified_date": identify["step_date"].isoformat()}
    if case["notice_started_on"] is not None:
        properties |= {"elimination_consent": "yes",
                       "risk_elimination_review_date": case["notice_started_on"].isoformat()}
    return properties


def _risks(rng: random.Random, profile: Profile) -> list[str]:
    """One or two risk types, the main one first; a household nobody in which can work lacks labour first of all."""
    weights = RISKS["sudden_hardship" if profile.category == "sudden_hardship" else "common"]
    first = "lack_of_labour" if profile.no_labour else rng.choices(list(weights), list(weights.values()))[0]
    risks = [first]
    if rng.random() < 0.3:
        second = rng.choices(list(weights), list(weights.values()))[0]
        risks += [second] if second != first else []
    return risks


def _steps(rng: random.Random, state: MonitoringState) -> list[CaseStep]:
    steps = list(PATHS[state])
    if state is S.dismissed:
        steps = _CHECKS[:rng.randint(0, 2)] + steps  # dismissed at any check before identification
    if state is S.risk_eliminated and rng.random() < 0.2:
        steps[-1:-1] = OBJECTION
    if state is S.assisted and rng.random() < 0.3:
        steps.append(C.assist)  # a second round of measures
    return steps


def _dates(rng: random.Random, state: MonitoringState, steps: list[CaseStep]) -> list[date]:
    """The opening's date, then each step's: strictly increasing, the last no later than DEMO_TODAY."""
    gaps = [rng.randint(*GAPS[step]) if (step, before) != (C.assist, C.assist) else rng.randint(30, 90)
            for step, before in zip(steps, [C.opened, *steps], strict=False)]
    last = DEMO_TODAY - timedelta(days=rng.randint(*LAST_STEP_AGE[state]))
    day = last - timedelta(days=sum(gaps))
    days = [day]
    for gap in gaps:
        day += timedelta(days=gap)
        days.append(day)
    return days


def _opening(channel: str) -> str:
    if channel == "self_declared":
        return "农户自主申报 · The household applied for monitoring"
    if channel == "department_alert":
        return "部门筛查预警 · A department's data alert: income_below_monitoring_line"
    return "风险规则触发 · risk flags hold: income_below_monitoring_line"


def _event(case_id: uuid.UUID, step: CaseStep, from_state: MonitoringState | None, to_state: MonitoringState,
           actor_id: uuid.UUID | None, day: date, comment: str | None = None,
           rng: random.Random | None = None) -> dict[str, Any]:
    at = datetime.combine(day, time(9 + (rng.randrange(8) if rng else 0), rng.randrange(60) if rng else 0), CHINA)
    return {"case_id": case_id, "step": step, "from_state": from_state, "to_state": to_state, "actor_id": actor_id,
            "comment": comment or COMMENTS.get(step), "step_date": None if step is C.opened else day,
            "details": _details(step, rng), "at": at}


COMMENTS = {
    C.township_check: "乡镇审核：情况属实 · Township check: the facts hold",
    C.identify: "县级审定纳入监测 · The county puts the household under monitoring",
    C.assist: "落实帮扶措施 · Measures in place",
    C.dismiss: "经核实无返贫致贫风险 · Verified: no risk of falling into poverty",
    C.withdraw_elimination: "公示期间收到异议，继续帮扶 · An objection during the notice: assistance goes on",
    C.eliminate: "公示期满无异议，县级审定风险消除 · Notice over without objection: the county approves",
    C.follow_up_long_term: "无劳动能力，落实兜底保障，长期跟踪监测 · Nobody can work: social security, long-term follow-up",
}


def _details(step: CaseStep, rng: random.Random | None) -> dict[str, Any]:
    """What the service records with the step (server/services/monitoring.py): minutes, the checks that held."""
    checked = {"monitoring_line": MONITORING_LINE, "months_above_line": MONTHS_ABOVE_LINE}
    present = rng.randint(9, 30) if rng else 0
    if step is C.village_review:
        return {"minutes": f"村民代表评议，{present}人参会，同意上报 · {present} villagers' representatives agreed to report"}
    if step is C.review_elimination:
        return {"minutes": f"评议会{present}人参会，户主同意风险消除，公示{NOTICE_DAYS}天 · {present} at the review "
                           f"meeting; the household consents; notice posted for {NOTICE_DAYS} days", "checked": checked}
    if step is C.eliminate:
        return {"checked": checked}
    return {}


def _measures(rng: random.Random, case: dict[str, Any], events: list[dict[str, Any]], profile: Profile,
              risks: list[str], household_size: int, actor_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """One or two measures at each assist step, each answering one of the case's risks; one 帮扶责任人 for all."""
    assists = [event for event in events if event["step"] is C.assist]
    cadre = names.surname(rng) + names.given_name(rng, "male" if rng.random() < 0.6 else "female", 1985)
    status = MEASURE_STATUS.get(case["state"], MeasureStatus.in_progress)
    rows = []
    for event in assists:
        for risk in rng.sample(risks, min(len(risks), rng.randint(1, 2))):
            options = [m for m in MEASURES[risk] if m != "dibao" or profile.is_dibao]
            measure_type = "dibao" if profile.no_labour and profile.is_dibao and risk == "lack_of_labour" \
                else rng.choice(options)
            rows.append({"household_id": case["household_id"], "case_id": case["id"], "measure_type": measure_type,
                         "measure_scope": "comprehensive" if len(risks) > 1 else "single",
                         "measure_date": event["step_date"], "amount_yuan": _amount(rng, measure_type, household_size),
                         "responsible_person": cadre, "risk_types": [risk], "status": status,
                         "recorded_by": actor_id, "recorded_at": event["at"]})
    return rows


def _amount(rng: random.Random, measure_type: str, household_size: int) -> int:
    if measure_type == "insurance_subsidy":
        return 180 * household_size
    low, high = AMOUNTS[measure_type]
    return rng.randint(low // 100, high // 100) * 100
