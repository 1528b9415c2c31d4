"""What a backup holds, read in its snapshot: per-table row counts and checksums, attachments, extensions, revision."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, func, select, text

from server.models import Attachment
from server.services.app_role import RELATIONS

Progress = Callable[[str], None]
FORMAT = 1
# The archive's members: the manifest first (it says what follows), the dump, then one file per attachment.
MANIFEST, DUMP, ATTACHMENTS = "manifest.json", "database.dump", "attachments/"

# The text of a row depends on these settings; both ends of a restore compute the checksums under the same ones. And
# no timeout of the role or the server may cut short a count of a large table, or the snapshot's wait for pg_dump
# (scripts/devdb.sh ends transactions idle for 5 minutes; pg_dump and pg_restore lift the same limits for themselves).
_SETTINGS = ("SET LOCAL TimeZone = 'UTC'", "SET LOCAL DateStyle = 'ISO, YMD'", "SET LOCAL IntervalStyle = 'postgres'",
             "SET LOCAL extra_float_digits = 1", "SET LOCAL bytea_output = 'hex'", "SET LOCAL statement_timeout = 0",
             "SET LOCAL idle_in_transaction_session_timeout = 0")
# Independent of row order and one pass with no sort: the sum, modulo 2^64, of the first 64 bits of each row's MD5.
# It catches a lost, added or changed row; the archive's encryption, not this sum, is what guards against tampering.
_CHECKSUM = "SELECT count(*), coalesce(sum(('x' || left(md5(t::text), 16))::bit(64)::bigint::numeric), 0) FROM {table} AS t"
EXTENSIONS = text("SELECT extname, extversion FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY extname")
# Tables an extension fills itself (PostGIS's spatial_ref_sys) where it is created: not ours to dump or restore.
EXTENSION_TABLES = text("SELECT c.relnamespace::regnamespace || '.' || c.relname FROM pg_extension e "
                        "CROSS JOIN unnest(e.extconfig) AS t(oid) JOIN pg_class c ON c.oid = t.oid ORDER BY 1")


def settle(connection: Connection) -> None:
    """Sets the transaction's settings for checksums and for waiting on pg_dump."""
    for setting in _SETTINGS:
        connection.execute(text(setting))


def table_checksums(connection: Connection, progress: Progress | None = None) -> dict[str, dict[str, Any]]:
    """Rows and a checksum of each of our tables (PostGIS's own left out), as this transaction sees them."""
    settle(connection)
    quote = connection.dialect.identifier_preparer.quote
    tables = [name for name, kind, _ in connection.execute(RELATIONS) if kind == "r"]
    sums = {}
    for number, name in enumerate(tables, 1):
        rows, total = connection.execute(text(_CHECKSUM.format(table=quote(name)))).one()
        sums[name] = {"rows": rows, "checksum": f"{int(total) % 2**64:016x}"}
        if progress and (number % 10 == 0 or number == len(tables)):
            progress(f"  校验和 {number}/{len(tables)} 表 · checksums of {number} of {len(tables)} tables")
    return sums


def revision(connection: Connection) -> str:
    """The Alembic revision the database is at ("" before any migration)."""
    return connection.scalar(text("SELECT coalesce(string_agg(version_num, ',' ORDER BY version_num), '') "
                                  "FROM alembic_version")) or ""


def read(connection: Connection, progress: Progress) -> dict[str, Any]:
    """The manifest of what the connection's transaction sees: the archive's table of contents and the restore's yardstick."""
    attachments = connection.execute(select(Attachment.sha256, func.max(Attachment.size))
                                     .group_by(Attachment.sha256).order_by(Attachment.sha256)).all()
    return {
        "format": FORMAT,
        # The transaction's start, just before its snapshot: the point in time the backup restores to.
        "created_at": connection.scalar(text("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")),
        "database": connection.scalar(text("SELECT current_database()")),
        "server_version": connection.scalar(text("SHOW server_version")),
        "alembic_revision": revision(connection),
        "extensions": dict(connection.execute(EXTENSIONS).all()),
        "tables": table_checksums(connection, progress),
        "attachments": [{"sha256": sha256, "size": size} for sha256, size in attachments],
    }


def differences(expected: dict[str, Any], tables: dict[str, dict[str, Any]], restored_revision: str) -> list[str]:
    """Each way the restored tables and revision differ from the manifest, named; empty when they match."""
    found = [f"table {name}: backup {expected['tables'].get(name)}, restored {tables.get(name)}"
             for name in sorted(set(tables) | set(expected["tables"])) if tables.get(name) != expected["tables"].get(name)]
    if restored_revision != expected["alembic_revision"]:
        found.append(f"alembic revision: backup {expected['alembic_revision']}, restored {restored_revision}")
    return found
