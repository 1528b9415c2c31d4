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
    """Adds one audit row to the session; the caller's commit (or rollback) decides its fate."""
    session.add(
        AuditEntry(
            actor_id=actor_id,
            actor=actor,
            action=action,
            target=target,
            area_code=area_code,
            outcome=outcome,
            address=address,
            details=details or {},
        )
    )
