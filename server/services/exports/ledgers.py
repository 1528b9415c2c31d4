"""County ledgers (台账) in the columns a county reports upward: the monitored roster, four issue ledgers, the monthly table.

Every ledger reads the datasets' own queries (datasets.households, people and cases) as CTEs, so the review filter,
`as_of` and the caller's scope apply as they do there: the approved state by default. Rows are keyed by household
number and ordered by area, then household number; values stay codes and lists are joined with ';', as in every other
export. A personal column (a householder's or member's name, a birth date and the age read from it) is there only when
the ExportView carries it; the cadre responsible for a measure is free text, there only when the view carries text.

Which rows (property names of survey_forms/entities, as household_visit v2 records them):
- monitored_roster: households whose latest case, as it stood at `as_of`, is identified or later and not dismissed
  (identified, assisted, elimination_noticed, long_term_follow_up, risk_eliminated), with that case's measures.
  纳入时间 is the identify event's step_date, else the day (China time) it was recorded; 风险消除时间 likewise of the
  eliminate event.
- dropout_ledger: current members (member_status present, born, married_in or none) of compulsory-school age (6 to 15
  on the last 1 September, from the birth date) whose schooling_status is dropped_out or not_applicable: the visit's
  own out_of_school rule, whose count children_out_of_school the catalogue publishes. No birth date: no age, as on the
  phone. The age is counted at `as_of`, else today.
- uninsured_ledger: current members with medical_insurance none (the visit's is_uninsured).
- housing_ledger: households with a grade C or D house, or housing_safe false.
- water_ledger: households with water_safe false, or any of the four water indicators answered no.

Matching a measure to an issue: a measure of the household answers it when its risk_types name the issue's risk type
(education_unsecured, medical_unsecured, housing_unsafe, water_unsafe: the codes of domain.md 3.13, which a supervisor
ties a measure to), or when it is the issue's own kind of measure (education_aid, insurance_subsidy, housing, water:
domain.md 3.14), since the measures a visit records carry no risk types. The issue's measures are their types; its
progress the least advanced of their statuses; its date closed (销号日期) their latest measure_date once every one of
them is done. An issue is open while it holds in the state and is not closed; a dropout whose household answers
dropout_returned = returned is not open, nor a C or D house the family no longer lives in (housing_safe true).

monthly_table: each township and administrative village in scope, for one calendar month (China time) read at its last
day, or at `as_of` when that comes first: households whose latest case is monitored (identified, assisted,
elimination_noticed, long_term_follow_up) and their current members; households with a case identified or eliminated
in the month (by the step's day, as the roster dates it); households with an open issue in each issue ledger; and
measures recorded (recorded_at) in the month. It reads no personal value.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Select, literal_column, select, text
from sqlalchemy.sql.selectable import CTE

from core.clock import CHINA
from core.errors import InvalidInput
from core.masking import ExportView, is_personal
from server.models import MeasureStatus, MonitoringState
from server.services.exports.datasets import AREA_NAMES, Filters, cases, households, people
from server.services.exports.indicators import CURRENT_MEMBERS, MONITORED, PLANNER
from server.services.exports.layers import Column, Kind, Layer, property_column
from survey_forms.catalogue import load_catalogue

ROSTER_STATES = (*MONITORED, MonitoringState.risk_eliminated)
# The household_visit form's compulsory_age_min / compulsory_age_max (its age on 1 September).
COMPULSORY_AGE = (6, 15)
SEPARATOR = ";"
# The member ledgers choose members by their age, as the visit does, so they read the birth date whatever the reader
# may see; the columns that leave are the caller's view's.
EVERY_PROPERTY = ExportView("admin", unmasked=True)
ALIASES = {"household": "h", "person": "p"}  # household_rows h, person_rows p in every ledger's SQL
CURRENT = f"coalesce(p.member_status, 'present') IN {CURRENT_MEMBERS}"


def _label(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


HOUSEHOLD_NO = Column("household_no", Kind.text, _label("户编号", "Household number"))
HOUSEHOLD_ID = Column("household_id", Kind.text, _label("农户标识", "Household id"))
PERSON_ID = Column("person_id", Kind.text, _label("成员标识", "Person id"))
SCHOOL_AGE = Column("school_age", Kind.integer, _label("9月1日年龄", "Age on 1 September"))
RESPONSIBLE = Column("responsible_person", Kind.text, _label("帮扶责任人", "Responsible person"))
MEASURES = Column("measures", Kind.text, _label("帮扶措施", "Assistance measures"))
ISSUE_COLUMNS = (MEASURES, Column("measure_status", Kind.text, _label("措施进展", "Progress of the measures")),
                 Column("closed_on", Kind.date, _label("销号日期", "Date closed")))
OPEN_ISSUE = Column("open_issue", Kind.boolean, _label("是否未销号", "Still open"))


@dataclass(frozen=True)
class Issue:
    """One issue ledger: which rows (`holds`, SQL over h = household_rows and p = person_rows), which measures answer
    it, what else closes it (`settled`), and the properties it shows after the member's own columns."""

    name: str
    title: tuple[str, str]
    risk_type: str
    measure_type: str
    per_member: bool
    holds: str
    shown: tuple[tuple[str, str], ...]
    settled: str = "false"
    school_age: bool = False


