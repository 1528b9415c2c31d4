"""The shares the demo's households, cases and villages follow, each with the seed figure it comes from (domain.md 5).

Lincang's plan [002] is the only seed with household figures, so its shares stand in for a Dali county's. A share the
seeds do not give is marked [proposal]: chosen to look plausible, not a fact. The demo deals these out as exact
counts (`apportion`), not as independent draws, so a small demo holds its proportions within rounding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

# --- Households ---------------------------------------------------------------------------------------------------

# [002] Lincang, end 2020: 94,195 脱贫户 among 51万 rural households.
TUOPIN_SHARE = 94_195 / 510_000  # 18.47%

# [002] Lincang, 2020: 3.45万 people in the three monitored categories; 脱贫人口 + 监测对象 = 99,749 households /
# 384,835 people against 94,195 / 368,914 脱贫 alone. So 5,554 households (15,921 people) are monitored without being
# 脱贫户, and the other 34,500 − 15,921 = 18,579 monitored people are 脱贫户: at 368,914 / 94,195 = 3.92 people per
# 脱贫户, about 4,744 unstable households.
UNSTABLE_SHARE_OF_TUOPIN = (34_500 - (384_835 - 368_914)) / (368_914 / 94_195) / 94_195  # 5.04% of 脱贫户
MONITORED_SHARE_OF_NON_TUOPIN = (99_749 - 94_195) / (510_000 - 94_195)  # 1.34% of the other households
# [proposal] The seeds do not split the 5,554 between marginal (边缘易致贫户) and sudden hardship (突发严重困难户).
NON_TUOPIN_CATEGORIES = {"marginal": 0.65, "sudden_hardship": 0.35}

# [002] Lincang: 6.72万 脱贫人口 on 低保 in 2020, of 368,914: 18.2%, taken per household.
DIBAO_SHARE_OF_TUOPIN = 67_200 / 368_914
# [proposal] The seeds give no 低保 figure for households that were never registered poor.
DIBAO_SHARE_OF_NON_TUOPIN = 0.04
# [proposal] The seeds give no 特困 count; most 特困 people are supported at home (分散供养).
TEKUN_SHARE = 0.01
TEKUN_SUPPORT = {"dispersed": 0.9, "centralised": 0.1}

# [002] Lincang poverty exits by year (people): the year a 脱贫户 left poverty is drawn with these weights.
EXIT_YEARS = {2014: 62_544, 2015: 58_894, 2016: 68_166, 2017: 98_187, 2018: 79_774, 2019: 14_192}

# --- Income per head (domain.md 3.4) --------------------------------------------------------------------------------

MONITORING_LINE = 6_000  # [002] 2020, the household form's default
WATCH_LINE = 10_000  # [002]
# [002] Lincang, end 2020: 50,317 of 94,195 脱贫户 (53.42%) had a net income per head below 10 000 yuan.
BELOW_WATCH_SHARE_OF_TUOPIN = 50_317 / 94_195
# [proposal] Other households are better off: Lincang's rural disposable income per head was 12,824 in 2020 [002]
# against 10,610 for 脱贫户; with the tail below, their mean comes out near 13,600.
BELOW_WATCH_SHARE_OF_NON_TUOPIN = 0.30
# Income per head above the watch line: 10 000 plus an exponential tail with this mean. [002] puts the mean income per
# head of 脱贫户 at 10,610 (2020): 53.42% in 6000–9999 (mean ~8000) and a tail of mean 3800 give 10,700.
ABOVE_WATCH_TAIL_MEAN = {"tuopin": 3_800, "non_tuopin": 6_000}  # tuopin [002]; non_tuopin [proposal]
BELOW_LINE_FLOOR = 3_000  # [proposal] lowest income per head drawn below the monitoring line
# [002] Income structure of Lincang's 脱贫人口 in 2020: wage 47.48%, business 41.43%, transfer 10.34%, so property 0.75%.
# Transfers follow the household's own allowances (incomes.py); the rest is split in these proportions.
EARNED_SHARES = {"wage": 47.48, "business": 41.43, "property": 0.75}
BUSINESS_COST_RATIO = 0.4  # [proposal] production costs per yuan of net business income (costs ≈ 29% of gross)

# --- Monitoring cases (domain.md 3.13) ------------------------------------------------------------------------------

# [proposal] Where the monitored households' cases stand: the seeds give no breakdown, only that the target is to
# eliminate the risk of every case ("风险消除" dynamic zero, [003] indicator 2).
MONITORED_STATES = {"risk_eliminated": 0.55, "assisted": 0.25, "long_term_follow_up": 0.08, "identified": 0.06,
                    "elimination_noticed": 0.06}
# [proposal] Cases not (yet) identified, as a share of all households: being checked, or dismissed as no risk.
PENDING_STATES = {"candidate": 0.006, "village_reviewed": 0.003, "township_checked": 0.003, "dismissed": 0.008}
ASSISTED_BELOW_LINE = 0.5  # [proposal] assisted households whose income is still below the monitoring line

# --- Natural villages (domain.md 4.1, 4.3) --------------------------------------------------------------------------

# [proposal] The seeds count Lincang's gaps but not its natural villages: at 50 households each [proposal], its 51万
# rural households [002] make 10,200. The "村" of the other gaps are read as the 903 administrative villages where
# 脱贫人口 live [002]; domain.md 8 notes the plan does not say which level it means.
LINCANG_NATURAL_VILLAGES = 510_000 // 50
LINCANG_VILLAGES = 903
NO_HARDENED_ROAD = 1_786 / LINCANG_NATURAL_VILLAGES  # [002] 1,786 natural villages without a hardened road: 17.5%
ROAD_WITHOUT_HARDENING = {"gravel": 0.6, "earth": 0.35, "none": 0.05}  # [proposal]
NO_BROADBAND = 305 / LINCANG_NATURAL_VILLAGES  # [002] 305 natural villages without broadband: 3.0%
# [002] 91% centralised water supply in 2020, applied per village. (Its "644 villages partly centralised" would be 71%
# of 903; the rate has a denominator of its own, so it is used.)
NOT_CENTRALISED_WATER = 1 - 0.91
WATER_WITHOUT_CENTRALISED = {"partly_centralised": 0.8, "dispersed": 0.2}  # [proposal]
SEASONAL_SHORTAGE = 17 / LINCANG_VILLAGES  # [002] 17 villages short in the dry season: 1.9%
NO_ECOMMERCE_POINT = 185 / LINCANG_VILLAGES  # [002] 185 villages without an e-commerce delivery point: 20.5%
NO_FINANCIAL_POINT = 104 / LINCANG_VILLAGES  # [002] 104 villages without a financial service point: 11.5%
# [proposal] Every natural village of Yuxi has 380 V [003], as do Lincang's 562 poverty villages [002]; Dali's figure
# is not in the seeds, and 1% keeps the flag on the demo's map.
NO_POWER_380V = 0.01
# [proposal] Natural villages of 100 or more resident households, and the share of them still without a sanitary public
# toilet: Lincang wants one in every such village by 2025 [002] but gives no baseline.
LARGE_VILLAGES = 0.08
LARGE_WITHOUT_SANITARY_TOILET = 0.4

# --- Administrative villages (domain.md 4.2) ------------------------------------------------------------------------

# [002] 141 of Lincang's 562 poverty villages had under 50 000 yuan of collective operating income in 2020: 25.1%.
WEAK_COLLECTIVE_ECONOMY = 141 / 562
COLLECTIVE_BELOW_TARGET = 0.35  # [proposal] 50 000–99 999 yuan, under Yuxi's 2025 target of 100 000 [003]


def rounded(value: float) -> int:
    """Rounds half up (round() rounds half to even, which would make 4.5 and 5.5 differ in direction)."""
    return math.floor(value + 0.5)


def apportion(total: int, shares: Mapping[str, float], floor: int = 0) -> dict[str, int]:
    """Splits `total` in these shares by largest remainders (ties go in the mapping's order); when the total allows,
    each gets `floor` at least, taken from the others, so a small demo still shows every kind."""
    keys = list(shares)
    lifted: list[str] = []
    while floor and total >= floor * len(keys):
        rest = [key for key in keys if key not in lifted]
        left, weight = total - floor * len(lifted), sum(shares[key] for key in rest)
        short = [key for key in rest if weight <= 0 or left * shares[key] / weight < floor]
        if not short:
            break
        lifted += short
    rest = [key for key in keys if key not in lifted]
    left, weight = total - floor * len(lifted), sum(shares[key] for key in rest)
    exact = {key: left * shares[key] / weight if weight > 0 else 0.0 for key in rest}
    counts = dict.fromkeys(lifted, floor) | {key: math.floor(value) for key, value in exact.items()}
    for key in sorted(rest, key=lambda key: (counts[key] - exact[key], keys.index(key)))[:total - sum(counts.values())]:
        counts[key] += 1
    return {key: counts[key] for key in keys}
