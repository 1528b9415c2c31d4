"""Published form versions: immutable once stored (a trigger refuses UPDATE and DELETE)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, LargeBinary, String
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, created_at


class FormVersion(Base):
    __tablename__ = "form_version"

    form_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(20))
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    # The exact bytes served to devices and hashed; `definition` is the same document, for queries.
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    published_by: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[datetime] = created_at()

    __table_args__ = (
        CheckConstraint("version > 0", name="version_positive"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        CheckConstraint("subject IN ('household', 'village')", name="subject_known"),
    )
