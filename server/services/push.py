"""Push: ingest a device's batch through the sync engine, and audit what security cares about."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from core.errors import DeviceMismatch, DeviceTokenRequired
from core.pii import Protector
from server.models import AuditOutcome
from server.services import audit
from server.services.auth import Principal
from sync import cross_checks, flags, monitoring
from sync.compiled_forms import CompiledForms
from sync.ingest import ItemResult, Submitter, check_envelope, ingest
from sync.reconcile import reconcile_submissions

# A published form version never changes, so its compiled validator is kept for the process's life.
COMPILED_FORMS = CompiledForms()


def push(session: Session, principal: Principal, batch: Any, address: str | None, protector: Protector,
         limits: flags.Limits, quarantine_quota: int) -> tuple[datetime, list[ItemResult]]:
    """The server's receipt time and one result per submission; the caller commits, then answers.

    Accepted submissions are reconciled into their households and villages in the same transaction, so what a
    device is told is accepted is already part of the entity it is about.

    Raises:
        DeviceTokenRequired: the caller is not a signed-in device (a browser session has no device to bind to).
        DeviceMismatch: the envelope names another device than the token's.
        MalformedBatch, BatchTooLarge: the envelope itself is wrong (nothing is stored).
    """
    if principal.device_id is None:
        raise DeviceTokenRequired()
    claimed = check_envelope(batch)
    if claimed != principal.device_id:
        # Posing as another phone would put its submissions in that device's place in the merge (reliability S13).
        audit.record(session, "submission.push", AuditOutcome.denied, actor_id=principal.user_id,
                     actor=principal.username, target=claimed[:200], address=address,
                     details={"reason": "device_mismatch", "token_device_id": principal.device_id})
        raise DeviceMismatch(details={"device_id": principal.device_id})
    received_at = datetime.now(UTC)
    submitter = Submitter(principal.user_id, principal.scope, principal.token_id, principal.device_id)
    ingested = ingest(session, submitter, batch, COMPILED_FORMS, received_at, protector, quarantine_quota)
    accepted = [row.uuid for row in ingested.accepted]
    flags.check_submissions(session, accepted, limits)  # before households move to their new positions
    cross_checks.record(session, ingested.cross_checks)
    reconciled = reconcile_submissions(session, ingested.accepted, protector, ingested.id_cards, COMPILED_FORMS)
    flags.check_duplicates(session, reconciled)
    cross_checks.check_villages(session, accepted)  # against the household records as reconciled
    monitoring.open_candidates(session, reconciled)
    monitoring.record_visit_measures(session, accepted)  # on the case a risk in the same visit opened
    results = ingested.results
    for result in results:
        if result.status == "conflict" or any(e["code"] == "out_of_scope" for e in result.errors):
            audit.record(
                session, "submission.push", AuditOutcome.denied, actor_id=principal.user_id, actor=principal.username,
                target=result.uuid, area_code=result.area_code, address=address,
                details={"reason": result.errors[0]["code"]},
            )
    return received_at, results
