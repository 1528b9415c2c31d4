"""Deals each demo household its profile: type, 低保/特困 support, monitoring category and case state, income band.

The whole demo is dealt at once, as exact counts in the seeds' proportions (proportions.py) shuffled over the
households, so that even the small demo has them within rounding. The county of the demo supervisor gets a case in
every state and of every category, moved there from elsewhere without changing any count, so that the account that
shows the supervisor's lists has something in each.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from server.demo import proportions as p
from server.models import MonitoringState

S = MonitoringState
BELOW_LINE, BETWEEN, ABOVE = "below_line", "between", "above"  # income per head: < 6000, 6000–9999, ≥ 10 000
# The states of an identified case (the household is a monitoring object, of a category) and of the others.
MONITORED = (S.identified, S.assisted, S.elimination_noticed, S.long_term_follow_up, S.risk_eliminated)
PENDING = (S.candidate, S.village_reviewed, S.township_checked, S.dismissed)
# An open case whose risk still holds is one the risk rules would open: its income is below the line.
_BELOW_LINE_STATES = frozenset({S.candidate, S.village_reviewed, S.township_checked, S.identified})
# Assistance brought the income up, or social security keeps it there: between the lines.
_BETWEEN_STATES = frozenset({S.elimination_noticed, S.long_term_follow_up})


@dataclass(frozen=True)
class Profile:
    household_type: str  # tuopin 脱贫户 / non_tuopin 一般农户
    band: str = ABOVE
    is_dibao: bool = False
    tekun_support: str = "none"
    category: str | None = None  # once identified: unstable_tuopin, marginal, sudden_hardship
    state: MonitoringState | None = None  # of the household's case; None: it has none

    @property
    def no_labour(self) -> bool:
        """特困 support and long-term follow-up are for households where nobody can work ([002])."""
        return self.tekun_support != "none" or self.state is S.long_term_follow_up

    @property
    def needs_labour(self) -> bool:
        """A household whose risk is (being) eliminated has someone able to work: without, it would stay under
        long-term follow-up instead ([002], server/services/elimination.py)."""
        return self.state in (S.elimination_noticed, S.risk_eliminated)


def assign(seed: int, village_codes: Sequence[str], per_village: int, showcase_county: str) -> list[Profile]:
    """The profiles of every household, in the order they are generated: per_village for each village in turn."""
    rng = random.Random(f"{seed}:profiles")  # noqa: S311 - reproducible demo data, not secrecy
    deal = _Deal(rng, len(village_codes) * per_village)
    deal.cases()
    deal.bands()
    deal.support()
    profiles = deal.profiles()
    showcase = [n for n, code in enumerate(village_codes) if code.startswith(showcase_county)]
    if showcase:
        _show_every_kind(rng, profiles, range(showcase[0] * per_village, (showcase[-1] + 1) * per_village))
    return profiles


class _Deal:
    """The dealing, one attribute at a time, over household positions shuffled once."""

    def __init__(self, rng: random.Random, total: int):
        self.rng, self.total = rng, total
        order = list(range(total))
        rng.shuffle(order)
        tuopin = p.rounded(total * p.TUOPIN_SHARE)
        self.by_type = {"tuopin": order[:tuopin], "non_tuopin": order[tuopin:]}
        self.type = dict.fromkeys(order[:tuopin], "tuopin")
        self.category: dict[int, str] = {}
        self.state: dict[int, MonitoringState] = {}
        self.band: dict[int, str] = {}
        self.dibao: set[int] = set()
        self.tekun: dict[int, str] = {}

    def cases(self) -> None:
        tuopin, others = self.by_type["tuopin"], self.by_type["non_tuopin"]
        unstable = tuopin[:p.rounded(len(tuopin) * p.UNSTABLE_SHARE_OF_TUOPIN)]
        categories = dict.fromkeys(unstable, "unstable_tuopin")
        counts = p.apportion(p.rounded(len(others) * p.MONITORED_SHARE_OF_NON_TUOPIN), p.NON_TUOPIN_CATEGORIES, 1)
        start = 0
        for category, count in counts.items():
            categories |= dict.fromkeys(others[start:start + count], category)
            start += count
        self.category = categories
        monitored = sorted(categories)
        self.rng.shuffle(monitored)
        self._deal_states(monitored, p.apportion(len(monitored), p.MONITORED_STATES, 1))
        free = [n for n in range(self.total) if n not in categories]
        self.rng.shuffle(free)
        self._deal_states(free, {state: p.rounded(self.total * share) for state, share in p.PENDING_STATES.items()})

    def _deal_states(self, positions: list[int], counts: dict[str, int]) -> None:
        start = 0
        for state, count in counts.items():
            self.state |= dict.fromkeys(positions[start:start + count], S(state))
            start += count

    def bands(self) -> None:
        """Bands the cases fix first; then, per type, the seeds' share below the watch line among the rest."""
        assisted = [n for n, state in sorted(self.state.items()) if state is S.assisted]
        below = p.rounded(len(assisted) * p.ASSISTED_BELOW_LINE)
        self.band = dict.fromkeys(assisted[:below], BELOW_LINE) | dict.fromkeys(assisted[below:], BETWEEN)
        for n, state in self.state.items():
            if state in _BELOW_LINE_STATES:
                self.band[n] = BELOW_LINE
            elif state in _BETWEEN_STATES:
                self.band[n] = BETWEEN
        no_case = [n for n in range(self.total) if n not in self.state]
        self.rng.shuffle(no_case)
        # 特困 support (about 1.3 × the 低保 standard [GK]) puts a household between the lines.
        counts = p.apportion(p.rounded(self.total * p.TEKUN_SHARE), p.TEKUN_SUPPORT, 1)
        start = 0
        for support, count in counts.items():
            self.tekun |= dict.fromkeys(no_case[start:start + count], support)
            start += count
        self.band |= dict.fromkeys(self.tekun, BETWEEN)
        shares = {"tuopin": p.BELOW_WATCH_SHARE_OF_TUOPIN, "non_tuopin": p.BELOW_WATCH_SHARE_OF_NON_TUOPIN}
        for kind, positions in self.by_type.items():
            fixed_below = sum(self.band.get(n, ABOVE) != ABOVE for n in positions)
            free = [n for n in positions if n not in self.band]
            between = max(p.rounded(len(positions) * shares[kind]) - fixed_below, 0)
            self.band |= dict.fromkeys(free[:between], BETWEEN) | dict.fromkeys(free[between:], ABOVE)

    def support(self) -> None:
        """低保 per type, among the households below the watch line: long-term follow-up ones first, since social
        security is what keeps them ([002])."""
        shares = {"tuopin": p.DIBAO_SHARE_OF_TUOPIN, "non_tuopin": p.DIBAO_SHARE_OF_NON_TUOPIN}
        for kind, positions in self.by_type.items():
            follow_up = [n for n in positions if self.state.get(n) is S.long_term_follow_up]
            low = [n for n in positions if self.band[n] != ABOVE and n not in self.tekun and n not in follow_up]
            count = max(p.rounded(len(positions) * shares[kind]), len(follow_up))
            self.dibao |= set((follow_up + low)[:count])

    def profiles(self) -> list[Profile]:
        # One object per distinct profile: half a million households share a few dozen of them.
        made: dict[tuple, Profile] = {}
        profiles = []
        for n in range(self.total):
            key = (self.type.get(n, "non_tuopin"), self.band[n], n in self.dibao, self.tekun.get(n, "none"),
                   self.category.get(n), self.state.get(n))
            profiles.append(made.setdefault(key, Profile(*key)))
        return profiles


def _show_every_kind(rng: random.Random, profiles: list[Profile], showcase: range) -> None:
    """Swaps households into `showcase` until it holds a case in every state and of every category."""
    kinds = [("state", state) for state in (*MONITORED, *PENDING)]
    kinds += [("category", category) for category in ("unstable_tuopin", *p.NON_TUOPIN_CATEGORIES)]
    for name, value in kinds:
        if any(getattr(profiles[n], name) == value for n in showcase):
            continue
        outside = [n for n in range(len(profiles)) if n not in showcase and getattr(profiles[n], name) == value]
        room = [n for n in showcase if profiles[n].state is None]
        if outside and room:
            a, b = rng.choice(outside), rng.choice(room)
            profiles[a], profiles[b] = profiles[b], profiles[a]
