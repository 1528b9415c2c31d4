"""Assignments: which areas or households an enumerator is to visit with which form, in which round."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Computed, Date, DateTime, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, created_at, enum_type, uuid_pk


class AssignmentState(StrEnum):
    open = "open"
    cancelled = "cancelled"  # kept, not deleted, so the device learns of it through pull


class Assignment(Base):
    __tablename__ = "assignment"

    id: Mapped[uuid.UUID] = uuid_pk()
    assignee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("area.code"))
    county_code: Mapped[str] = mapped_column(String(6), Computed("left(area_code, 6)"))
    household_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("household.id"))
    form_id: Mapped[str] = mapped_column(String(64))
    round: Mapped[str] = mapped_column(String(40))
    due_date: Mapped[date | None] = mapped_column(Date)
    state: Mapped[AssignmentState] = mapped_column(enum_type(AssignmentState, "assignment_state"),
                                                   default=AssignmentState.open)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())

    __table_args__ = (Index("ix_assignment_county_code", "county_code"),)
