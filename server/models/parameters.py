"""Yearly monitoring thresholds of a province, prefecture or county (domain.md 1.2, 3.4): re-set every year."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, Numeric, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base

# The years a figure may be for: the register of poor households began in 2014; later than 2100 is a typing slip.
FIRST_YEAR, LAST_YEAR = 2014, 2100

# Province (2 digits), prefecture (4) or county (6): the levels that set these lines (domain.md 2.1, 3.4).
CODE_LENGTHS = (2, 4, 6)

# Yuan per person per year, to the fen.
YUAN = Numeric(10, 2)


class YearlyParameter(Base):
    """The monitoring line (防返贫动态监测底线), rural dibao standard (农村低保标准) and watch line (收入关注线) that an
    area set for a year. For a household the most specific row of its area and income year applies: its county's,
    else its prefecture's, else its province's (server.services.parameters.for_area); never another year's.
    """

    __tablename__ = "yearly_parameter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("area.code"), primary_key=True)
    monitoring_line: Mapped[Decimal] = mapped_column(YUAN)
    dibao_standard: Mapped[Decimal] = mapped_column(YUAN)
    watch_line: Mapped[Decimal] = mapped_column(YUAN)
    source: Mapped[str] = mapped_column(Text)  # where the figures come from: a document, its number, a page
    set_by: Mapped[str] = mapped_column(String(200))  # the admin's username, or cli:<login> (as audit_log.actor)
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())

    __table_args__ = (
        CheckConstraint(f"year BETWEEN {FIRST_YEAR} AND {LAST_YEAR}", name="year_range"),
        CheckConstraint(f"length(area_code) IN {CODE_LENGTHS}", name="area_level"),
        CheckConstraint("monitoring_line > 0", name="monitoring_line_positive"),
        CheckConstraint("dibao_standard > 0", name="dibao_standard_positive"),
        CheckConstraint("watch_line > 0", name="watch_line_positive"),
        CheckConstraint("source ~ '[^[:space:]]'", name="source_given"),
    )
