"""User administration: create and disable users, with their role and area scope."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidInput, NotFound
from server.models import Area, AuditOutcome, Role, User, UserArea
from server.services import audit
from server.services.auth import normalize_username
from server.services.passwords import check_strength, hash_password

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")


def create_user(
    session: Session, username: str, role: Role, area_codes: Sequence[str], password: str,
    *, actor: str, display_name: str | None = None,
) -> User:
    """Creates an active user scoped to the given areas.

    Raises:
        InvalidInput: bad username, no area, or an area code that does not exist.
        WeakPassword: the password is too short or too easy to guess.
        Conflict: the username is taken.
    """
    username = normalize_username(username)
    if not USERNAME.match(username):
        raise InvalidInput("A username has 3 to 64 characters: lower-case letters, digits, '.', '_' or '-'.")
    if not area_codes:
        raise InvalidInput("A user needs at least one area (--area CODE).")
    known = set(session.scalars(select(Area.code).where(Area.code.in_(area_codes))))
    unknown = sorted(set(area_codes) - known)
    if unknown:
        raise InvalidInput(f"Unknown area code(s): {', '.join(unknown)}. Import the areas first.")
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"The username '{username}' is taken.")
    check_strength(password, [username])
    user = User(username=username, role=role, display_name=display_name, password_hash=hash_password(password))
    user.areas = [UserArea(area_code=code) for code in sorted(set(area_codes))]
    session.add(user)
    session.flush()
    audit.record(
        session, "user.create", AuditOutcome.success, actor=actor, target=username,
        area_code=min(area_codes, key=len), details={"role": role.value, "areas": sorted(set(area_codes))},
    )
    return user


def disable_user(session: Session, username: str, *, actor: str) -> User:
    """Disables a user: their sign-ins, device tokens and web sessions stop working at once.

    Raises:
        NotFound: no such user.
    """
    user = session.scalar(select(User).where(User.username == normalize_username(username)))
    if user is None:
        raise NotFound(f"No user '{username}'.")
    if user.disabled_at is None:
        user.disabled_at = datetime.now(UTC)
        audit.record(session, "user.disable", AuditOutcome.success, actor=actor, target=user.username)
    return user
