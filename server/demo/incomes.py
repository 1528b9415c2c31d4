"""A demo household's income of the year (domain.md 3.4): its components, adding up as the household form adds them."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from server.demo import proportions as p
from server.demo.profiles import BELOW_LINE, BETWEEN, Profile

TOP_INCOME_PER_HEAD = 60_000  # the tail above the watch line is cut here
# Allowances, yuan a year [proposal unless tagged]: 特困 support at 1.3 × Lincang's 4620 dibao standard [002] (the
# 1.3 multiple is [GK]); 低保 paid per member; the residents' basic pension per member of 60 or more; eco compensation
# (公益林, 退耕还林) in some households; farm subsidies through the 一卡通 in all.
TEKUN_PER_PERSON = round(1.3 * 4_620)
DIBAO_PER_PERSON = (1_800, 3_000)
PENSION_PER_ELDER = 1_440
ECO_COMPENSATION = (100, 900)
AGRI_SUBSIDY = (100, 700)
ELDERLY_AGE = 60  # the household form's elderly_age parameter
TRANSFERS = ("transfer_dibao", "transfer_tekun", "transfer_pension", "transfer_eco_compensation",
             "transfer_agri_subsidy", "transfer_disability", "transfer_other")


def income(rng: random.Random, profile: Profile, ages: Sequence[int], labour_members: int, year: int) -> dict[str, int]:
    """The household properties of one year's income: income per head in the profile's band, its components adding up
    (net = wage + business_gross − cost + property + transfers; per head = net / members, a whole number of yuan)."""
    per_head = _per_head(rng, profile)
    net = per_head * len(ages)
    transfers = _fit(_allowances(rng, profile, ages), net)
    earned = net - sum(transfers.values())
    values = {"income_year": year, "income_wage": 0, "income_business_gross": 0, "cost_business": 0,
              "income_property": 0, **transfers}
    if labour_members == 0:
        # Nobody works: what allowances do not cover comes from children living elsewhere (赡养费) [proposal].
        values["transfer_other"] += earned
    else:
        values |= _earned(rng, earned)
    values["income_transfer"] = sum(values[name] for name in TRANSFERS)
    values["income_total_net"] = net
    values["income_per_capita"] = per_head
    return values


def _per_head(rng: random.Random, profile: Profile) -> int:
    if profile.band == BELOW_LINE:
        return rng.randint(p.BELOW_LINE_FLOOR, p.MONITORING_LINE - 1)
    if profile.band == BETWEEN:
        return rng.randint(p.MONITORING_LINE, p.WATCH_LINE - 1)
    # Above the watch line: a tail that thins out, as incomes do.
    tail = rng.expovariate(1 / p.ABOVE_WATCH_TAIL_MEAN[profile.household_type])
    return p.WATCH_LINE + min(int(tail), TOP_INCOME_PER_HEAD - p.WATCH_LINE)


def _allowances(rng: random.Random, profile: Profile, ages: Sequence[int]) -> dict[str, int]:
    size = len(ages)
    return {
        "transfer_dibao": sum(rng.randint(*DIBAO_PER_PERSON) for _ in range(size)) if profile.is_dibao else 0,
        "transfer_tekun": TEKUN_PER_PERSON * size if profile.tekun_support != "none" else 0,
        "transfer_pension": PENSION_PER_ELDER * sum(age >= ELDERLY_AGE for age in ages),
        "transfer_eco_compensation": rng.randint(*ECO_COMPENSATION) if rng.random() < 0.5 else 0,
        "transfer_agri_subsidy": rng.randint(*AGRI_SUBSIDY),
        "transfer_disability": 0,
        "transfer_other": 0,
    }


def _fit(transfers: dict[str, int], net: int) -> dict[str, int]:
    """The allowances, scaled down when they alone would pass the drawn income (so that the band holds)."""
    total = sum(transfers.values())
    if total <= net:
        return transfers
    fitted = {name: math.floor(value * net / total) for name, value in transfers.items()}
    fitted["transfer_other"] += net - sum(fitted.values())
    return fitted


def _earned(rng: random.Random, earned: int) -> dict[str, int]:
    """Wage, business and property income in the seeds' proportions, each household a little off them."""
    weights = {name: share * rng.uniform(0.5, 1.5) for name, share in p.EARNED_SHARES.items()}
    total = sum(weights.values())
    wage = math.floor(earned * weights["wage"] / total)
    property_ = math.floor(earned * weights["property"] / total)
    business = earned - wage - property_
    cost = round(business * p.BUSINESS_COST_RATIO)
    return {"income_wage": wage, "income_business_gross": business + cost, "cost_business": cost,
            "income_property": property_}
