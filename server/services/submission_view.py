"""One submission as a reviewer reads it: its answers laid out by its form, its position beside the household's last
one and the village's boundary, its photos, flags, the entity version it made and the decisions taken on it."""

from __future__ import annotations

import json
import uuid
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import geo
from core.masking import RecordView
from core.pii import ID_CARD_PROPERTIES, Protector
from core.scope import in_scope, one_in_scope
from server.models import (
    Area,
    Attachment,
    AuditOutcome,
    EntityVersion,
    Flag,
    FormVersion,
    Household,
    Person,
    Submission,
    SubmissionReview,
    User,
)
from server.services import audit
from server.services.auth import Principal
from server.services.households import changes_shown, member_names, open_conflicts
from server.services.push import COMPILED_FORMS
from survey_forms.layout import lay_out
from sync.blobs import BlobStore
from sync.sealing import open_payload


def submission_view(session: Session, viewer: Principal, submission_uuid: uuid.UUID,
                    protector: Protector) -> dict[str, Any]:
    """Raises:
    NotFound: no such submission in the viewer's areas (the same answer for both).
    """
    lat, lon = geo.latlon_columns(Submission.location)
    submission, submission_lat, submission_lon, username = one_in_scope(
        session, select(Submission, lat, lon, User.username).join(User, User.id == Submission.user_id)
        .where(Submission.uuid == submission_uuid), Submission.area_code, viewer.scope,
        f"您的范围内没有提交 {submission_uuid} · No submission {submission_uuid} in your areas.")
    view = RecordView(viewer.role, protector.open_value)
    form = session.get(FormVersion, (submission.form_id, submission.form_version)) if submission.form_id else None
    save_map = COMPILED_FORMS.save_map(session, submission.form_id, submission.form_version) if form else None
    payload = open_payload(protector, save_map, submission.uuid, submission.payload)
    opened_id_numbers: list[bool] = []

    def shown(field: dict[str, Any], value: Any) -> Any:
        save_to = field.get("save_to") or ""
        if save_to in ID_CARD_PROPERTIES and isinstance(value, str):
            opened_id_numbers.append(True)
            return view.id_card(value)
        if "." in save_to:
            entity, _, name = save_to.partition(".")
            return view.value(entity, name, value)
        # Text the form keeps to itself (who answered, a cadre's name, a note) can name anyone.
        return view.text(value) if field["type"] == "text" and isinstance(value, str) else value

    data = payload.get("data") if type(payload.get("data")) is dict else {}
    result = {
        "uuid": submission.uuid, "form_id": submission.form_id, "form_version": submission.form_version,
        "form_title": {"zh": form.title_zh, "en": form.title_en} if form else None,
        "state": submission.state.value, "review_state": submission.review_state.value, "errors": submission.errors,
        "subject_type": submission.subject_type, "entity_id": submission.entity_id, "area_code": submission.area_code,
        "enumerator": username, "device_id": submission.device_id, "base_version": submission.base_version,
        "supersedes": submission.supersedes,
        "superseded_by": session.scalars(select(Submission.uuid).where(
            Submission.supersedes == submission.uuid, in_scope(Submission.area_code, viewer.scope))).all(),
        "started_at": submission.started_at, "collected_at": submission.collected_at,
        "received_at": submission.received_at, "clock_skew_seconds": submission.clock_skew_seconds,
        "gps": None if submission_lat is None else {**geo.latlon(submission_lat, submission_lon),
                                                    "accuracy_m": submission.gps_accuracy_m},
        "risk_flags": [*(submission.risk_flags or ()), *(submission.watch_flags or ())],
        "answers": lay_out(form.definition, data, shown) if form else [],
        "attachments": _attachments(session, submission.uuid, payload),
        "flags": [{"code": f.code, "details": f.details, "raised_at": f.raised_at} for f in session.scalars(
            select(Flag).where(Flag.submission_uuid == submission.uuid).order_by(Flag.id))],
        "reviews": [{"decision": review.decision.value, "comment": review.comment, "reviewer": reviewer,
                     "decided_at": review.decided_at}
                    for review, reviewer in session.execute(
                        select(SubmissionReview, User.username).join(User, User.id == SubmissionReview.reviewer_id)
                        .where(SubmissionReview.submission_uuid == submission.uuid).order_by(SubmissionReview.id))],
        **_place(session, viewer, submission),
        **_entity(session, viewer, submission, view),
    }
    if view.clear and opened_id_numbers:
        audit.record(session, "pii.read", AuditOutcome.success, actor_id=viewer.user_id, actor=viewer.username,
                     target=str(submission.uuid), area_code=submission.area_code, details={"what": "id_card_no"})
    return result


