"""The demo's area tree: real province, prefecture, counties and townships (NBS codes), then generated villages."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from shapely.geometry import MultiPolygon, Point, Polygon

from server.demo import names
from server.demo.dali import COUNTIES, OUTLINE, PREFECTURE, PROVINCE, YUNNAN_OUTLINE, County
from server.demo.geometry import ewkb, spread_points, subdivide
from server.demo.sizes import DemoSize
from server.models import AreaLevel

Name = tuple[str, str]  # (name_zh, name_en)


@dataclass(frozen=True)
class AreaRow:
    code: str
    level: AreaLevel
    parent_code: str | None
    name_zh: str
    name_en: str
    boundary: MultiPolygon

    @cached_property
    def centroid(self) -> Point:
        # point_on_surface, unlike the centroid, lies inside a concave or multi-part area.
        return self.boundary.point_on_surface()

    def values(self) -> dict[str, Any]:
        """The row as `insert(Area)` takes it."""
        return {
            "code": self.code, "level": self.level, "parent_code": self.parent_code,
            "name_zh": self.name_zh, "name_en": self.name_en,
            "boundary": ewkb(self.boundary), "centroid": ewkb(self.centroid),
        }


def area_rng(seed: int, code: str, purpose: str = "areas") -> random.Random:
    """A generator of its own for each area, so one area's data depends only on the seed and its code."""
    # Reproducibility is the point here, not secrecy; seeding with a str is stable across runs.
    return random.Random(f"{seed}:{purpose}:{code}")  # noqa: S311


def generate_areas(seed: int, size: DemoSize) -> list[AreaRow]:
    """Every demo area, parents before children, level by level and in code order within a level."""
    province = AreaRow(PROVINCE[0], AreaLevel.province, None, *PROVINCE[1:], _shape(YUNNAN_OUTLINE))
    prefecture = AreaRow(PREFECTURE[0], AreaLevel.prefecture, province.code, *PREFECTURE[1:], _shape(OUTLINE))
    counties = _children(prefecture, AreaLevel.county, [c.seat for c in COUNTIES],
                         [(c.name_zh, c.name_en) for c in COUNTIES], [c.code for c in COUNTIES])
    townships: list[AreaRow] = []
    real_villages: dict[str, tuple[Name, ...]] = {}
    for county, row in zip(COUNTIES, counties, strict=True):
        for township, villages in _townships(seed, size, county, row):
            townships.append(township)
            real_villages[township.code] = villages
    villages = [v for t in townships for v in _villages(seed, size, t, real_villages[t.code])]
    natural = [n for v in villages for n in _natural_villages(seed, size, v)]
    return [province, prefecture, *counties, *_by_code(townships), *_by_code(villages), *_by_code(natural)]


def _by_code(rows: list[AreaRow]) -> list[AreaRow]:
    return sorted(rows, key=lambda row: row.code)


def _shape(outline: tuple[tuple[float, float], ...]) -> MultiPolygon:
    return MultiPolygon([Polygon(outline)])


def _children(parent: AreaRow, level: AreaLevel, seeds: list[tuple[float, float]],
              names_: list[Name], codes: list[str]) -> list[AreaRow]:
    shapes = subdivide(parent.boundary, seeds)
    return [AreaRow(code, level, parent.code, zh, en, shape)
            for code, (zh, en), shape in zip(codes, names_, shapes, strict=True)]


def _townships(seed: int, size: DemoSize, county: County, row: AreaRow) -> list[tuple[AreaRow, tuple[Name, ...]]]:
    """The county's first townships of the real list (dali.py: those the seeds name first), with their real codes."""
    rng = area_rng(seed, row.code)
    real = county.townships[:size.townships_per_county or county.township_count]
    seeds = spread_points(row.boundary, len(real), rng)
    rows = _children(row, AreaLevel.township, seeds, [(t.name_zh, t.name_en) for t in real], [t.code for t in real])
    return list(zip(rows, [t.villages for t in real], strict=True))


def _villages(seed: int, size: DemoSize, township: AreaRow, real: tuple[Name, ...]) -> list[AreaRow]:
    """Administrative villages, numbered 201.. (村民委员会, domain.md 2.2); the seeds' villages first."""
    rng = area_rng(seed, township.code)
    count = size.villages_per_township
    if count > 199:
        raise ValueError("at most 199 administrative villages fit the 200-399 code range")
    real = real[:count]
    stems = names.unique_stems(rng, count - len(real), {zh[:-1] for zh, _ in real})
    village_names = list(real) + [names.admin_village_name(stem) for stem in stems]
    codes = [f"{township.code}{200 + n}" for n in range(1, count + 1)]
    return _children(township, AreaLevel.admin_village, spread_points(township.boundary, count, rng),
                     village_names, codes)


def _natural_villages(seed: int, size: DemoSize, village: AreaRow) -> list[AreaRow]:
    """Natural villages, numbered 001.. under their administrative village (domain.md 2.3)."""
    rng = area_rng(seed, village.code)
    count = size.natural_villages_per_village
    if count > 999:
        raise ValueError("at most 999 natural villages fit the 3-digit sequence")
    stems = names.unique_stems(rng, count, set())
    natural_names = [names.natural_village_name(stem, rng) for stem in stems]
    codes = [f"{village.code}{n:03d}" for n in range(1, count + 1)]
    return _children(village, AreaLevel.natural_village, spread_points(village.boundary, count, rng),
                     natural_names, codes)
