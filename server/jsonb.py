"""How values are written to JSONB columns: with orjson, which encodes the large payloads and states several times faster."""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> bytes | str:
    """UTF-8 JSON text for PostgreSQL; the standard encoder takes over for what orjson refuses, such as integers
    beyond 64 bits, which a phone may send and PostgreSQL stores."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False)
