"""Monitoring cases of households (防止返贫动态监测, domain.md 3.13): each state change an event, by a supervisor."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, enum_type, uuid_pk


class MonitoringState(StrEnum):
    candidate = "candidate"  # 预警待核实: the form's risk flags hold
    identified = "identified"  # 纳入监测, in one of the three categories
    assisted = "assisted"  # 帮扶中: measures recorded
    risk_eliminated = "risk_eliminated"  # 风险消除: the case is closed
    dismissed = "dismissed"  # verified: no risk; the case is closed


class MonitoringCase(Base):
    __tablename__ = "monitoring_case"

    id: Mapped[uuid.UUID] = uuid_pk()
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("household.id"), index=True)
    state: Mapped[MonitoringState] = mapped_column(enum_type(MonitoringState, "monitoring_state"))
    category: Mapped[str | None] = mapped_column(String(32))  # unstable_tuopin, marginal, sudden_hardship
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # One open case per household: the risk rules open one with ON CONFLICT against it (sync.monitoring).
    __table_args__ = (Index("uq_monitoring_case_open", "household_id", unique=True,
                            postgresql_where=text("closed_at IS NULL")),)


class MonitoringEvent(Base):
    """One move of a case: who moved it, from which state to which, and why."""

    __tablename__ = "monitoring_event"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("monitoring_case.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))  # None: opened by the risk rules
    comment: Mapped[str | None] = mapped_column(Text)
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
    submission_uuid: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("submission.uuid"))
    position: Mapped[int | None] = mapped_column()  # index in the submission's measures repeat
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())

    __table_args__ = (UniqueConstraint("submission_uuid", "position"),)
