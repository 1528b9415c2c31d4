"""Push ingest: each item of a batch becomes accepted, duplicate, invalid or conflict, decided by the database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from core import geo
from core.errors import BatchTooLarge, MalformedBatch
from core.pii import Protector
from core.scope import covers
from server.models import Area, Submission, SubmissionConflict, SubmissionState
from survey_forms.validator import Assessment, Irrelevant
from sync import bulk
from sync.claims import Claims, read_claims
from sync.compiled_forms import CompiledForms
from sync.cross_checks import CrossCheck, item_checks
from sync.evidence import carried, entity_id
from sync.items import content_hash, field_error, parse_time, parse_uuid, repeated_attachment_names
from sync.limits import MAX_ITEM_BYTES, MAX_ITEMS
from sync.push_schema import envelope_is_valid, item_errors
from sync.sealing import save_map_of, seal_payload
from sync.yearly_parameters import Lookup


@dataclass(frozen=True)
class Submitter:
    user_id: uuid.UUID
    scope: tuple[str, ...]
    token_id: uuid.UUID | None
    device_id: str  # the device its token was issued to (server/services/push.py refuses a batch naming another)


@dataclass
class ItemResult:
    uuid: str | None
    status: str  # accepted, duplicate, invalid, conflict
    errors: list[dict[str, str]] = field(default_factory=list)
    missing_attachments: list[str] = field(default_factory=list)
    area_code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"uuid": self.uuid, "status": self.status}
        if self.errors:
            answer["errors"] = self.errors
        if self.status == "accepted":
            answer["missing_attachments"] = self.missing_attachments
        return answer


class Accepted(NamedTuple):
    """What reconciliation reads of a submission just stored as accepted (sync.reconcile): handed over as stored,
    rather than read back."""

    uuid: uuid.UUID
    entity_id: uuid.UUID | None
    subject_type: str
    area_code: str
    device_id: str
    base_version: int | None
    collected_at: datetime | None
    supersedes: uuid.UUID | None
    evidence: dict[str, Any] | None
    risk_flags: list[str]
    watch_flags: list[str]
    form_id: str
    form_version: int


@dataclass
class Ingested:
    results: list[ItemResult]  # one per item, in order
    accepted: list[Accepted]  # stored now as accepted: what reconciliation takes up
    cross_checks: dict[uuid.UUID, list[CrossCheck]]  # the supervisor cross-checks their clear data fails (6.2)
    id_cards: dict[str, str]  # ID tokens of the accepted ones -> clear text, for the encrypted column only


def ingest(session: Session, submitter: Submitter, batch: Any, forms: CompiledForms, received_at: datetime,
           protector: Protector, quarantine_quota: int) -> Ingested:
    """One result per item, in order; every item is stored (accepted or quarantined) unless it repeats one.

    A device quarantines at most `quarantine_quota` items a day; invalid items beyond it are answered, not stored,
    and stay on the device like any other refused item.

    Raises:
        MalformedBatch: the envelope is not {device_id, submissions: [...]}.
        BatchTooLarge: more than MAX_ITEMS submissions.
    """
    check_envelope(batch)
    sent_at = parse_time(batch.get("sent_at"))
    skew = (received_at - sent_at).total_seconds() if sent_at else None
    codes = {code for item in batch["submissions"] if type(item) is dict and (code := _area_code(item)) is not None}
    known = frozenset(session.scalars(select(Area.code).where(Area.code.in_(codes)))) if codes else frozenset()
    items = [item for item in batch["submissions"] if type(item) is dict]
    context = _Context(session, submitter, submitter.device_id, forms, sent_at, skew, known,
                       read_claims(session, submitter.scope, items), protector, {}, Lookup(session))
    checked = _within_quota(context, [_check_item(context, item) for item in batch["submissions"]], quarantine_quota,
                            received_at)
    to_store = [c for c in checked if isinstance(c, _Checked)]
    inserted = _insert_all(context, to_store)
    repeats = _stored_versions(context, [c.uuid for c in to_store if c.uuid not in inserted])
    results, accepted, checks = [], [], {}
    for entry in checked:
        if isinstance(entry, ItemResult):
            results.append(entry)
        elif entry.unstorable:
            results.append(ItemResult(str(entry.uuid), "invalid", [_UNSTORABLE]))
        elif entry.uuid in inserted:
            inserted.discard(entry.uuid)  # the same UUID again later in this batch is a repeat of this one
            repeats[entry.uuid] = (entry.sha, entry.state, entry.errors)
            status = "invalid" if entry.errors else "accepted"
            results.append(ItemResult(str(entry.uuid), status, entry.errors, _declared_attachments(entry.item), entry.area_code))
            if not entry.errors:
                accepted.append(Accepted(**{name: entry.values[name] for name in Accepted._fields}))
                if entry.values["subject_type"] == "household":  # here its ID numbers are still in clear
                    checks[entry.uuid] = item_checks(entry.item["data"])
        else:
            results.append(_repeat(context, entry, repeats[entry.uuid]))
    return Ingested(results, accepted, checks, context.id_cards)


def check_envelope(batch: Any) -> str:
    """The device the batch says it comes from, once its envelope is known to be right (sync.push_schema).

    Raises:
        MalformedBatch: the envelope is not {device_id, submissions: [...]}.
        BatchTooLarge: more than MAX_ITEMS submissions.
    """
    if not envelope_is_valid(batch):
        raise MalformedBatch()
    if len(batch["submissions"]) > MAX_ITEMS:
        raise BatchTooLarge(f"At most {MAX_ITEMS} submissions per request; send the rest in another request.",
                            details={"max_items": MAX_ITEMS})
    return batch["device_id"]


_UNSTORABLE = field_error("", "unstorable_value", "提交中有无法保存的字符或数值",
                          "The submission holds text or a number that cannot be stored (a NUL character, say)")
_QUARANTINE_FULL = field_error("", "quarantine_full", "本设备今日待更正的提交已达上限，此提交保留在手机上，请更正后再发送",
                               "This device has reached today's limit of invalid submissions kept on the server; "
                               "this one stays on the phone: correct it and send it again")
_TOO_LARGE = field_error("", "too_large", f"单份提交不能超过{MAX_ITEM_BYTES // 1024} KB",
                         f"A submission may hold at most {MAX_ITEM_BYTES // 1024} KB of JSON")


@dataclass(frozen=True)
class _Context:
    session: Session
    submitter: Submitter
    device_id: str
    forms: CompiledForms
    sent_at: datetime | None
    skew: float | None
    known_areas: frozenset[str]  # the batch's subject area codes that exist
    claims: Claims  # what the batch's subject ids and supersedes name, as the submitter may see it
    protector: Protector
    id_cards: dict[str, str]  # filled as items are read: ID tokens -> clear text
    yearly: Lookup  # the yearly lines of each area and year, which the form's rules read instead of its defaults


@dataclass
class _Checked:
    """An item ready to store: its key, content hash, problems (quarantined when any) and row values."""

    uuid: uuid.UUID
    sha: str
    item: dict[str, Any]
    errors: list[dict[str, str]]
    area_code: str | None
    values: dict[str, Any]
    unstorable: bool = False  # PostgreSQL refused a value of it (a NUL character, say)

    @property
    def state(self) -> SubmissionState:
        return SubmissionState.quarantined if self.errors else SubmissionState.accepted


def _check_item(context: _Context, item: Any) -> ItemResult | _Checked:
    """The item's answer when it cannot be stored at all, else what to store."""
    if type(item) is not dict:
        return ItemResult(None, "invalid", [field_error("", "type", "提交应为对象", "A submission must be an object")])
    errors = item_errors(item) + repeated_attachment_names(item.get("attachments"))
    submission_uuid = None if any(e["field"] == "uuid" for e in errors) else parse_uuid(item["uuid"])
    if submission_uuid is None:
        # Without its UUID an item cannot be stored idempotently; the device keeps it and is told why.
        return ItemResult(item.get("uuid") if type(item.get("uuid")) is str else None, "invalid",
                          [field_error("uuid", "type", "缺少有效的提交编号", "uuid must be a UUID made on the device")])
    area_code = _area_code(item)
    try:
        sha, size = content_hash(item)
    except UnicodeEncodeError:
        # A lone surrogate ("\\ud800" is valid JSON): no database text can hold it, so the item cannot be kept.
        return ItemResult(str(submission_uuid), "invalid", [_UNSTORABLE], area_code=area_code)
    if size > MAX_ITEM_BYTES:
        # Kept on the device, not in quarantine: no single visit is this large, and quarantine is not free storage.
        return ItemResult(str(submission_uuid), "invalid", [_TOO_LARGE], area_code=area_code)
    wrong = frozenset(e["field"].split(".")[0].split("[")[0] for e in errors)  # top-level fields not to store
    subject = item.get("subject") if "subject" not in wrong else {}
    entity = entity_id(subject.get("type"), parse_uuid(subject.get("id")), area_code, submission_uuid,
                       None if "supersedes" in wrong else parse_uuid(item.get("supersedes")))
    problems, assessment = _problems(context, item, wrong)
    errors += problems + context.claims.errors(item, entity)
    if any(e["code"] == "out_of_scope" for e in errors):
        # Another area's data is refused, not stored (reliability C2); the device keeps the item.
        return ItemResult(str(submission_uuid), "invalid", errors, area_code=area_code)
    return _Checked(submission_uuid, sha, item, errors, area_code,
                    _row(context, submission_uuid, sha, item, errors, wrong, entity, assessment))


