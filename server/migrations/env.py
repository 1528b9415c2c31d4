"""Alembic environment: migrations run as the database owner, then grant the app's role what it may do."""

import logging
from logging.config import fileConfig

import click
from alembic import context
from flask import current_app
from geoalchemy2 import alembic_helpers
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from server.services.app_role import MissingAppRole, app_role, grant

config = context.config
if config.config_file_name:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db

SINGLE_ROLE = (
    "Warning: the migrations ran as the app's own role ({why}), so the app can drop the audit_log triggers "
    "and rewrite the audit log. Make a login role for the app that owns nothing, then set DATABASE_URL to it "
    "and DATABASE_OWNER_URL to the owner's URL (README, \"Two database roles\"): `flask db upgrade` then grants "
    "the app's role what it needs, and no more."
)


def _skip_empty_autogenerate(context_, revision, directives):
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def _owner_engine():
    """The owner's engine when DATABASE_OWNER_URL is set (closed after the run), else the app's own."""
    url = current_app.config["MIGRATIONS_DATABASE_URI"]
    if not url:
        return db.engine
    options = {k: v for k, v in current_app.config["SQLALCHEMY_ENGINE_OPTIONS"].items() if not k.startswith("pool")}
    return create_engine(url, poolclass=NullPool, **options)


def _app_role(connection: Connection) -> tuple[str | None, str | None]:
    """The role DATABASE_URL connects as, to grant to; or None and why the app's role is the one migrating.

    Raises:
        click.ClickException: DATABASE_URL names a role the server does not have.
    """
    try:
        return app_role(connection, current_app.config["SQLALCHEMY_DATABASE_URI"],
                        current_app.config["MIGRATIONS_DATABASE_URI"])
    except MissingAppRole as error:
        raise click.ClickException(f"DATABASE_URL's role {error.role!r} does not exist: create it (README, \"Two database "
                                   "roles\") and run `flask db upgrade` again") from error


def _grant(connection: Connection, role: str) -> None:
    """Sets the app role's privileges on every table and sequence (server/services/app_role.py, shared with restore)."""
    for warning in grant(connection, role):
        click.echo(warning, err=True)


def run_migrations_online() -> None:
    options = dict(current_app.extensions["migrate"].configure_args)
    options.setdefault("process_revision_directives", _skip_empty_autogenerate)
    engine = _owner_engine()
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=db.metadata,
                # PostGIS's own tables are not ours to migrate; geometry columns render through GeoAlchemy2.
                include_object=alembic_helpers.include_object,
                process_revision_directives=options.pop("process_revision_directives"),
                render_item=alembic_helpers.render_item,
                **options,
            )
            with context.begin_transaction():
                app_role, single_role = _app_role(connection)
                context.run_migrations()
                # In the migrations' transaction, on every run: tables added later get their grants with them.
                if app_role is not None:
                    _grant(connection, app_role)
    finally:
        if engine is not db.engine:
            engine.dispose()
    if single_role:
        click.echo(SINGLE_ROLE.format(why=single_role), err=True)  # last, so the migrations' lines do not hide it


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported: run against a database.")
run_migrations_online()
