"""The JSON Schema of the form-definition format, handed to the form loader as data."""

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("form_definition.schema.json")


@cache
def form_definition_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
