"""Demo village rows (domain.md 4) in the seeds' proportions, each with the flags of 4.3 its values raise.

Natural villages: roads, water, power, network, logistics, finance, public toilets. Administrative villages: collective
income and clinic.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from server.demo import proportions as p
from server.demo.areas import AreaRow

COLLECTIVE_INCOME_YEAR = 2024  # the last full year before the demo's (households.INCOME_YEAR)
# The village forms' parameters (survey_forms/definitions/village_*/v1.json) the flags are read against.
ROAD_TARGET_MIN_HOUSEHOLDS = 30
PUBLIC_TOILET_MIN_RESIDENT_HOUSEHOLDS = 100
WEAK_COLLECTIVE_INCOME_LINE = 50_000
COLLECTIVE_INCOME_TARGET = 100_000
# [proposal] Dali is mostly mountains (山区), with basins (坝区) around its lakes.
TERRAIN = {"mountain": 0.55, "half_mountain": 0.25, "basin": 0.15, "river_valley": 0.05}
Row = dict[str, Any]


def generate_villages(seed: int, natural: Sequence[AreaRow], admin: Sequence[AreaRow]) -> list[Row]:
    """One village row per natural and administrative village, as insert(Village) takes them: properties in the village
    forms' names (survey_forms/entities/village.json), at version 0 since no visit made them (a village has no registry
    version for visits to build on: the first visit's merge starts anew), with the flags those properties raise."""
    rng = random.Random(f"{seed}:villages")  # noqa: S311 - reproducible demo data, not secrecy
    natural_rows = [_natural(rng, village) for village in natural]
    _deal_gaps(rng, natural_rows)
    # Every village clinic up to standard, with a doctor: as Yuxi's 198 poverty villages [003].
    admin_rows = [{"code": village.code, "name_zh": village.name_zh, "collective_income_year": COLLECTIVE_INCOME_YEAR,
                   "clinic_standardised": "yes", "village_doctors": rng.randint(1, 3)} for village in admin]
    _deal_collective_income(rng, admin_rows)
    return ([_row(village, row, natural_flags(row)) for village, row in zip(natural, natural_rows, strict=True)]
            + [_row(village, row, admin_flags(row)) for village, row in zip(admin, admin_rows, strict=True)])


def natural_flags(properties: Row) -> list[str]:
    """The flags of domain.md 4.3 for a natural village, as the village_infrastructure form's rules raise them."""
    flags = {
        "no_hardened_road": properties["road_access"] != "hardened",
        "no_hardened_road_priority": (properties["households_total"] >= ROAD_TARGET_MIN_HOUSEHOLDS
                                      and properties["road_access"] != "hardened"),
        "partial_water": properties["water_supply_mode"] != "centralised" or properties["seasonal_shortage"] == "yes",
        "no_broadband": properties["broadband"] == "none",
        "no_ecommerce_point": properties["ecommerce_delivery_point"] == "no",
        "no_financial_point": properties["financial_service_point"] == "no",
        "no_power_380v": properties["power_380v"] == "no",
        "needs_public_toilet": (properties["households_resident"] >= PUBLIC_TOILET_MIN_RESIDENT_HOUSEHOLDS
                                and properties["public_toilet"] != "sanitary"),
    }
    return sorted(code for code, holds in flags.items() if holds)


def admin_flags(properties: Row) -> list[str]:
    """The flags of domain.md 4.3 for an administrative village, as the village_collective form's rules raise them."""
    income = properties["collective_operating_income"]
    flags = {"weak_collective_economy": income < WEAK_COLLECTIVE_INCOME_LINE,
             "collective_income_below_target": income < COLLECTIVE_INCOME_TARGET,
             "no_standard_clinic": properties["clinic_standardised"] != "yes" or properties["village_doctors"] < 1}
    return sorted(code for code, holds in flags.items() if holds)


def _row(village: AreaRow, properties: Row, flags: list[str]) -> Row:
    return {"area_code": village.code, "properties": properties, "version": 0, "risk_flags": flags}


