"""Browser sessions kept on the server: the signed cookie holds a secret, this table its hash and its life."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, LargeBinary, func
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, created_at, enum_type, uuid_pk
from server.models.users import User


class SessionEndReason(StrEnum):
    signed_out = "signed_out"
    idle = "idle"  # unused for longer than SESSION_IDLE_SECONDS
    too_old = "too_old"  # signed in longer ago than SESSION_MAX_SECONDS
    user_disabled = "user_disabled"


class WebSession(Base):
    """One browser sign-in; only the SHA-256 of the cookie's 256-bit secret is kept, as for device tokens."""

    __tablename__ = "web_session"

    id: Mapped[uuid.UUID] = uuid_pk()
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = created_at()
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[SessionEndReason | None] = mapped_column(enum_type(SessionEndReason, "session_end_reason"))
    address: Mapped[str | None] = mapped_column(INET)  # where the sign-in came from

    user: Mapped[User] = relationship()

    __table_args__ = (
        # An ended session always says why, and only an ended one does.
        CheckConstraint("(ended_at IS NULL) = (end_reason IS NULL)", name="ended_with_reason"),
    )
