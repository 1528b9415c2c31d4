"""Submissions as received: append-only evidence, keyed by the device-made UUID."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import BigInteger, CheckConstraint, Computed, DateTime, ForeignKey, Index, SmallInteger, String, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, enum_type
from server.models.reviews import ReviewState


class SubmissionState(StrEnum):
    accepted = "accepted"
    quarantined = "quarantined"  # kept with its errors: it does not satisfy its form version


class Submission(Base):
    __tablename__ = "submission"

    uuid: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # made on the device; the idempotency key
    content_sha256: Mapped[str] = mapped_column(String(64))  # tells a resend from a reused UUID
    state: Mapped[SubmissionState] = mapped_column(enum_type(SubmissionState, "submission_state"))
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    form_id: Mapped[str | None] = mapped_column(String(64))
    form_version: Mapped[int | None] = mapped_column()
    subject_type: Mapped[str | None] = mapped_column(String(20))
    subject_id: Mapped[uuid.UUID | None] = mapped_column()
    # The entity it is evidence about: subject.id, or one made from the submission for a new subject (sync.evidence).
    entity_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # the properties it carries (sync.evidence)
    risk_flags: Mapped[list[str] | None] = mapped_column(ARRAY(String(64)))  # the form's case-tier risk rules that hold
    watch_flags: Mapped[list[str] | None] = mapped_column(ARRAY(String(64)))  # its watch-tier ones (domain.md 3.15)
    area_code: Mapped[str | None] = mapped_column(String(15))
    county_code: Mapped[str | None] = mapped_column(String(6), Computed("left(area_code, 6)"))
    base_version: Mapped[int | None] = mapped_column()
    supersedes: Mapped[uuid.UUID | None] = mapped_column()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    device_id: Mapped[str] = mapped_column(String(200))
    token_id: Mapped[uuid.UUID | None] = mapped_column()
    # Device clocks are wrong: their times are kept as sent, beside our own receipt time.
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    collected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())
    clock_skew_seconds: Mapped[float | None] = mapped_column()
    location: Mapped[WKBElement | None] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    gps_accuracy_m: Mapped[float | None] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)  # the item as sent, ID and phone answers sealed (sync.sealing)
    # The latest review decision, kept here so that the review queue filters and counts by an indexed column.
    review_state: Mapped[ReviewState] = mapped_column(enum_type(ReviewState, "review_state"), server_default="pending")
    # Declared files not yet stored (reliability S10): set at ingest, counted down as each one arrives.
    attachments_missing: Mapped[int] = mapped_column(SmallInteger, server_default="0")

    __table_args__ = (
        CheckConstraint("content_sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        Index("ix_submission_county_code_received_at", "county_code", "received_at"),
        Index("ix_submission_area_code_pattern", "area_code", postgresql_ops={"area_code": "text_pattern_ops"}),
        Index("ix_submission_location", "location", postgresql_using="gist"),
        # Is this submission corrected by another? Asked for every visit whose measures are recorded.
        Index("ix_submission_supersedes", "supersedes", postgresql_where=text("supersedes IS NOT NULL")),
        # A device's quarantine of the last day, counted for its quota (sync.ingest).
        Index("ix_submission_quarantined_device", "device_id", "received_at",
              postgresql_where=text("state = 'quarantined'")),
        # The review queue: newest first, a keyset page at a time, whole or by review state.
        Index("ix_submission_received_at_uuid", "received_at", "uuid"),
        Index("ix_submission_review_state_received_at", "review_state", "received_at", "uuid"),
        Index("ix_submission_incomplete", "received_at", postgresql_where=text("attachments_missing > 0")),
    )


class SubmissionConflict(Base):
    """A second, different submission under a UUID already stored: kept, never written over the first."""

    __tablename__ = "submission_conflict"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    submission_uuid: Mapped[uuid.UUID] = mapped_column(ForeignKey("submission.uuid"), index=True)
    content_sha256: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    device_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
