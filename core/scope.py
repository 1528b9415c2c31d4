"""Area scope: a record is visible when its area code starts with one of the caller's area codes.

Every query that reads or changes a named object adds `in_scope` to the statement that reads it, so an object of
another area is absent to the caller, decided by the database and never by Python after a fetch (issue 11).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_
from sqlalchemy.orm import Session

from core.errors import NotFound

COUNTY_DIGITS = 6  # a county's code: the first six digits of every code under it


def covers(scope: Iterable[str], area_code: str) -> bool:
    """The rule for a code the caller sent (a claimed area), before anything is read."""
    return any(area_code.startswith(code) for code in scope)


def in_scope(area_code_column: Any, scope: Iterable[str]) -> ColumnElement[bool]:
    """The same rule as one SQL clause, which every data query applies; an empty scope sees nothing."""
    prefixes = sorted(set(scope))
    if not prefixes:
        return false()
    # LIKE 'prefix%' can use the text_pattern_ops indexes on area codes; codes are digits only,
    # but autoescape keeps a stray '%' or '_' from widening the match.
    return or_(*(area_code_column.startswith(code, autoescape=True) for code in prefixes))


def in_scope_by_county(county_code_column: Any, area_code_column: Any, scope: Iterable[str]) -> list[ColumnElement[bool]]:
    """in_scope's rule split into clauses that select disjoint rows and together the same rows as in_scope, for a
    query that reads each with an index led by the county code (`county_code_column`, which must be left(area code,
    6)) and merges what they read: the pull feed, which so walks only the reader's counties, each in feed order.

    Codes of a county or below give one clause per county, `county_code = the county` and the prefix match of its
    codes. Codes above county level (a province, a prefecture) share one clause, the prefix match alone. A code under
    another code of the scope is dropped: in_scope's OR reads such a row once, separate clauses would read it twice.
    An empty scope gives no clause.
    """
    kept: list[str] = []
    for code in sorted(set(scope)):  # a code sorts before the codes under it
        if not any(code.startswith(outer) for outer in kept):
            kept.append(code)
    above = [code for code in kept if len(code) < COUNTY_DIGITS]
    counties: dict[str, list[str]] = {}
    for code in kept:
        if len(code) >= COUNTY_DIGITS:
            counties.setdefault(code[:COUNTY_DIGITS], []).append(code)
    clauses = [in_scope(area_code_column, above)] if above else []
    clauses += [and_(county_code_column == county, in_scope(area_code_column, codes)) for county, codes in counties.items()]
    return clauses


def one_in_scope(session: Session, query: Select[Any], area_code_column: Any, scope: Iterable[str], missing: str) -> Any:
    """The one row the query names, read with the scope clause; an object of another area is simply not found.

    Returns the object itself when the query selects one thing, else the row.

    Raises:
        NotFound: no such object in the caller's areas (`missing` says what was looked for; the same answer for both).
    """
    row = session.execute(query.where(in_scope(area_code_column, scope))).one_or_none()
    if row is None:
        raise NotFound(missing)
    return row[0] if len(row) == 1 else row
