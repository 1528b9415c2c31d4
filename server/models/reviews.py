"""Supervisors' decisions on submissions: append-only, the latest one per submission stands."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, ForeignKey, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, enum_type


class ReviewDecision(StrEnum):
    approved = "approved"
    rejected = "rejected"  # the visit is wrong: the enumerator sends a correction that supersedes it
    has_issues = "has_issues"  # it stands, but something needs a look on the next visit (the comment says what)


class ReviewState(StrEnum):
    """Where a submission stands in review: its latest decision, or pending before any (submission.review_state)."""

    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    has_issues = "has_issues"


class SubmissionReview(Base):
    __tablename__ = "submission_review"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    submission_uuid: Mapped[uuid.UUID] = mapped_column(ForeignKey("submission.uuid"), index=True)
    decision: Mapped[ReviewDecision] = mapped_column(enum_type(ReviewDecision, "review_decision"))
    comment: Mapped[str | None] = mapped_column(Text)
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())
