"""Hints for the village forms (village_infrastructure, village_collective): counts that add up, realistic villages."""

from __future__ import annotations

from tools.formfill import samples
from tools.formfill.hints.base import SKIP, FormHints, Hint, choose, main_industries, maybe, number, today, year_of, yes


def _share_of(total_field: str, low: float, high: float) -> Hint:
    def hint(top, row, rng):
        total = top.get(total_field)
        return round(total * rng.uniform(low, high)) if type(total) is int else SKIP

    return hint


def _between(low_field: str, high_field: str, factor: tuple[float, float] | None = None) -> Hint:
    """An integer from the value of low_field (times a factor when given) up to the value of high_field."""
    def hint(top, row, rng):
        low, high = top.get(low_field), top.get(high_field)
        if type(low) is not int or type(high) is not int or low > high:
            return SKIP
        top_end = high if factor is None else min(high, max(low, round(low * rng.uniform(*factor))))
        return rng.randint(low, top_end)

    return hint


def _population_total(top, row, rng):
    households = top.get("households_total")
    return round(households * rng.uniform(3.2, 4.2)) if type(households) is int else SKIP


def _population_resident(top, row, rng):
    resident, total = top.get("households_resident"), top.get("population_total")
    if type(resident) is not int or type(total) is not int:
        return SKIP
    return rng.randint(min(total, max(resident, round(total * 0.7))), total)


def _road_surface(top, row, rng):
    access = top.get("road_access")
    if access == "hardened":
        return "cement" if rng.random() < 0.75 else "asphalt"
    return access if access in ("gravel", "earth") else SKIP


def _beneficiaries(top, row, rng):
    total = top.get("households_total")
    return rng.randint(0, total) if type(total) is int else SKIP


def _need_description(top, row, rng):
    return rng.choice(samples.NEED_PHRASES.get(row.get("need_category") if row else None, samples.DEFAULT_NEEDS))


SURVEY_HINTS: dict[str, Hint] = {
    "survey_year": year_of("survey_date"),
    "contact_phone": maybe(0.8, lambda top, row, rng: samples.mobile_phone(rng)),
    "centroid": maybe(0.9, lambda top, row, rng: {
        "lat": round(rng.uniform(24.7, 26.7), 6), "lon": round(rng.uniform(98.9, 101.0), 6),
        "accuracy_m": round(rng.uniform(3, 40), 1), "altitude_m": round(rng.uniform(1300, 3000), 1)}),
    "main_industries": main_industries,
    "remarks": maybe(0.3, lambda top, row, rng: samples.phrase(rng)),
}

VILLAGE_INFRASTRUCTURE = FormHints(draw={
    **SURVEY_HINTS,
    "natural_village_code": lambda top, row, rng: samples.natural_village_code(rng),
    "name_zh": lambda top, row, rng: samples.place_name(rng),
    "alias_zh": maybe(0.2, lambda top, row, rng: samples.place_name(rng)),
    "group_no": maybe(0.7, lambda top, row, rng: f"{rng.randint(1, 15)}组"),
    "households_total": lambda top, row, rng: rng.randint(12, 220),
    "households_resident": _share_of("households_total", 0.7, 1.0),
    "population_total": _population_total,
    "population_resident": _population_resident,
    "tuopin_households": _share_of("households_total", 0, 0.6),
    "tuopin_population": _between("tuopin_households", "population_total", (3, 4.5)),
    "monitored_households": _share_of("households_total", 0, 0.08),
    "monitored_population": _between("monitored_households", "population_total", (2, 4.5)),
    "road_access": choose({"hardened": 75, "gravel": 15, "earth": 8, "none": 2}),
    "road_surface": _road_surface,
    "water_supply_mode": choose({"centralised": 70, "partly_centralised": 20, "dispersed": 10}),
    "tap_households": _share_of("households_total", 0.75, 1.0),
    "sanitary_toilet_households": _share_of("households_total", 0.4, 1.0),
    "power_380v": yes(0.85),
    "broadband": choose({"fibre": 80, "other_fixed": 10, "none": 10}),
    "mobile_signal": choose({"5g": 30, "4g": 60, "weak": 8, "none": 2}),
    "ecommerce_delivery_point": yes(0.7),
    "financial_service_point": yes(0.75),
    "street_lights": maybe(0.8, lambda top, row, rng: rng.randint(0, 60)),
    "project_needs.need_description": _need_description,
    "project_needs.beneficiary_households": _beneficiaries,
})


def _collective_income(top, row, rng):
    draw = rng.random()
    if draw < 0.08:
        return 0
    if draw < 0.3:
        return round(rng.uniform(5000, 50000))
    if draw < 0.65:
        return round(rng.uniform(50000, 100000))
    return round(rng.uniform(100000, 500000))


def _completion_year(top, row, rng):
    year = top.get("survey_year")
    low = number(top.get("$params", {}).get("asset_year_min"), 2013)
    return rng.randint(int(low), year) if type(year) is int and year >= low else SKIP


def _doctors_unqualified(top, row, rng):
    doctors = top.get("village_doctors")
    return rng.randint(0, doctors) if type(doctors) is int else SKIP


VILLAGE_COLLECTIVE = FormHints(draw={
    **SURVEY_HINTS,
    "village_code": lambda top, row, rng: samples.admin_village_code(rng),
    "name_zh": lambda top, row, rng: samples.place_name(rng, "村"),
    "is_tuopin_village": choose({"deep": 15, "yes": 45, "no": 40}),
    "demonstration": choose({"none": 70, "boutique": 8, "rural_tourism": 10, "common_prosperity": 7, "digital": 5}),
    "collective_income_year": lambda top, row, rng: (top.get("survey_year") or today(top).year) - (rng.random() < 0.7),
    "collective_operating_income": _collective_income,
    "project_assets.asset_name": lambda top, row, rng: samples.place_name(rng, "") + rng.choice(samples.ASSETS),
    "project_assets.completion_year": _completion_year,
    "project_assets.investment_wan": lambda top, row, rng: round(rng.uniform(5, 500), 1),
    "project_assets.annual_income_yuan": lambda top, row, rng: round(rng.uniform(0, 80000)),
    "assistance_workshop": lambda top, row, rng: rng.randint(0, 3),
    "clinic_standardised": yes(0.8),
    "village_doctors": lambda top, row, rng: rng.choice((0, 1, 1, 1, 1, 2, 2, 3)),
    "village_doctors_under_55_unqualified": _doctors_unqualified,
    "team_members": lambda top, row, rng: rng.choice((0, 2, 3, 3, 4, 4, 5, 6)),
    "dispatching_unit": lambda top, row, rng: rng.choice(samples.UNITS),
    "unstable_tuopin_population": lambda top, row, rng: rng.randint(0, 400),
    "reserve_cadres": lambda top, row, rng: rng.randint(0, 6),
})
