"""Migrations: an empty database goes to head, matches the models, and comes back down cleanly."""

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import inspect

from server.app import create_app
from server.extensions import db

OUR_TABLES = {
    "alembic_version", "area", "app_user", "user_area", "device_token", "audit_log", "household", "person", "form_version",
    "submission", "submission_conflict", "attachment",
    "assignment", "submission_review", "sync_change", "entity_version", "entity_conflict", "village", "flag",
    "monitoring_case", "monitoring_event", "conflict_resolution", "assistance_measure", "web_session", "sync_feed",
    "yearly_parameter", "export_job",
}


def _tables(engine):
    return set(inspect(engine).get_table_names()) - {"spatial_ref_sys"}


def test_empty_database_to_head_matches_the_models_and_back(empty_database):
    # As the owner, as `flask db upgrade` runs in production; the app's role could not create or drop a table.
    app = create_app({**empty_database.overrides(), "TESTING": True, "SECRET_KEY": "x"})
    with app.app_context():
        flask_migrate.upgrade()
        assert _tables(db.engine) == OUR_TABLES
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_object": alembic_helpers.include_object}
            )
            assert compare_metadata(context, db.metadata) == []
        flask_migrate.downgrade(revision="base")
        assert _tables(db.engine) == {"alembic_version"}
        flask_migrate.upgrade()
        assert _tables(db.engine) == OUR_TABLES
        db.engine.dispose()
