"""The datasets a planner exports (households, people, villages, cases), each a list of layers read in scope.

A dataset's state is the approved one unless the reader asks for every visit: each household or village is read at
the last version before the first one that holds a visit not approved (or received after `as_of`), by undoing the
changes of the later versions, which entity_version keeps as [before, after] pairs. `as_of` is a day in China time
and counts what the server had received by its end, since devices' clocks are wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import literal_column, select, text
from sqlalchemy.sql.elements import TextClause

from core.clock import CHINA
from core.errors import NotFound
from core.masking import ExportView, is_personal
from core.scope import covers, in_scope
from server.services.exports.layers import Column, Kind, Layer, Shape, exported, property_column, property_sql
from survey_forms.catalogue import load_catalogue


class ReviewFilter(StrEnum):
    approved = "approved"  # the state made by approved visits only (and the registry)
    any = "any"  # the current state, whatever the review


@dataclass(frozen=True)
class Filters:
    scope: tuple[str, ...]
    area_code: str | None = None
    review: ReviewFilter = ReviewFilter.approved
    as_of: date | None = None

    def __post_init__(self) -> None:
        if self.area_code is not None and not covers(self.scope, self.area_code):
            raise NotFound(f"No area {self.area_code} in your areas. 您的工作范围内没有区域 {self.area_code}。")

    @property
    def until(self) -> datetime | None:
        """The first instant after `as_of`, in China time."""
        return None if self.as_of is None else datetime.combine(self.as_of + timedelta(days=1), time(), CHINA)

    @property
    def until_sql(self) -> str:
        """`until` as an SQL literal: it is made here from a date, never from the caller's text."""
        return "NULL" if self.until is None else f"'{self.until.isoformat()}'::timestamptz"

    @property
    def folded(self) -> bool:
        """Whether records are read at an earlier version than their current one."""
        return self.review is ReviewFilter.approved or self.as_of is not None

    def where(self, area_code: str) -> list[Any]:
        column = literal_column(area_code)
        clauses = [in_scope(column, self.scope)]
        if self.area_code:
            clauses.append(column.startswith(self.area_code, autoescape=True))
        return clauses


