"""The unit of work of a request or command: one commit at the edge, after the domain function returns."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from server.extensions import db


@contextmanager
def unit_of_work(keep_on: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Commits when the block succeeds; rolls back when it raises.

    `keep_on` lists errors whose recorded effects still belong in the database, such as the
    audit row of a refused sign-in; those are committed, then the error goes on to its handler.
    """
    try:
        yield
    except keep_on:
        db.session.commit()
        raise
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
