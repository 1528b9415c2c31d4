"""Review decisions: a supervisor approves, rejects or marks issues on submissions, with a comment that reaches the
phone; one at a time or many at once, each audited."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.errors import Conflict, Forbidden, InvalidInput
from core.scope import in_scope, one_in_scope
from server.models import (
    Action,
    AuditOutcome,
    ReviewDecision,
    ReviewState,
    Submission,
    SubmissionReview,
    SubmissionState,
    may,
)
from server.services import audit
from server.services.auth import Principal

MAX_BULK = 500  # one page of the review list at its largest, with room
# The enumerator must learn what to correct or look at: a rejection or an issue without a comment says nothing.
NEEDS_COMMENT = frozenset({ReviewDecision.rejected, ReviewDecision.has_issues})


class BulkStatus(StrEnum):
    """What became of one submission of a bulk decision."""

    decided = "decided"
    not_found = "not_found"  # not in the reviewer's areas (or no such submission: the same answer)
    quarantined = "quarantined"  # it has errors to correct, not a decision to take


@dataclass(frozen=True)
class Outcome:
    uuid: uuid.UUID
    status: BulkStatus
    message: str | None = None


def decide(session: Session, actor: Principal, submission_uuid: uuid.UUID, decision: ReviewDecision,
           comment: str | None) -> SubmissionReview:
    """Records a decision; the latest one stands and reaches the submitter's device on its next pull.

    Raises:
        Forbidden: the actor does not review.
        InvalidInput: a rejection or an issue without a comment.
        NotFound: no such submission in the actor's areas.
        Conflict: the submission is in quarantine (it has errors to correct, not a decision to take).
    """
    _check(actor, decision, comment)
    submission = one_in_scope(session, select(Submission).where(Submission.uuid == submission_uuid).with_for_update(),
                              Submission.area_code, actor.scope, f"No submission {submission_uuid} in your areas.")
    if submission.state is not SubmissionState.accepted:
        raise Conflict("此提交因错误被隔离，应由手机发送更正 · This submission is in quarantine with its errors; the "
                       "device sends a correction instead.")
    return _record(session, actor, submission.uuid, submission.area_code, decision, comment)


def decide_many(session: Session, actor: Principal, submission_uuids: Sequence[uuid.UUID], decision: ReviewDecision,
                comment: str | None) -> list[Outcome]:
    """The same decision on many submissions, in the order given: one that is not in the actor's areas, or is in
    quarantine, is reported and costs the others nothing.

    Raises:
        Forbidden: the actor does not review.
        InvalidInput: a rejection or an issue without a comment, or more than MAX_BULK submissions.
    """
    _check(actor, decision, comment)
    if len(submission_uuids) > MAX_BULK:
        raise InvalidInput(f"一次最多审核 {MAX_BULK} 份 · At most {MAX_BULK} submissions at once.")
    found = {row.uuid: row for row in session.execute(
        select(Submission.uuid, Submission.area_code, Submission.state)
        .where(Submission.uuid.in_(set(submission_uuids)), in_scope(Submission.area_code, actor.scope))
        .order_by(Submission.uuid).with_for_update())}
    outcomes, done = [], set()
    for submission_uuid in submission_uuids:
        row = found.get(submission_uuid)
        if row is None:
            outcomes.append(Outcome(submission_uuid, BulkStatus.not_found, f"您的范围内没有提交 {submission_uuid} · "
                                                                  f"No submission {submission_uuid} in your areas."))
        elif row.state is not SubmissionState.accepted:
            outcomes.append(Outcome(submission_uuid, BulkStatus.quarantined,
                                    "此提交被隔离 · In quarantine: the device corrects it."))
        else:
            if submission_uuid not in done:  # named twice: decided once
                _record(session, actor, row.uuid, row.area_code, decision, comment)
                done.add(submission_uuid)
            outcomes.append(Outcome(submission_uuid, BulkStatus.decided))
    return outcomes


def _check(actor: Principal, decision: ReviewDecision, comment: str | None) -> None:
    if not may(actor.role, Action.review_submissions):
        raise Forbidden("只有督导和管理员可以审核 · Only supervisors and admins review submissions.")
    if decision in NEEDS_COMMENT and not (comment or "").strip():
        raise InvalidInput("退回或标记问题时请写明原因 · Say in the comment what the enumerator should correct or check.",
                           details={"fields": [{"field": "comment", "code": "required",
                                                "message": "A rejection or an issue needs a comment."}]})


def _record(session: Session, actor: Principal, submission_uuid: uuid.UUID, area_code: str | None,
            decision: ReviewDecision, comment: str | None) -> SubmissionReview:
    review = SubmissionReview(submission_uuid=submission_uuid, decision=decision, comment=comment,
                              reviewer_id=actor.user_id)
    session.add(review)
    session.flush()
    session.execute(update(Submission).where(Submission.uuid == submission_uuid)
                    .values(review_state=ReviewState(decision.value)))
    audit.record(session, "submission.review", AuditOutcome.success, actor_id=actor.user_id, actor=actor.username,
                 target=str(submission_uuid), area_code=area_code, details={"decision": decision.value})
    return review
