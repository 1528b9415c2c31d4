"""Monitoring cases of households (防止返贫动态监测, domain.md 3.13): each state change an event, by a supervisor."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, ForeignKey, String, Text, func
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
