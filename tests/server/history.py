"""A household's later version made by hand, as reconciliation would store it: for tests of the approved state."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from server.models import EntityVersion, Household, ReviewState, Role, Submission, SubmissionState, User


def pending_version(db_session: Session, household_id: uuid.UUID, area_code: str, changes: dict[str, tuple[Any, Any]],
                    received_at: datetime | None = None) -> None:
    """Version 2 of the household, made by one visit no supervisor has approved: the visit, its history entry
    ([before, after] per property) and the household's current state with the after values."""
    user = User(username=f"enum_{uuid.uuid4().hex[:8]}", role=Role.enumerator, password_hash="-")
    db_session.add(user)
    db_session.flush()
    visit = Submission(uuid=uuid.uuid4(), content_sha256="0" * 64, state=SubmissionState.accepted, form_id="household_visit",
                       form_version=2, subject_type="household", entity_id=household_id, user_id=user.id,
                       device_id="phone-1", payload={}, review_state=ReviewState.pending, area_code=area_code,
                       **({"received_at": received_at} if received_at else {}))
    db_session.add(visit)
    db_session.flush()
    db_session.add(EntityVersion(entity_type="household", entity_id=str(household_id), version=2,
                                 submission_uuids=[str(visit.uuid)],
                                 changes={name: list(pair) for name, pair in changes.items()}))
    household = db_session.get(Household, household_id)
    household.version = 2
    household.properties = {**household.properties, **{name: after for name, (_, after) in changes.items()}}
