"""Export jobs: a planner's large export, made in the background, polled, then downloaded (and resumed) from its file."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, created_at, enum_type, uuid_pk


class ExportState(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    expired = "expired"  # done, and its file removed after EXPORT_KEEP_HOURS


class ExportJob(Base):
    __tablename__ = "export_job"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    state: Mapped[ExportState] = mapped_column(enum_type(ExportState, "export_state"), server_default="queued")
    request: Mapped[dict[str, Any]] = mapped_column(JSONB)  # what was asked, as the API schema loads it
    rows_total: Mapped[int | None] = mapped_column(BigInteger)  # counted when asked; the progress bar's end
    rows_done: Mapped[int] = mapped_column(BigInteger, server_default="0")
    file_name: Mapped[str | None] = mapped_column(String(200))
    media_type: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    layers: Mapped[dict[str, int] | None] = mapped_column(JSONB)  # rows written per layer
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # the API error shape of a failed job
    created_at: Mapped[datetime] = created_at()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Written as the job runs: a running job whose heartbeat stopped lost its worker and is taken up again.
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_export_job_user_created", "user_id", "created_at"),
        Index("ix_export_job_waiting", "created_at", postgresql_where=text("state IN ('queued', 'running')")),
    )