def _within_quota(context: _Context, checked: list[ItemResult | _Checked], quota: int,
                  received_at: datetime) -> list[ItemResult | _Checked]:
    """The items as checked, but those the device's quarantine has no room for today answered without storing."""
    invalid = [entry for entry in checked if isinstance(entry, _Checked) and entry.errors]
    if not invalid:
        return checked
    used = context.session.scalar(select(func.count()).where(
        Submission.device_id == context.device_id, Submission.state == SubmissionState.quarantined,
        Submission.received_at > received_at - timedelta(days=1)))
    refused = {id(entry) for entry in invalid[max(quota - used, 0):]}
    return [ItemResult(str(entry.uuid), "invalid", [*entry.errors, _QUARANTINE_FULL], area_code=entry.area_code)
            if id(entry) in refused else entry for entry in checked]


def _problems(context: _Context, item: dict[str, Any],
              wrong: frozenset[str]) -> tuple[list[dict[str, str]], Assessment | None]:
    """What the schema cannot know: the caller's scope, the areas and forms this server has, the form's own rules;
    and, when its data is right, what the form's rules say of it (risk flags, irrelevant fields)."""
    errors = []
    area_code = _area_code(item)
    if area_code is not None and not covers(context.submitter.scope, area_code):
        errors.append(field_error("subject.area_code", "out_of_scope", "该区域不在您的工作范围内",
                                  f"Area {area_code} is outside your scope"))
    elif area_code is not None and area_code not in context.known_areas:
        errors.append(field_error("subject.area_code", "unknown_area", "没有这个区划代码",
                                  f"There is no area {area_code}; pull the areas again"))
    assessment = None
    if wrong & {"form_id", "form_version"}:
        return errors, assessment
    form = context.forms.get(context.session, item["form_id"], item["form_version"])
    if form is None:
        errors.append(field_error("form_version", "form_version_unknown", "服务器上没有这个表单版本",
                                  f"Form {item['form_id']} version {item['form_version']} is not published on this server"))
    elif "data" not in wrong:
        if "subject" not in wrong and item["subject"]["type"] != form.definition.subject:
            errors.append(field_error("subject.type", "subject_mismatch", "对象类型与表单不符",
                                      f"This form is about a {form.definition.subject}"))
        collected = parse_time(item.get("collected_at"))
        yearly = context.yearly.overrides(area_code, item["data"], collected.date() if collected else None)
        assessment = form.assess(item["data"], yearly)
        errors.extend(e.as_dict() for e in assessment.errors)
    return errors, assessment


