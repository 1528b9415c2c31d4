"""`flask backup`: pg_dump of one snapshot, the manifest read in that snapshot, then the attachments its rows name."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from server.services.backup import manifest as manifests
from server.services.backup import pg
from server.services.backup.manifest import ATTACHMENTS, DUMP, MANIFEST, Progress
from server.services.backup.sealed import BackupError, SealedWriter
from sync.blobs import BlobStore

PROGRESS_SECONDS = 5.0


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int
    tables: int
    rows: int
    attachments: int
    created_at: str
    seconds: float

    def summary(self) -> str:
        return (f"备份完成 · Backed up {self.rows:,} rows of {self.tables} tables and {self.attachments:,} attachments "
                f"as of {self.created_at} to {self.path} ({self.size / 1e6:,.1f} MB, {self.seconds:.1f} s).")


def backup(engine: Engine, store: BlobStore, destination: Path, key: bytes, progress: Progress) -> BackupReport:
    """Writes an encrypted archive of the database `engine` reaches (as its owner) and of the attachments its rows name.

    `destination` is the archive's path, or a directory to put survey-<UTC time>.backup in.

    Raises:
        BackupError: pg_dump is missing or failed, or a file the rows name is missing or damaged; no archive is left.
    """
    started = time.monotonic()
    path = destination / f"survey-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.backup" if destination.is_dir() else destination
    if not path.parent.is_dir() or path.exists():
        raise BackupError(f"无法写入 {path}（目录不存在或文件已存在）· Cannot write {path}: its folder does not exist, or the "
                          "file does; an archive is never overwritten.")
    # The plain dump waits in a private temporary directory (TMPDIR; mode 0700) until it is sealed, then is removed.
    with tempfile.TemporaryDirectory(prefix="survey-backup-") as work:
        dump = Path(work) / DUMP
        manifest = _dump(engine, dump, progress)
        _write_archive(path, key, manifest, dump, store, progress)
    rows = sum(table["rows"] for table in manifest["tables"].values())
    return BackupReport(path, path.stat().st_size, len(manifest["tables"]), rows, len(manifest["attachments"]),
                        manifest["created_at"], time.monotonic() - started)


def _dump(engine: Engine, dump: Path, progress: Progress) -> dict[str, Any]:
    """pg_dump of an exported snapshot, and the manifest read in that same snapshot while pg_dump runs."""
    with engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True) as connection:
        with connection.begin():
            manifests.settle(connection)
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            major = connection.scalar(text("SELECT current_setting('server_version_num')::int / 10000"))
            skip = [f"--exclude-table-data={name}" for name in connection.scalars(manifests.EXTENSION_TABLES)]
            progress("正在导出数据库 · Dumping the database (pg_dump)…")
            # The exporting transaction stays open until pg_dump is done: pg_dump may take the snapshot only while it lives.
            with pg.run_in_background("pg_dump", major, engine.url, "--format=custom", f"--snapshot={snapshot}",
                                      "--no-owner", "--no-privileges", *skip, f"--file={dump}") as dumping:
                progress("正在计算各表行数与校验和 · Counting rows and checksumming each table…")
                manifest = manifests.read(connection, progress)
                dumping.wait()
    progress(f"数据库已导出 · Database dumped: {dump.stat().st_size / 1e6:,.1f} MB")
    return manifest


def _write_archive(path: Path, key: bytes, manifest: dict[str, Any], dump: Path, store: BlobStore, progress: Progress) -> None:
    """Seals the tar into <path>.partial, renamed only when whole and on disk: a failed backup leaves no archive."""
    partial = path.with_name(path.name + ".partial")
    try:
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
            sealed = SealedWriter(file, key)
            with tarfile.open(fileobj=sealed, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                body = json.dumps(manifest, indent=1).encode()
                tar.addfile(_member(MANIFEST, len(body)), io.BytesIO(body))
                with dump.open("rb") as source:
                    tar.addfile(_member(DUMP, dump.stat().st_size), source)
                _add_attachments(tar, manifest["attachments"], store, progress)
            sealed.close()
            file.flush()
            os.fsync(file.fileno())
        partial.replace(path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash
        finally:
            os.close(directory)
    finally:
        partial.unlink(missing_ok=True)


def _add_attachments(tar: tarfile.TarFile, attachments: list[dict[str, Any]], store: BlobStore, progress: Progress) -> None:
    """Copies each file the rows name, checked against its SHA-256; names every one that is missing or damaged.

    Raises:
        BackupError: a file is missing or damaged. A backup that cannot give back every file its rows name is not one:
            repair the store (an earlier backup has the file; or its phone uploads it again), then back up again.
    """
    problems, last = [], time.monotonic()
    for number, attachment in enumerate(attachments, 1):
        sha256 = attachment["sha256"]
        try:
            body = store.read(sha256)  # one file at a time; a file is at most sync.limits.MAX_BYTES
        except FileNotFoundError:
            problems.append(f"{sha256}: missing")
            continue
        if hashlib.sha256(body).hexdigest() != sha256:
            problems.append(f"{sha256}: its {len(body)} bytes have another SHA-256")
            continue
        tar.addfile(_member(ATTACHMENTS + sha256, len(body)), io.BytesIO(body))
        if time.monotonic() - last > PROGRESS_SECONDS or number == len(attachments):
            progress(f"附件 {number:,}/{len(attachments):,} · attachments: {number:,} of {len(attachments):,}")
            last = time.monotonic()
    if problems:
        raise BackupError(f"附件存储中有 {len(problems)} 个文件缺失或损坏，未生成备份 · {len(problems)} attachment file(s) "
                          "that the database names are missing or damaged in ATTACHMENT_DIR; no backup was written:\n  "
                          + "\n  ".join(problems[:20]))


def _member(name: str, size: int) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.size, member.mode, member.mtime = size, 0o600, int(time.time())
    return member

