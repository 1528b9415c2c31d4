"""Counters one device keeps while it syncs, and their sum over devices with push latency percentiles."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

STATUSES = ("accepted", "duplicate", "invalid", "conflict")


@dataclass
class Stats:
    statuses: Counter[str] = field(default_factory=Counter)  # per-item results of the sync passes
    pushed: int = 0  # items in push requests that were answered
    push_requests: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, per answered push request
    files_stored: int = 0  # attachment PUTs answered 201
    files_again: int = 0  # answered 200: the server had the file already
    http_errors: Counter[str] = field(default_factory=Counter)  # answers not retried, by request and status
    surprises: list[str] = field(default_factory=list)  # an item meant valid came back invalid, or the reverse
    protocol_errors: list[str] = field(default_factory=list)  # answers protocol.md does not allow
    signed_in_again: Counter[str] = field(default_factory=Counter)  # by the 401's code: token_expired, token_revoked

    def add(self, other: Stats) -> None:
        self.statuses.update(other.statuses)
        self.pushed += other.pushed
        self.push_requests += other.push_requests
        self.latencies += other.latencies
        self.files_stored += other.files_stored
        self.files_again += other.files_again
        self.http_errors.update(other.http_errors)
        self.surprises += other.surprises
        self.protocol_errors += other.protocol_errors
        self.signed_in_again.update(other.signed_in_again)

    @classmethod
    def total(cls, parts: Iterable[Stats]) -> Stats:
        total = cls()
        for part in parts:
            total.add(part)
        return total


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (share 0.5 is the median); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]