def _row(context: _Context, submission_uuid: uuid.UUID, sha: str, item: dict[str, Any], errors: list,
         wrong: frozenset[str], entity: uuid.UUID | None, assessment: Assessment | None) -> dict[str, Any]:
    """The submission's columns; a field the schema found wrong is kept in the payload only, never in a column."""

    def sound(name: str) -> Any:
        return None if name in wrong else item.get(name)

    gps, subject = sound("gps"), sound("subject") or {}
    return {
        "uuid": submission_uuid, "content_sha256": sha, "payload": _sealed(context, submission_uuid, item),
        "state": SubmissionState.quarantined if errors else SubmissionState.accepted, "errors": errors,
        "form_id": sound("form_id"), "form_version": sound("form_version"),
        "subject_type": subject.get("type"), "subject_id": parse_uuid(subject.get("id")), "area_code": _area_code(item),
        # Only accepted submissions are evidence about an entity.
        "entity_id": None if errors else entity,
        "evidence": None if errors else _evidence(context, item, assessment.irrelevant),
        "risk_flags": None if errors else assessment.flags.risk,
        "watch_flags": None if errors else assessment.flags.watch,
        "base_version": sound("base_version"), "supersedes": parse_uuid(sound("supersedes")),
        "user_id": context.submitter.user_id, "device_id": context.device_id, "token_id": context.submitter.token_id,
        "started_at": parse_time(item.get("started_at")), "collected_at": parse_time(item.get("collected_at")),
        "sent_at": context.sent_at, "clock_skew_seconds": context.skew,
        "location": geo.point(gps["lat"], gps["lon"]) if gps else None,
        "gps_accuracy_m": gps.get("accuracy_m") if gps else None,
        "attachments_missing": len(set(_declared_attachments(item))),  # none can be stored before its submission
    }


