"""Area scoping: a record is visible when its area code starts with one of the user's area codes."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.orm import InstrumentedAttribute

from sync.scope import covers  # the same rule for one code in hand

__all__ = ["covers", "in_scope"]


def in_scope(area_code_column: InstrumentedAttribute[str] | ColumnElement[str], scope: Iterable[str]) -> ColumnElement[bool]:
    """The one SQL clause every data query applies; an empty scope sees nothing."""
    prefixes = sorted(set(scope))
    if not prefixes:
        return false()
    # LIKE 'prefix%' can use the text_pattern_ops indexes on area codes; codes are digits only,
    # but autoescape keeps a stray '%' or '_' from widening the match.
    return or_(*(area_code_column.startswith(code, autoescape=True) for code in prefixes))