ISSUES = (
    Issue("dropout_ledger", ("控辍保学台账", "Dropout ledger"), "education_unsecured", "education_aid", True,
          f"{CURRENT} AND p.schooling_status IN ('dropped_out', 'not_applicable') AND {{school_age}} BETWEEN "
          f"{COMPULSORY_AGE[0]} AND {COMPULSORY_AGE[1]}",  # nosec B608
          (("person", "schooling_status"), ("person", "dropout_reason"), ("household", "dropout_returned")),
          settled="h.dropout_returned = 'returned'", school_age=True),
    Issue("uninsured_ledger", ("参保台账", "Uninsured members ledger"), "medical_unsecured", "insurance_subsidy", True,
          f"{CURRENT} AND p.medical_insurance = 'none'", (("person", "medical_insurance"),)),
    Issue("housing_ledger", ("住房安全台账", "Housing safety ledger"), "housing_unsafe", "housing", False,
          "h.housing_grade IN ('C', 'D') OR h.housing_safe = false",
          tuple(("household", name) for name in ("housing_grade", "lives_in_graded_house", "renovation_status",
                                                 "housing_solution", "housing_safe")),
          settled="h.housing_safe"),
    Issue("water_ledger", ("饮水安全台账", "Drinking water ledger"), "water_unsafe", "water", False,
          "h.water_safe = false OR 'no' IN (h.water_quantity_ok, h.water_quality_ok, h.water_convenience_ok, "
          "h.water_reliability_ok)",
          tuple(("household", name) for name in ("water_source", "water_quantity_ok", "water_quality_ok",
                                                 "water_convenience_ok", "water_reliability_ok", "seasonal_shortage",
                                                 "water_safe"))),
)


@dataclass(frozen=True)
class Sources:
    """The datasets' queries as CTEs, all in one state and scope; `on` is the day members' ages are counted at."""

    filters: Filters
    on: date
    households: CTE
    people: CTE
    cases: CTE
    measures: CTE

    @property
    def ctes(self) -> tuple[CTE, ...]:
        return self.households, self.people, self.cases, self.measures


def _sources(filters: Filters, view: ExportView, on: date) -> Sources:
    case_layer, measure_layer = cases(filters, view)
    return Sources(filters, on, households(filters, view)[0].query.cte("household_rows"),
                   people(filters, EVERY_PROPERTY)[0].query.cte("person_rows"),
                   case_layer.query.cte("case_rows"), measure_layer.query.cte("measure_rows"))


def ledger_layers(filters: Filters, view: ExportView, month: date | None = None) -> list[Layer]:
    """The roster, the four issue ledgers and the monthly table for `month` (any day of it; by default the month of
    `as_of`, else this month), in the caller's scope and the filters' state.

    Raises:
        InvalidInput: a month that begins after `as_of`.
    """
    today = datetime.now(CHINA).date()
    sources = _sources(filters, view, filters.as_of or today)
    return [_roster(sources, view), *[_issue_layer(issue, sources, view) for issue in ISSUES],
            _monthly(filters, month or filters.as_of or today)]


def _property(entity: str, name: str, view: ExportView) -> list[Column]:
    """A catalogue property as a column with its own label, or nothing when the view does not carry it."""
    prop = load_catalogue().get(f"{entity}.{name}")
    if prop is None:
        raise LookupError(f"{entity}.{name} is not in the catalogue")  # a typo in this module, caught by its tests
    return [property_column(prop, sealed=view.unmasked and is_personal(entity, name))] if view.carries(entity, name) else []


def _step_day(step: str, case_id: str, filters: Filters) -> str:
    """The day of the case's latest event of this step: as the actor dated it, else when it was recorded (China
    time); only events recorded by the end of `as_of`."""
    recorded = f" AND e.at < {filters.until_sql}" if filters.as_of else ""
    return (f"(SELECT coalesce(e.step_date, (e.at AT TIME ZONE 'Asia/Shanghai')::date) FROM monitoring_event e "
            f"WHERE e.case_id = ({case_id})::uuid AND e.step = '{step}'{recorded} "
            f"ORDER BY e.at DESC, e.id DESC LIMIT 1)")  # nosec B608


