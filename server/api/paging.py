"""Opaque keyset cursors: the client passes them back and never reads them."""

from __future__ import annotations

import base64
import json
from typing import Any

from sync.errors import InvalidInput


class BadCursor(InvalidInput):
    code = "bad_cursor"
    message = "The cursor is not one this server gave out; start again without it."


def encode(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(cursor: str | None) -> Any:
    """Raises:
    BadCursor: the cursor was not made by `encode`.
    """
    if cursor is None:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as error:
        raise BadCursor() from error
