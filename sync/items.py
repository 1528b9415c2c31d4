"""Reading one pushed submission item: its UUID, times and content hash, and the shape of its errors."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

# Device times outside these years are not a clock's skew but garbage (or beyond what a timestamp column holds).
EARLIEST_YEAR, LATEST_YEAR = 1900, 2199


def field_error(field: str, code: str, zh: str, en: str) -> dict[str, str]:
    return {"field": field, "code": code, "message": f"{zh} · {en}"}


def content_hash(item: dict[str, Any]) -> tuple[str, int]:
    """SHA-256 of the item's canonical JSON, and its length in bytes: the same content always gives the same hash."""
    canonical = json.dumps(item, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest(), len(canonical)


def parse_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if type(value) is str else None
    except ValueError:
        return None


def read_time(value: Any) -> datetime | None:
    """A device time as ISO 8601 with its offset; None for anything else, which is kept only as sent."""
    if type(value) is not str:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def parse_time(value: Any) -> datetime | None:
    """A device time the server can place: read_time's, within the years the server keeps; else None."""
    parsed = read_time(value)
    if parsed is None:
        return None
    try:
        year = parsed.astimezone(UTC).year
    except OverflowError:  # 9999-12-31T23:59-14:00 is in the year 10000 in UTC
        return None
    return parsed if EARLIEST_YEAR <= year <= LATEST_YEAR else None


def repeated_attachment_names(attachments: Any) -> list[dict[str, str]]:
    """A name declared twice: the device uploads each file by its name, so one of the two could never arrive."""
    if type(attachments) is not list:
        return []
    errors, names = [], set()
    for index, entry in enumerate(attachments):
        name = entry.get("name") if type(entry) is dict else None
        if type(name) is str and name in names:
            errors.append(field_error(f"attachments[{index}].name", "constraint", "附件文件名重复", f"{name} is declared twice"))
        names.add(name)
    return errors