def _measures_of(match: str, by: str, view: ExportView, alias: str) -> str:
    """A LEFT JOIN of `alias(measures, measure_count, measure_status, closed_on[, responsible_person])`: the
    measure_rows that `match` picks, grouped by their `by` column and joined on it to `alias.by = h.by` (or c.by).
    Grouped once and hash-joined: a correlated aggregate would read every measure again for each row."""
    planned, in_progress, done = (f"'{status.value}'" for status in (MeasureStatus.planned, MeasureStatus.in_progress,
                                                                      MeasureStatus.done))
    responsible = (f", string_agg(DISTINCT m.responsible_person, '{SEPARATOR}' ORDER BY m.responsible_person) "
                   "AS responsible_person" if view.carries_text else "")
    outer = "c" if by == "case_id" else "h"
    return (f"LEFT JOIN (SELECT m.{by}, string_agg(DISTINCT m.measure_type, '{SEPARATOR}' ORDER BY m.measure_type) "
            f"AS measures, count(*) AS measure_count, CASE WHEN bool_or(m.status = {planned}) THEN {planned} "
            f"WHEN bool_or(m.status = {in_progress}) THEN {in_progress} WHEN bool_and(m.status = {done}) THEN {done} "
            f"END AS measure_status, CASE WHEN bool_and(m.status = {done}) THEN max(m.measure_date) END AS closed_on"
            f"{responsible} FROM measure_rows m WHERE {match} GROUP BY m.{by}) {alias} "
            f"ON {alias}.{by} = {outer}.{by}")  # nosec B608


def _areas(view: ExportView) -> tuple[list[Column], list[Any]]:
    """户编号 and the names of the areas above the household, then the householder's name where the view has it."""
    names = [HOUSEHOLD_NO, *AREA_NAMES, *_property("household", "householder_name", view)]
    return names, [literal_column(f"h.{column.name}").label(column.name) for column in names]


def _ledger(name: str, title: tuple[str, str], columns: list[Column], query: Select[Any], key: str) -> Layer:
    """A ledger over household_rows h, in area then household-number order; `key` names its row (h. or p. column)."""
    return Layer(name, _label(*title), None, tuple(columns), query,
                 order=(literal_column("h.area_code"), literal_column("h.household_no"), literal_column(key)),
                 key=literal_column(key), key_name=key.partition(".")[2], ledger=True)


def _roster(sources: Sources, view: ExportView) -> Layer:
    # The case the households layer's case_state is of: the latest opened (by `as_of`, cases reads only those begun).
    latest = (select(*[literal_column(f"case_rows.{name}") for name in ("case_id", "household_id", "category", "risk_types",
                                                                        "state")])
              .select_from(text("case_rows")).distinct(literal_column("case_rows.household_id"))
              .order_by(literal_column("case_rows.household_id"), literal_column("case_rows.opened_at DESC"),
                        literal_column("case_rows.case_id")).cte("latest_case"))
    columns, values = _areas(view)
    fixed = [
        *[(column, f"h.{column.name}") for column in _property("household", "household_size", view)],
        (Column("category", Kind.text, _label("监测对象类别", "Monitoring category")), "c.category"),
        (Column("entered_on", Kind.date, _label("纳入时间", "Date entered")),
         _step_day("identify", "c.case_id", sources.filters)),
        (Column("risk_types", Kind.text, _label("风险类型", "Risk types")), "c.risk_types"),
        *[(column, f"h.{column.name}") for name in ("income_per_capita", "income_year")
          for column in _property("household", name, view)],
        (MEASURES, "cm.measures"),
        (Column("measure_count", Kind.integer, _label("帮扶措施数", "Number of measures")), "coalesce(cm.measure_count, 0)"),
        *([(RESPONSIBLE, "cm.responsible_person")] if view.carries_text else []),
        (Column("state", Kind.text, _label("监测状态", "Monitoring state")), "c.state"),
        (Column("eliminated_on", Kind.date, _label("风险消除时间", "Date risk eliminated")),
         f"CASE WHEN c.state = '{MonitoringState.risk_eliminated.value}' "
         f"THEN {_step_day('eliminate', 'c.case_id', sources.filters)} END"),  # nosec B608
        (HOUSEHOLD_ID, "h.household_id"),
    ]
    columns += [column for column, _ in fixed]
    values += [literal_column(sql).label(column.name) for column, sql in fixed]
    states = ", ".join(f"'{state.value}'" for state in ROSTER_STATES)
    measures = _measures_of("m.case_id IS NOT NULL", "case_id", view, "cm")
    sql = f"household_rows h JOIN latest_case c ON c.household_id = h.household_id {measures}"
    query = select(*values).select_from(text(sql)).where(text(f"c.state IN ({states})")).add_cte(*sources.ctes, latest)
    return _ledger("monitored_roster", ("监测对象台账", "Roster of monitored households"), columns, query, "h.household_id")


