"""The ids a pushed batch names (subject ids, supersedes), read with the submitter's scope in the statements that read them.

A subject id or a `supersedes` is a claim: an existing household of another area, or a submission the submitter may
not see, makes the item `out_of_scope` whatever area the item says it is about (protocol.md, reliability S13). A
correction names a submission about the same subject only. An id nobody stored yet is a new household, or an
original still on its way (devices sync in any order); the merge then applies a correction only within its entity.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.scope import in_scope
from server.models import Household, Submission
from sync.items import field_error, parse_uuid


@dataclass(frozen=True)
class Original:
    """A stored submission that an item says it corrects."""

    visible: bool
    entity_id: uuid.UUID | None  # None while it is in quarantine
    subject_type: str | None
    subject_id: uuid.UUID | None


@dataclass(frozen=True)
class Claims:
    hidden_households: frozenset[uuid.UUID]  # named subject ids of households outside the submitter's areas
    originals: dict[uuid.UUID, Original]

    def errors(self, item: dict[str, Any], item_entity: uuid.UUID | None) -> list[dict[str, str]]:
        """The item's problems with what it names; `out_of_scope` ones mean nothing of it may be stored."""
        subject = item.get("subject") if type(item.get("subject")) is dict else {}
        subject_id = parse_uuid(subject.get("id")) if subject.get("type") == "household" else None
        errors = []
        if subject_id in self.hidden_households:
            errors.append(field_error("subject.id", "out_of_scope", "该农户不在您的工作范围内",
                                      f"Household {subject_id} is outside your areas"))
        original = self.originals.get(parse_uuid(item.get("supersedes")))
        if original is not None and not original.visible:
            errors.append(field_error("supersedes", "out_of_scope", "被更正的提交不在您的工作范围内",
                                      "supersedes names a submission outside your areas"))
        elif original is not None and not _same_subject(original, subject.get("type"), subject_id, item_entity):
            errors.append(field_error("supersedes", "supersedes_other_subject", "被更正的提交属于另一个农户或村",
                                      "supersedes names a submission about another household or village"))
        return errors


def read_claims(session: Session, scope: tuple[str, ...], items: Iterable[dict[str, Any]]) -> Claims:
    """Two statements for the whole batch, each reading the named rows with the scope clause beside them."""
    subject_ids, originals = set(), set()
    for item in items:
        subject = item.get("subject")
        if type(subject) is dict and subject.get("type") == "household" and (named := parse_uuid(subject.get("id"))):
            subject_ids.add(named)
        if corrected := parse_uuid(item.get("supersedes")):
            originals.add(corrected)
    hidden = frozenset(session.scalars(select(Household.id).where(
        Household.id.in_(subject_ids), ~_visible(Household.area_code, scope)))) if subject_ids else frozenset()
    found = session.execute(select(Submission.uuid, _visible(Submission.area_code, scope), Submission.entity_id,
                                   Submission.subject_type, Submission.subject_id)
                            .where(Submission.uuid.in_(originals))).all() if originals else []
    return Claims(hidden, {row[0]: Original(*row[1:]) for row in found})


def _visible(area_code_column: Any, scope: tuple[str, ...]) -> Any:
    # A row without an area (an envelope too broken to say) is visible to nobody.
    return func.coalesce(in_scope(area_code_column, scope), False)


def _same_subject(original: Original, subject_type: Any, subject_id: uuid.UUID | None,
                  item_entity: uuid.UUID | None) -> bool:
    if original.entity_id is not None:
        return original.entity_id == item_entity
    # A quarantined original made no entity: the correction must be about what it was about.
    return original.subject_type == subject_type and original.subject_id in (None, subject_id)
