"""The review queue: submissions of the reviewer's areas newest first, filtered one way for the list, the map and the
counts, so the three always show the same submissions."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, Text, and_, case, cast, exists, func, or_, select, tuple_
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from core import geo
from core.clock import CHINA
from core.errors import BadCursor
from core.masking import RecordView
from core.scope import in_scope
from server import paging
from server.models import (
    OPEN_STATES,
    Area,
    EntityConflict,
    Flag,
    Household,
    MonitoringCase,
    ReviewState,
    Submission,
    User,
)
from server.models.areas import CODE_LENGTH
from server.services import conflicts
from server.services.auth import Principal


@dataclass(frozen=True)
class QueueFilter:
    """What the reviewer narrowed the queue to; None is "any". Dates are days in China's time."""

    area_code: str | None = None
    form_id: str | None = None
    review_state: str | None = None
    state: str | None = None  # accepted or quarantined
    flag: str | None = None  # a check's flag on the submission (gps_missing, dibao_without_allowance...)
    risk: str | None = None  # a risk flag of either tier its form's rules raised
    conflict: bool | None = None  # takes part in an open conflict of its household or village
    incomplete: bool | None = None  # declared files are still missing (reliability S10)
    since: date | None = None  # received on or after
    until: date | None = None  # received on or before
    enumerator: str | None = None  # username
    household: str | None = None  # a household number, or the start of the head's name

    @classmethod
    def of(cls, args: Mapping[str, Any]) -> QueueFilter:
        """The filter from parsed arguments (schemas.reviews.QueueFilterSchema), what either front door read."""
        return cls(**{name: args.get(name) for name in cls.__dataclass_fields__})


