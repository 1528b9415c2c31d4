"""Pull for a signed-in caller: the position their cursor holds in, the next page of their changes out."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.errors import BadCursor
from core.pii import Protector
from server.services.auth import Principal
from sync import pull as feed


def changes(session: Session, principal: Principal, position: list[Any] | None, limit: int,
            protector: Protector) -> tuple[feed.Page, list[int]]:
    """The next page of changes in the caller's scope, and the position to put in the next cursor.

    Raises:
        BadCursor: the cursor decoded to something this server never puts in one.
    """
    if position is None:
        after = feed.START
    elif len(position) == 2 and all(type(part) is int and part >= 0 for part in position):
        after = (position[0], position[1])
    else:
        raise BadCursor("The cursor is not one this server gave out; pull again without it to start from the beginning.")
    reader = feed.Reader(principal.user_id, principal.role.value, principal.scope)
    page = feed.pull(session, reader, after, limit, protector)
    return page, list(page.position)
