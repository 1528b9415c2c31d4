"""The yearly thresholds the seeds give (domain.md 1.2, 3.4, 5.2), for the demo: Lincang's for 2020, none for Dali.

Only [002], Lincang's plan, prints figures, and all three are the city's (the prefecture's) for 2020: the monitoring
line of 6000 yuan (1.5 × the poverty-period national standard, re-set by the city at the start of each year), the
rural dibao standard of 4620 yuan and the 10 000 yuan line under which the city tracks lifted-out households.

Dali (5329) has no row on purpose: the Dali plan [000] gives no monitoring line, dibao standard or watch line for
any year, nor does any other seed for Dali, its counties or the province (53); Yuxi's plan [003] says how its line is
set but prints no figure. None is made up here. A Dali household's lookup therefore finds no row, and the form's
defaults apply until an admin enters Dali's real figures (`flask parameters set`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFound
from server.models import Area, AreaLevel
from server.models.areas import CODE_LENGTH
from server.services import parameters
from server.services.parameters import ParameterRow

LINCANG = ("5309", "临沧市", "Lincang City")  # code [GK], as domain.md 2.4

SOURCE_002 = ("《临沧市“十四五”巩固拓展脱贫攻坚成果同乡村振兴有效衔接规划》（临乡振发〔2022〕37号）, seed 002: monitoring "
              "line 6000 yuan in 2020 (1.5 × the poverty-period national standard, re-set by the city each year); rural "
              "dibao standard 4620 yuan in 2020; lifted-out households under 10 000 yuan tracked (end 2020)")


@dataclass(frozen=True)
class SeedFigures:
    year: int
    area: tuple[str, str, str]  # code, name_zh, name_en
    monitoring_line: Decimal
    dibao_standard: Decimal
    watch_line: Decimal
    source: str

    def values(self) -> dict[str, Decimal]:
        return {name: getattr(self, name) for name in parameters.NAMES}


FIGURES = (
    SeedFigures(2020, LINCANG, Decimal(6000), Decimal(4620), Decimal(10000), SOURCE_002),
)

_LEVEL_OF_LENGTH = {length: level for level, length in CODE_LENGTH.items()}


def load(session: Session, *, actor: str) -> list[ParameterRow]:
    """Sets the seeds' figures through the service `flask parameters set` uses (audited); flushes, never commits.

    An area the database lacks (Lincang, in the Dali demo) is added as a bare row, without a boundary, under the
    province, so the demo can show "临沧市 2020". Setting the same figures again changes nothing but set_at.

    Raises:
        NotFound: the province is not there: call this after the demo's areas are in.
    """
    for figures in FIGURES:
        _ensure_area(session, *figures.area)
    return [parameters.set_parameters(session, actor, figures.year, figures.area[0], figures.values(), figures.source)
            for figures in FIGURES]


def _ensure_area(session: Session, code: str, name_zh: str, name_en: str) -> None:
    if session.scalar(select(Area.code).where(Area.code == code)) is not None:
        return
    province = code[:CODE_LENGTH[AreaLevel.province]]
    if session.scalar(select(Area.code).where(Area.code == province)) is None:
        raise NotFound(f"没有省级区划 {province} · No province {province}: load the demo's areas first.")
    session.add(Area(code=code, level=_LEVEL_OF_LENGTH[len(code)], parent_code=province, name_zh=name_zh, name_en=name_en))
    session.flush()
