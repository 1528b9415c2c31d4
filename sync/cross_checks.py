"""Supervisor cross-checks between answers of accepted submissions (domain.md 6.2): flags to review, never refusals."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core import id_card
from survey_forms.checks import answered
from sync.bulk import json_text

# employment_status choices paid a wage (domain.md 3.3, 3.4: income_wage is migrant and local wages, public-welfare-job
# pay and workshop wages). Farming and self-employment earn business income instead, so they count as no wage work.
WAGE_WORK = frozenset({"outside_province", "in_province_outside_county", "in_county", "public_welfare_job",
                       "assistance_workshop"})
CURRENT = frozenset({"present", "born", "married_in"})  # member_status counted in the household (the form's is_current)
SUBSIDY_MIN_MONTHS = 3  # the travel subsidy is for at least 3 months of stable work away [002]
COUNT_TOLERANCE_PCT = 10  # village counts within 10% of the household records are fine (domain.md 6.2)
# The income answers: when none is in the data the form asked no income, and a missing amount is "not asked";
# when some are, a missing one is an amount left out.
_INCOME = ("income_wage", "income_business_gross", "cost_business", "income_property", "income_transfer",
           "transfer_dibao", "transfer_tekun", "transfer_pension", "transfer_eco_compensation", "transfer_agri_subsidy",
           "transfer_disability", "transfer_other")
_VILLAGE_REASON = ("村表户数或人口与农户记录相差超过10% · Households or population on the village form differ from the "
                   "household records by more than 10%")
_ID_REASONS = {
    id_card.Problem.pattern: ("身份证号格式错误（应为17位数字加1位数字或X） · The ID-card number is not 17 digits "
                              "and a digit or X"),
    id_card.Problem.birth_date: "身份证号中的出生日期不可能 · The birth date inside the ID-card number is impossible",
    id_card.Problem.check_digit: "身份证号校验位错误 · The ID-card number's check character is wrong",
    "birth_date_mismatch": "身份证号与出生日期不一致 · The ID-card number does not agree with the birth date",
    "sex_mismatch": "身份证号与性别不一致 · The ID-card number does not agree with the sex",
}


@dataclass(frozen=True)
class CrossCheck:
    """One check that failed: its code, the answer it points at, and why, with the figures it compared."""

    code: str
    field: str  # path in the item's data, as the validator names fields: income_wage, members[2].id_card_no
    details: dict[str, Any]  # {"reason": "中文 · English", ...}; never an ID number, in any form


def item_checks(data: dict[str, Any]) -> list[CrossCheck]:
    """The cross-checks that fail in one accepted household item's clear data (before its ID numbers are sealed).

    A field the data lacks was not asked (another form or version): it raises no flag.
    """
    rows = data.get("members")
    members = [row if type(row) is dict else {} for row in rows] if type(rows) is list else []  # indexes as sent
    return [*_dibao(data), *_wages(data, members), *_travel_subsidies(members), *_id_cards(data, members)]


def record(session: Session, checks: dict[uuid.UUID, list[CrossCheck]]) -> None:
    """Flags for the failed checks of accepted submissions, on the submission and its household, in one statement."""
    rows = [(submission_uuid, check) for submission_uuid, found in checks.items() for check in found]
    if rows:
        session.execute(_RECORD, {
            "uuids": [submission_uuid for submission_uuid, _ in rows], "codes": [check.code for _, check in rows],
            "details": json_text([{**check.details, "field": check.field} for _, check in rows])})


def check_villages(session: Session, submission_uuids: list[uuid.UUID]) -> None:
    """village_counts_vs_households for the accepted village submissions among these; run after reconciliation."""
    if submission_uuids:
        session.execute(_VILLAGE_COUNTS, {"uuids": submission_uuids, "tolerance_pct": COUNT_TOLERANCE_PCT,
                                          "reason": _VILLAGE_REASON})


def _dibao(data: dict[str, Any]) -> Iterator[CrossCheck]:
    """domain.md 6.2 dibao_without_allowance, both ways: a 低保 household without 低保金, 低保金 without 低保."""
    is_dibao, allowance = data.get("is_dibao"), _number(data.get("transfer_dibao"))
    figures = {"is_dibao": is_dibao, "transfer_dibao": allowance}
    if is_dibao == "yes" and not allowance and _income_asked(data):
        yield CrossCheck("dibao_without_allowance", "transfer_dibao", {
            "reason": "低保户但低保金为0或未填 · A dibao household with no dibao allowance", **figures})
    elif allowance and allowance > 0 and answered(is_dibao) and is_dibao != "yes":
        yield CrossCheck("allowance_without_dibao", "is_dibao", {
            "reason": "有低保金但不是低保户 · A dibao allowance for a household that is not on dibao", **figures})


def _wages(data: dict[str, Any], members: list[dict[str, Any]]) -> Iterator[CrossCheck]:
    """domain.md 6.2 wage_without_worker, both ways: wage income and members in wage work must go together."""
    if not any(answered(row.get("employment_status")) for row in members):
        return  # employment not asked
    wage = _number(data.get("income_wage"))
    earners = [row for row in members if row.get("employment_status") in WAGE_WORK]
    # A member who left during the year may have earned the wages, so any member in wage work explains them; only
    # current members are expected to bring wages home.
    current = [row for row in earners if (row.get("member_status") or "present") in CURRENT]
    if wage and wage > 0 and not earners:
        yield CrossCheck("wage_without_worker", "income_wage", {
            "reason": "有工资性收入但无务工、公益性岗位或帮扶车间就业成员 · Wage income but no member in wage work, "
                      "a public-welfare job or an assistance workshop",
            "income_wage": wage, "wage_earners": 0})
    elif current and not wage and _income_asked(data):
        yield CrossCheck("worker_without_wage", "income_wage", {
            "reason": "有务工就业成员但工资性收入为0 · Members in wage work but no wage income",
            "income_wage": wage, "wage_earners": len(current)})


def _travel_subsidies(members: list[dict[str, Any]]) -> Iterator[CrossCheck]:
    """domain.md 6.2 travel_subsidy_without_work: the subsidy needs at least 3 months' work away [002]."""
    for index, row in enumerate(members):
        months = _number(row.get("work_months"))
        if row.get("migrant_travel_subsidy") == "yes" and months is not None and months < SUBSIDY_MIN_MONTHS:
            yield CrossCheck("travel_subsidy_without_work", f"members[{index}].migrant_travel_subsidy", {
                "reason": "享受外出务工交通补助但务工不足3个月 · The migrant-work travel subsidy with fewer than "
                          "3 months' work away",
                "work_months": months, "min_months": SUBSIDY_MIN_MONTHS})


