"""Resident identity numbers (GB 11643-1999): the check character, and what an 18-character number shows to be wrong."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum

# The weights of the first 17 digits and the check character of each remainder mod 11 (GB 11643-1999, ISO 7064 MOD 11-2).
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
# ASCII digits only: `\d` would take full-width and other Unicode digits, which no card carries.
_PATTERN = re.compile(r"[0-9]{17}[0-9Xx]")
# Nobody born before this holds an 18-digit card (issued from 1999) and is still alive to be surveyed.
EARLIEST_BIRTH_YEAR = 1900


class Problem(StrEnum):
    pattern = "pattern"  # not 17 digits and a digit or X
    birth_date = "birth_date"  # the embedded date does not exist, is too early, or is after the reference date
    check_digit = "check_digit"  # the 18th character is not the one the first 17 digits give


def check_character(first17: str) -> str:
    """The check character of the first 17 digits of a resident identity number."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def birth_date(number: str) -> date | None:
    """The birth date embedded in an 18-character number (characters 7-14, YYYYMMDD), None if no such day exists."""
    if _PATTERN.fullmatch(number) is None:
        return None
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def sex(number: str) -> str:
    """male or female: the 17th digit (the sequence number's last) is odd for men."""
    return "male" if int(number[16]) % 2 else "female"


def problem(number: str, on: date | None = None) -> Problem | None:
    """What is wrong with an identity number, None when nothing is; a lower-case x is accepted as the check character.

    on: the day the number was recorded, if known: a birth date after it is impossible.
    """
    if _PATTERN.fullmatch(number) is None:
        return Problem.pattern
    born = birth_date(number)
    if born is None or born.year < EARLIEST_BIRTH_YEAR or (on is not None and born > on):
        return Problem.birth_date
    if number[17].upper() != check_character(number[:17]):
        return Problem.check_digit
    return None
