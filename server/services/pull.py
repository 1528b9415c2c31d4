"""Pull for a signed-in caller: the position their cursor holds in, the next page of their changes out; feed epochs.

A cursor holds [epoch, txid, seq]: the feed's epoch (server.models.changes.SyncFeed) when it was given out, and the
position (sync.pull.Position) of the last change the device has. Positions follow the cluster's transaction ids, so
they hold only within one epoch: a restore into another cluster, a point-in-time recovery or a failover that lost
commits renumbers the feed and starts a new epoch (new_epoch). A cursor of another epoch, or one from before epochs
([txid, seq]), then starts its device over from the beginning. That is safe: each change carries its object's latest
state and devices apply them by version (protocol.md, guarantee 3); it costs one full pull of the device's scope.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.errors import BadCursor
from core.pii import Protector
from server.models import SyncChange
from server.models.changes import SyncFeed
from server.services.auth import Principal
from sync import pull as feed

_EPOCH = re.compile(r"[0-9a-f]{32}")  # uuid.UUID.hex
_TXID_MAX = 2**64 - 1  # xid8
_SEQ_MAX = 2**63 - 1  # bigint


def changes(session: Session, principal: Principal, position: list[Any] | None, limit: int,
            protector: Protector) -> tuple[feed.Page, list[Any]]:
    """The next page of changes in the caller's scope, and what to put in the next cursor: [epoch, txid, seq].

    Raises:
        BadCursor: the cursor decoded to something this server never puts in one.
    """
    # The epoch is read before the feed, each in its own snapshot. A new epoch that commits in between pairs the old
    # epoch with a position in the new numbering, and that cursor only starts its device over; read the other way
    # round, the new epoch could go out with a position of the old numbering, and the device would skip changes.
    epoch = current_epoch(session)
    after = _after(position, epoch)
    reader = feed.Reader(principal.user_id, principal.role.value, principal.scope)
    page = feed.pull(session, reader, after, limit, protector)
    return page, [epoch, *page.position]


def current_epoch(session: Session | Connection) -> str:
    """The feed's epoch as cursors carry it."""
    return session.execute(select(SyncFeed.epoch)).scalar_one().hex


def _after(position: list[Any] | None, epoch: str) -> feed.Position:
    """Where the pull starts: the cursor's position in this epoch, else the beginning.

    Raises:
        BadCursor: not of a shape this server gives out, in any epoch.
    """
    if position is None:
        return feed.START
    if len(position) == 3 and type(position[0]) is str and _EPOCH.fullmatch(position[0]) and _place(*position[1:]):
        return (position[1], position[2]) if position[0] == epoch else feed.START
    if len(position) == 2 and _place(*position):
        return feed.START  # given out before epochs existed (migration 20261204_14): its numbering may be another's
    raise BadCursor("The cursor is not one this server gave out; pull again without it to start from the beginning.")


def _place(txid: Any, seq: Any) -> bool:
    return type(txid) is int and type(seq) is int and 0 <= txid <= _TXID_MAX and 0 <= seq <= _SEQ_MAX


@dataclass(frozen=True)
class NewEpoch:
    epoch: str  # as cursors carry it
    txid: int  # the transaction every feed row now carries
    changes: int  # feed rows renumbered


def renumber(connection: Session | Connection) -> tuple[int, int]:
    """Gives every feed row the calling transaction's id, keeping seq (which orders them); its id and the rows.

    Restored rows keep the txids of the cluster that wrote them, which may be far above this cluster's: such rows would
    stay hidden from every pull (only rows below pg_snapshot_xmin are given) until this cluster's ids passed them, and
    changes written meanwhile would sort before them. After this, every row is visible once this transaction commits
    and every older one has ended, as for any write (guarantee 1), and every later change sorts after them.

    The table is locked against writes first: a push's feed trigger waits for the commit (or its lock_timeout) rather
    than deadlock with the renumbering, and nothing is written in the old numbering after it.
    """
    connection.execute(text("SET LOCAL statement_timeout = 0"))  # one UPDATE of the whole feed
    connection.execute(text("LOCK TABLE sync_change IN EXCLUSIVE MODE"))
    txid = int(connection.execute(text("SELECT pg_current_xact_id()::text")).scalar_one())
    rows = connection.execute(update(SyncChange.__table__).values(txid=func.pg_current_xact_id())).rowcount
    return txid, rows


def start_epoch(connection: Session | Connection, reason: str) -> str:
    """Starts a new feed epoch in the calling transaction; every cursor given out before it starts its device over."""
    epoch = uuid.uuid4()
    table = SyncFeed.__table__
    connection.execute(insert(table).values(id=True, epoch=epoch, started_at=func.now(), reason=reason)
                       .on_conflict_do_update(index_elements=[table.c.id], set_={
                           "epoch": epoch, "started_at": func.now(), "reason": reason}))
    return epoch.hex


def new_epoch(connection: Session | Connection, reason: str) -> NewEpoch:
    """Renumbers the feed into the calling transaction and starts a new epoch, both committed by the caller together.

    For a database whose transaction ids no longer follow its feed: restored into another cluster (`flask restore`),
    recovered to a point in time, or failed over with commits lost (`flask feed new-epoch`, docs/operations.md).
    """
    txid, rows = renumber(connection)
    return NewEpoch(start_epoch(connection, reason), txid, rows)