def _attachments(session: Session, submission_uuid: uuid.UUID, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The files the submission declared, each stored or still missing."""
    stored = {a.name: a for a in session.scalars(select(Attachment).where(Attachment.submission_uuid == submission_uuid))}
    declared = [a for a in payload.get("attachments") or [] if type(a) is dict and type(a.get("name")) is str]
    return [{"name": a["name"], "content_type": stored[a["name"]].content_type if a["name"] in stored else a.get("content_type"),
             "size": stored[a["name"]].size if a["name"] in stored else a.get("size"), "stored": a["name"] in stored}
            for a in declared]


def _place(session: Session, viewer: Principal, submission: Submission) -> dict[str, Any]:
    """The village the visit names, with its boundary as GeoJSON, and the household's position now (if it is still
    in the viewer's areas: a household that moved away is another county's to see)."""
    area = session.execute(select(Area.name_zh, Area.name_en, func.ST_AsGeoJSON(Area.boundary, 6))
                           .where(Area.code == submission.area_code)).first() if submission.area_code else None
    household = None
    if submission.subject_type == "household" and submission.entity_id is not None:
        household = session.execute(select(*geo.latlon_columns(Household.location)).where(
            Household.id == submission.entity_id, in_scope(Household.area_code, viewer.scope))).first()
    return {"area_name": {"zh": area[0], "en": area[1]} if area else None,
            "village_boundary": json.loads(area[2]) if area and area[2] else None,
            "household_location": geo.latlon(*household) if household else None}


def _entity(session: Session, viewer: Principal, submission: Submission, view: RecordView) -> dict[str, Any]:
    """The household or village the submission is about: who, the version this submission made (its changes are the
    diff against the version before) and the open conflicts it takes part in; nothing of a household that has moved
    out of the viewer's areas since."""
    nothing: dict[str, Any] = {"household": None, "entity_version": None, "conflicts": []}
    if submission.entity_id is None and submission.subject_type != "village":
        return nothing
    entity_type = submission.subject_type or ""
    key = submission.area_code if entity_type == "village" else str(submission.entity_id)
    named: Any = str
    household = None
    if entity_type == "household":
        row = session.scalars(select(Household).where(Household.id == submission.entity_id,
                                                      in_scope(Household.area_code, viewer.scope))).first()
        if row is None:
            return nothing
        household = {"id": row.id, "household_no": row.household_no, "version": row.version,
                     "householder_name": view.value("household", "householder_name", row.householder_name)}
        named = member_names(row.id, dict(session.execute(select(Person.person_key, Person.id)
                                                          .where(Person.household_id == row.id)).all()))
    version = session.scalars(select(EntityVersion).where(
        EntityVersion.entity_type == entity_type, EntityVersion.entity_id == key,
        EntityVersion.submission_uuids.any(str(submission.uuid))).order_by(EntityVersion.version)).first()
    return {
        "household": household,
        "entity_version": None if version is None else {
            "version": version.version, "changes": changes_shown(version, entity_type, view, named)},
        "conflicts": open_conflicts(session, entity_type, key, view, named, involving=submission.uuid),
    }


def attachment(session: Session, viewer: Principal, submission_uuid: uuid.UUID, name: str,
               store: BlobStore) -> tuple[Attachment, BinaryIO]:
    """A stored file of a submission in the viewer's areas, opened for streaming; each read is audited, as a photo
    can show a person (a member, a signature, a face at the door).

    Raises:
        NotFound: no such submission in the viewer's areas, or no such file stored for it (yet).
    """
    stored, submission_area = one_in_scope(
        session, select(Attachment, Submission.area_code).join(Submission, Submission.uuid == Attachment.submission_uuid)
        .where(Attachment.submission_uuid == submission_uuid, Attachment.name == name), Submission.area_code,
        viewer.scope, f"您的范围内没有提交 {submission_uuid} 的文件 {name} · No file {name!r} of submission "
                      f"{submission_uuid} is stored in your areas (yet).")
    audit.record(session, "attachment.read", AuditOutcome.success, actor_id=viewer.user_id, actor=viewer.username,
                 target=f"{submission_uuid}/{name}", area_code=submission_area, details={"sha256": stored.sha256})
    return stored, store.open(stored.sha256)
