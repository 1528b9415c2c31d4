"""Test harness: a throwaway PostGIS database migrated to head once, and a rollback per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from server.app import create_app
from server.extensions import db
from tools import live_server


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        pytest.exit("DATABASE_URL is not set: run the suite with `make test`, which starts PostGIS.", returncode=2)
    return url


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new, empty database on the configured server, dropped when the block ends."""
    with live_server.scratch_database(_server_url(), prefix) as url:
        yield url


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """The suite's database, migrated once by `app`, dropped at the end of the run."""
    with scratch_database("survey_test") as url:
        yield url


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A database of its own, for tests that need real commits or go down and up the migrations."""
    with scratch_database("survey_scratch") as url:
        yield url


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    attachments = str(tmp_path_factory.mktemp("attachments"))
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "test-secret", "ATTACHMENT_DIR": attachments})
    with app.app_context():
        flask_migrate.upgrade()
    return app


@pytest.fixture
def db_session(app: Flask) -> Iterator[Session]:
    """A session for the test's own set-up and checks, inside an outer transaction rolled back afterwards.

    Each request (and CLI command) still gets a fresh app context and its own `db.session`, as in
    production, but on the same connection: their commits become savepoints of the outer transaction.
    """
    with app.app_context():
        engines = db.engines
        db.session.configure(join_transaction_mode="create_savepoint")
    engine = engines[None]
    connection = engine.connect()
    outer = connection.begin()
    # Flask-SQLAlchemy picks the bind from its engine map; point it at our connection.
    engines[None] = connection
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()
        engines[None] = engine


@pytest.fixture
def client(app: Flask, db_session: Session) -> FlaskClient:
    return app.test_client()
