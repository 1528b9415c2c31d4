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
from tools.formfill.hints.members import (
    CURRENT,
    EMPLOYED,
    MEMBER_DRAW,
    age_of,
    current_members,
    from_v2,
    head_of,
    member_rows,
    severely_disabled,
    studying,
)
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
        "transfer_disability": sum(_disability_transfer(row, rng) for row in members),
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


INCOME_ITEMS = ("income_wage", "income_business_gross", "cost_business", "income_property", "transfer_dibao",
                "transfer_tekun", "transfer_pension", "transfer_eco_compensation", "transfer_agri_subsidy",
                "transfer_disability", "transfer_other")


def _disability_transfer(row: dict[str, Any], rng: random.Random) -> float:
    if row.get("health_status") == "disabled":  # v1
        return rng.uniform(700, 2400)
    allowances = row.get("disability_allowances")  # v2: about 100 yuan a month for each allowance
    return sum(rng.uniform(900, 1300) for _ in allowances) if type(allowances) is list else 0


def _members_ready(top: dict[str, Any]) -> bool:
    members = rows_of(top, "members")
    return bool(members) and all("employment_status" in row for row in current_members(top))


def _income(name: str) -> Hint:
    def hint(top, row, rng):
        if not _members_ready(top):
            return DEFER
        plan = memo(top, "income", lambda: _income_plan(top, rng))
        if from_v2(top) and not _enters_income(top, rng):
            return OMIT  # nothing changed since the last verification: its figures are kept
        return plan[name]

    return hint


def _net(plan: dict[str, int]) -> int:
    return sum(plan.values()) - 2 * plan["cost_business"]  # cost_business is in the plan and is subtracted


