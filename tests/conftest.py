"""Test harness: a throwaway PostGIS database migrated to head once (as the owner), and a rollback per test."""

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
from tools.live_server import Database


def _server() -> Database:
    if not os.environ.get("DATABASE_URL"):
        pytest.exit("DATABASE_URL is not set: run the suite with `make test`, which starts PostGIS.", returncode=2)
    # With DATABASE_OWNER_URL the owner makes and migrates each database and the app runs as DATABASE_URL's role;
    # without it (someone's own server, one role) that role does everything.
    return live_server.server()


@contextmanager
def scratch_database(prefix: str) -> Iterator[Database]:
    """A new, empty database on the configured server, dropped when the block ends."""
    with live_server.scratch_database(_server(), prefix) as database:
        yield database


@pytest.fixture(scope="session")
def database() -> Iterator[Database]:
    """The suite's database, migrated once by `app`, dropped at the end of the run."""
    with scratch_database("survey_test") as database:
        yield database


@pytest.fixture(scope="session")
def database_url(database: Database) -> str:
    """The suite's database as the app connects to it (its role)."""
    return database.url


@pytest.fixture
def empty_database() -> Iterator[Database]:
    """A database of its own, for tests that need real commits or go down and up the migrations."""
    with scratch_database("survey_scratch") as database:
        yield database


@pytest.fixture(scope="session")
def app(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    attachments = str(tmp_path_factory.mktemp("attachments"))
    app = create_app({**database.overrides(), "TESTING": True, "SECRET_KEY": "test-secret", "ATTACHMENT_DIR": attachments})
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
