"""Hints for household_visit: a realistic household, its income by source, and the fields that follow from the members."""

from __future__ import annotations

import random
from typing import Any

from tools.formfill.hints.base import (
    DEFER,
    OMIT,
    SKIP,
    FormHints,
    Hint,
    choose,
    day_of,
    fixed,
    main_industries,
    maybe,
    memo,
    number,
    rows_of,
    today,
    weighted,
    yes,
)
from tools.formfill.hints.members import EMPLOYED, MEMBER_DRAW, age_of, current_members, head_of, member_rows, studying
from tools.formfill.samples import DALI_COUNTIES, REASONS, admin_village_code, mobile_phone, natural_village_code


def _household_size(top, row, rng):
    return len(current_members(top)) if rows_of(top, "members") else SKIP


def _householder(key: str) -> Hint:
    def hint(top, row, rng):
        head = head_of(top)
        if head is None or head.get(key) is None:
            return SKIP if key != "id_card_no" else OMIT
        return head[key]

    return hint


def _householder_id(top, row, rng):
    shown = memo(top, "householder_id_shown", lambda: rng.random() < 0.9)
    return _householder("id_card_no")(top, row, rng) if shown else OMIT


def _respondent(top: dict[str, Any], rng: random.Random) -> dict[str, Any] | None:
    wanted = memo(top, "respondent", lambda: "spouse" if rng.random() < 0.3 else "head")
    spouse = next((row for row in current_members(top) if row.get("relation_to_head") == "spouse"), None)
    return spouse if wanted == "spouse" and spouse is not None else head_of(top)


def _respondent_name(top, row, rng):
    who = _respondent(top, rng)
    return who["name"] if who is not None and who.get("name") else SKIP


def _respondent_relation(top, row, rng):
    who = _respondent(top, rng)
    return who["relation_to_head"] if who is not None else SKIP


def _village_code(top, row, rng):
    return memo(top, "natural_village_code", lambda: natural_village_code(rng))


def _income_plan(top: dict[str, Any], rng: random.Random) -> dict[str, int]:
    """The household's income by source, drawn once: income per head mostly 4,000-30,000, some below the line."""
    members = current_members(top)
    size = max(1, len(members))
    params = top.get("$params", {})
    line = number(params.get("monitoring_line"), 6000)
    draw = rng.random()
    if draw < 0.13:
        per_head = rng.uniform(0.45, 1.0) * line
    elif draw < 0.35:
        per_head = rng.uniform(line, 10000)
    elif draw < 0.95:
        per_head = rng.uniform(10000, 30000)
    else:
        per_head = rng.uniform(30000, 60000)
    total = per_head * size
    ages = [age_of(row) or 0 for row in members]
    transfers = {
        "transfer_dibao": (number(params.get("dibao_standard"), 4620) * rng.randint(1, size)
                           if top.get("is_dibao") == "yes" else 0),
        "transfer_tekun": rng.uniform(5000, 9000) if top.get("tekun_support") not in (None, "none") else 0,
        "transfer_pension": sum(rng.uniform(1300, 2400) for age in ages if age >= 60),
        "transfer_eco_compensation": rng.uniform(80, 1200) if rng.random() < 0.5 else 0,
        "transfer_agri_subsidy": rng.uniform(50, 1500),
        "transfer_disability": sum(rng.uniform(700, 2400) for row in members if row.get("health_status") == "disabled"),
        "transfer_other": rng.uniform(200, 2000) if rng.random() < 0.15 else 0,
    }
    rest = max(0.0, total - sum(transfers.values()))
    earners = sum(1 for row in members if row.get("employment_status") in EMPLOYED)
    farmers = sum(1 for row in members if row.get("employment_status") in ("farming", "self_employed"))
    property_income = rest * rng.uniform(0, 0.05)
    rest -= property_income
    business_share = rng.uniform(0.3, 0.8) if farmers else (rng.uniform(0, 0.2) if earners else 1.0)
    business = rest * business_share
    cost = business * rng.uniform(0.25, 0.7)
    plan = {name: round(value) for name, value in transfers.items()}
    plan.update(income_wage=round(rest - business), income_business_gross=round(business + cost),
                cost_business=round(cost), income_property=round(property_income))
    return plan


