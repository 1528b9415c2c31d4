"""Attachments of submissions: which declared file is stored, by its content hash."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base


class Attachment(Base):
    __tablename__ = "attachment"

    submission_uuid: Mapped[uuid.UUID] = mapped_column(ForeignKey("submission.uuid"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)  # as declared in the submission
    sha256: Mapped[str] = mapped_column(String(64))  # where the bytes are in the content-addressed store
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())

    __table_args__ = (CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),)
