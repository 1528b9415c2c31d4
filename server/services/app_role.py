"""The app's database role: which one DATABASE_URL names, and what the owner grants it (after migrations and restores)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, make_url, text

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


class MissingAppRole(LookupError):
    """DATABASE_URL names a role the server does not have."""

    def __init__(self, role: str):
        super().__init__(role)
        self.role = role


def app_role(connection: Connection, app_url: str, owner_url: str) -> tuple[str | None, str | None]:
    """The role DATABASE_URL connects as, to grant to; or None and why the connection's own role is the app's.

    Raises:
        MissingAppRole: DATABASE_URL names a role the server does not have.
    """
    role = make_url(app_url).username
    if not owner_url:
        return None, "DATABASE_OWNER_URL is not set"
    if role is None or role == connection.scalar(text("SELECT current_user")):
        return None, "DATABASE_URL names the owner's role, or none"
    if connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}) is None:
        raise MissingAppRole(role)
    return role, None


def _privileges(name: str, kind: str, of_table: str | None) -> str:
    if kind == "S":
        return "USAGE" if of_table in APPEND_ONLY else "USAGE, SELECT"
    if name in APPEND_ONLY:
        return "SELECT, INSERT"
    return "SELECT" if name in READ_ONLY else "SELECT, INSERT, UPDATE, DELETE"


def grant(connection: Connection, role: str) -> list[str]:
    """Sets the app role's privileges on every table and sequence, new ones included; returns warnings to show."""
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
    return _still_powerful(connection, role)


def _still_powerful(connection: Connection, role: str) -> list[str]:
    superuser, owned = connection.execute(text(
        "SELECT r.rolsuper, (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid AND c.relkind IN ('r', 'p') "
        "AND c.relnamespace = current_schema()::regnamespace) FROM pg_roles r WHERE r.rolname = :role"
    ), {"role": role}).one()
    warnings = []
    if superuser:
        warnings.append(f"Warning: the app's role {role!r} is a superuser, so it can still rewrite the audit log: "
                        "make it an ordinary role (ALTER ROLE ... NOSUPERUSER).")
    if owned:
        warnings.append(f"Warning: the app's role {role!r} owns {owned} tables here, so it can alter them and drop their "
                        "triggers: give them to the owner (ALTER TABLE ... OWNER TO ...).")
    return warnings