def _school_age(on: date) -> str:
    """A member's age on the last 1 September on or before `on`, as the visit's school_age_years counts it."""
    year = on.year if (on.month, on.day) >= (9, 1) else on.year - 1
    return f"date_part('year', age(DATE '{date(year, 9, 1).isoformat()}', p.birth_date))::int"


def _issue_layer(issue: Issue, sources: Sources, view: ExportView) -> Layer:
    columns, values = _areas(view)
    school_age = _school_age(sources.on)
    shown: list[tuple[Column, str]] = []
    if issue.per_member:
        shown += [(PERSON_ID, "p.person_id"), *[(column, f"p.{column.name}") for name in ("name", "relation_to_head", "sex")
                                                for column in _property("person", name, view)]]
        if issue.school_age:  # the age tells the birth date's year: a column only beside the birth date
            shown += [pair for column in _property("person", "birth_date", view)
                      for pair in ((column, "p.birth_date"), (SCHOOL_AGE, school_age))]
    shown += [(column, f"{ALIASES[entity]}.{name}") for entity, name in issue.shown
              for column in _property(entity, name, view)]
    shown += [(column, f"answered.{column.name}") for column in ISSUE_COLUMNS]
    shown += [(RESPONSIBLE, "answered.responsible_person")] if view.carries_text else []
    shown += [(OPEN_ISSUE, f"answered.closed_on IS NULL AND NOT coalesce({issue.settled}, false)"),
              (HOUSEHOLD_ID, "h.household_id")]
    columns += [column for column, _ in shown]
    values += [literal_column(sql).label(column.name) for column, sql in shown]
    answers = (f"('{issue.risk_type}' = ANY(string_to_array(m.risk_types, '{SEPARATOR}')) "
               f"OR m.measure_type = '{issue.measure_type}')")  # nosec B608
    member = " JOIN person_rows p ON p.household_id = h.household_id" if issue.per_member else ""
    sql = f"household_rows h{member} {_measures_of(answers, 'household_id', view, 'answered')}"
    query = (select(*values).select_from(text(sql)).where(text(f"({issue.holds.format(school_age=school_age)})"))
             .add_cte(*sources.ctes))
    return _ledger(issue.name, issue.title, columns, query, "p.person_id" if issue.per_member else "h.household_id")


@dataclass(frozen=True)
class Tally:
    """One figure of the monthly table: `held` is what one household of household_month's FROM adds to it (a
    condition it meets, or a number with `summed`), {monitored} standing for its latest case being monitored."""

    name: str
    zh: str
    en: str
    held: str
    summed: bool = False


MONTHLY_IDENTITY = (
    Column("area_code", Kind.text, _label("区划代码", "Area code")),
    Column("level", Kind.text, _label("层级", "Level")),
    *AREA_NAMES[:3],
    Column("month", Kind.text, _label("统计月份", "Month")),
)
TALLIES = (
    Tally("monitored_households", "月末监测户数", "Monitored households at the month's end", "{monitored}"),
    Tally("monitored_people", "月末监测人数", "Monitored people at the month's end",
          "CASE WHEN {monitored} THEN coalesce(current_members.people, 0) ELSE 0 END", summed=True),
    Tally("new_households", "本月新识别纳入户数", "Households identified this month",
          "coalesce(cases_in_month.identified, false)"),
    Tally("eliminated_households", "本月风险消除户数", "Households whose risk was eliminated this month",
          "coalesce(cases_in_month.eliminated, false)"),
    # IN, not a correlated EXISTS: in a select list only an uncorrelated subquery is hashed once.
    *[Tally(f"{issue.name.removesuffix('_ledger')}_open_households", f"{issue.title[0].removesuffix('台账')}未销号户数",
            f"{issue.title[1].removesuffix(' ledger')}: households with an open issue",
            f"h.household_id IN (SELECT r.household_id FROM {issue.name}_rows r WHERE r.open_issue)")  # nosec B608
      for issue in ISSUES],
    Tally("measures_recorded", "本月登记帮扶措施数", "Measures recorded this month",
          "coalesce(measures_in_month.recorded, 0)", summed=True),
)


