"""Users, their roles and area scope, and the device tokens they sign in with."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, created_at, enum_type, uuid_pk


class Role(StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    planner = "planner"
    enumerator = "enumerator"


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[uuid.UUID] = uuid_pk()
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())

    areas: Mapped[list[UserArea]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def scope(self) -> list[str]:
        return sorted(a.area_code for a in self.areas)


class UserArea(Base):
    """One area code of a user's scope: the user sees every record whose area code starts with it."""

    __tablename__ = "user_area"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("area.code"), primary_key=True)


class DeviceToken(Base):
    """A bearer token of one device; only its SHA-256 is kept, the token itself is shown once."""

    __tablename__ = "device_token"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    device_id: Mapped[str] = mapped_column(String(200))
    device_label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
