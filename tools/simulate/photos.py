"""Small deterministic stand-ins for the photos and recordings a submission declares: same name, same bytes.

A JPEG is a real picture a browser shows (a supervisor opening a demo visit sees a photo, not a broken image): one of
a few drawn once (Pillow), then made this file's own by a comment segment of noise that pads it to the size asked.
"""

from __future__ import annotations

import hashlib
import io
import random
import struct
from functools import cache
from pathlib import PurePosixPath

from PIL import Image, ImageDraw

CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
                 ".m4a": "audio/mp4", ".mp3": "audio/mpeg", ".amr": "audio/amr"}
_PICTURES = 6  # drawn once each; every file is one of them with its own padding
_COMMENT = b"\xff\xfe"  # a JPEG comment segment: decoders skip it
_MAX_SEGMENT = 65533  # bytes of data a segment can hold beside its two length bytes
_PNG = b"\x89PNG\r\n\x1a\n"


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(PurePosixPath(name).suffix.lower(), "image/jpeg")


def file_bytes(submission_uuid: str, name: str, size: int) -> bytes:
    """Exactly `size` bytes that start like the file type the name says; the same arguments give the same bytes."""
    noise = random.Random(f"{submission_uuid}/{name}").randbytes(size)  # noqa: S311 (test bytes)
    kind = content_type(name)
    if kind == "image/jpeg":
        return _padded(_picture(int(hashlib.sha256(f"{submission_uuid}/{name}".encode()).hexdigest(), 16) % _PICTURES,
                                PurePosixPath(name).stem), noise, size)
    if kind == "image/png":
        return (_PNG + struct.pack(">I", size) + b"IDAT" + noise)[:size]
    return noise


def declare(submission_uuid: str, name: str, size: int) -> dict[str, object]:
    """The item's `attachments` entry for the file `file_bytes` makes."""
    data = file_bytes(submission_uuid, name, size)
    return {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "content_type": content_type(name)}


@cache
def _picture(variant: int, caption: str) -> bytes:
    """A 320 x 240 JPEG: a sky and a hillside in one of a few colourings, with the file's name written on it."""
    image = Image.new("RGB", (320, 240), (150 + 15 * variant, 190, 230 - 10 * variant))
    draw = ImageDraw.Draw(image)
    draw.polygon([(0, 160 - 8 * variant), (120, 110), (320, 150 + 6 * variant), (320, 240), (0, 240)],
                 fill=(70 + 12 * variant, 120, 60))
    draw.rectangle((110, 120, 210, 200), fill=(200, 180, 150), outline=(90, 60, 40), width=3)  # a house front
    draw.text((10, 10), caption.encode("ascii", "replace").decode()[:40], fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def _padded(picture: bytes, noise: bytes, size: int) -> bytes:
    """The picture, with comment segments of noise after its start marker up to `size` bytes (or as it is, when it
    is already larger): the same picture decodes, and no two files are alike."""
    missing, segments, used = size - len(picture), [], 0
    while missing > 4:
        length = min(missing - 4, _MAX_SEGMENT)
        segments.append(_COMMENT + struct.pack(">H", length + 2) + noise[used:used + length])
        used += length
        missing -= length + 4
    return picture[:2] + b"".join(segments) + picture[2:]
