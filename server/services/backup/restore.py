"""`flask restore`: an archive checked whole under its key, then into an empty database as the owner, then compared."""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import ProgrammingError

from core.errors import DomainError
from server.services import app_role, pull
from server.services.backup import manifest as manifests
from server.services.backup import pg
from server.services.backup.manifest import ATTACHMENTS, DUMP, FORMAT, MANIFEST, Progress
from server.services.backup.sealed import ArchiveUnreadable, BackupError, SealedReader
from sync.blobs import BlobStore

COPY_BYTES = 1024 * 1024
PROGRESS_SECONDS = 5.0
_ATTACHMENT = re.compile(re.escape(ATTACHMENTS) + "[0-9a-f]{64}")
# sync_change's rows as the final comparison sees them after the renumbering: every column but txid.
_FEED_OTHER_COLUMNS = ("SELECT count(*), coalesce(sum(('x' || left(md5((to_jsonb(t) - 'txid')::text), 16))::bit(64)"
                       "::bigint::numeric), 0) FROM sync_change AS t")


@dataclass(frozen=True)
class Roles:
    """DATABASE_URL (the app's role, granted to after the restore) and DATABASE_OWNER_URL ("" when one role does all)."""

    app_url: str
    owner_url: str


@dataclass(frozen=True)
class RestoreReport:
    tables: int
    rows: int
    attachments: int
    created_at: str
    revision: str
    seconds: float
    warnings: tuple[str, ...] = ()
    feed: Renumbered | None = None

    def summary(self) -> str:
        done = (f"恢复完成，行数、校验和与附件均一致 · Restored {self.rows:,} rows of {self.tables} tables and "
                f"{self.attachments:,} attachments as of {self.created_at} (revision {self.revision}): row counts, "
                f"table checksums and attachment SHA-256s match the backup ({self.seconds:.1f} s).")
        if self.feed is None:
            return done
        epoch = "a new feed epoch" if self.feed.epoch else "no epoch yet (`flask db upgrade` starts one)"
        # The feed first: the last line stays the one that says the restore matches (bench/backup_restore.py prints it).
        return (f"同步变更已重新编号，各设备下次同步将从头开始 · The pull feed's {self.feed.changes:,} changes were "
                f"renumbered into this cluster's transaction {self.feed.txid}, with {epoch}: each device's next pull "
                f"starts over from the beginning.\n{done}")


@dataclass(frozen=True)
class Renumbered:
    """What `_renumber` did, and what it found before: for the final comparison of the two tables it changes."""

    txid: int  # every sync_change row's, after
    changes: int
    epoch: str | None  # sync_feed's, after; None for a backup from before epochs (no sync_feed)
    as_restored: dict[str, dict[str, Any]]  # sync_change's and sync_feed's row counts and checksums before
    other_columns: tuple[int, int]  # sync_change's rows and checksum of every column but txid, before