def where(queue: QueueFilter, scope: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """The filter as SQL clauses on Submission, the caller's scope first: every reader of the queue applies them."""
    clauses = [in_scope(Submission.area_code, scope)]
    if queue.area_code is not None:
        clauses.append(Submission.area_code.startswith(queue.area_code, autoescape=True))
    if queue.form_id is not None:
        clauses.append(Submission.form_id == queue.form_id)
    if queue.review_state is not None:
        clauses.append(Submission.review_state == queue.review_state)
    if queue.state is not None:
        clauses.append(Submission.state == queue.state)
    if queue.flag is not None:
        # Its own alias: the counts by flag read Flag in the outer query, which would swallow the correlation.
        flag = aliased(Flag)
        clauses.append(exists().where(flag.code == queue.flag, flag.submission_uuid == Submission.uuid))
    if queue.risk is not None:
        clauses.append(or_(Submission.risk_flags.any(queue.risk), Submission.watch_flags.any(queue.risk)))
    if queue.conflict is not None:
        # A household's conflicts are keyed by its id, a village's by its area code (sync.entity_writes).
        entity_key = case((Submission.subject_type == "village", Submission.area_code),
                          else_=cast(Submission.entity_id, String))
        involved = exists().where(
            ~EntityConflict.resolved, EntityConflict.entity_type == Submission.subject_type,
            EntityConflict.entity_id == entity_key,
            EntityConflict.candidates.contains(func.jsonb_build_array(
                func.jsonb_build_object("uuid", cast(Submission.uuid, Text)))))
        clauses.append(involved if queue.conflict else ~involved)
    if queue.incomplete is not None:
        clauses.append(Submission.attachments_missing > 0 if queue.incomplete else Submission.attachments_missing == 0)
    if queue.since is not None:
        clauses.append(Submission.received_at >= datetime.combine(queue.since, time(), CHINA))
    if queue.until is not None:
        clauses.append(Submission.received_at < datetime.combine(queue.until + timedelta(days=1), time(), CHINA))
    if queue.enumerator is not None:
        clauses.append(Submission.user_id == select(User.id).where(User.username == queue.enumerator).scalar_subquery())
    if queue.household is not None:
        households = select(Household.id).where(
            in_scope(Household.area_code, scope),
            or_(Household.household_no == queue.household,
                Household.householder_name.startswith(queue.household, autoescape=True)))
        clauses.append(Submission.entity_id.in_(households))
    return clauses


def page(session: Session, viewer: Principal, queue: QueueFilter, after: tuple[datetime, uuid.UUID] | None,
         limit: int) -> tuple[list[dict[str, Any]], tuple[datetime, uuid.UUID] | None]:
    """A keyset page of the queue, newest received first; returns it and the position after it, if more follow."""
    lat, lon = geo.latlon_columns(Submission.location)
    query = (select(Submission.uuid, Submission.form_id, Submission.form_version, Submission.area_code,
                    Submission.subject_type, Submission.entity_id, Submission.state, Submission.review_state,
                    Submission.received_at, Submission.collected_at, Submission.risk_flags, Submission.watch_flags,
                    Submission.attachments_missing, lat.label("lat"), lon.label("lon"),
                    User.username, Area.name_zh.label("area_name_zh"), Area.name_en.label("area_name_en"),
                    Household.household_no, Household.householder_name)
             .join(User, User.id == Submission.user_id)
             .outerjoin(Area, Area.code == Submission.area_code)
             .outerjoin(Household, and_(Submission.subject_type == "household", Household.id == Submission.entity_id,
                                        in_scope(Household.area_code, viewer.scope)))
             .where(*where(queue, viewer.scope))
             .order_by(Submission.received_at.desc(), Submission.uuid.desc()).limit(limit + 1))
    if after is not None:
        query = query.where(tuple_(Submission.received_at, Submission.uuid) < tuple_(*after))
    rows = session.execute(query).all()
    shown = rows[:limit]
    flags = _flags(session, [row.uuid for row in shown])
    view = RecordView(viewer.role)
    items = [{
        "uuid": row.uuid, "form_id": row.form_id, "form_version": row.form_version, "area_code": row.area_code,
        "area_name": {"zh": row.area_name_zh, "en": row.area_name_en}, "subject_type": row.subject_type,
        "entity_id": row.entity_id, "state": row.state.value, "review_state": row.review_state.value,
        "received_at": row.received_at, "collected_at": row.collected_at, "enumerator": row.username,
        "household_no": row.household_no,
        "householder_name": view.value("household", "householder_name", row.householder_name),
        "location": geo.latlon(row.lat, row.lon), "flags": flags.get(row.uuid, []),
        "risk_flags": [*(row.risk_flags or ()), *(row.watch_flags or ())],
        "attachments_missing": row.attachments_missing,
    } for row in shown]
    more = len(rows) > limit
    return items, (shown[-1].received_at, shown[-1].uuid) if more else None


def cursor_after(position: tuple[datetime, uuid.UUID] | None) -> str | None:
    """The opaque cursor of a page's last position (server.paging), for the list's API and its page alike."""
    return None if position is None else paging.encode([position[0].isoformat(), str(position[1])])


def position_of(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """Raises:
    BadCursor: not a cursor of this list.
    """
    position = paging.decode(cursor, list)
    if position is None:
        return None
    try:
        received_at, submission_uuid = position
        return datetime.fromisoformat(received_at), uuid.UUID(submission_uuid)
    except (TypeError, ValueError):
        raise BadCursor() from None


def _flags(session: Session, uuids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    found: dict[uuid.UUID, list[str]] = {}
    if uuids:
        for submission_uuid, code in session.execute(select(Flag.submission_uuid, Flag.code).distinct()
                                                      .where(Flag.submission_uuid.in_(uuids)).order_by(Flag.code)):
            found.setdefault(submission_uuid, []).append(code)
    return found


def counts(session: Session, viewer: Principal, queue: QueueFilter) -> dict[str, Any]:
    """The dashboard: the filtered queue counted by review state, by flag and by the areas one level below the
    filter's area (or the reader's), with what else waits for a supervisor there."""
    clauses = where(queue, viewer.scope)
    digits = _child_digits(queue.area_code, viewer.scope)
    child = func.left(Submission.area_code, digits)
    # One pass over the submissions gives the states, the areas and the missing files; names are joined after it.
    grouped = (select(child.label("code"), Submission.review_state.label("state"), func.count().label("n"),
                      func.count().filter(Submission.attachments_missing > 0).label("incomplete"))
               .where(*clauses).group_by(child, Submission.review_state).subquery())
    rows = session.execute(select(grouped, Area.name_zh, Area.name_en).outerjoin(Area, Area.code == grouped.c.code)
                           .order_by(grouped.c.code)).all()
    by_state: dict[str, int] = {}
    by_area: dict[str, dict[str, Any]] = {}
    for row in rows:
        by_state[row.state] = by_state.get(row.state, 0) + row.n
        area = by_area.setdefault(row.code, {"area_code": row.code, "name": {"zh": row.name_zh, "en": row.name_en},
                                             "count": 0, "pending": 0})
        area["count"] += row.n
        area["pending"] += row.n if row.state is ReviewState.pending else 0
    by_flag = session.execute(select(Flag.code, func.count(func.distinct(Flag.submission_uuid)))
                              .join(Submission, Submission.uuid == Flag.submission_uuid).where(*clauses)
                              .group_by(Flag.code).order_by(func.count(func.distinct(Flag.submission_uuid)).desc(),
                                                            Flag.code)).all()
    area_scope = (queue.area_code,) if queue.area_code else viewer.scope
    household_scope = and_(in_scope(Household.area_code, viewer.scope), in_scope(Household.area_code, area_scope))
    return {
        "total": sum(by_state.values()),
        "by_review_state": {state.value: by_state.get(state, 0) for state in ReviewState},
        "by_flag": [{"code": code, "count": count} for code, count in by_flag],
        "by_area": list(by_area.values()),
        "incomplete": sum(row.incomplete for row in rows),
        "open_conflicts": conflicts.count_open(session, viewer, queue.area_code),
        "open_cases": dict(session.execute(
            select(MonitoringCase.state, func.count()).join(Household, Household.id == MonitoringCase.household_id)
            .where(household_scope, MonitoringCase.state.in_(OPEN_STATES)).group_by(MonitoringCase.state)).all()),
    }


def _child_digits(area_code: str | None, scope: tuple[str, ...]) -> int:
    """How many digits of a code name the areas one level below the filter (or below the reader's widest area)."""
    known = area_code or min(scope, key=len, default="")
    lengths = sorted(CODE_LENGTH.values())
    return next((n for n in lengths if n > len(known)), lengths[-1])
