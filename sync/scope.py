"""The area-scope rule for one code in hand: visible when it starts with one of the scope's codes."""

from collections.abc import Iterable


def covers(scope: Iterable[str], area_code: str) -> bool:
    return any(area_code.startswith(code) for code in scope)
