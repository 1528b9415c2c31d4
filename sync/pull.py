"""Pull: one page of the change feed in the caller's scope, each change carrying its object's latest state."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, Text, case, cast, func, literal, or_, select, tuple_, union_all
from sqlalchemy.orm import Session

from core import geo
from core.masking import DeviceView
from core.pii import Protector
from core.scope import in_scope_by_county
from server.models import (
    Area,
    Assignment,
    FormVersion,
    Household,
    Person,
    SubmissionReview,
    SyncChange,
    User,
    Village,
    Xid8,
)
from survey_forms.prefill import by_entity, prefill_targets
from sync.reconcile import PERSON_COLUMNS

Position = tuple[int, int]  # (transaction id, sequence number) of the last change a device has
START: Position = (0, 0)

_AREA_COLUMNS = (Area.code, Area.level, Area.parent_code, Area.name_zh, Area.name_en, Area.retired_at.is_not(None),
                 geo.simplified_geojson(Area.boundary), *geo.latlon_columns(Area.centroid), *geo.bbox_columns(Area.boundary))


@dataclass(frozen=True)
class Reader:
    """Who is pulling: what they may see is decided by these three."""

    user_id: uuid.UUID
    role: str
    scope: Sequence[str]


@dataclass(frozen=True)
class Page:
    changes: list[dict[str, Any]]
    position: Position  # where the next pull starts
    has_more: bool
    # Committed changes for the reader wait behind a transaction still open: the feed gives them once it ends.
    held_back: bool = False


def pull(session: Session, reader: Reader, after: Position, limit: int, protector: Protector) -> Page:
    """The next changes after `after`, oldest first, at most `limit`; each object once, in its latest state.

    Personal values are what core.masking lets the reader's phone have: what the forms of the reader's role pre-fill.
    """
    rows = session.execute(_page_query(reader, after, limit + 1)).all()
    page = rows[:limit]
    held_back = session.execute(_page_query(reader, after, 1, waiting=True)).first() is not None
    by_kind: dict[str, list[str]] = {}
    for row in page:
        by_kind.setdefault(row.kind, []).append(row.object_id)
    states: dict[tuple[str, str], tuple[int | None, dict[str, Any]]] = {}
    view = DeviceView(reader.role, _prefilled(session, reader.role), protector.open_value)
    for kind, ids in by_kind.items():
        for object_id, version, data in RENDERERS[kind](session, ids, view):
            states[(kind, object_id)] = (version, data)
    changes = []
    for row in page:
        version, data = states.get((row.kind, row.object_id), (None, None))
        # An object gone since (none are deleted today) is sent with no data, so the device can drop it.
        changes.append({"kind": row.kind, "id": row.object_id, "version": row.seq if version is None else version,
                        "data": data})
    position = (page[-1].txid, page[-1].seq) if page else after
    return Page(changes, position, len(rows) > limit, held_back)


Rendered = Iterable[tuple[str, int | None, dict[str, Any]]]  # (object id, version or None for the feed's, data)


def _page_query(reader: Reader, after: Position, limit: int, waiting: bool = False) -> Select[Any]:
    """The reader's changes after `after`: those the cursor may pass, or (waiting) those it may not pass yet.

    The reader's rows come in parts, each read from an index in feed order and merged (a Merge Append), so a pull
    reads its reader's rows and not the province's: rows with an area county by county (core.scope.in_scope_by_county),
    and rows without one addressed to the reader (reviews) or to no one (forms).
    """
    change = SyncChange
    position = tuple_(change.txid, change.seq)
    cursor_txid = cast(cast(literal(str(after[0])), Text), Xid8)
    oldest_running = func.pg_snapshot_xmin(func.pg_current_snapshot())
    if waiting:
        # After the cursor and written by a transaction still running or newer. As one bound, the later of the two,
        # where each index scan starts: given both, a scan would start at the cursor and read every row since.
        first_seq = case((cursor_txid >= oldest_running, literal(after[1] + 1)), else_=literal(0))
        bounds = [position >= tuple_(func.greatest(cursor_txid, oldest_running), cast(first_seq, BigInteger))]
    else:
        # Only changes of transactions older than every one still running: an open transaction may yet
        # commit a change that sorts before the newest visible one, and the cursor must not pass it.
        bounds = [change.txid < oldest_running, position > tuple_(cursor_txid, literal(after[1]))]
    for_role = or_(change.roles.is_(None), change.roles.any(reader.role))

    def part(*where: ColumnElement[bool]) -> Select[Any]:
        return (select(change.kind, change.object_id, change.seq, change.txid).where(*bounds, for_role, *where)
                .order_by(change.txid, change.seq).limit(limit))

    for_reader = or_(change.user_id.is_(None), change.user_id == reader.user_id)
    parts = [part(clause, for_reader) for clause in in_scope_by_county(change.county_code, change.area_code, reader.scope)]
    parts += [part(change.area_code.is_(None), change.user_id == reader.user_id),
              part(change.area_code.is_(None), change.user_id.is_(None))]
    rows = union_all(*parts).subquery()
    return (select(rows.c.kind, rows.c.object_id, rows.c.seq, cast(cast(rows.c.txid, Text), BigInteger).label("txid"))
            .order_by(rows.c.txid, rows.c.seq).limit(limit))


def _areas(session: Session, codes: list[str], view: DeviceView) -> Rendered:
    """Areas with `retired` and `boundary` (added in protocol version 1, as it allows): a retired area stays on the
    phone for the households in it, but is no longer offered for new ones (server.models.areas.Area); the boundary,
    simplified GeoJSON, lets a phone with no signal tell whether a fix lies in the village."""
    for code, level, parent_code, name_zh, name_en, retired, boundary, lat, lon, *box in session.execute(
            select(*_AREA_COLUMNS).where(Area.code.in_(codes))):
        yield code, None, {
            "code": code, "level": level.value, "parent_code": parent_code, "name": {"zh": name_zh, "en": name_en},
            "centroid": geo.latlon(lat, lon), "bbox": None if box[0] is None else [float(v) for v in box],
            "retired": retired, "boundary": None if boundary is None else json.loads(boundary),
        }


def _households(session: Session, ids: list[str], view: DeviceView) -> Rendered:
    household_ids = [uuid.UUID(i) for i in ids]
    members = _members(session, household_ids, view)
    query = select(Household, Household.location.ST_Y().label("lat"), Household.location.ST_X().label("lon")).where(
        Household.id.in_(household_ids))
    for household, lat, lon in session.execute(query):
        properties = household.properties or {}
        yield str(household.id), household.version, {
            "id": str(household.id), "area_code": household.area_code, "household_no": household.household_no,
            "householder_name": view.fixed("household", "householder_name", household.householder_name),
            "location": geo.latlon(lat, lon),
            "monitoring_category": view.fixed("household", "monitoring_category", properties.get("monitoring_category")),
            "prefill": view.properties("household", properties),
            "members": members.get(household.id, []),
            "version": household.version,
        }


def _members(session: Session, household_ids: list[uuid.UUID], view: DeviceView) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The people of these households with their pre-filled values, in one query for the whole page.

    Each carries a person_key, opaque to the device (the person's id: reconciliation's own key may be a name and
    birth year), so the device lines up its members repeat with the people the server knows.
    """
    people: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    columns = [getattr(Person, name) for name in PERSON_COLUMNS]
    query = (select(Person.household_id, Person.id, Person.properties, *columns)
             .where(Person.household_id.in_(household_ids)).order_by(Person.household_id, Person.id))
    for household_id, person_id, properties, *values in session.execute(query):
        state = dict(properties or {})
        state.update((name, _json(value)) for name, value in zip(PERSON_COLUMNS, values, strict=True) if value is not None)
        people[household_id].append({"person_key": str(person_id), **view.properties("person", state)})
    return people


