"""Small deterministic stand-ins for the photos and recordings a submission declares: same name, same bytes."""

from __future__ import annotations

import hashlib
import random
import struct
from pathlib import PurePosixPath

CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
                 ".m4a": "audio/mp4", ".mp3": "audio/mpeg", ".amr": "audio/amr"}
_JFIF = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
_PNG = b"\x89PNG\r\n\x1a\n"


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(PurePosixPath(name).suffix.lower(), "image/jpeg")


def file_bytes(submission_uuid: str, name: str, size: int) -> bytes:
    """Exactly `size` bytes that start like the file type the name says; the same arguments give the same bytes."""
    noise = random.Random(f"{submission_uuid}/{name}").randbytes(size)  # noqa: S311 (test bytes)
    kind = content_type(name)
    if kind == "image/jpeg":
        return (_JFIF + noise)[:max(size - 2, 0)] + b"\xff\xd9"[:size]
    if kind == "image/png":
        return (_PNG + struct.pack(">I", size) + b"IDAT" + noise)[:size]
    return noise


def declare(submission_uuid: str, name: str, size: int) -> dict[str, object]:
    """The item's `attachments` entry for the file `file_bytes` makes."""
    data = file_bytes(submission_uuid, name, size)
    return {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "content_type": content_type(name)}
