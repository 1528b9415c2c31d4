"""Area scoping: a record is visible when its area code starts with one of the user's area codes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, false, or_


def covers(scope: Iterable[str], area_code: str) -> bool:
    """The rule for one code in hand."""
    return any(area_code.startswith(code) for code in scope)


def in_scope(area_code_column: Any, scope: Iterable[str]) -> ColumnElement[bool]:
    """The same rule as one SQL clause, which every data query applies; an empty scope sees nothing."""
    prefixes = sorted(set(scope))
    if not prefixes:
        return false()
    # LIKE 'prefix%' can use the text_pattern_ops indexes on area codes; codes are digits only,
    # but autoescape keeps a stray '%' or '_' from widening the match.
    return or_(*(area_code_column.startswith(code, autoescape=True) for code in prefixes))