def _villages(session: Session, codes: list[str], view: DeviceView) -> Rendered:
    for village in session.scalars(select(Village).where(Village.area_code.in_(codes))):
        yield village.area_code, village.version, {
            "area_code": village.area_code, "prefill": view.properties("village", village.properties or {}),
            "version": village.version, "risk_flags": village.risk_flags,
        }


def _assignments(session: Session, ids: list[str], view: DeviceView) -> Rendered:
    for assignment in session.scalars(select(Assignment).where(Assignment.id.in_([uuid.UUID(i) for i in ids]))):
        yield str(assignment.id), None, {
            "id": str(assignment.id), "area_code": assignment.area_code,
            "household_id": None if assignment.household_id is None else str(assignment.household_id),
            "form_id": assignment.form_id, "round": assignment.round,
            "due_date": None if assignment.due_date is None else assignment.due_date.isoformat(),
            "state": assignment.state.value,
        }


def _reviews(session: Session, ids: list[str], view: DeviceView) -> Rendered:
    latest = (select(SubmissionReview, User.username, User.display_name)
              .join(User, User.id == SubmissionReview.reviewer_id)
              .where(SubmissionReview.submission_uuid.in_([uuid.UUID(i) for i in ids]))
              .order_by(SubmissionReview.submission_uuid, SubmissionReview.id.desc())
              .distinct(SubmissionReview.submission_uuid))
    for review, username, display_name in session.execute(latest):
        yield str(review.submission_uuid), None, {
            "uuid": str(review.submission_uuid), "state": review.decision.value, "comment": review.comment,
            "reviewer": display_name or username, "decided_at": review.decided_at.isoformat(),
        }


def _forms(session: Session, ids: list[str], view: DeviceView) -> Rendered:
    keys = [(form_id, int(version)) for form_id, _, version in (i.rpartition("/") for i in ids)]
    for form in session.scalars(select(FormVersion).where(tuple_(FormVersion.form_id, FormVersion.version).in_(keys))):
        yield f"{form.form_id}/{form.version}", form.version, {
            "form_id": form.form_id, "version": form.version, "sha256": form.sha256,
            "title": {"zh": form.title_zh, "en": form.title_en}, "subject": form.subject,
        }


RENDERERS = {"area": _areas, "household": _households, "village": _villages, "assignment": _assignments, "review": _reviews,
             "form": _forms}

_PREFILL_CACHE: dict[tuple[frozenset[tuple[str, int]], str], defaultdict[str, frozenset[str]]] = {}


def _prefilled(session: Session, role: str) -> defaultdict[str, frozenset[str]]:
    """Per entity, the properties the published forms of this role pre-fill; worked out again when a version is
    published. core.masking decides what of them a phone gets (never an ID number, no personal value to planners)."""
    published = frozenset(session.execute(select(FormVersion.form_id, FormVersion.version)).tuples())
    if (published, role) not in _PREFILL_CACHE:
        documents = session.scalars(select(FormVersion.definition).where(FormVersion.roles.any(role)))
        targets = set().union(*(prefill_targets(document) for document in documents))
        if not any(key[0] == published for key in _PREFILL_CACHE):
            _PREFILL_CACHE.clear()
        _PREFILL_CACHE[(published, role)] = by_entity(targets)
    return _PREFILL_CACHE[(published, role)]


def _json(value: Any) -> Any:
    """A column's value as JSON has it: a birth date as ISO 8601, like the forms' date fields."""
    return value.isoformat() if isinstance(value, date) else value