def _income_story(top: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """v2: the net income last verified (None: never verified), whether it fell sharply since, and whether this visit
    enters the year's income item by item: always on the annual income verification, when there is no verified figure
    or the income fell; on other visits now and then, when something changed. The last verified figure is close to the
    plan's, so income per head is spread as in v1 whether or not the income is entered."""

    def make() -> dict[str, Any]:
        net = _net(memo(top, "income", lambda: _income_plan(top, rng)))
        dropped = rng.random() < 0.08
        verified = rng.random() < 0.92
        last = net / rng.uniform(0.5, 0.75) if dropped else net * rng.uniform(0.94, 1.06)
        entered = (top.get("visit_reason") == "annual_verification" or not verified or dropped
                   or rng.random() < 0.2)
        return {"last": round(last) if verified else None, "dropped": dropped, "entered": entered}

    return memo(top, "income_story", make)


def _enters_income(top: dict[str, Any], rng: random.Random) -> bool:
    """v2: whether this visit enters the income; always without a last verified figure (the caller may leave it out)."""
    return _income_story(top, rng)["entered"] or top.get("last_income_total_net") is None


def _last_income(top, row, rng):
    if not _members_ready(top):
        return DEFER
    last = _income_story(top, rng)["last"]
    return OMIT if last is None else last


def _income_drop(top, row, rng):
    if not from_v2(top):
        return weighted(rng, {"none": 92, "significant": 8})
    if not _members_ready(top):
        return DEFER
    return "significant" if _income_story(top, rng)["dropped"] else "none"


def _answered_net(top: dict[str, Any]) -> float | None:
    """v2: the household's net income as the server works it out from the answers: this visit's, else the last verified."""
    if any(top.get(name) is not None for name in INCOME_ITEMS):
        return sum(number(top.get(name)) for name in INCOME_ITEMS) - 2 * number(top.get("cost_business"))
    last = top.get("last_income_total_net")
    return last if type(last) in (int, float) else None


def _per_head(top: dict[str, Any]) -> float | None:
    plan = top.get("$plan", {}).get("income")
    if plan is None:
        return None
    return _net(plan) / max(1, len(current_members(top)))


def _expense_medical(top, row, rng):
    serious = any(member.get("health_status") == "serious_illness" for member in current_members(top))
    draw = rng.random()
    if draw < (0.35 if serious else 0.05):
        return round(rng.uniform(6000, 30000))
    return 0 if draw < 0.45 else round(rng.uniform(100, 4000))


def _expense_other_rigid(top, row, rng):
    if not from_v2(top):
        return 0 if rng.random() < 0.6 else round(rng.uniform(200, 3000))
    # v2, where rigid spending counts against income: repairs after a disaster, an accident, a funeral; seldom
    chance = 0.5 if top.get("visit_reason") == "disaster_check" else 0.12
    return round(rng.uniform(500, 5000)) if rng.random() < chance else 0


def _hospitalised(top, row, rng):
    if not from_v2(top):
        return "yes" if rng.random() < 0.15 else "no"
    people = [member for member in rows_of(top, "members") if member.get("member_status") in (*CURRENT, "deceased")]
    if any("medical_oop" not in member for member in people):
        return DEFER
    if any(number(member.get("medical_oop")) >= 4000 for member in people):
        chance = 0.85
    elif any(member.get("health_status") == "serious_illness" for member in people):
        chance = 0.4
    else:
        chance = 0.06
    return "yes" if rng.random() < chance else "no"


def _expense_education(top, row, rng):
    students = sum(1 for member in current_members(top) if studying(member))
    return sum(round(rng.uniform(300, 3000)) for _ in range(students))


def _household_figures(top: dict[str, Any]) -> tuple[float, float] | None:
    """v2: (net income per head, the same after rigid spending) as the server will work them out from the answers;
    None while they are not all given."""
    members = current_members(top)
    people = [row for row in rows_of(top, "members") if row.get("member_status") in (*CURRENT, "deceased")]
    net = _answered_net(top)
    if not members or net is None or not _members_ready(top) or any("medical_oop" not in row for row in people):
        return None
    rigid = sum(number(row.get("medical_oop")) for row in people)
    rigid += number(top.get("expense_education")) + number(top.get("expense_other_rigid"))
    return net / len(members), (net - rigid) / len(members)


def _proposed_category(top, row, rng):
    """v2, households not yet monitored: a category is proposed for a few, whose answers show a real risk (income under
    the monitoring line, also after rigid spending, a serious illness with a low income, an unsafe house lived in, a
    household that asked for help); "none" for the rest."""
    figures = _household_figures(top)
    if figures is None:
        return DEFER
    per_head, after_rigid = figures
    line = number(top.get("$params", {}).get("monitoring_line"), 6000)
    watch = number(top.get("$params", {}).get("watch_line"), 10000)
    members = current_members(top)
    ill = any(member.get("health_status") == "serious_illness" or severely_disabled(member) for member in members)
    unsafe_house = top.get("housing_grade") in ("C", "D") and top.get("lives_in_graded_house") == "yes"
    chance = 0.0
    if per_head < line or after_rigid < line:
        chance = 0.2
    elif unsafe_house or (ill and per_head < watch):
        chance = 0.15
    if top.get("visit_reason") == "self_declared":
        chance += 0.3
    if rng.random() >= chance:
        return "none"
    if unsafe_house or top.get("visit_reason") == "disaster_check" or (ill and after_rigid < line and rng.random() < 0.5):
        return "sudden_hardship"
    return "unstable_tuopin" if top.get("household_type") == "tuopin" else "marginal"


def _elimination_consent(top, row, rng):
    """v2, monitored households: asked on the check before risk elimination (most agree), seldom on other visits."""
    if top.get("visit_reason") == "risk_elimination_check":
        return "yes" if rng.random() < 0.85 else "no"
    return ("yes" if rng.random() < 0.7 else "no") if rng.random() < 0.1 else OMIT


def _renovation_status(top, row, rng):
    """v2, grade C or D houses: one still lived in waits for its repair more often than one the family has left."""
    if top.get("lives_in_graded_house") == "yes":
        return weighted(rng, {"not_planned": 20, "awaiting": 40, "in_progress": 30, "completed": 10})
    return weighted(rng, {"not_planned": 15, "awaiting": 25, "in_progress": 25, "completed": 35})


def _toilet_in_use(top, row, rng):
    """v2: most toilets are used; some sanitary ones were built and are not (broken, used as a store)."""
    unused = {"sanitary_indoor": 0.05, "sanitary_yard": 0.1}.get(top.get("toilet"), 0.03)
    return "no" if rng.random() < unused else "yes"


def _gps_fix(top: dict[str, Any], rng: random.Random) -> bool:
    return memo(top, "gps_fix", lambda: rng.random() < 0.97)


def _location(top, row, rng):
    """v2: most visits have a fix; without one the location is left empty once the reason is given."""
    if not from_v2(top) or _gps_fix(top, rng):
        return SKIP  # drawn the usual way (v1: as before)
    return OMIT if top.get("gps_skip_reason") is not None else DEFER


def _gps_skip_reason(top, row, rng):
    # Asked only when the location (drawn first) is empty: no fix was planned, or the caller left it out.
    return weighted(rng, {"no_signal": 55, "poor_accuracy": 20, "device_problem": 20, "other": 5})


def _visit_reason(top, row, rng):
    if not from_v2(top):
        return weighted(rng, {"routine": 60, "follow_up": 12, "self_declared": 6, "cadre_screening": 8,
                              "department_alert": 4, "risk_elimination_check": 6, "disaster_check": 4})
    # Households are visited several times a year and their income verified once: about one visit in five.
    return weighted(rng, {"routine": 46, "annual_verification": 20, "follow_up": 10, "self_declared": 3,
                          "cadre_screening": 8, "department_alert": 4, "risk_elimination_check": 5, "disaster_check": 4})


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
    if any(member.get("health_status") == "disabled" or member.get("has_disability") == "yes"
           for member in current_members(top)):
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
        "visit_reason": _visit_reason,
        "location": _location,
        "gps_skip_reason": _gps_skip_reason,
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
        "last_income_total_net": _last_income,
        "income_year": lambda top, row, rng: _visit_year(top) - (1 if rng.random() < 0.8 else 0),
        **{name: _income(name) for name in INCOME_ITEMS},
        "expense_medical_oop": _expense_medical,
        "expense_education": _expense_education,
        "expense_other_rigid": _expense_other_rigid,
        "income_drop": _income_drop,
        "income_drop_reason": lambda top, row, rng: rng.choice(REASONS),
        "food_secure": yes(0.97),
        "clothing_secure": yes(0.97),
        "hospitalised_this_year": _hospitalised,
        "village_clinic_access": yes(0.95),
        "housing_grade": choose({"A": 40, "B": 40, "C": 9, "D": 3, "not_appraised": 8}),
        "lives_in_graded_house": yes(0.35),
        "renovation_status": _renovation_status,
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
        "toilet_in_use": _toilet_in_use,
        "garbage_bin": yes(0.85),
        "livestock_separated": choose({"yes": 60, "no": 15, "no_livestock": 25}),
        "power_supply": yes(0.99),
        "clean_energy_cooking": yes(0.7),
        "road_to_door_hardened": yes(0.9),
        "broadband_or_4g_home": yes(0.9),
        "monitoring_category": _monitoring_category,
        "proposed_category": _proposed_category,
        "risk_types": _risk_types,
        "main_risk_type": _main_risk_type,
        "elimination_consent": _elimination_consent,
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
