"""Review decisions: a supervisor approves or rejects a submission, with a comment that reaches the phone."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Conflict, Forbidden
from core.scope import one_in_scope
from server.models import Action, AuditOutcome, ReviewDecision, Submission, SubmissionReview, SubmissionState, may
from server.services import audit
from server.services.auth import Principal


def decide(session: Session, actor: Principal, submission_uuid: uuid.UUID, decision: ReviewDecision,
           comment: str | None) -> SubmissionReview:
    """Records a decision; the latest one stands and reaches the submitter's device on its next pull.

    Raises:
        Forbidden: the actor does not review.
        NotFound: no such submission in the actor's areas.
        Conflict: the submission is in quarantine (it has errors to correct, not a decision to take).
    """
    if not may(actor.role, Action.review_submissions):
        raise Forbidden("Only supervisors and admins review submissions.")
    submission = one_in_scope(session, select(Submission).where(Submission.uuid == submission_uuid), Submission.area_code,
                              actor.scope, f"No submission {submission_uuid} in your areas.")
    if submission.state is not SubmissionState.accepted:
        raise Conflict("This submission is in quarantine with its errors; the device sends a correction instead.")
    review = SubmissionReview(submission_uuid=submission_uuid, decision=decision, comment=comment,
                              reviewer_id=actor.user_id)
    session.add(review)
    session.flush()
    audit.record(session, "submission.review", AuditOutcome.success, actor_id=actor.user_id, actor=actor.username,
                 target=str(submission_uuid), area_code=submission.area_code, details={"decision": decision.value})
    return review
