"""Resident identity numbers (GB 11643-1999): 6-digit region, birth date, 3-digit sequence (odd for men), check character."""

from __future__ import annotations

import random

from tools.formfill.samples import DALI_COUNTIES

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
SAMPLES = ("11010519491231002X", "110105194912310021")  # valid numbers: a `pattern` that takes both is for ID numbers


def id_check_digit(first17: str) -> str:
    """The check character of the first 17 digits of a resident identity number."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def id_card_no(rng: random.Random, birth: str, sex: str, region: str | None = None) -> str:
    """An 18-character identity number consistent with a birth date (YYYY-MM-DD) and sex; a Dali county by default."""
    region = region if region and len(region) == 6 and region.isdigit() else rng.choice(DALI_COUNTIES)
    sequence = rng.randint(0, 99) * 10 + rng.choice((1, 3, 5, 7, 9) if sex == "male" else (0, 2, 4, 6, 8))
    first17 = f"{region}{birth[:4]}{birth[5:7]}{birth[8:10]}{sequence:03d}"
    return first17 + id_check_digit(first17)
