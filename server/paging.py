"""Opaque keyset cursors: the client passes them back and never reads them."""

from __future__ import annotations

import base64
import json
from typing import Any

from core.errors import BadCursor


def encode(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def next_page(last_position: Any) -> dict[str, Any]:
    """The paging part of a list answer: the cursor after the last item, when more follow."""
    has_more = last_position is not None
    return {"cursor": encode(last_position) if has_more else None, "has_more": has_more}


def decode(cursor: str | None, expected: type) -> Any:
    """The position a cursor holds, which must be of the type the list keys on.

    Raises:
        BadCursor: the cursor was not made by `encode` for this list.
    """
    if cursor is None:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as error:
        raise BadCursor() from error
    if type(position) is not expected:
        raise BadCursor()
    return position


# Rows of a list that is not paged: a supervisor's open conflicts or cases; more is work for another filter.
WORKLIST = 500