def _sealed(context: _Context, submission_uuid: uuid.UUID, item: dict[str, Any]) -> dict[str, Any]:
    """The item as stored: its ID-card and phone answers sealed by the PII key (reliability P2), or all of it but what
    the server reads when no published form says which answers those are (sync.sealing).

    The content hash that tells a resend from a reused uuid was taken from the item as sent, before this.
    """
    return seal_payload(context.protector, save_map_of(context.session, context.forms, item), submission_uuid, item)


def _evidence(context: _Context, item: dict[str, Any], irrelevant: Irrelevant) -> dict[str, Any] | None:
    """What the item's data carries to its entity, worked out once here rather than at every later replay."""
    save_map = context.forms.save_map(context.session, item["form_id"], item["form_version"])
    return None if save_map is None else carried(save_map, item["data"], _area_code(item), context.protector,
                                                 context.id_cards, irrelevant)


def _insert_all(context: _Context, entries: list[_Checked]) -> set[uuid.UUID]:
    """The UUIDs stored now; one whose UUID is taken is not. The unique key decides, even between parallel pushes.

    One statement for the batch, a column per array (sync.bulk: no per-row execution, no parameter per value); only
    when PostgreSQL refuses a value is each item stored in a savepoint of its own, so that whatever one item holds,
    the others stand.
    """

    def store(some: list[_Checked]) -> set[uuid.UUID]:
        statement, parameters = bulk.insert(Submission.__table__, [entry.values for entry in some],
                                            "ON CONFLICT (uuid) DO NOTHING RETURNING uuid")
        return set(context.session.scalars(statement, parameters))

    if not entries:
        return set()
    try:
        with context.session.begin_nested():
            return store(entries)
    except DataError:
        pass
    inserted = set()
    for entry in entries:
        try:
            with context.session.begin_nested():
                inserted |= store([entry])
        except DataError:
            entry.unstorable = True
    return inserted


def _stored_versions(context: _Context, uuids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, SubmissionState, list]]:
    """(content hash, state, errors) of submissions already stored under these UUIDs."""
    if not uuids:
        return {}
    query = select(Submission.uuid, Submission.content_sha256, Submission.state, Submission.errors).where(
        Submission.uuid.in_(uuids))
    return {row.uuid: (row.content_sha256, row.state, row.errors) for row in context.session.execute(query)}


def _repeat(context: _Context, entry: _Checked, stored: tuple[str, SubmissionState, list]) -> ItemResult:
    sha, state, errors = stored
    submission_uuid, area_code = entry.uuid, entry.area_code
    if sha == entry.sha:
        if state == SubmissionState.quarantined:
            return ItemResult(str(submission_uuid), "invalid", errors, area_code=area_code)
        return ItemResult(str(submission_uuid), "duplicate", area_code=area_code)
    context.session.add(SubmissionConflict(
        submission_uuid=submission_uuid, content_sha256=entry.sha, payload=entry.values["payload"],
        user_id=context.submitter.user_id, device_id=context.device_id,
    ))
    context.session.flush()
    error = field_error("uuid", "uuid_reused", "此编号已用于另一份内容不同的提交，原提交未被覆盖",
                        "This UUID was already used for different content; nothing was overwritten")
    return ItemResult(str(submission_uuid), "conflict", [error], area_code=area_code)


def _area_code(item: dict[str, Any]) -> str | None:
    subject = item.get("subject")
    code = subject.get("area_code") if type(subject) is dict else None
    return code if type(code) is str and code.isdigit() and len(code) <= 15 else None


def _declared_attachments(item: dict[str, Any]) -> list[str]:
    attachments = item.get("attachments")
    if type(attachments) is not list:
        return []
    return [a["name"] for a in attachments if type(a) is dict and type(a.get("name")) is str]
