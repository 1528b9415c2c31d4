"""The backup file: a tar stream sealed under BACKUP_KEY in AES-GCM chunks that cannot be reordered, cut or altered unseen.

Layout (all integers big-endian):

    header   MAGIC (8 bytes) | salt (16 random bytes) | key check (16 bytes)
    chunks   length (4 bytes) | AES-GCM ciphertext of up to CHUNK bytes of the tar stream, with its 16-byte tag

Each file gets its own keys, derived from BACKUP_KEY and the salt (HKDF-SHA256), so a nonce is never used twice under
one key however many backups the key makes. The nonce of chunk i is i (11 bytes) and a last-chunk flag (1 byte), and
every chunk authenticates the header as associated data (the STREAM construction): a chunk moved, dropped, repeated or
taken from another file, a file cut after any chunk, or bytes added after the last, all fail to open. The key check
(an HMAC of the header under a key derived for that alone) tells a wrong key from a damaged file before anything
is read. Only one chunk is in memory at a time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"SVYBAK\x00\x01"  # "survey backup", format 1
SALT_BYTES = 16
CHECK_BYTES = 16
HEADER_BYTES = len(MAGIC) + SALT_BYTES + CHECK_BYTES
CHUNK = 1024 * 1024
TAG_BYTES = 16
_LENGTH = struct.Struct(">I")
# ODK Central's restore exits 100 for a wrong passphrase; scripts that run restores can tell this from other failures.
UNREADABLE_EXIT = 100


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is for the operator, Chinese · English."""

    exit_code = 1


class ArchiveUnreadable(BackupError):
    """The archive does not open with this key: the key is wrong, or the file was cut or altered. Nothing was changed."""

    exit_code = UNREADABLE_EXIT


def _keys(key: bytes, salt: bytes) -> tuple[AESGCM, bytes]:
    derived = HKDF(algorithm=hashes.SHA256(), length=64, salt=salt, info=b"survey backup v1").derive(key)
    return AESGCM(derived[:32]), derived[32:]


def _check(check_key: bytes, salt: bytes) -> bytes:
    return hmac.digest(check_key, MAGIC + salt, hashlib.sha256)[:CHECK_BYTES]


def _nonce(index: int, final: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


class SealedWriter:
    """A write-only stream that seals what it is given into `file`, CHUNK bytes at a time; close() seals the last chunk."""

    def __init__(self, file: BinaryIO, key: bytes):
        salt = os.urandom(SALT_BYTES)
        self._cipher, check_key = _keys(key, salt)
        self._header = MAGIC + salt + _check(check_key, salt)
        self._file = file
        self._file.write(self._header)
        self._buffer = bytearray()
        self._index = 0
        self.written = len(self._header)  # bytes of the sealed file so far

    def write(self, data: bytes) -> int:
        self._buffer += data
        # Only a chunk known not to be the last leaves: the last one must carry the final flag.
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), final=False)
            del self._buffer[:CHUNK]
        return len(data)

    def close(self) -> None:
        self._seal(bytes(self._buffer), final=True)
        self._buffer.clear()

    def _seal(self, plain: bytes, final: bool) -> None:
        sealed = self._cipher.encrypt(_nonce(self._index, final), plain, self._header)
        self._file.write(_LENGTH.pack(len(sealed)) + sealed)
        self._index += 1
        self.written += _LENGTH.size + len(sealed)


class SealedReader:
    """A read-only stream of what a SealedWriter sealed; raises ArchiveUnreadable at the first chunk that does not open."""

    def __init__(self, file: BinaryIO, key: bytes):
        """Raises:
        ArchiveUnreadable: not a backup of this format, or BACKUP_KEY is not the key it was made with.
        """
        self._header = file.read(HEADER_BYTES)
        if len(self._header) != HEADER_BYTES or not self._header.startswith(MAGIC):
            raise ArchiveUnreadable("这不是本系统的备份文件（或文件头已损坏）· This is not a backup made by `flask backup` "
                                    "(or its header is damaged).")
        salt = self._header[len(MAGIC):len(MAGIC) + SALT_BYTES]
        self._cipher, check_key = _keys(key, salt)
        if not hmac.compare_digest(self._header[-CHECK_BYTES:], _check(check_key, salt)):
            raise ArchiveUnreadable("备份密钥不对：BACKUP_KEY 不是生成此备份时所用的密钥，未做任何改动 · Wrong key: BACKUP_KEY "
                                    "is not the key this backup was made with. Nothing was changed.")
        self._file = file
        self._index = 0
        self._plain = b""
        self._offset = 0
        self._ended = False

    def read(self, size: int = -1) -> bytes:
        parts, wanted = [], size if size >= 0 else None
        while wanted is None or wanted > 0:
            if self._offset == len(self._plain) and not self._next():
                break
            end = len(self._plain) if wanted is None else min(len(self._plain), self._offset + wanted)
            parts.append(self._plain[self._offset:end])
            if wanted is not None:
                wanted -= end - self._offset
            self._offset = end
        return b"".join(parts)

    def drain(self) -> None:
        """Reads to the end, so the final chunk and nothing after it are checked too."""
        while self._next():
            pass

    def _next(self) -> bool:
        """Opens the next chunk into the buffer; False at the authenticated end."""
        if self._ended:
            return False
        length = self._file.read(_LENGTH.size)
        if len(length) < _LENGTH.size:
            raise _damaged("the file ends before its last chunk: it was cut short")
        (size,) = _LENGTH.unpack(length)
        if size > CHUNK + TAG_BYTES:
            raise _damaged(f"chunk {self._index} claims {size} bytes")
        sealed = self._file.read(size)
        if len(sealed) < size:
            raise _damaged("the file ends inside a chunk: it was cut short")
        plain = self._open(sealed, final=False)
        if plain is None:  # the last chunk, or a damaged one
            plain = self._open(sealed, final=True)
            if plain is None:
                raise _damaged(f"chunk {self._index} does not open")
            self._ended = True
            if self._file.read(1):
                raise _damaged("there are bytes after its last chunk")
        self._index += 1
        self._plain, self._offset = plain, 0
        return True

    def _open(self, sealed: bytes, final: bool) -> bytes | None:
        try:
            return self._cipher.decrypt(_nonce(self._index, final), sealed, self._header)
        except InvalidTag:
            return None


def _damaged(why: str) -> ArchiveUnreadable:
    return ArchiveUnreadable(f"备份文件已损坏或被改动，未做任何改动 · The backup is damaged or was altered ({why}). "
                             "Nothing was changed.")
