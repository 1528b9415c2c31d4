"""What must hold before a monitoring case's risk is eliminated (风险消除, domain.md 3.13 and the checks of 6.2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Household, Submission, SubmissionState
from sync.yearly_parameters import Lookup


@dataclass(frozen=True)
class Settings:
    notice_days: int  # how long the public notice (公示) runs before the county may approve
    months_above_line: int  # how long income per head must have stayed above the monitoring line


@dataclass(frozen=True)
class Reason:
    code: str
    message: str  # 中文 · English

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def no_labour(household: Household) -> bool:
    """A household with no member able to work, which lives on social security: it stays under long-term follow-up
    instead of having its risk eliminated ("对无劳动能力的…长期跟踪监测", [002])."""
    return household.properties.get("labour_members") == 0


def reasons_against(session: Session, household: Household, settings: Settings, default_line: Decimal,
                    today: date) -> list[Reason]:
    """Why the household's risk cannot be eliminated now; none when it can.

    The latest accepted visit raises no case-tier flag, income per head has stayed at or above the monitoring line
    in every accepted visit of the last `months_above_line` months (and one visit at least is that old), and the
    household consented to elimination in its own question (not the general consent).

    Each visit is held to the monitoring line of its income year and area (sync.yearly_parameters), else
    `default_line` (the form's).
    """
    reasons = []
    if household.risk_flags:
        reasons.append(Reason("elimination_with_open_risk", "最近一次走访仍有返贫风险：" + "、".join(household.risk_flags)
                              + " · The latest visit still raises " + ", ".join(household.risk_flags)))
    if household.properties.get("elimination_consent") != "yes":
        reasons.append(Reason("elimination_without_consent", "农户尚未在走访中同意风险消除（须单独询问） · The household "
                              "has not consented to elimination in a visit (its own question, not the general consent)"))
    since = _above_line_since(session, household, default_line)
    needed = today - timedelta(days=30 * settings.months_above_line)
    if since is None or since > needed:
        reasons.append(Reason("income_not_stable", f"人均纯收入须连续{settings.months_above_line}个月不低于当年监测线 · "
                              "Income per head must have stayed at or above the year's monitoring line for "
                              f"{settings.months_above_line} months of visits"))
    if no_labour(household):
        reasons.append(Reason("elimination_no_labour", "无劳动能力家庭转为长期跟踪监测，不作风险消除 · A household "
                              "without labour stays under long-term follow-up instead"))
    return reasons


def notice_ends(started_on: date, days: int) -> date:
    """The first day the county may approve: the notice ran `days` full days."""
    return started_on + timedelta(days=days)


def _above_line_since(session: Session, household: Household, default_line: Decimal) -> date | None:
    """The device date of the oldest visit of the unbroken run, newest first, of accepted visits whose income per head
    is at or above their line (visits that recorded no income are passed over); None when the newest is below it."""
    rows = session.execute(select(Submission.collected_at, Submission.received_at, Submission.evidence).where(
        Submission.entity_id == household.id, Submission.state == SubmissionState.accepted))
    yearly = Lookup(session)
    visits = sorted(((row.collected_at or row.received_at, row.evidence or {}) for row in rows),
                    key=lambda visit: visit[0], reverse=True)
    since = None
    for made_at, evidence in visits:
        income = _income(evidence)
        if income is None:
            continue
        lines = yearly.overrides(household.area_code, {"income_year": evidence.get("income_year")}, made_at.date())
        if income < Decimal(str(lines["monitoring_line"])) if lines else income < default_line:
            break
        since = made_at.astimezone(UTC).date()
    return since


def _income(evidence: dict[str, Any] | None) -> Decimal | None:
    value = (evidence or {}).get("income_per_capita")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def today() -> date:
    return datetime.now(UTC).date()