def restore(engine: Engine, roles: Roles, store: BlobStore, archive: Path, key: bytes, progress: Progress) -> RestoreReport:
    """Restores the archive into the empty database `engine` reaches as its owner, and its files into `store`.

    Raises:
        ArchiveUnreadable: the key is wrong, or the file was cut or altered; found before anything is changed.
        BackupError: the database is not empty, an extension cannot be created, pg_restore failed (its one
            transaction rolled back), or what was restored differs from the manifest.
    """
    started = time.monotonic()
    with archive.open("rb") as file:
        SealedReader(file, key)  # a wrong key is told at once
    with engine.connect() as connection:
        _refuse_unless_empty(connection)
        major = connection.scalar(text("SELECT current_setting('server_version_num')::int / 10000"))
    progress("正在校验整个备份文件 · Checking the whole backup file under BACKUP_KEY…")
    manifest = _read(archive, key, None, None, progress)  # reads every chunk, changes nothing
    _ensure_extensions(engine, manifest["extensions"])
    with tempfile.TemporaryDirectory(prefix="survey-restore-") as work:
        dump = Path(work) / DUMP
        progress("正在解出数据库并放回附件 · Unpacking the dump, and putting the attachments back into the store…")
        _read(archive, key, dump, store, progress)  # the files before the rows that name them, as an upload stores them
        with engine.connect() as connection:
            _refuse_unless_empty(connection)  # again: nothing may have come in while the archive was read
        progress("正在恢复数据库 · Restoring the database (pg_restore, one transaction)…")
        pg.restore(engine.url, major, dump, Path(work))
    progress("正在为同步变更重新编号 · Renumbering the pull feed into this cluster's transactions, in a new epoch…")
    renumbered = _renumber(engine)
    warnings = _grant(engine, roles)
    progress("正在核对行数、校验和与附件 · Checking row counts, table checksums and attachment SHA-256s…")
    _verify(engine, manifest, store, renumbered)
    rows = sum(table["rows"] for table in manifest["tables"].values())
    return RestoreReport(len(manifest["tables"]), rows, len(manifest["attachments"]), manifest["created_at"],
                         manifest["alembic_revision"], time.monotonic() - started, tuple(warnings), renumbered)


def _refuse_unless_empty(connection: Connection) -> None:
    """A restore never merges into data: our schema must hold no table, view or sequence (PostGIS's own aside)."""
    names = [name for name, _, _ in connection.execute(app_role.RELATIONS)]
    if names:
        shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
        raise BackupError(f"目标数据库不是空的（已有 {len(names)} 个表、视图或序列），未做任何改动；请恢复到新建的空数据库 · "
                          f"The target database is not empty: it holds {len(names)} tables, views or sequences ({shown}). "
                          "Nothing was changed. Restore into a new, empty database (docs/operations.md).")


def _read(archive: Path, key: bytes, dump: Path | None, store: BlobStore | None, progress: Progress) -> dict[str, Any]:
    """Reads the whole archive and returns its manifest; writes the dump and the files only when told where."""
    manifest: dict[str, Any] | None = None
    seen: set[str] = set()
    size, last = archive.stat().st_size, time.monotonic()
    with archive.open("rb") as file:
        sealed = SealedReader(file, key)
        try:
            with tarfile.open(fileobj=sealed, mode="r|") as tar:
                for member in tar:
                    body = tar.extractfile(member) if member.isfile() else None
                    first = manifest is None
                    # The manifest comes first and once; then each file once.
                    if body is None or member.name in seen or first != (member.name == MANIFEST):
                        raise _unexpected(member.name)
                    if first:
                        manifest = json.loads(body.read())
                    elif member.name == DUMP:
                        _copy(body, dump)
                    elif _ATTACHMENT.fullmatch(member.name):
                        _put(body, member, store)
                    else:
                        raise _unexpected(member.name)
                    seen.add(member.name)
                    if time.monotonic() - last > PROGRESS_SECONDS:
                        progress(f"  {file.tell() / 1e6:,.0f}/{size / 1e6:,.0f} MB · read {file.tell() / 1e6:,.0f} MB "
                                 f"of {size / 1e6:,.0f} MB")
                        last = time.monotonic()
            sealed.drain()  # the tar's end is not the file's: its last chunk is checked too
        except (tarfile.TarError, ValueError, EOFError) as error:
            raise ArchiveUnreadable(f"备份文件内容不完整 · The backup's contents are not whole ({error}). "
                                    "Nothing was changed.") from error
    return _complete(manifest, seen)


def _copy(body: IO[bytes], dump: Path | None) -> None:
    if dump is None:
        while body.read(COPY_BYTES):
            pass
        return
    with dump.open("wb") as out:
        while chunk := body.read(COPY_BYTES):
            out.write(chunk)