def _month(filters: Filters, day: date) -> tuple[date, date]:
    """The month's first day and the day it is read at: its last, or `as_of` when that comes first."""
    first = day.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    if filters.as_of is not None and filters.as_of < first:
        raise InvalidInput(f"The month {first:%Y-%m} begins after as_of {filters.as_of}. "
                           f"统计月份 {first:%Y-%m} 晚于截止日期 {filters.as_of}。")
    return first, min(last, filters.as_of) if filters.as_of else last


def _household_month(at_end: Filters, first: date, end: date) -> list[CTE]:
    """Per household of the state at the month's end, what it adds to each tally (the last CTE), and what that reads:
    its current members, its cases identified or eliminated in the month, its measures recorded in the month."""
    def in_month(step: str) -> str:
        day = _step_day(step, "c.case_id", at_end)
        return f"bool_or({day} BETWEEN DATE '{first.isoformat()}' AND DATE '{end.isoformat()}')"

    start = f"'{datetime.combine(first, time(), CHINA).isoformat()}'::timestamptz"
    grouped = [
        select(literal_column("p.household_id"), literal_column("count(*)").label("people"))
        .select_from(text("person_rows p")).where(text(CURRENT)).group_by(literal_column("p.household_id"))
        .cte("current_members"),
        select(literal_column("c.household_id"), literal_column(in_month("identify")).label("identified"),
               literal_column(in_month("eliminate")).label("eliminated"))
        .select_from(text("case_rows c")).group_by(literal_column("c.household_id")).cte("cases_in_month"),
        select(literal_column("m.household_id"), literal_column("count(*)").label("recorded"))
        .select_from(text("measure_rows m")).where(text(f"m.recorded_at >= {start}"))
        .group_by(literal_column("m.household_id")).cte("measures_in_month"),
    ]
    monitored = "h.case_state IN (" + ", ".join(f"'{state.value}'" for state in MONITORED) + ")"
    joins = " ".join(f"LEFT JOIN {cte.name} ON {cte.name}.household_id = h.household_id" for cte in grouped)
    return [*grouped, select(literal_column("h.area_code"),
                             *[literal_column(t.held.format(monitored=monitored)).label(t.name) for t in TALLIES])
            .select_from(text(f"household_rows h {joins}")).cte("household_month")]


def _monthly(filters: Filters, day: date) -> Layer:
    first, end = _month(filters, day)
    at_end = Filters(filters.scope, filters.area_code, filters.review, end)
    sources = _sources(at_end, PLANNER, end)
    issues = [_issue_layer(issue, sources, PLANNER).query.cte(f"{issue.name}_rows") for issue in ISSUES]
    per_household = _household_month(at_end, first, end)
    # Each household counts once in its township and once in its administrative village.
    area_totals = (select(literal_column("up.code"),
                          *[literal_column(f"sum({t.name})" if t.summed else f"count(*) FILTER (WHERE {t.name})").label(t.name)
                            for t in TALLIES])
                   .select_from(text("household_month CROSS JOIN LATERAL (VALUES (left(household_month.area_code, 9)), "
                                     "(left(household_month.area_code, 12))) AS up(code)"))
                   .group_by(literal_column("up.code")).cte("area_totals"))
    sql = ("area a LEFT JOIN area_totals t ON t.code = a.code "
           "LEFT JOIN area a_county ON a_county.code = left(a.code, 6) "
           "LEFT JOIN area a_township ON a_township.code = left(a.code, 9) "
           "LEFT JOIN area a_admin_village ON a_admin_village.code = a.code AND a.level = 'admin_village'")
    query: Select[Any] = (
        select(literal_column("a.code").label("area_code"), literal_column("a.level::text").label("level"),
               *[literal_column(f"a_{column.name}.name_zh").label(column.name) for column in AREA_NAMES[:3]],
               literal_column(f"'{first:%Y-%m}'").label("month"),
               *[literal_column(f"coalesce(t.{t.name}, 0)::bigint").label(t.name) for t in TALLIES])
        .select_from(text(sql))
        .where(literal_column("a.level IN ('township', 'admin_village')"), *filters.where("a.code"))
        .add_cte(*sources.ctes, *issues, *per_household, area_totals))
    columns = (*MONTHLY_IDENTITY, *[Column(t.name, Kind.integer, _label(t.zh, t.en)) for t in TALLIES])
    return Layer("monthly_table", _label(f"{first:%Y年%m月}月报表", f"Monthly table {first:%Y-%m}"), None, columns, query,
                 order=(literal_column("a.code"),), key=literal_column("a.code"), key_name="area_code", ledger=True)
