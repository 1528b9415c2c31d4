"""The yearly monitoring line, dibao standard and watch line that apply to an area for a year (domain.md 3.4)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from server.models import PARAMETER_AREA_LENGTHS, PARAMETER_YEARS, YearlyParameter

NAMES = ("monitoring_line", "dibao_standard", "watch_line")


def applying(query: Select[Any], area_code: str, year: int) -> Select[Any]:
    """`query` (of YearlyParameter) narrowed to the row that applies: of that year only (the lines are re-set every
    year, so another year's never stands in), the county's (first 6 digits), else the prefecture's (4), else the
    province's (2)."""
    # Of one code's prefixes a longer sorts after a shorter: descending, the most specific comes first.
    return (query.where(YearlyParameter.year == year, YearlyParameter.area_code.in_(levels_above(area_code)))
            .order_by(YearlyParameter.area_code.desc()).limit(1))


def levels_above(area_code: str) -> list[str]:
    """The codes of the county, prefecture and province an area lies in (itself, if it is one of them)."""
    return [area_code[:length] for length in PARAMETER_AREA_LENGTHS if len(area_code) >= length]


class Lookup:
    """The form parameters a submission's rules read, each year's table read once within one push or rebuild batch
    (a handful of rows: the province's, the prefectures', the counties' that differ)."""

    def __init__(self, session: Session):
        self.session = session
        self._years: dict[int, dict[str, dict[str, int | float]]] = {}

    def overrides(self, area_code: str | None, data: dict[str, Any], collected: date | None) -> dict[str, int | float] | None:
        """The yearly figures for the visit's income year (`income_year`, else the year it was made), to put over the
        form's defaults; None when none is set for that year and area."""
        year = data.get("income_year")
        if type(year) is not int:
            year = collected.year if collected is not None else None
        # Read before the data is checked: a year no row can have (say 2**70) is looked up nowhere.
        if area_code is None or year is None or not PARAMETER_YEARS[0] <= year <= PARAMETER_YEARS[1]:
            return None
        if year not in self._years:
            rows = self.session.scalars(select(YearlyParameter).where(YearlyParameter.year == year))
            self._years[year] = {row.area_code: {name: _number(getattr(row, name)) for name in NAMES} for row in rows}
        by_area = self._years[year]
        # As `applying`: the most specific of the area's county, prefecture and province.
        return next((by_area[code] for code in reversed(levels_above(area_code)) if code in by_area), None)


def _number(value: Decimal) -> int | float:
    """As the form's own parameters are written: whole yuan as int."""
    return int(value) if value == value.to_integral_value() else float(value)
