"""Indicator layers: the aggregates of domain.md 6.1 per natural village, administrative village, township and county.

Each layer is one statement over the same state the datasets export (datasets.py): it reads the households, people and
villages layers as a planner reads them, so the review filter, `as_of` and the caller's scope apply as they do there,
groups their rows by the first 15, 12, 9 or 6 digits of the area code, and joins the totals to the `area` rows of the
level that lie in the caller's scope (an area above the scope would show a part as the whole, so it has no row). The
aggregates read no personal property, so they are the same whichever ExportView asks. Rates are 0–100, with their
numerator and denominator in the columns before them, and NULL when the denominator is 0.

What decides each indicator (property names of survey_forms/entities, as household_visit v2 records them):
- households: every household of the state; tuopin_households: household_type = tuopin.
- people: members whose member_status is present, born or married_in (none recorded counts as present, as the
  cross-checks count them); members who died or left are not people of the household.
- monitored households: the household's latest monitoring case (the dataset's case_state / case_category, as it stood
  at `as_of`) in identified, assisted, elimination_noticed or long_term_follow_up, split by the case's category;
  households_<state>: the latest case in that state, for every state. new_cases: cases whose opened_at falls in the
  period; eliminated_cases: cases with an event to risk_eliminated in it (both before the end of `as_of`).
- income: income_per_capita (the visit's calculate: net income ÷ household_size). The monitoring and watch lines are
  those of yearly_parameter for the household's income_year (its county's row, else its prefecture's, else its
  province's, as sync.yearly_parameters applies them to a visit), else the household_visit form's defaults (6000 and
  10000). Bands: below the line, line to watch line, watch line to 18000, 18000 and above. No income: not counted.
- 两不愁三保障 and water, each a household's answer, met / not met / no answer:
  food: food_secure (yes / no); clothing: clothing_secure (yes / no);
  compulsory education: children_out_of_school = 0 (the visit counts compulsory-age members dropped out or not in
  school; a household with no child of that age meets it);
  basic medical care: uninsured_members = 0 (every current member in basic medical insurance, domain.md 3.7);
  housing safety: housing_safe (the visit's calculate: an A or B house, or a C or D one the family no longer lives in;
  a house not appraised does not meet it); drinking water: water_safe (quantity, quality, convenience and reliability
  all ok). All six: met when all six are met, not met when any is not; a household with no answer to one and failing
  none is not counted. A household with no answer (or a value of another type or choice) is in neither the numerator
  nor the denominator.
- villages (the natural villages' own survey, aggregated upward): the flags of domain.md 4.3 counted when the answer
  fails (road_access <> hardened, water_supply_mode = partly_centralised / dispersed, seasonal_shortage = yes,
  broadband = none, ecommerce_delivery_point / financial_service_point / power_380v = no, households_resident >= 100
  and public_toilet <> sanitary); no answer is no failure. not_surveyed: natural villages with no answer to any of
  these properties. Hardened-road rate over villages with households_total >= 30 that answered road_access; tap-water
  and sanitary-toilet coverage: tap_households and sanitary_toilet_households over households_total, summed over the
  villages that answered both.
- collective economy (administrative villages and above): collective_operating_income below 50000 and 100000.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, literal_column, select, text
from sqlalchemy.sql.selectable import CTE

from core.clock import CHINA
from core.errors import InvalidInput
from core.masking import ExportView
from server.models import MonitoringState
from server.services.exports.datasets import Filters, households, people, villages
from server.services.exports.layers import Column, Kind, Layer, Shape

LEVELS = ("natural_village", "admin_village", "township", "county")
DIGITS = {"natural_village": 15, "admin_village": 12, "township": 9, "county": 6}
LEVEL_TITLES = {"natural_village": ("自然村", "Natural village"), "admin_village": ("行政村", "Administrative village"),
                "township": ("乡镇", "Township"), "county": ("县（市、区）", "County")}
PLANNER = ExportView("planner")  # what every reader may see: no personal property feeds an aggregate

# The household_visit form's defaults (its `parameters`), which apply where no yearly_parameter row does.
DEFAULT_MONITORING_LINE = 6000
DEFAULT_WATCH_LINE = 10000
HIGH_INCOME = 18000  # the top income band of domain.md 6.1 (Yuxi's 2025 target)
# The village forms' parameters (village_infrastructure, village_collective v1).
ROAD_TARGET_MIN_HOUSEHOLDS = 30
PUBLIC_TOILET_MIN_RESIDENT_HOUSEHOLDS = 100
WEAK_COLLECTIVE_INCOME_LINE = 50_000
COLLECTIVE_INCOME_TARGET = 100_000

CURRENT_MEMBERS = "('present', 'born', 'married_in')"
MONITORED = (MonitoringState.identified, MonitoringState.assisted, MonitoringState.elimination_noticed,
             MonitoringState.long_term_follow_up)
CATEGORIES = (("unstable_tuopin", "脱贫不稳定户", "unstable lifted-out"), ("marginal", "边缘易致贫户", "marginal"),
              ("sudden_hardship", "突发严重困难户", "sudden hardship"))
STATE_NAMES = {
    "candidate": "预警待核实", "village_reviewed": "村级已评议", "township_checked": "乡镇已审核", "identified": "已纳入监测",
    "assisted": "帮扶中", "elimination_noticed": "风险消除公示中", "long_term_follow_up": "长期跟踪监测",
    "risk_eliminated": "风险已消除", "dismissed": "核实无风险",
}
# 两不愁三保障 and safe water: a household's answer as true (met), false (not met) or NULL (no answer).
GUARANTEES = (
    ("food", "不愁吃", "Food secure", "CASE food_secure WHEN 'yes' THEN true WHEN 'no' THEN false END"),
    ("clothing", "不愁穿", "Clothing secure", "CASE clothing_secure WHEN 'yes' THEN true WHEN 'no' THEN false END"),
    ("education", "义务教育有保障", "Compulsory education ensured", "children_out_of_school = 0"),
    ("medical", "基本医疗有保障", "Basic medical care ensured", "uninsured_members = 0"),
    ("housing", "住房安全有保障", "Housing safe", "housing_safe"),
    ("water", "饮水安全有保障", "Drinking water safe", "water_safe"),
)
# The natural-village properties these layers read: a village with none of them answered was not surveyed.
VILLAGE_PROPERTIES = ("road_access", "households_total", "households_resident", "water_supply_mode", "seasonal_shortage",
                      "broadband", "ecommerce_delivery_point", "financial_service_point", "power_380v", "public_toilet",
                      "tap_households", "sanitary_toilet_households")


@dataclass(frozen=True)
class Figure:
    """One indicator column. `total` aggregates its source's rows of one area (None for a rate, made from two
    totals); `value` reads it in the layer's select, `{f}` standing for the source's totals."""

    column: Column
    total: str | None
    value: str


def _label(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def _count(name: str, zh: str, en: str, total: str) -> Figure:
    return Figure(Column(name, Kind.integer, _label(zh, en)), total, f"coalesce({{f}}.{name}, 0)::bigint")


def _where(name: str, zh: str, en: str, condition: str) -> Figure:
    return _count(name, zh, en, f"count(*) FILTER (WHERE {condition})")


def _rate(name: str, zh: str, en: str, part: str, whole: str) -> Figure:
    return Figure(Column(name, Kind.decimal, _label(zh, en)), None,
                  f"round(100.0 * {{f}}.{part} / nullif({{f}}.{whole}, 0), 2)::float8")


def _household_figures(period: tuple[date, date]) -> list[Figure]:
    dates = f"{period[0].isoformat()}–{period[1].isoformat()}"
    figures = [
        _count("households", "户数", "Households", "count(*)"),
        _where("tuopin_households", "脱贫户数", "Households lifted out of poverty", "household_type = 'tuopin'"),
        _where("monitored_households", "监测户数（已纳入、未消除）", "Monitored households (identified, not eliminated)",
               "monitored"),
        *[_where(f"monitored_{code}", f"监测户数：{zh}", f"Monitored households: {en}",
                 f"monitored AND case_category = '{code}'") for code, zh, en in CATEGORIES],
        *[_where(f"households_{state.value}", f"最近监测案例状态：{STATE_NAMES[state.value]}（户）",
                 f"Households whose latest case is {state.value.replace('_', ' ')}", f"case_state = '{state.value}'")
          for state in MonitoringState],
        _count("new_cases", f"新增监测案例（{dates}）", f"Cases opened ({dates})", "sum(new_cases)"),
        _count("eliminated_cases", f"风险消除案例（{dates}）", f"Cases eliminated ({dates})", "sum(eliminated_cases)"),
        _count("income_households", "有人均纯收入的户数", "Households with an income per head", "count(income)"),
        Figure(Column("income_median", Kind.decimal, _label("人均纯收入中位数（元）", "Median income per head (yuan)")),
               "percentile_cont(0.5) WITHIN GROUP (ORDER BY income)", "round({f}.income_median::numeric, 2)::float8"),
        _where("income_below_line", "人均纯收入低于监测线的户数", "Households below the monitoring line", "income < line"),
        _rate("income_below_line_rate", "低于监测线的户占比（%）", "Share below the monitoring line (%)",
              "income_below_line", "income_households"),
        _where("income_line_to_watch", "监测线至关注线（1万元）的户数", "Households from the line to the watch line (10000)",
               "income >= line AND income < watch"),
        _where("income_watch_to_18000", "关注线至1.8万元的户数", "Households from the watch line to 18000",
               f"income >= watch AND income < {HIGH_INCOME}"),
        _where("income_18000_plus", "1.8万元及以上的户数", "Households at 18000 or above", f"income >= {HIGH_INCOME}"),
    ]
    for key, zh, en, _ in (*GUARANTEES, ("all_six", "两不愁三保障及饮水安全全部达标", "All six met", None)):
        met = " AND ".join(f"{k}_ok" for k, *_ in GUARANTEES) if key == "all_six" else f"{key}_ok"
        figures += [_where(f"{key}_met", f"{zh}：达标户数", f"{en}: households", met),
                    _count(f"{key}_answered", f"{zh}：有回答的户数", f"{en}: households answering", f"count({met})"),
                    _rate(f"{key}_rate", f"{zh}：达标率（%）", f"{en}: rate (%)", f"{key}_met", f"{key}_answered")]
    return figures


PEOPLE_FIGURES = [_where("people", "人口（在户成员）", "People (current members)",
                         f"coalesce(member_status, 'present') IN {CURRENT_MEMBERS}")]

_30 = f"households_total >= {ROAD_TARGET_MIN_HOUSEHOLDS}"
VILLAGE_FIGURES = [
    _count("natural_villages", "自然村数", "Natural villages", "count(*)"),
    _where("not_surveyed", "未调查的自然村数", "Natural villages not surveyed",
           f"num_nonnulls({', '.join(VILLAGE_PROPERTIES)}) = 0"),
    _where("no_hardened_road", "未通硬化路的自然村数", "Without a hardened road", "road_access <> 'hardened'"),
    _where("no_hardened_road_priority", "30户以上未通硬化路的自然村数", "30+ households, without a hardened road",
           f"{_30} AND road_access <> 'hardened'"),
    _where("road_30_hardened", "30户以上通硬化路的自然村数", "30+ households, with a hardened road",
           f"{_30} AND road_access = 'hardened'"),
    _where("road_30_villages", "30户以上有道路回答的自然村数", "30+ households, road answered",
           f"{_30} AND road_access IS NOT NULL"),
    _rate("road_30_hardened_rate", "30户以上自然村通硬化路率（%）", "Hardened-road rate of 30+-household villages (%)",
          "road_30_hardened", "road_30_villages"),
    _where("partly_centralised_water", "部分集中供水的自然村数", "Partly centralised water",
           "water_supply_mode = 'partly_centralised'"),
    _where("dispersed_water", "分散供水的自然村数", "Dispersed water supply", "water_supply_mode = 'dispersed'"),
    _where("seasonal_shortage", "季节性缺水的自然村数", "Seasonal water shortage", "seasonal_shortage = 'yes'"),
    _where("no_broadband", "未通宽带的自然村数", "Without broadband", "broadband = 'none'"),
    _where("no_ecommerce_point", "无电子商务配送点的自然村数", "Without an e-commerce delivery point",
           "ecommerce_delivery_point = 'no'"),
    _where("no_financial_point", "无金融服务点的自然村数", "Without a financial service point",
           "financial_service_point = 'no'"),
    _where("no_power_380v", "未通动力电（380伏）的自然村数", "Without 380 V power", "power_380v = 'no'"),
    _where("needs_public_toilet", "100户以上无卫生公厕的自然村数", "100+ resident households, no sanitary public toilet",
           f"households_resident >= {PUBLIC_TOILET_MIN_RESIDENT_HOUSEHOLDS} AND public_toilet <> 'sanitary'"),
    _count("tap_households", "自来水入户户数", "Households with tap water",
           "sum(tap_households) FILTER (WHERE households_total IS NOT NULL)"),
    _count("tap_base_households", "自来水普及率的总户数", "Households (tap-water base)",
           "sum(households_total) FILTER (WHERE tap_households IS NOT NULL)"),
    _rate("tap_water_rate", "自来水普及率（%）", "Tap-water coverage (%)", "tap_households", "tap_base_households"),
    _count("sanitary_toilet_households", "卫生户厕户数", "Households with a sanitary toilet",
           "sum(sanitary_toilet_households) FILTER (WHERE households_total IS NOT NULL)"),
    _count("toilet_base_households", "卫生厕所普及率的总户数", "Households (sanitary-toilet base)",
           "sum(households_total) FILTER (WHERE sanitary_toilet_households IS NOT NULL)"),
    _rate("sanitary_toilet_rate", "卫生厕所普及率（%）", "Sanitary-toilet coverage (%)", "sanitary_toilet_households",
          "toilet_base_households"),
]

COLLECTIVE_FIGURES = [
    _count("admin_villages", "行政村数", "Administrative villages", "count(*)"),
    _count("collective_income_answered", "有集体经营性收入回答的行政村数", "Administrative villages, collective income answered",
           "count(collective_operating_income)"),
    _where("weak_collective_economy", "集体经营性收入低于5万元的行政村数", "Collective income below 50000",
           f"collective_operating_income < {WEAK_COLLECTIVE_INCOME_LINE}"),
    _where("collective_income_below_target", "集体经营性收入低于10万元的行政村数", "Collective income below 100000",
           f"collective_operating_income < {COLLECTIVE_INCOME_TARGET}"),
]

IDENTITY = (
    Column("area_code", Kind.text, _label("区划代码", "Area code")),
    Column("name_zh", Kind.text, _label("名称", "Name")),
    Column("name_en", Kind.text, _label("英文名称", "Name in English")),
    Column("level", Kind.text, _label("层级", "Level")),
)


def indicator_layers(filters: Filters, view: ExportView, levels: Sequence[str] = LEVELS,
                     period: tuple[date, date] | None = None, *, shape: Shape = Shape.multipolygon) -> list[Layer]:
    """One layer of indicators per level asked for, in the caller's scope and the filters' state; `period` (first and
    last day, China time) bounds the new and eliminated cases, by default the calendar year of `as_of` or today.
    `shape` places each area by its boundary (NULL where it has none) or at a point (its centroid, else a point on
    its boundary). `view` does not change the figures: none of them reads a personal property.

    Raises:
        InvalidInput: an unknown level, or a period that ends before it starts.
    """
    unknown = [level for level in levels if level not in DIGITS]
    if unknown:
        raise InvalidInput(f"Unknown level {', '.join(unknown)}: the levels are {', '.join(LEVELS)}. "
                           f"未知的层级，可选：{', '.join(LEVELS)}。")
    period = _period(filters, period)
    return [_layer(filters, level, period, shape) for level in levels]


def _period(filters: Filters, period: tuple[date, date] | None) -> tuple[date, date]:
    if period is None:
        year = (filters.as_of or datetime.now(CHINA).date()).year
        return date(year, 1, 1), date(year, 12, 31)
    if period[0] > period[1]:
        raise InvalidInput("The period ends before it starts. 统计期的结束日期早于开始日期。")
    return period


def _layer(filters: Filters, level: str, period: tuple[date, date], shape: Shape) -> Layer:
    digits = DIGITS[level]
    sources = [("household_totals", _household_figures(period), _household_state(filters, period)),
               ("people_totals", PEOPLE_FIGURES, people(filters, PLANNER)[0].query.subquery("person_rows")),
               ("natural_village_totals", VILLAGE_FIGURES, villages(filters, PLANNER)[0].query.subquery("natural_village_rows"))]
    if digits <= DIGITS["admin_village"]:
        sources.append(("collective_totals", COLLECTIVE_FIGURES,
                        villages(filters, PLANNER)[1].query.subquery("admin_village_rows")))
    area = f"left(area_code, {digits})"
    totals, joins, columns, values = [], [], list(IDENTITY), []
    for name, figures, rows in sources:
        totals.append(select(literal_column(area).label("code"),
                             *[literal_column(f.total).label(f.column.name) for f in figures if f.total])
                      .select_from(rows).group_by(literal_column(area)).cte(name))
        joins.append(f"LEFT JOIN {name} ON {name}.code = a.code")
        columns += [f.column for f in figures]
        values += [literal_column(f.value.format(f=name)).label(f.column.name) for f in figures]
    place = "a.boundary" if shape is Shape.multipolygon else "coalesce(a.centroid, ST_PointOnSurface(a.boundary))"
    query: Select[Any] = (
        select(literal_column(f"ST_AsBinary({place})").label("geometry"), literal_column("a.code").label("area_code"),
               literal_column("a.name_zh"), literal_column("a.name_en"), literal_column("a.level::text").label("level"),
               *values)
        .select_from(text(f"area a {' '.join(joins)}"))
        .where(literal_column(f"a.level = '{level}'"), *filters.where("a.code"))
        .add_cte(*totals))
    zh, en = LEVEL_TITLES[level]
    return Layer(f"indicators_{level}", _label(f"{zh}指标", f"{en} indicators"), shape, tuple(columns), query,
                 order=(literal_column("a.code"),), key=literal_column("a.code"), key_name="area_code")


def _household_state(filters: Filters, period: tuple[date, date]) -> CTE:
    """Per household of the dataset's state: what the figures read, its lines, its guarantees met, and its cases
    opened and eliminated in the period."""
    rows = households(filters, PLANNER)[0].query.subquery("household_rows")
    start = datetime.combine(period[0], time(), CHINA)
    end = datetime.combine(period[1] + timedelta(days=1), time(), CHINA)
    if filters.until is not None:
        end = min(end, filters.until)  # a case opened after `as_of` had not happened yet

    def within(at: str) -> str:
        return f"{at} >= '{start.isoformat()}'::timestamptz AND {at} < '{end.isoformat()}'::timestamptz"

    case = "c.household_id = household_rows.household_id::uuid"
    new_cases = f"(SELECT count(*) FROM monitoring_case c WHERE {case} AND {within('c.opened_at')})"  # nosec B608
    eliminated = (f"(SELECT count(DISTINCT e.case_id) FROM monitoring_case c JOIN monitoring_event e ON e.case_id = c.id "
                  f"WHERE {case} AND e.to_state = 'risk_eliminated' AND {within('e.at')})")  # nosec B608
    monitored = "household_rows.case_state IN (" + ", ".join(f"'{state.value}'" for state in MONITORED) + ")"
    return (select(literal_column("household_rows.area_code"), literal_column("household_rows.household_type"),
                   literal_column("household_rows.case_state"), literal_column("household_rows.case_category"),
                   literal_column(f"({monitored})").label("monitored"),
                   literal_column("household_rows.income_per_capita").label("income"),
                   literal_column(_line("monitoring_line", DEFAULT_MONITORING_LINE)).label("line"),
                   literal_column(_line("watch_line", DEFAULT_WATCH_LINE)).label("watch"),
                   *[literal_column(f"({answer})").label(f"{key}_ok") for key, _, _, answer in GUARANTEES],
                   literal_column(new_cases).label("new_cases"), literal_column(eliminated).label("eliminated_cases"))
            .select_from(rows).cte("household_state"))


def _line(name: str, default: int) -> str:
    """The household's yearly figure for its income year: its county's, else its prefecture's, else its province's."""
    return (f"coalesce((SELECT p.{name} FROM yearly_parameter p WHERE p.year = household_rows.income_year "
            f"AND p.area_code IN (left(household_rows.area_code, 2), left(household_rows.area_code, 4), "
            f"left(household_rows.area_code, 6)) ORDER BY length(p.area_code) DESC LIMIT 1), {default})::float8")  # nosec B608