def _put(body: IO[bytes], member: tarfile.TarInfo, store: BlobStore | None) -> None:
    if store is None:
        while body.read(COPY_BYTES):
            pass
        return
    sha256 = member.name.removeprefix(ATTACHMENTS)
    try:
        # put() checks the SHA-256 and renames a whole, fsynced file into place, as an upload does.
        store.put(iter(lambda: body.read(COPY_BYTES), b""), sha256, member.size)
    except DomainError as error:  # BlobHashMismatch: the bytes are not the file they are named for
        raise ArchiveUnreadable(f"备份中的附件 {sha256} 与其 SHA-256 不符 · The attachment {sha256} in the backup is not "
                                "its SHA-256; the database was not changed.") from error


def _complete(manifest: dict[str, Any] | None, seen: set[str]) -> dict[str, Any]:
    if manifest is None or manifest.get("format") != FORMAT:
        raise ArchiveUnreadable(f"备份文件没有可读的清单 · The backup has no manifest of format {FORMAT}. Nothing was changed.")
    expected = {MANIFEST, DUMP} | {ATTACHMENTS + a["sha256"] for a in manifest["attachments"]}
    if seen != expected:
        raise ArchiveUnreadable(f"备份文件与其清单不符 · The backup's files differ from its manifest "
                                f"({len(expected - seen)} missing, {len(seen - expected)} unexpected). Nothing was changed.")
    return manifest


def _unexpected(name: str) -> ArchiveUnreadable:
    return ArchiveUnreadable(f"备份文件中有意外内容 · The backup holds an unexpected entry {name!r}. Nothing was changed.")


def _ensure_extensions(engine: Engine, extensions: dict[str, str]) -> None:
    """Creates the extensions the backup had, where missing.

    PostGIS is not a trusted extension: only a superuser may create it. The embedded cluster's owner (`survey`) is its
    bootstrap superuser, so it may; on another server the administrator creates it once, as for a new database (README).
    """
    with engine.connect() as connection:
        quote = connection.dialect.identifier_preparer.quote
        present = {name for name, _ in connection.execute(manifests.EXTENSIONS)}
        connection.rollback()
        for name in sorted(set(extensions) - present):
            try:
                with connection.begin():
                    connection.execute(text(f"CREATE EXTENSION {quote(name)}"))
            except ProgrammingError as error:
                raise BackupError(f"无权创建扩展 {name}：请数据库管理员先在此库执行 CREATE EXTENSION {name}; 未做任何改动 · "
                                  f"The owner's role may not create the extension {name}: have the server's administrator "
                                  f"run `CREATE EXTENSION {name};` in this database, then restore again. Nothing was "
                                  "changed.") from error


def _grant(engine: Engine, roles: Roles) -> list[str]:
    """The app's role gets its privileges on the restored tables, exactly as `flask db upgrade` grants them."""
    with engine.begin() as connection:
        try:
            role, _ = app_role.app_role(connection, roles.app_url, roles.owner_url)
        except app_role.MissingAppRole as error:
            raise BackupError(f"应用角色 {error.role} 不存在 · DATABASE_URL's role {error.role!r} does not exist: create it "
                              "(README, \"Two database roles\"), then run `flask db upgrade` to grant it.") from error
        return app_role.grant(connection, role) if role else []


