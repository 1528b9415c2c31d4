"""Alembic environment: migrations run as the database owner, then grant the app's role what it may do."""

import logging
from collections import defaultdict
from logging.config import fileConfig

import click
from alembic import context
from flask import current_app
from geoalchemy2 import alembic_helpers
from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.pool import NullPool

config = context.config
if config.config_file_name:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db

# The app may read and add these rows, never change or remove them (P3 of reliability.md); the triggers refuse
# even the owner, and the app's role, owning nothing, cannot drop them.
APPEND_ONLY = frozenset({"audit_log"})
# Only the migrations write the revision; the app has no reason to.
READ_ONLY = frozenset({"alembic_version"})

# Our tables, views and sequences in the schema we migrate: PostGIS's own (spatial_ref_sys and its views) belong
# to the extension and are left as it sets them. A sequence made for a column names its table (of_table).
RELATIONS = text("""
SELECT c.relname AS name, c.relkind AS kind, t.relname AS of_table
FROM pg_class c
LEFT JOIN pg_depend d ON c.relkind = 'S' AND d.classid = 'pg_class'::regclass AND d.objid = c.oid
    AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
LEFT JOIN pg_class t ON t.oid = d.refobjid
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v', 'S')
  AND NOT EXISTS (SELECT 1 FROM pg_depend e
                  WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
ORDER BY c.relname
""")

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
    role = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).username
    if not current_app.config["MIGRATIONS_DATABASE_URI"]:
        return None, "DATABASE_OWNER_URL is not set"
    if role is None or role == connection.scalar(text("SELECT current_user")):
        return None, "DATABASE_URL names the owner's role, or none"
    if connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}) is None:
        raise click.ClickException(f"DATABASE_URL's role {role!r} does not exist: create it (README, \"Two database "
                                   "roles\") and run `flask db upgrade` again")
    return role, None


def _privileges(name: str, kind: str, of_table: str | None) -> str:
    if kind == "S":
        return "USAGE" if of_table in APPEND_ONLY else "USAGE, SELECT"
    if name in APPEND_ONLY:
        return "SELECT, INSERT"
    return "SELECT" if name in READ_ONLY else "SELECT, INSERT, UPDATE, DELETE"


def _grant(connection: Connection, role: str) -> None:
    """Sets the app role's privileges on every table and sequence, new ones included; nothing else survives."""
    quote = connection.dialect.identifier_preparer.quote
    grants: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, kind, of_table in connection.execute(RELATIONS):
        grants["SEQUENCE" if kind == "S" else "TABLE", _privileges(name, kind, of_table)].append(quote(name))
    grantee = quote(role)
    connection.execute(text(f"GRANT USAGE ON SCHEMA {quote(connection.scalar(text('SELECT current_schema()')))} "
                            f"TO {grantee}"))
    for (object_type, privileges), names in grants.items():
        # Revoked first, so a privilege granted by hand (an UPDATE on audit_log, say) is gone after each upgrade.
        connection.execute(text(f"REVOKE ALL ON {object_type} {', '.join(names)} FROM {grantee}"))
        connection.execute(text(f"GRANT {privileges} ON {object_type} {', '.join(names)} TO {grantee}"))
    _warn_if_still_powerful(connection, role)


def _warn_if_still_powerful(connection: Connection, role: str) -> None:
    superuser, owned = connection.execute(text(
        "SELECT r.rolsuper, (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid AND c.relkind IN ('r', 'p') "
        "AND c.relnamespace = current_schema()::regnamespace) FROM pg_roles r WHERE r.rolname = :role"
    ), {"role": role}).one()
    if superuser:
        click.echo(f"Warning: the app's role {role!r} is a superuser, so it can still rewrite the audit log: "
                   "make it an ordinary role (ALTER ROLE ... NOSUPERUSER).", err=True)
    if owned:
        click.echo(f"Warning: the app's role {role!r} owns {owned} tables here, so it can alter them and drop their "
                   "triggers: give them to the owner (ALTER TABLE ... OWNER TO ...).", err=True)


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
