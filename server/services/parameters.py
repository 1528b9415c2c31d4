"""Yearly monitoring thresholds: admins set them per province, prefecture or county; a visit looks up its area's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.errors import Forbidden, InvalidInput, NotFound
from core.scope import covers
from server.models import Action, Area, AuditOutcome, YearlyParameter, may
from server.models.parameters import CODE_LENGTHS, FIRST_YEAR, LAST_YEAR
from server.services import audit
from server.services.auth import Principal
from sync.yearly_parameters import NAMES, applying, levels_above

FEN = Decimal("0.01")
# Yuan per person per year. A line is thousands of yuan; a million is a slip of the keyboard, not a policy.
MAX_YUAN = Decimal(1_000_000)
MAX_SOURCE = 500  # characters, as the API's schema


@dataclass(frozen=True)
class ParameterRow:
    """One stored row: an area's figures for a year, with where they come from."""

    year: int
    area_code: str
    area_name: dict[str, str | None]  # zh, en
    monitoring_line: Decimal
    dibao_standard: Decimal
    watch_line: Decimal
    source: str
    set_by: str
    set_at: datetime

    @property
    def label(self) -> str:
        """How a reviewer names the row: 临沧市 2020."""
        return f"{self.area_name['zh']} {self.year}"


@dataclass(frozen=True)
class Figure:
    """One threshold and the row it came from."""

    value: Decimal
    row: ParameterRow


@dataclass(frozen=True)
class Parameters:
    """The thresholds that apply to an area for a year, each with its row (so a reviewer sees 临沧市 2020)."""

    area_code: str  # the area asked about
    year: int
    monitoring_line: Figure
    dibao_standard: Figure
    watch_line: Figure

    def values(self) -> dict[str, int | float]:
        """As the form's parameters, to put over its defaults: whole yuan as int, like the defaults themselves."""
        figures = {name: getattr(self, name).value for name in NAMES}
        return {name: int(value) if value == value.to_integral_value() else float(value) for name, value in figures.items()}


def set_parameters(session: Session, actor: Principal | str, year: int, area_code: str,
                   values: Mapping[str, Decimal | float | int], source: str) -> ParameterRow:
    """Sets (creates or replaces) an area's figures for a year; values are yuan per person per year, kept to the fen.

    `actor` is the admin calling the API, whose areas must hold the area, or the name of the server's operator
    (the CLI, `cli:<login>`), who acts as an admin of every area. The audit row keeps the figures replaced.

    Raises:
        Forbidden: the actor is not an admin, or the area is outside the admin's areas (audited).
        InvalidInput: a year out of range, a code not a province's, prefecture's or county's, a value missing,
            unknown or not a positive number of yuan, or no source (or one over 500 characters).
        NotFound: no area of that code.
    """
    name, actor_id = (actor, None) if isinstance(actor, str) else (actor.username, actor.user_id)
    if not isinstance(actor, str) and not may(actor.role, Action.set_parameters):
        raise Forbidden("只有管理员可以设置年度监测参数 · Only admins set the yearly monitoring figures.")
    figures = _checked(year, area_code, values, source)
    if session.scalar(select(Area.code).where(Area.code == area_code)) is None:
        raise NotFound(f"没有代码为 {area_code} 的区划 · No area {area_code}: import the areas first.")
    target = f"{area_code}/{year}"
    if not isinstance(actor, str) and not covers(actor.scope, area_code):
        audit.record(session, "parameters.set", AuditOutcome.denied, actor_id=actor_id, actor=name, target=target,
                     area_code=area_code, details={"reason": "out_of_scope"})
        raise Forbidden(f"区划 {area_code} 不在您的范围内 · Area {area_code} is outside your areas.")
    stored = {**figures, "source": source.strip(), "set_by": name}
    replaced = _store(session, year, area_code, stored)
    audit.record(session, "parameters.set", AuditOutcome.success, actor_id=actor_id, actor=name, target=target,
                 area_code=area_code, details={"year": year, **{key: str(value) for key, value in stored.items()
                                                                 if key != "set_by"}, "replaced": replaced})
    return list_parameters(session, year=year, area_code=area_code, exact=True)[0]


def _store(session: Session, year: int, area_code: str, stored: dict[str, Any]) -> dict[str, str] | None:
    """Inserts or replaces the row; returns what it replaced (as text, for the audit row), or None."""
    previous = session.scalar(select(YearlyParameter).where(
        YearlyParameter.year == year, YearlyParameter.area_code == area_code).with_for_update())
    replaced = None if previous is None else {key: str(getattr(previous, key)) for key in stored}
    if previous is not None:
        session.expire(previous)  # rewritten below, behind the ORM's back
    # An upsert, not an INSERT after that read: two admins setting the same new row at once both succeed, and the
    # later one's figures stand (the earlier one's audit row says what it set).
    statement = insert(YearlyParameter).values(year=year, area_code=area_code, **stored)
    session.execute(statement.on_conflict_do_update(index_elements=[YearlyParameter.year, YearlyParameter.area_code],
                                                    set_={**stored, "set_at": func.clock_timestamp()}))
    return replaced


