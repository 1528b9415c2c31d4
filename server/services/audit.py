"""Writing audit rows in the caller's transaction, so a row exists exactly when its action commits."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from server.models import AuditEntry, AuditOutcome


def record(
    session: Session,
    action: str,
    outcome: AuditOutcome,
    *,
    actor_id: uuid.UUID | None = None,
    actor: str | None = None,
    target: str | None = None,
    area_code: str | None = None,
    address: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Adds one audit row to the session; the caller's commit (or rollback) decides its fate.

    What a caller sent (a device id, a user name) is kept as PostgreSQL can hold it, so that no request goes
    unaudited, or fails, for holding a NUL character.
    """
    session.add(
        AuditEntry(
            actor_id=actor_id,
            actor=_storable(actor),
            action=action,
            target=_storable(target),
            area_code=_storable(area_code),
            outcome=outcome,
            address=_storable(address),
            details=_storable(details or {}),
        )
    )


def _storable(value: Any) -> Any:
    """The value with NUL characters and lone surrogates (valid JSON, but no PostgreSQL text) replaced."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value