def _members_ready(top: dict[str, Any]) -> bool:
    members = rows_of(top, "members")
    return bool(members) and all("employment_status" in row for row in current_members(top))


def _income(name: str) -> Hint:
    def hint(top, row, rng):
        if not _members_ready(top):
            return DEFER
        return memo(top, "income", lambda: _income_plan(top, rng))[name]

    return hint


def _per_head(top: dict[str, Any]) -> float | None:
    plan = top.get("$plan", {}).get("income")
    if plan is None:
        return None
    net = sum(plan.values()) - 2 * plan["cost_business"]  # cost_business is in the plan and is subtracted
    return net / max(1, len(current_members(top)))


def _expense_medical(top, row, rng):
    serious = any(member.get("health_status") == "serious_illness" for member in current_members(top))
    draw = rng.random()
    if draw < (0.35 if serious else 0.05):
        return round(rng.uniform(6000, 30000))
    return 0 if draw < 0.45 else round(rng.uniform(100, 4000))


def _expense_education(top, row, rng):
    students = sum(1 for member in current_members(top) if studying(member))
    return sum(round(rng.uniform(300, 3000)) for _ in range(students))


def _monitoring_category(top, row, rng):
    per_head = _per_head(top)
    chance = 0.4 if per_head is not None and per_head < 10000 else 0.1
    draw = rng.random()
    if draw < chance:
        return "unstable_tuopin" if top.get("household_type") == "tuopin" else "marginal"
    return "sudden_hardship" if draw < chance + 0.03 else "none"


def _risk_types(top, row, rng):
    likely = []
    if any(member.get("health_status") in ("serious_illness", "chronic") for member in current_members(top)):
        likely.append("illness")
    if any(member.get("health_status") == "disabled" for member in current_members(top)):
        likely.append("disability")
    if top.get("housing_grade") in ("C", "D"):
        likely.append("housing_unsafe")
    likely += rng.sample(("unstable_employment", "lack_of_labour", "industry_failure", "high_rigid_expense",
                          "accident", "disaster", "weak_motivation"), 2)
    return likely[: rng.randint(1, 3)]


def _main_risk_type(top, row, rng):
    risks = top.get("risk_types")
    return rng.choice(risks) if type(risks) is list and risks else SKIP


def _housing_solution(top, row, rng):
    if top.get("housing_grade") in ("A", "B") and rng.random() < 0.85:
        return "own_safe"
    return weighted(rng, {"repaired": 4, "rebuilt": 3, "new_site": 1, "relocation_housing": 1, "lives_with_relatives": 1,
                          "rented": 0.5})


def _land_transferred(top, row, rng):
    land = number(top.get("cultivated_land_mu")) + number(top.get("forest_land_mu"))
    return round(rng.uniform(0, min(land, 6)), 1) if land > 0 and rng.random() < 0.3 else OMIT


def _visit_year(top: dict[str, Any]) -> int:
    return day_of(top.get("visit_date"), today(top)).year


