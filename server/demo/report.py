"""What `flask demo load` prints: the areas it added and the stored demo counted by type, category, state and flag."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Numeric, case, cast, func, select
from sqlalchemy.orm import Session

from server.demo.accounts import DemoAccount
from server.demo.dali import PREFECTURE
from server.demo.proportions import MONITORING_LINE, WATCH_LINE
from server.models import AreaLevel, AssistanceMeasure, Household, MonitoringCase, MonitoringState, Village

PREFIX = PREFECTURE[0] + "%"  # the demo's rows only, whatever else the database holds
# Chinese · English labels of the codes counted (domain.md 3.2, 3.4, 3.13, 4.3).
LABELS = {
    "tuopin": "脱贫户 · lifted out of poverty", "non_tuopin": "一般农户 · never registered poor",
    "dibao": "低保户 · minimum living allowance", "tekun": "特困供养 · extreme-difficulty support",
    "below_line": f"低于监测线 · below {MONITORING_LINE}", "between": f"监测线至1万元 · {MONITORING_LINE} to {WATCH_LINE - 1}",
    "above": f"1万元及以上 · {WATCH_LINE} or more",
    "unstable_tuopin": "脱贫不稳定户 · unstable lifted-out", "marginal": "边缘易致贫户 · marginal",
    "sudden_hardship": "突发严重困难户 · sudden severe hardship",
    "candidate": "预警待核实 · to be verified", "village_reviewed": "村级评议 · reviewed by the village",
    "township_checked": "乡镇审核 · checked by the township", "identified": "纳入监测 · identified",
    "assisted": "帮扶中 · being assisted", "elimination_noticed": "风险消除公示中 · elimination under public notice",
    "long_term_follow_up": "长期跟踪监测 · long-term follow-up", "risk_eliminated": "风险已消除 · risk eliminated",
    "dismissed": "核实无风险 · dismissed: no risk",
    "natural_village": "自然村 · natural villages", "admin_village": "行政村 · administrative villages",
    "no_hardened_road": "未通硬化路 · no hardened road",
    "no_hardened_road_priority": "30户以上未通硬化路 · no hardened road, 30+ households",
    "partial_water": "非集中供水或季节性缺水 · water not centralised or short", "no_broadband": "未通宽带 · no broadband",
    "no_ecommerce_point": "无电商配送点 · no e-commerce point", "no_financial_point": "无金融服务点 · no financial point",
    "no_power_380v": "未通动力电 · no 380 V power", "needs_public_toilet": "缺卫生公厕 · needs a sanitary public toilet",
    "weak_collective_economy": "集体经营性收入不足5万元 · collective income under 50 000",
    "collective_income_below_target": "集体经营性收入不足10万元 · collective income under 100 000",
    "no_standard_clinic": "无标准化卫生室 · no standard clinic",
}


@dataclass(frozen=True)
class DemoCounts:
    """The stored demo counted: each mapping from a code to how many rows have it."""

    households: dict[str, int] = field(default_factory=dict)  # by household_type, and dibao / tekun
    income: dict[str, int] = field(default_factory=dict)  # by band of income per head
    monitored: dict[str, int] = field(default_factory=dict)  # households by monitoring_category (not none)
    cases: dict[str, int] = field(default_factory=dict)  # by state
    measures: int = 0
    villages: dict[str, int] = field(default_factory=dict)  # by flag; "natural_village"/"admin_village": rows


@dataclass(frozen=True)
class DemoReport:
    size: str
    seed: int
    areas: dict[AreaLevel, int]
    households: int
    people: int
    accounts: list[DemoAccount]
    seconds: float
    counts: DemoCounts = field(default_factory=DemoCounts)

    def summary(self) -> str:
        lines = [f"Loaded the Dali demo (size {self.size}, seed {self.seed}) in {self.seconds:.1f} s."]
        lines += [f"  {level.value:<16} {count:>9,}" for level, count in self.areas.items()]
        lines += [f"  {'households':<16} {self.households:>9,}", f"  {'people':<16} {self.people:>9,}"]
        counts = self.counts
        lines += _section("households by type and support · 农户类型与兜底保障", counts.households)
        lines += _section("income per head · 人均纯收入 (yuan)", counts.income)
        lines += _section("monitored by category · 监测对象类别", counts.monitored)
        lines += _section("cases by state · 监测状态", counts.cases)
        lines.append(f"    {counts.measures:>7,}  measures 帮扶措施 · assistance measures")
        lines += _section("villages by flag · 村庄短板", counts.villages)
        lines.append(f"  {len(self.accounts)} demo accounts: see `flask demo accounts`")
        return "\n".join(lines)


def _section(title: str, counts: dict[str, int]) -> list[str]:
    # The count first: Chinese labels are two columns wide a character, which would skew a column after them.
    return [f"  {title}"] + [f"    {count:>7,}  {code} {LABELS.get(code, '')}" for code, count in counts.items()]


def count(session: Session) -> DemoCounts:
    """Counts the demo's stored households, cases and villages (the prefecture's rows)."""
    props = Household.properties
    of_demo = Household.area_code.like(PREFIX)
    kind = props["household_type"].astext
    types = dict(session.execute(select(kind, func.count()).where(of_demo).group_by(kind)).all())
    support = session.execute(select(
        func.count().filter(props["is_dibao"].astext == "yes"),
        func.count().filter(props["tekun_support"].astext != "none"))
        .where(of_demo)).one()
    per_head = cast(props["income_per_capita"].astext, Numeric)
    band = case((per_head < MONITORING_LINE, "below_line"), (per_head < WATCH_LINE, "between"), else_="above")
    income = dict(session.execute(select(band, func.count()).where(of_demo).group_by(band)).all())
    category = props["monitoring_category"].astext
    monitored = dict(session.execute(select(category, func.count()).where(of_demo, category != "none")
                                     .group_by(category)).all())
    of_demo_case = MonitoringCase.household_id.in_(select(Household.id).where(of_demo))
    cases = {state.value: n for state, n in session.execute(
        select(MonitoringCase.state, func.count()).where(of_demo_case).group_by(MonitoringCase.state))}
    measures = session.scalar(select(func.count()).select_from(AssistanceMeasure).where(
        AssistanceMeasure.household_id.in_(select(Household.id).where(of_demo))))
    return DemoCounts(
        households={**{kind: types.get(kind, 0) for kind in ("tuopin", "non_tuopin")},
                    "dibao": support[0], "tekun": support[1]},
        income={kind: income.get(kind, 0) for kind in ("below_line", "between", "above")},
        monitored={kind: monitored.get(kind, 0) for kind in ("unstable_tuopin", "marginal", "sudden_hardship")},
        cases={state.value: cases.get(state.value, 0) for state in MonitoringState},  # in the order of the procedure
        measures=measures or 0,
        villages=_villages(session),
    )


def _villages(session: Session) -> dict[str, int]:
    of_demo = Village.area_code.like(PREFIX)
    level = case((func.length(Village.area_code) == 15, "natural_village"), else_="admin_village")
    rows = dict(session.execute(select(level, func.count()).where(of_demo).group_by(level)).all())
    flag = func.unnest(Village.risk_flags).label("flag")
    flagged = select(flag).where(of_demo).subquery()
    flags = dict(session.execute(select(flagged.c.flag, func.count()).group_by(flagged.c.flag)
                                 .order_by(flagged.c.flag)).all())
    return {**{kind: rows.get(kind, 0) for kind in ("natural_village", "admin_village")}, **flags}

