"""The content-addressed store of attachment bytes: one small interface, a filesystem implementation."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from core.errors import BlobHashMismatch, BlobTooLarge


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int


class BlobStore(Protocol):
    def put(self, chunks: Iterable[bytes], expected_sha256: str, max_bytes: int) -> StoredBlob: ...
    def read(self, sha256: str) -> bytes: ...
    def open(self, sha256: str) -> BinaryIO: ...


class FileBlobStore:
    """Files named by their SHA-256 under `root`; written to a temporary file and renamed only when whole and verified."""

    # An upload still being written is never this old; an older temporary file is left by a killed worker.
    ABANDONED_SECONDS = 24 * 3600

    def __init__(self, root: Path):
        self.root = root
        self.sweep_abandoned()

    def sweep_abandoned(self) -> int:
        """Removes temporary files that a worker killed mid-upload left behind; returns how many."""
        cutoff = time.time() - self.ABANDONED_SECONDS
        removed = 0
        for path in (self.root / "tmp").glob("*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:  # another worker swept it first
                continue
        return removed

    def put(self, chunks: Iterable[bytes], expected_sha256: str, max_bytes: int) -> StoredBlob:
        """Raises:
        BlobTooLarge: more than max_bytes arrived (nothing is kept).
        BlobHashMismatch: the bytes are not those of expected_sha256 (a cut or altered upload; nothing is kept).
        """
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        handle, temp = tempfile.mkstemp(dir=self.root / "tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise BlobTooLarge(f"The file is over {max_bytes} bytes.")
                    digest.update(chunk)
                    file.write(chunk)
                file.flush()
                os.fsync(file.fileno())  # durable before we say it is stored
            if digest.hexdigest() != expected_sha256:
                raise BlobHashMismatch("The bytes received do not have the declared SHA-256; upload the file again.",
                                       details={"received_sha256": digest.hexdigest(), "size": size})
            final = self._path(expected_sha256)
            new_folder = not final.parent.exists()
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, final)  # atomic: a reader sees the whole file or none
            # The rename lives in the folder's entries, which a crash may lose unless they too reach the disk;
            # only then is "stored" true. A folder made just now is an entry of the store's root in turn.
            _fsync_folder(final.parent)
            if new_folder:
                _fsync_folder(self.root)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
        return StoredBlob(expected_sha256, size)

    def read(self, sha256: str) -> bytes:
        return self._path(sha256).read_bytes()

    def open(self, sha256: str) -> BinaryIO:
        """The stored file, to be streamed: a photo is read a chunk at a time, never whole into memory."""
        return self._path(sha256).open("rb")

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