def _natural(rng: random.Random, village: AreaRow) -> Row:
    """What every natural village has before the gaps are dealt: all the facilities, and its size and terrain."""
    return {"code": village.code, "name_zh": village.name_zh,
            "terrain": rng.choices(list(TERRAIN), list(TERRAIN.values()))[0],
            "households_total": rng.randint(15, 99), "road_access": "hardened", "road_surface": "cement",
            "water_supply_mode": "centralised", "seasonal_shortage": "no", "power_380v": "yes", "broadband": "fibre",
            "mobile_signal": rng.choice(("4g", "4g", "5g")), "ecommerce_delivery_point": "yes",
            "financial_service_point": "yes", "public_toilet": rng.choice(("sanitary", "simple", "none"))}


def _deal_gaps(rng: random.Random, rows: list[Row]) -> None:
    """Each gap to its share of the villages, exactly (proportions.py), each on villages drawn anew."""
    total = len(rows)

    def deal(share: float, change: Callable[[Row], None]) -> None:
        for row in rng.sample(rows, p.rounded(total * share)):
            change(row)

    large = rng.sample(rows, p.rounded(total * p.LARGE_VILLAGES))
    for row in large:
        row["households_total"] = rng.randint(PUBLIC_TOILET_MIN_RESIDENT_HOUSEHOLDS + 10, 220)
        row["public_toilet"] = "sanitary"
    for row in rng.sample(large, p.rounded(len(large) * p.LARGE_WITHOUT_SANITARY_TOILET)):
        row["public_toilet"] = rng.choice(("simple", "none"))
    large_ones = {id(row) for row in large}
    for row in rows:
        # A tenth or so of the households live away for work [proposal]; a large village stays above the threshold.
        resident = round(row["households_total"] * rng.uniform(0.8, 0.95))
        floor = PUBLIC_TOILET_MIN_RESIDENT_HOUSEHOLDS if id(row) in large_ones else 0
        row["households_resident"] = max(resident, floor)
    unpaved = rng.sample(rows, p.rounded(total * p.NO_HARDENED_ROAD))
    for access, count in p.apportion(len(unpaved), p.ROAD_WITHOUT_HARDENING, 1).items():
        for row in unpaved[:count]:
            row["road_access"] = access
            if access == "none":
                del row["road_surface"]
            else:
                row["road_surface"] = access  # gravel or earth, as the road is
        unpaved = unpaved[count:]
    piped = rng.sample(rows, p.rounded(total * p.NOT_CENTRALISED_WATER))
    for mode, count in p.apportion(len(piped), p.WATER_WITHOUT_CENTRALISED, 1).items():
        for row in piped[:count]:
            row["water_supply_mode"] = mode
        piped = piped[count:]
    deal(p.SEASONAL_SHORTAGE, lambda row: row.update(seasonal_shortage="yes"))
    deal(p.NO_BROADBAND, lambda row: row.update(broadband="none"))
    deal(p.NO_ECOMMERCE_POINT, lambda row: row.update(ecommerce_delivery_point="no"))
    deal(p.NO_FINANCIAL_POINT, lambda row: row.update(financial_service_point="no"))
    deal(p.NO_POWER_380V, lambda row: row.update(power_380v="no"))


def _deal_collective_income(rng: random.Random, rows: list[Row]) -> None:
    """Collective operating income of the last year: weak, under the target, or at it (proportions.py)."""
    shares = {"weak": p.WEAK_COLLECTIVE_ECONOMY, "below_target": p.COLLECTIVE_BELOW_TARGET,
              "at_target": 1 - p.WEAK_COLLECTIVE_ECONOMY - p.COLLECTIVE_BELOW_TARGET}
    ranges = {"weak": (0, WEAK_COLLECTIVE_INCOME_LINE - 1),
              "below_target": (WEAK_COLLECTIVE_INCOME_LINE, COLLECTIVE_INCOME_TARGET - 1),
              "at_target": (COLLECTIVE_INCOME_TARGET, 400_000)}
    order = rng.sample(rows, len(rows))
    for band, count in p.apportion(len(rows), shares).items():
        for row in order[:count]:
            row["collective_operating_income"] = rng.randint(*ranges[band])
        order = order[count:]
