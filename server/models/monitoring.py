"""Monitoring cases of households (防止返贫动态监测, domain.md 3.13): each state change an event, by a supervisor."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ARRAY, BigInteger, Date, DateTime, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, enum_type, uuid_pk


class MonitoringState(StrEnum):
    """Where a case stands in the procedure of domain.md 3.13."""

    candidate = "candidate"  # 预警待核实: a case-tier risk flag holds, or the household applied
    village_reviewed = "village_reviewed"  # 村级评议 held: date and minutes recorded
    township_checked = "township_checked"  # 乡镇审核 done
    identified = "identified"  # 纳入监测 by the county: category, risk types, channel
    assisted = "assisted"  # 帮扶中: measures recorded, tied to the risks they answer
    elimination_noticed = "elimination_noticed"  # 风险消除 reviewed by the village and publicly noticed (公示)
    long_term_follow_up = "long_term_follow_up"  # 长期跟踪监测: no labour, living on social security; stays open
    risk_eliminated = "risk_eliminated"  # 风险消除 approved by the county: the case is closed
    dismissed = "dismissed"  # verified: no risk; the case is closed


OPEN_STATES = frozenset({MonitoringState.candidate, MonitoringState.village_reviewed, MonitoringState.township_checked,
                         MonitoringState.identified, MonitoringState.assisted, MonitoringState.elimination_noticed,
                         MonitoringState.long_term_follow_up})


class CaseStep(StrEnum):
    """One step of a case's procedure, as its events record it."""

    opened = "opened"  # by the risk rules or the household's own application, never by a person
    village_review = "village_review"
    township_check = "township_check"
    identify = "identify"  # the county's decision
    dismiss = "dismiss"
    assist = "assist"
    review_elimination = "review_elimination"  # 评议会 + consent + the start of the public notice
    withdraw_elimination = "withdraw_elimination"  # an objection during the notice: back to assistance
    eliminate = "eliminate"  # the county's approval after the notice
    follow_up_long_term = "follow_up_long_term"


class MeasureStatus(StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    done = "done"


class MonitoringCase(Base):
    __tablename__ = "monitoring_case"

    id: Mapped[uuid.UUID] = uuid_pk()
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("household.id"), index=True)
    state: Mapped[MonitoringState] = mapped_column(enum_type(MonitoringState, "monitoring_state"))
    category: Mapped[str | None] = mapped_column(String(32))  # unstable_tuopin, marginal, sudden_hardship
    risk_types: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default="{}")  # set when identified
    channel: Mapped[str | None] = mapped_column(String(32))  # self_declared, cadre_screening, department_alert
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())
    # The device time of the visit that opened the case: a visit made from then on (until the case closes) brings its
    # measures to this case, whatever order the visits arrive in.
    opened_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notice_started_on: Mapped[date | None] = mapped_column(Date)  # the elimination's public notice (公示)
    notice_days: Mapped[int | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # One open case per household: the risk rules open one with ON CONFLICT against it (sync.monitoring).
    __table_args__ = (Index("uq_monitoring_case_open", "household_id", unique=True,
                            postgresql_where=text("closed_at IS NULL")),)


class MonitoringEvent(Base):
    """One move of a case: who moved it, from which state to which, and why."""

    __tablename__ = "monitoring_event"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("monitoring_case.id"), index=True)
    step: Mapped[CaseStep] = mapped_column(enum_type(CaseStep, "case_step"))
    from_state: Mapped[MonitoringState | None] = mapped_column(enum_type(MonitoringState, "event_from_state"))
    to_state: Mapped[MonitoringState] = mapped_column(enum_type(MonitoringState, "event_to_state"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))  # None: opened by the risk rules
    comment: Mapped[str | None] = mapped_column(Text)
    step_date: Mapped[date | None] = mapped_column(Date)  # when the step happened (a meeting), as the actor says
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")  # minutes, the checks that held
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())


class AssistanceMeasure(Base):
    """One assistance measure (帮扶措施, domain.md 3.14) for a household, on the case open when it was recorded.

    Recorded by a visit (its `measures` repeat: submission and position) or by a supervisor assisting the case.
    A measure recorded when the household had no open case keeps case_id empty: it is kept, not dropped.
    """

    __tablename__ = "assistance_measure"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("household.id"), index=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("monitoring_case.id"), index=True)
    measure_type: Mapped[str] = mapped_column(String(32))
    measure_scope: Mapped[str | None] = mapped_column(String(16))  # single, comprehensive
    measure_date: Mapped[date | None] = mapped_column(Date)
    amount_yuan: Mapped[Decimal | None] = mapped_column(Numeric)  # unbounded: a phone's number is never refused here
    responsible_person: Mapped[str | None] = mapped_column(String(50))
    risk_types: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default="{}")  # the risks it answers
    status: Mapped[MeasureStatus] = mapped_column(enum_type(MeasureStatus, "measure_status"),
                                                  server_default=MeasureStatus.in_progress.value)
    submission_uuid: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("submission.uuid"))
    position: Mapped[int | None] = mapped_column()  # index in the submission's measures repeat
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())

    __table_args__ = (UniqueConstraint("submission_uuid", "position"),)
