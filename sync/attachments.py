"""Receiving an attachment of a submission: declared, hash-checked, stored once, never overwritten."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.errors import AttachmentExists, AttachmentNotDeclared, BlobHashMismatch, UnsupportedAttachmentType
from core.scope import one_in_scope
from server.models import Attachment, Submission
from sync.blobs import BlobStore
from sync.limits import CONTENT_TYPES, MAX_BYTES


@dataclass(frozen=True)
class Received:
    created: bool
    name: str
    sha256: str
    size: int
    complete: bool  # every declared attachment of the submission is now stored


def receive(session: Session, scope: tuple[str, ...], submission_uuid: uuid.UUID, name: str, sha256: str,
            content_type: str, chunks: Iterable[bytes], store: BlobStore) -> Received:
    """Stores one declared attachment; the same name and hash again is harmless.

    Raises:
        NotFound: no such submission in the caller's scope.
        AttachmentNotDeclared: the submission declares no file of that name.
        BlobHashMismatch: the hash sent differs from the declared one, or the bytes from both.
        AttachmentExists: this name is stored already with other bytes (nothing is overwritten).
        UnsupportedAttachmentType, BlobTooLarge: not an allowed image or audio type, or over MAX_BYTES.
    """
    submission = one_in_scope(session, select(Submission).where(Submission.uuid == submission_uuid), Submission.area_code,
                              scope, "No such submission in your scope.")
    declared = {a.get("name"): a for a in submission.payload.get("attachments") or [] if isinstance(a, dict)}
    if name not in declared:
        raise AttachmentNotDeclared(f"The submission declares no attachment named {name!r}.")
    if sha256 != declared[name].get("sha256"):
        raise BlobHashMismatch("X-Content-SHA256 differs from the SHA-256 declared in the submission.")
    stored = session.get(Attachment, (submission_uuid, name))
    if stored is not None:
        if stored.sha256 != sha256:
            raise AttachmentExists("This attachment is stored already with other content; nothing was overwritten.")
        return Received(False, name, stored.sha256, stored.size, _complete(session, submission_uuid, declared))
    if content_type.split(";")[0].strip().lower() not in CONTENT_TYPES:
        raise UnsupportedAttachmentType(f"{content_type or 'no type'} is not an image or audio type forms use.")
    blob = store.put(chunks, sha256, MAX_BYTES)
    statement = insert(Attachment).values(submission_uuid=submission_uuid, name=name, sha256=blob.sha256,
                                          size=blob.size, content_type=content_type[:100])
    # Two parallel uploads of the same file: the key decides, and the second is told it is stored.
    created = session.execute(statement.on_conflict_do_nothing().returning(Attachment.name)).first() is not None
    if created:
        session.execute(update(Submission).where(Submission.uuid == submission_uuid)
                        .values(attachments_missing=Submission.attachments_missing - 1))
    return Received(created, name, blob.sha256, blob.size, _complete(session, submission_uuid, declared))


def _complete(session: Session, submission_uuid: uuid.UUID, declared: dict) -> bool:
    # Counted from the stored rows, not from attachments_missing: this answer is what the device trusts (S10).
    stored = session.scalar(select(func.count()).select_from(Attachment).where(Attachment.submission_uuid == submission_uuid))
    return stored == len(declared)