HOUSEHOLD_VISIT = FormHints(
    draw={
        "visit_reason": choose({"routine": 60, "follow_up": 12, "self_declared": 6, "cadre_screening": 8,
                                "department_alert": 4, "risk_elimination_check": 6, "disaster_check": 4}),
        "enumerator_id": lambda top, row, rng: f"enumerator-{rng.randint(1, 400):04d}",
        "work_team_id": lambda top, row, rng: f"team-{rng.choice(DALI_COUNTIES)}-{rng.randint(1, 60):02d}",
        "photo_door_plate": maybe(0.7, lambda top, row, rng: f"door_plate_{rng.getrandbits(24):06x}.jpg"),
        "household_signature": maybe(0.5, lambda top, row, rng: f"signature_{rng.getrandbits(24):06x}.png"),
        "informed_consent": fixed("yes"),
        "natural_village_code": _village_code,
        "national_household_no": maybe(0.8, lambda top, row, rng: f"{_village_code(top, row, rng)}{rng.randint(1, 300):04d}"),
        "phone": maybe(0.8, lambda top, row, rng: mobile_phone(rng)),
        "household_type": choose({"tuopin": 45, "non_tuopin": 55}),
        "is_dibao": yes(0.12),
        "tekun_support": choose({"none": 93, "dispersed": 5, "centralised": 2}),
        "is_relocated": yes(0.08),
        **MEMBER_DRAW,
        "income_year": lambda top, row, rng: _visit_year(top) - (1 if rng.random() < 0.8 else 0),
        **{name: _income(name) for name in (
            "income_wage", "income_business_gross", "cost_business", "income_property", "transfer_dibao",
            "transfer_tekun", "transfer_pension", "transfer_eco_compensation", "transfer_agri_subsidy",
            "transfer_disability", "transfer_other")},
        "expense_medical_oop": _expense_medical,
        "expense_education": _expense_education,
        "expense_other_rigid": lambda top, row, rng: 0 if rng.random() < 0.6 else round(rng.uniform(200, 3000)),
        "income_drop": choose({"none": 92, "significant": 8}),
        "income_drop_reason": lambda top, row, rng: rng.choice(REASONS),
        "food_secure": yes(0.97),
        "clothing_secure": yes(0.97),
        "hospitalised_this_year": yes(0.15),
        "village_clinic_access": yes(0.95),
        "housing_grade": choose({"A": 40, "B": 40, "C": 9, "D": 3, "not_appraised": 8}),
        "lives_in_graded_house": yes(0.35),
        "house_structure": choose({"brick_concrete": 40, "frame": 10, "brick_wood": 25, "earth_wood": 15, "wood": 5,
                                   "stone": 3, "other": 2}),
        "housing_solution": _housing_solution,
        "renovation_year": maybe(0.4, lambda top, row, rng: rng.randint(2010, _visit_year(top))),
        "seismic_zone_7plus": yes(0.7),
        "housing_policies_received": lambda top, row, rng: ["none"] if rng.random() < 0.55 else [
            weighted(rng, {"renovation": 5, "seismic_retrofit": 3, "disaster_repair": 1, "relocation": 1})],
        "water_source": choose({"tap_centralised": 70, "standpipe": 8, "well": 5, "cistern": 5, "spring": 10, "trucked": 1,
                                "other": 1}),
        **{name: yes(0.95) for name in ("water_quantity_ok", "water_quality_ok", "water_convenience_ok",
                                        "water_reliability_ok")},
        "seasonal_shortage": yes(0.15),
        "drought_water_delivery": yes(0.1),
        "resettlement_area_code": lambda top, row, rng: admin_village_code(rng),
        "origin_village_code": lambda top, row, rng: natural_village_code(rng),
        "move_in_year": lambda top, row, rng: rng.randint(2016, 2020),
        "main_industries": main_industries,
        "cultivated_land_mu": maybe(0.85, lambda top, row, rng: round(rng.uniform(0.5, 15), 1)),
        "forest_land_mu": maybe(0.6, lambda top, row, rng: round(rng.uniform(0, 40), 1)),
        "land_transferred_out_mu": _land_transferred,
        "micro_credit": yes(0.12),
        "micro_credit_amount": lambda top, row, rng: rng.randint(2, 10) * 5000,
        "agri_insurance": yes(0.6),
        "return_to_poverty_insurance": yes(0.8),
        "toilet": choose({"sanitary_indoor": 30, "sanitary_yard": 45, "non_sanitary": 20, "none": 5}),
        "garbage_bin": yes(0.85),
        "livestock_separated": choose({"yes": 60, "no": 15, "no_livestock": 25}),
        "power_supply": yes(0.99),
        "clean_energy_cooking": yes(0.7),
        "road_to_door_hardened": yes(0.9),
        "broadband_or_4g_home": yes(0.9),
        "monitoring_category": _monitoring_category,
        "risk_types": _risk_types,
        "main_risk_type": _main_risk_type,
    },
    derive={
        "respondent_name": _respondent_name,
        "respondent_relation": _respondent_relation,
        "householder_name": _householder("name"),
        "householder_id_card_no": _householder_id,
        "household_size": _household_size,
        "ethnicity_of_head": _householder("ethnicity"),
    },
    rows={"members": member_rows},
)