def list_parameters(session: Session, year: int | None = None, area_code: str | None = None, *,
                    exact: bool = False) -> list[ParameterRow]:
    """Stored rows, latest year first, then by area code.

    With `area_code`, the rows that bear on that area: its own, those of the areas above it (which apply where it has
    none) and those of the areas under it; with `exact`, its own only.
    """
    query = _select().order_by(YearlyParameter.year.desc(), YearlyParameter.area_code)
    if year is not None:
        query = query.where(YearlyParameter.year == year)
    if area_code is not None and exact:
        query = query.where(YearlyParameter.area_code == area_code)
    elif area_code is not None:
        query = query.where(or_(YearlyParameter.area_code.in_(levels_above(area_code)),
                                YearlyParameter.area_code.startswith(area_code, autoescape=True)))
    return [_row(*result) for result in session.execute(query)]


def for_area(session: Session, area_code: str, year: int) -> Parameters | None:
    """The figures for a household or village of `area_code` in `year`: from the most specific row of that year, its
    county's (the first 6 digits), else its prefecture's (4), else its province's (2).

    None when no row of that year applies: the caller falls back to the form's defaults. Another year's row never
    stands in, since the lines are re-set every year.
    """
    found = session.execute(applying(_select(), area_code, year)).one_or_none()
    if found is None:
        return None
    row = _row(*found)
    return Parameters(area_code, year, *(Figure(getattr(row, name), row) for name in NAMES))


def _select() -> Select[Any]:
    return select(YearlyParameter, Area.name_zh, Area.name_en).join(Area, Area.code == YearlyParameter.area_code)


def _row(stored: YearlyParameter, name_zh: str, name_en: str | None) -> ParameterRow:
    return ParameterRow(stored.year, stored.area_code, {"zh": name_zh, "en": name_en}, stored.monitoring_line,
                        stored.dibao_standard, stored.watch_line, stored.source, stored.set_by, stored.set_at)


def _checked(year: int, area_code: str, values: Mapping[str, Decimal | float | int], source: str) -> dict[str, Decimal]:
    """The three figures rounded to the fen, once every input is known good.

    Raises:
        InvalidInput: as set_parameters says; `details.fields` names each field, as the API's own 422s do.
    """
    problems = []
    if not FIRST_YEAR <= year <= LAST_YEAR:
        problems.append(("year", f"年份应在 {FIRST_YEAR}–{LAST_YEAR} 之间 · The year must be {FIRST_YEAR} to {LAST_YEAR}."))
    if not (area_code.isascii() and area_code.isdigit() and len(area_code) in CODE_LENGTHS):
        problems.append(("area_code", "应为省（2位）、州市（4位）或县（6位）代码 · A province's (2 digits), prefecture's (4) "
                                      "or county's (6) code: lower areas take their county's figures."))
    problems += [(name, f"未知参数 · Unknown figure; the figures are {', '.join(NAMES)}.")
                 for name in sorted(set(values) - set(NAMES))]
    amounts = {name: _yuan(values.get(name)) for name in NAMES}
    problems += [(name, f"应为 0.01 至 {MAX_YUAN:,} 元之间的数 · A number of yuan per person per year, from 0.01 to "
                        f"{MAX_YUAN:,}.") for name, amount in amounts.items() if amount is None]
    if not source.strip() or len(source) > MAX_SOURCE:
        problems.append(("source", f"请注明数据来源 · Say where the figures come from (a document and its number), in at most "
                                   f"{MAX_SOURCE} characters."))
    if problems:
        raise InvalidInput("参数无效 · Some figures are not valid: " + ", ".join(field for field, _ in problems),
                           details={"fields": [{"field": f, "code": "invalid", "message": m} for f, m in problems]})
    return {name: amount for name, amount in amounts.items() if amount is not None}


def _yuan(value: Decimal | float | int | None) -> Decimal | None:
    """The value rounded to the fen, or None when it is no positive number of yuan up to MAX_YUAN."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    if not amount.is_finite() or not 0 < amount <= MAX_YUAN:  # compared first: quantize fails on a huge exponent
        return None
    amount = amount.quantize(FEN, rounding=ROUND_HALF_UP)
    return amount if amount >= FEN else None
