"""pg_dump and pg_restore of the server's major version, given the owner's connection without a password on the command line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import URL

from server.services.backup.sealed import BackupError

# Where Debian's postgresql-<major> and postgresql-client-<major> put them (scripts/devdb.sh runs the server from here).
DEBIAN_BIN = "/usr/lib/postgresql/{major}/bin"
# pg_dump lists these as entries of the database; the restore makes the extensions itself (see restore.py), and
# COMMENT ON EXTENSION needs the extension's owner, a superuser, so it would fail an ordinary owner's restore.
_EXTENSION_ENTRY = re.compile(r"^\d+; \d+ \d+ (EXTENSION|COMMENT - EXTENSION) ")


def program(name: str, major: int) -> str:
    """The path of pg_dump or pg_restore of PostgreSQL `major`: Debian's versioned directory, else PATH's if it matches.

    Raises:
        BackupError: neither is there.
    """
    debian = Path(DEBIAN_BIN.format(major=major)) / name
    if os.access(debian, os.X_OK):
        return str(debian)
    found = shutil.which(name)
    if found:
        version = subprocess.run([found, "--version"], capture_output=True, text=True, check=False).stdout  # noqa: S603
        if re.search(rf"\b{major}\.\d+", version):
            return found
    raise BackupError(f"找不到 PostgreSQL {major} 的 {name} · No {name} of PostgreSQL {major} (the server's version) in "
                      f"{debian.parent} or on PATH: apt-get install postgresql-client-{major}")


def _connection(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for -d, and the environment that carries the password (never the command line)."""
    fields = {"host": url.host, "port": url.port, "user": url.username, "dbname": url.database, **url.query}
    quoted = {key: str(value).replace("\\", "\\\\").replace("'", "\\'") for key, value in fields.items() if value is not None}
    environment = {**os.environ, "PGAPPNAME": "survey-backup"}
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    return " ".join(f"{key}='{value}'" for key, value in quoted.items()), environment


class Running:
    """A client program run in the background; wait() raises with what it said on stderr when it fails."""

    def __init__(self, process: subprocess.Popen, name: str):
        self._process, self._name = process, name

    def wait(self) -> None:
        _, stderr = self._process.communicate()
        if self._process.returncode != 0:
            raise BackupError(f"{self._name} 失败 · {self._name} failed (exit {self._process.returncode}):\n"
                              f"{stderr.strip()[-2000:]}")


@contextmanager
def run_in_background(name: str, major: int, url: URL, *arguments: str) -> Iterator[Running]:
    """Starts the program on the database `url` names; stopped if the block ends without waiting for it."""
    conninfo, environment = _connection(url)
    process = subprocess.Popen([program(name, major), *arguments, f"--dbname={conninfo}"], env=environment,  # noqa: S603
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield Running(process, name)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def restore(url: URL, major: int, dump: Path, work: Path) -> None:
    """pg_restore into `url` in one transaction, as the connecting role (no owners, no grants of the old database).

    Raises:
        BackupError: pg_restore failed; its transaction rolled back, so the database is as it was.
    """
    listed = subprocess.run([program("pg_restore", major), "--list", str(dump)],  # noqa: S603
                            capture_output=True, text=True, check=False)
    if listed.returncode != 0:
        raise BackupError(f"pg_restore --list 失败 · pg_restore could not read the dump: {listed.stderr.strip()[-2000:]}")
    entries = work / "restore.list"
    entries.write_text("".join(f";{line}\n" if _EXTENSION_ENTRY.match(line) else f"{line}\n"
                               for line in listed.stdout.splitlines()))
    with run_in_background("pg_restore", major, url, "--single-transaction", "--exit-on-error", "--no-owner",
                           "--no-privileges", f"--use-list={entries}", str(dump)) as restoring:
        restoring.wait()