def _label(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


AREA_NAMES = (
    Column("county", Kind.text, _label("县（市、区）", "County")),
    Column("township", Kind.text, _label("乡（镇、街道）", "Township")),
    Column("admin_village", Kind.text, _label("行政村（社区）", "Administrative village")),
    Column("natural_village", Kind.text, _label("自然村（村民小组）", "Natural village")),
)
_AREA_JOINS = {"county": 6, "township": 9, "admin_village": 12, "natural_village": 15}


def _area_names(code: str, levels: tuple[Column, ...] = AREA_NAMES) -> tuple[str, list[Any]]:
    """LEFT JOINs that name the areas above a record, and their columns."""
    joins = " ".join(f"LEFT JOIN area a_{c.name} ON a_{c.name}.code = left({code}, {_AREA_JOINS[c.name]})"
                     for c in levels)
    return joins, [literal_column(f"a_{c.name}.name_zh").label(c.name) for c in levels]


def _cut(entity_type: str, entity_id: str, filters: Filters) -> str:
    """A LATERAL subquery `cut(version)`: the last version of the filter's state, NULL when it is the current one,
    0 when the record did not exist yet."""
    late = []
    if filters.review is ReviewFilter.approved:
        late.append("s.review_state <> 'approved'")
    if filters.as_of is not None:
        late.append(f"s.received_at >= {filters.until_sql}")
    return (f"LEFT JOIN LATERAL (SELECT min(ev.version) - 1 AS version FROM entity_version ev "
            f"JOIN submission s ON s.uuid = ANY(ev.submission_uuids::uuid[]) "
            f"WHERE ev.entity_type = '{entity_type}' AND ev.entity_id = {entity_id} AND ({' OR '.join(late)})) cut ON true")  # nosec B608


def _undone(entity_type: str, entity_id: str, key_filter: str, name: str = "c.key") -> str:
    """The values the changes after cut.version replaced, as one JSONB object: the `before` of each property's first
    later change. `name` turns a change's key into the property's name (a member's key carries a prefix)."""
    return (f"(SELECT jsonb_object_agg(u.name, u.before) FROM (SELECT DISTINCT ON (c.key) {name} AS name, "
            f"c.value->0 AS before FROM entity_version ev2, jsonb_each(ev2.changes) c "
            f"WHERE ev2.entity_type = '{entity_type}' AND ev2.entity_id = {entity_id} AND ev2.version > cut.version "
            f"AND {key_filter} ORDER BY c.key, ev2.version) u)")  # nosec B608


def _folded(filters: Filters, entity_type: str, entity_id: str, record: str, undone: str, extra: str = "") -> str:
    """`cut` and a LATERAL `st(p, ...)`: the record's properties as they stood at cut.version, its current ones when
    the filter's state is the current one; `extra` adds columns to st."""
    # OFFSET 0 keeps the subquery whole: inlined, its `p` would be copied into every property's expression, and the
    # history lookup with it (226 subplans for the households layer instead of 5).
    return (f"{_cut(entity_type, entity_id, filters)} CROSS JOIN LATERAL (SELECT CASE WHEN cut.version IS NULL "
            f"THEN {record} ELSE {record} || coalesce({undone}, '{{}}') END AS p{extra} OFFSET 0) st")


def _existed(filters: Filters, created_at: str) -> str:
    """The record was there in the filter's state: made by a visit that counts, and (as_of) made by then."""
    return "coalesce(cut.version, 1) > 0" + (f" AND {created_at} < {filters.until_sql}" if filters.as_of else "")


def _point_of(props: str) -> str:
    """A geopoint property ({lat, lon}) as a point; NULL unless both are numbers."""
    return (f"CASE WHEN jsonb_typeof({props}->'lat') = 'number' AND jsonb_typeof({props}->'lon') = 'number' "
            f"THEN ST_SetSRID(ST_MakePoint(({props}->>'lon')::float8, ({props}->>'lat')::float8), 4326) END")


def _properties(entity: str, view: ExportView, source: str, fixed: Sequence[Column]) -> tuple[list[Column], list[Any]]:
    """The entity's properties this view carries, as columns after the layer's `fixed` ones (which win a name)."""
    taken = {c.name for c in fixed}
    props = [p for p in load_catalogue().of(entity) if exported(p) and view.carries(entity, p.name) and p.name not in taken]
    return ([property_column(p, sealed=view.unmasked and is_personal(entity, p.name)) for p in props],
            [literal_column(property_sql(source, p)).label(p.name) for p in props])


def _from(sql: str) -> TextClause:
    return text(sql)


def _latest_case(household: str, filters: Filters) -> str:
    """The household's latest monitoring case as `mc(category, state)`, as it stood at the end of `as_of`."""
    if filters.as_of is None:
        return (f"LEFT JOIN LATERAL (SELECT c.category, c.state::text AS state FROM monitoring_case c "
                f"WHERE c.household_id = {household} ORDER BY c.opened_at DESC LIMIT 1) mc ON true")  # nosec B608
    return (f"LEFT JOIN LATERAL (SELECT c.category, e.to_state::text AS state FROM monitoring_case c "
            f"JOIN monitoring_event e ON e.case_id = c.id WHERE c.household_id = {household} AND e.at < {filters.until_sql} "
            f"ORDER BY e.at DESC, e.id DESC LIMIT 1) mc ON true")  # nosec B608


HOUSEHOLD_COLUMNS = (
    Column("household_id", Kind.text, _label("农户标识", "Household id")),
    Column("household_no", Kind.text, _label("户编号", "Household number")),
    Column("area_code", Kind.text, _label("自然村代码", "Natural-village code")),
    *AREA_NAMES,
    Column("version", Kind.integer, _label("记录版本", "Record version")),
    Column("case_category", Kind.text, _label("监测对象类别（县级认定）", "Monitoring category (the county's decision)")),
    Column("case_state", Kind.text, _label("监测案例状态", "Monitoring case state")),
    Column("risk_flags", Kind.text, _label("风险标记（当前版本）", "Risk flags (current version)")),
)


def households(filters: Filters, view: ExportView) -> list[Layer]:
    columns, values = _properties("household", view, "st.p", HOUSEHOLD_COLUMNS)
    if filters.folded:
        undone = _undone("household", "h.id::text", "c.key NOT LIKE 'members/%'")
        state = _folded(filters, "household", "h.id::text", "h.properties", undone)
        location = _point_of("(st.p->'location')")
        geometry = f"CASE WHEN cut.version IS NULL THEN h.location ELSE {location} END"
        version = "coalesce(cut.version, h.version)"
        exists = _existed(filters, "h.created_at")
    else:
        state, geometry, version, exists = ("CROSS JOIN LATERAL (SELECT h.properties AS p) st", "h.location", "h.version",
                                            "true")
    joins, names = _area_names("h.area_code")
    sql = f"household h {state} {joins} {_latest_case('h.id', filters)}"
    query = (select(literal_column(f"ST_AsBinary({geometry})").label("geometry"),
                    literal_column("h.id::text").label("household_id"), literal_column("h.household_no"),
                    literal_column("h.area_code"), *names, literal_column(version).label("version"),
                    literal_column("mc.category").label("case_category"),
                    literal_column("mc.state").label("case_state"),
                    literal_column("array_to_string(h.risk_flags, ';')").label("risk_flags"), *values)
             .select_from(_from(sql)).where(literal_column(exists), *filters.where("h.area_code")))
    return [Layer("households", _label("农户", "Households"), Shape.point, (*HOUSEHOLD_COLUMNS, *columns), query,
                  order=(literal_column("h.area_code"), literal_column("h.household_no"), literal_column("h.id")),
                  key=literal_column("h.id::text"), key_name="household_id")]


PERSON_COLUMNS = (
    Column("person_id", Kind.text, _label("成员标识", "Person id")),
    Column("household_id", Kind.text, _label("农户标识", "Household id")),
    Column("household_no", Kind.text, _label("户编号", "Household number")),
    Column("area_code", Kind.text, _label("自然村代码", "Natural-village code")),
)


def people(filters: Filters, view: ExportView) -> list[Layer]:
    """Members as a table (no geometry: they live at their household's point, which the household_id joins)."""
    columns, values = _properties("person", view, "st.p", PERSON_COLUMNS)
    record = ("jsonb_strip_nulls(jsonb_build_object('name', pe.name, 'sex', pe.sex, 'birth_date', pe.birth_date, "
              "'relation_to_head', pe.relation_to_head)) || pe.properties")
    if filters.folded:
        member = "('members/' || pe.person_key || '/')"
        undone = _undone("household", "h.id::text", f"left(c.key, length({member})) = {member}",
                         name=f"substr(c.key, length({member}) + 1)")
        # A member whose name a later version set from nothing had not joined the household yet.
        joined_later = ("EXISTS (SELECT 1 FROM entity_version ev3 WHERE ev3.entity_type = 'household' "
                        f"AND ev3.entity_id = h.id::text AND ev3.version > cut.version "
                        f"AND ev3.changes->({member} || 'name')->0 = 'null'::jsonb)")  # nosec B608
        state = _folded(filters, "household", "h.id::text", record, undone,
                        f", cut.version IS NOT NULL AND {joined_later} AS joined_later")
        exists = f"{_existed(filters, 'h.created_at')} AND NOT st.joined_later"
    else:
        state, exists = f"CROSS JOIN LATERAL (SELECT {record} AS p) st", "true"
    sql = f"person pe JOIN household h ON h.id = pe.household_id {state}"
    query = (select(literal_column("pe.id::text").label("person_id"), literal_column("h.id::text").label("household_id"),
                    literal_column("h.household_no"), literal_column("h.area_code"), *values)
             .select_from(_from(sql)).where(literal_column(exists), *filters.where("h.area_code")))
    return [Layer("people", _label("家庭成员", "People"), None, (*PERSON_COLUMNS, *columns), query,
                  order=(literal_column("h.area_code"), literal_column("h.household_no"), literal_column("pe.id")),
                  key=literal_column("pe.id::text"), key_name="person_id")]


VILLAGE_COLUMNS = (
    Column("area_code", Kind.text, _label("村庄代码", "Village code")),
    Column("name_zh", Kind.text, _label("名称", "Name")),
    Column("name_en", Kind.text, _label("英文名称", "Name in English")),
    *AREA_NAMES[:3],
    Column("version", Kind.integer, _label("记录版本", "Record version")),
    Column("risk_flags", Kind.text, _label("村级标记（当前版本）", "Village flags (current version)")),
    # A village a later official file no longer has keeps its records; a planner sees when it was retired.
    Column("retired_at", Kind.datetime, _label("撤销时间", "Retired at")),
)


def villages(filters: Filters, view: ExportView, shape: Shape = Shape.point) -> list[Layer]:
    """Natural and administrative villages with their surveyed state: at the surveyed centre (or the area's own
    centre) as points, or as their boundaries."""
    columns, values = _properties("village", view, "st.p", VILLAGE_COLUMNS)
    layers = []
    for level, name, title in (("natural_village", "natural_villages", _label("自然村", "Natural villages")),
                               ("admin_village", "admin_villages", _label("行政村", "Administrative villages"))):
        if filters.folded:
            undone = _undone("village", "a.code", "true")
            state = _folded(filters, "village", "a.code", "coalesce(v.properties, '{}')", undone,
                            ", coalesce(cut.version, v.version) AS version")
        else:
            state = "CROSS JOIN LATERAL (SELECT coalesce(v.properties, '{}'::jsonb) AS p, v.version) st"
        if shape is Shape.point:
            surveyed = _point_of("(st.p->'centroid')")
            geometry = f"coalesce({surveyed}, a.centroid, ST_PointOnSurface(a.boundary))"
        else:
            geometry = "a.boundary"
        joins, names = _area_names("a.code", AREA_NAMES[:3])
        sql = f"area a LEFT JOIN village v ON v.area_code = a.code {state} {joins}"
        query = (select(literal_column(f"ST_AsBinary({geometry})").label("geometry"), literal_column("a.code").label("area_code"),
                        literal_column("a.name_zh"), literal_column("a.name_en"), *names,
                        literal_column("st.version").label("version"),
                        literal_column("array_to_string(v.risk_flags, ';')").label("risk_flags"),
                        literal_column("a.retired_at"), *values)
                 .select_from(_from(sql))
                 .where(literal_column(f"a.level = '{level}'"), *filters.where("a.code")))
        layers.append(Layer(name, title, shape, (*VILLAGE_COLUMNS, *columns), query,
                            order=(literal_column("a.code"),), key=literal_column("a.code"), key_name="area_code"))
    return layers


CASE_COLUMNS = (
    Column("case_id", Kind.text, _label("监测案例标识", "Case id")),
    Column("household_id", Kind.text, _label("农户标识", "Household id")),
    Column("household_no", Kind.text, _label("户编号", "Household number")),
    Column("area_code", Kind.text, _label("自然村代码", "Natural-village code")),
    *AREA_NAMES,
    Column("state", Kind.text, _label("状态", "State")),
    Column("category", Kind.text, _label("监测对象类别", "Monitoring category")),
    Column("risk_types", Kind.text, _label("风险类型", "Risk types")),
    Column("channel", Kind.text, _label("识别渠道", "Channel")),
    Column("opened_at", Kind.datetime, _label("纳入时间", "Opened at")),
    Column("identified_on", Kind.date, _label("识别纳入日期", "Identified on")),
    Column("notice_started_on", Kind.date, _label("公示开始日期", "Notice started on")),
    Column("closed_at", Kind.datetime, _label("关闭时间", "Closed at")),
)

MEASURE_COLUMNS = (
    Column("measure_id", Kind.integer, _label("措施编号", "Measure id")),
    Column("case_id", Kind.text, _label("监测案例标识", "Case id")),
    Column("household_id", Kind.text, _label("农户标识", "Household id")),
    Column("household_no", Kind.text, _label("户编号", "Household number")),
    Column("area_code", Kind.text, _label("自然村代码", "Natural-village code")),
    Column("measure_type", Kind.text, _label("帮扶措施类型", "Measure type")),
    Column("measure_scope", Kind.text, _label("单项或综合", "Single or comprehensive")),
    Column("measure_date", Kind.date, _label("落实日期", "Date")),
    Column("amount_yuan", Kind.decimal, _label("金额（元）", "Amount (yuan)")),
    Column("risk_types", Kind.text, _label("针对风险", "Risks it answers")),
    Column("status", Kind.text, _label("进展", "Status")),
    Column("recorded_at", Kind.datetime, _label("登记时间", "Recorded at")),
)
RESPONSIBLE = Column("responsible_person", Kind.text, _label("责任人", "Responsible person"))


def cases(filters: Filters, view: ExportView) -> list[Layer]:
    """Monitoring cases (at their household's point) and the assistance measures of households, each as it stood at
    the end of `as_of` when one is given. Cases are supervisors' decisions, not visits: the review filter does not
    apply to them."""
    until = filters.as_of is not None
    if until:
        state = ("JOIN LATERAL (SELECT e.to_state::text AS state FROM monitoring_event e WHERE e.case_id = c.id "
                 f"AND e.at < {filters.until_sql} ORDER BY e.at DESC, e.id DESC LIMIT 1) st ON true")  # nosec B608
        closed = f"CASE WHEN c.closed_at < {filters.until_sql} THEN c.closed_at END"
    else:
        state, closed = "CROSS JOIN LATERAL (SELECT c.state::text AS state) st", "c.closed_at"
    identified = ("(SELECT max(e.step_date) FROM monitoring_event e WHERE e.case_id = c.id AND e.step = 'identify'"
                  + (f" AND e.at < {filters.until_sql})" if until else ")"))  # nosec B608
    joins, names = _area_names("h.area_code")
    sql = f"monitoring_case c JOIN household h ON h.id = c.household_id {state} {joins}"
    case_query = (select(literal_column("ST_AsBinary(h.location)").label("geometry"),
                         literal_column("c.id::text").label("case_id"), literal_column("h.id::text").label("household_id"),
                         literal_column("h.household_no"), literal_column("h.area_code"), *names,
                         literal_column("st.state").label("state"), literal_column("c.category"),
                         literal_column("array_to_string(c.risk_types, ';')").label("risk_types"),
                         literal_column("c.channel"), literal_column("c.opened_at"),
                         literal_column(identified).label("identified_on"), literal_column("c.notice_started_on"),
                         literal_column(closed).label("closed_at"))
                  .select_from(_from(sql)).where(*filters.where("h.area_code")))
    responsible = (RESPONSIBLE,) if view.carries_text else ()
    measure_sql = "assistance_measure m JOIN household h ON h.id = m.household_id"
    measure_query = (select(literal_column("m.id").label("measure_id"), literal_column("m.case_id::text").label("case_id"),
                            literal_column("h.id::text").label("household_id"), literal_column("h.household_no"),
                            literal_column("h.area_code"), literal_column("m.measure_type"),
                            literal_column("m.measure_scope"), literal_column("m.measure_date"),
                            literal_column("m.amount_yuan::float8").label("amount_yuan"),
                            literal_column("array_to_string(m.risk_types, ';')").label("risk_types"),
                            literal_column("m.status::text").label("status"), literal_column("m.recorded_at"),
                            *[literal_column("m.responsible_person")] * len(responsible))
                     .select_from(_from(measure_sql))
                     .where(*filters.where("h.area_code"),
                            *([literal_column(f"m.recorded_at < {filters.until_sql}")] if until else [])))
    return [Layer("monitoring_cases", _label("监测案例", "Monitoring cases"), Shape.point, CASE_COLUMNS, case_query,
                  order=(literal_column("h.area_code"), literal_column("c.opened_at"), literal_column("c.id")),
                  key=literal_column("c.id::text"), key_name="case_id"),
            Layer("assistance_measures", _label("帮扶措施", "Assistance measures"), None,
                  (*MEASURE_COLUMNS, *responsible), measure_query,
                  order=(literal_column("h.area_code"), literal_column("m.id")), key=literal_column("m.id"),
                  key_name="measure_id")]


# The datasets by name, as the API and the CLI name them.
DATASETS: dict[str, Callable[[Filters, ExportView], list[Layer]]] = {
    "households": households,
    "people": people,
    "villages": villages,
    "cases": cases,
}
