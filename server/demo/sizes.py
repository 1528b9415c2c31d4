"""How much demo data to generate: the named sizes `flask demo load --size` offers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoSize:
    name: str
    townships_per_county: int | None  # None: all of the county's townships
    villages_per_township: int
    natural_villages_per_village: int
    households_per_natural_village: int


SIZES: dict[str, DemoSize] = {
    # Every county, a few areas each: loads in seconds for `make run` and the tests.
    "small": DemoSize("small", 2, 2, 2, 5),
    # Ten times the households of "small", for trying lists, maps and exports.
    "medium": DemoSize("medium", 4, 5, 4, 5),
    # The whole prefecture (its 112 townships, ~0.5 million households) for benchmarks.
    "full": DemoSize("full", None, 10, 8, 60),
    # The same areas with twice the households per natural village (~1.08 million): issue 15's export benchmark.
    "full_million": DemoSize("full_million", None, 10, 8, 120),
}