def _renumber(engine: Engine) -> Renumbered | None:
    """Renumbers the restored feed into this cluster's transactions and starts a new feed epoch, in one transaction.

    The restored sync_change rows carry the txids of the cluster the backup was made on. This cluster's may be far
    lower (a fresh one starts near 725; the backed-up feed may reach 130,068): the rows would stay hidden from every
    pull until this cluster's ids passed them, and the devices' cursors, holding the old ids, would skip every new
    change. So every row gets this transaction's id (server/services/pull.py: new_epoch), and the new epoch starts
    every device over from the beginning.

    The rows and checksums of the two tables this changes are taken first, in the same transaction, for `_verify`.
    None for a backup from before the feed.
    """
    with engine.begin() as connection:
        present = {name for name, kind, _ in connection.execute(app_role.RELATIONS) if kind == "r"}
        if "sync_change" not in present:
            return None
        manifests.settle(connection)  # the manifest's settings: a row's text, so its checksum, depends on them
        connection.execute(text("LOCK TABLE sync_change IN EXCLUSIVE MODE"))
        quote = connection.dialect.identifier_preparer.quote
        as_restored = {}
        for name in ("sync_change", "sync_feed"):
            if name in present:  # a backup from before epochs has no sync_feed: `flask db upgrade` makes one
                # The manifest's own sum (manifest.py), so that `_verify` compares these with it like any table's.
                rows, total = connection.execute(text(manifests._CHECKSUM.format(table=quote(name)))).one()
                as_restored[name] = {"rows": rows, "checksum": f"{int(total) % 2**64:016x}"}
        rows, total = connection.execute(text(_FEED_OTHER_COLUMNS)).one()
        other_columns = (rows, int(total) % 2**64)
        if "sync_feed" in present:
            done = pull.new_epoch(connection, "flask restore")
            return Renumbered(done.txid, done.changes, done.epoch, as_restored, other_columns)
        txid, changes = pull.renumber(connection)
        return Renumbered(txid, changes, None, as_restored, other_columns)


def _renumbering_checked(connection: Connection, tables: dict[str, dict[str, Any]], renumbered: Renumbered | None) -> list[str]:
    """Puts back, in `tables`, sync_change's and sync_feed's checksums as restored, once shown that the renumbering
    changed nothing else; else names what differs.

    Why not compare them as they are: the manifest's checksum covers every column of a row, and the renumbering
    rewrites sync_change.txid and sync_feed's one row by design, so both would always differ. Their checksums as
    pg_restore left them were taken in the renumbering's transaction, just before it, and are compared with the
    manifest like any other table's. What is checked here is that the renumbering did only what it should: sync_change
    has the same rows, equal in every column but txid (a checksum of each row without it), and every txid is the
    renumbering transaction's; sync_feed is one row, the new epoch.
    """
    if renumbered is None:
        return []
    found = []
    rows, total = connection.execute(text(_FEED_OTHER_COLUMNS)).one()
    others = connection.scalar(text("SELECT count(*) FROM sync_change WHERE txid <> CAST(CAST(:txid AS text) AS xid8)"),
                               {"txid": renumbered.txid})
    if (rows, int(total) % 2**64) != renumbered.other_columns or others:
        found.append(f"table sync_change: other than txid, {renumbered.other_columns} before the renumbering, "
                     f"{(rows, int(total) % 2**64)} after; {others} rows not renumbered to {renumbered.txid}")
    else:
        tables["sync_change"] = renumbered.as_restored["sync_change"]
    if renumbered.epoch is not None:
        epochs = [epoch.hex for epoch in connection.scalars(text("SELECT epoch FROM sync_feed"))]
        if epochs != [renumbered.epoch]:
            found.append(f"table sync_feed: epochs {epochs}, expected the new epoch {renumbered.epoch} alone")
        else:
            tables["sync_feed"] = renumbered.as_restored["sync_feed"]
    return found


def _verify(engine: Engine, manifest: dict[str, Any], store: BlobStore, renumbered: Renumbered | None) -> None:
    """Compares the restored tables, revision and files with the manifest; names every difference."""
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection, connection.begin():
        tables = manifests.table_checksums(connection)
        found = _renumbering_checked(connection, tables, renumbered)
        found += manifests.differences(manifest, tables, manifests.revision(connection))
    found += [f"attachment {a['sha256']}: missing or altered in the store" for a in manifest["attachments"]
              if not _stored(store, a["sha256"])]
    if found:
        raise BackupError("恢复结果与备份不一致，请勿使用此数据库 · What was restored differs from the backup; do not use "
                          "this database:\n  " + "\n  ".join(found[:20]))


def _stored(store: BlobStore, sha256: str) -> bool:
    try:
        return hashlib.sha256(store.read(sha256)).hexdigest() == sha256
    except FileNotFoundError:
        return False