def _id_cards(data: dict[str, Any], members: list[dict[str, Any]]) -> Iterator[CrossCheck]:
    """domain.md 6.2 id_card_invalid; the flag names the field and the problem, never the number."""
    on = _date(data.get("visit_date")) or date.today()
    answers = [("householder_id_card_no", data.get("householder_id_card_no"), {}),
               *((f"members[{i}].id_card_no", row.get("id_card_no"), row) for i, row in enumerate(members))]
    for path, number, row in answers:
        if answered(number):
            found = _id_problem(number, on, row)
            if found is not None:
                yield CrossCheck("id_card_invalid", path, {"reason": _ID_REASONS[found], "problem": str(found)})


def _id_problem(number: Any, on: date, row: dict[str, Any]) -> str | None:
    """What is wrong with the number, or with a member's birth date and sex beside it (GB 11643-1999)."""
    if type(number) is not str:
        return id_card.Problem.pattern
    found = id_card.problem(number, on)
    if found is not None:
        return found
    if answered(row.get("birth_date")) and str(row["birth_date"]) != id_card.birth_date(number).isoformat():
        return "birth_date_mismatch"
    if row.get("sex") in ("male", "female") and row["sex"] != id_card.sex(number):
        return "sex_mismatch"
    return None


def _income_asked(data: dict[str, Any]) -> bool:
    return any(answered(data.get(name)) for name in _INCOME)


def _number(value: Any) -> float | int | None:
    return value if type(value) in (int, float) else None  # bool is not a number here


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if type(value) is str else None
    except ValueError:
        return None


# A flag names the household (or village) as sync/flags.py does: the submission's entity, read from its row.
_RECORD = text("""
INSERT INTO flag (code, submission_uuid, entity_type, entity_id, details)
SELECT c.code, s.uuid, s.subject_type, CASE WHEN s.subject_type = 'village' THEN s.area_code ELSE s.entity_id::text END,
       c.details
FROM ROWS FROM (unnest(CAST(:uuids AS uuid[])), unnest(CAST(:codes AS text[])),
                jsonb_array_elements(CAST(:details AS jsonb))) WITH ORDINALITY AS c (uuid, code, details, n)
JOIN submission AS s ON s.uuid = c.uuid AND s.state = 'accepted'
ORDER BY c.n
""")

# The village form's counts against the households recorded in its area and their current members. A village with
# no household recorded yet is not compared: its list has not been started (domain.md 4: counts come from household
# records where the list is complete), nor is a population with no member recorded.
_VILLAGE_COUNTS = text("""
WITH s AS (SELECT uuid, area_code FROM submission
           WHERE uuid = ANY(CAST(:uuids AS uuid[])) AND state = 'accepted' AND subject_type = 'village'),
form AS (
    SELECT s.uuid, s.area_code,
           CASE WHEN jsonb_typeof(v.properties -> 'households_total') = 'number'
                THEN (v.properties ->> 'households_total')::numeric END AS households,
           CASE WHEN jsonb_typeof(v.properties -> 'population_total') = 'number'
                THEN (v.properties ->> 'population_total')::numeric END AS population
    FROM s JOIN village AS v ON v.area_code = s.area_code),
recorded AS (
    SELECT f.uuid, count(DISTINCT h.id) AS households,
           count(p.id) FILTER (WHERE coalesce(p.properties ->> 'member_status', 'present')
                                     IN ('present', 'born', 'married_in')) AS population
    FROM form AS f JOIN household AS h ON h.area_code = f.area_code
    LEFT JOIN person AS p ON p.household_id = h.id
    GROUP BY f.uuid)
INSERT INTO flag (code, submission_uuid, entity_type, entity_id, details)
SELECT 'village_counts_vs_households', f.uuid, 'village', f.area_code,
       jsonb_build_object('reason', CAST(:reason AS text), 'households_form', f.households, 'households_recorded', r.households,
                          'population_form', f.population, 'population_recorded', r.population,
                          'tolerance_pct', CAST(:tolerance_pct AS integer))
FROM form AS f JOIN recorded AS r ON r.uuid = f.uuid
WHERE abs(f.households - r.households) * 100 > CAST(:tolerance_pct AS integer) * r.households
   OR (r.population > 0 AND abs(f.population - r.population) * 100 > CAST(:tolerance_pct AS integer) * r.population)
""")
