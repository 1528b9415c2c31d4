"""Resident identity numbers (GB 11643-1999): check character, pattern and embedded birth date (domain.md 3.2, 6.2).

Every number here is made up: a Dali county code (532922 漾濞, 532931 剑川), a birth date, a sequence number, and the
check character the algorithm gives, worked out once and written down.
"""

from __future__ import annotations

from datetime import date

import pytest

from core.id_card import Problem, birth_date, check_character, problem, sex

# 5 3 2 9 2 2 1 9 7 5 0 3 0 2 0 1 3 times the weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 sum to 266;
# 266 mod 11 = 2, and "10X98765432"[2] is X.
MAN_1975 = "53292219750302013X"
WOMAN_1978 = "532922197808150023"
BOY_2014 = "532922201405010316"
WOMAN_1960 = "532931196011200048"
MAN_LEAP_DAY = "532922198802290118"
VISIT = date(2026, 11, 20)


def test_the_check_character_is_the_weighted_sum_mod_11():
    """GB 11643-1999: weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, characters 10X98765432 by remainder."""
    assert check_character(MAN_1975[:17]) == "X"
    assert [check_character(n[:17]) for n in (WOMAN_1978, BOY_2014, WOMAN_1960, MAN_LEAP_DAY)] == ["3", "6", "8", "8"]


@pytest.mark.parametrize("number", [MAN_1975, WOMAN_1978, BOY_2014, WOMAN_1960, MAN_LEAP_DAY, MAN_1975.lower()])
def test_a_well_formed_number_has_no_problem(number):
    """domain.md 3.2: an 18-character number; a lower-case x is the same check character as X."""
    assert problem(number, VISIT) is None


@pytest.mark.parametrize("number", [
    "532922197808150024",  # one off
    "532922197503020130",  # X written as 0
    "532922197808150032",  # two digits swapped: the weights catch it
    "53292219780815002X",
])
def test_a_wrong_check_character_is_found(number):
    """domain.md 6.2 id_card_invalid: the check digit is wrong."""
    assert problem(number, VISIT) == Problem.check_digit


@pytest.mark.parametrize("number", [
    WOMAN_1978[:17],  # 17 characters
    WOMAN_1978 + "1",  # 19
    "5329221978O8150023",  # a letter O for a zero
    "53292219780815002Y",
    "532922X97808150023",  # X only at the end
    " 532922197808150023",
    "５３２９２２197808150023",  # full-width digits are digits to \d, not to a card
    "",
])
def test_anything_but_17_digits_and_a_digit_or_x_is_a_pattern_problem(number):
    """domain.md 6.2 id_card_invalid: the 18-character pattern ^\\d{17}[\\dX]$ (domain.md 3.2)."""
    assert problem(number, VISIT) == Problem.pattern


def with_check(first17: str) -> str:
    """A number whose check character is right, so that only its date can be wrong."""
    return first17 + check_character(first17)


@pytest.mark.parametrize("first17", [
    "53292219870229011",  # 29 February of a common year
    "53292219781315002",  # month 13
    "53292219780800002",  # day 0
    "53292218991231011",  # before 1900: nobody that old holds a card
    "53292220270101011",  # after the visit
])
def test_an_impossible_birth_date_is_found_even_with_the_right_check_character(first17):
    """domain.md 6.2 id_card_invalid: the embedded birth date cannot be."""
    assert problem(with_check(first17), VISIT) == Problem.birth_date


def test_without_a_visit_date_only_the_calendar_decides():
    assert problem(with_check("53292220270101011")) is None


def test_birth_date_and_sex_are_read_from_the_number():
    """domain.md 3.3: birth date and sex derivable from id_card_no; the 17th digit is odd for men."""
    assert birth_date(MAN_LEAP_DAY) == date(1988, 2, 29) and birth_date(with_check("53292219870229011")) is None
    assert (sex(MAN_1975), sex(WOMAN_1978)) == ("male", "female")
