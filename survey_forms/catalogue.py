"""The entity property catalogue: what `save_to` may name, its type, and whether it is personal data."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ENTITIES_DIR = Path(__file__).with_name("entities")

# Which field types may save into a property of which type.
COMPATIBLE = {
    "text": {"text"},
    "integer": {"integer", "decimal"},
    "decimal": {"decimal"},
    "boolean": {"boolean"},
    "date": {"date"},
    "datetime": {"datetime"},
    "geopoint": {"geopoint"},
    "select_one": {"select_one", "text"},
    "select_multiple": {"select_multiple"},
    "photo": {"photo"},
}


@dataclass(frozen=True)
class Property:
    entity: str
    name: str
    type: str
    personal: bool
    label: Mapping[str, str] = field(default_factory=dict, compare=False)  # {"zh": ..., "en": ...}


@dataclass(frozen=True)
class Catalogue:
    properties: dict[str, Property]  # keyed by "entity.name"

    def get(self, target: str) -> Property | None:
        return self.properties.get(target)

    def of(self, entity: str) -> list[Property]:
        """An entity's properties in the catalogue's order."""
        return [p for p in self.properties.values() if p.entity == entity]

    def personal(self, entity: str) -> set[str]:
        return {p.name for p in self.properties.values() if p.entity == entity and p.personal}


def load_catalogue(directory: Path = ENTITIES_DIR) -> Catalogue:
    properties: dict[str, Property] = {}
    for path in sorted(directory.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        entity = document["entity"]
        for name, spec in document["properties"].items():
            properties[f"{entity}.{name}"] = Property(entity, name, spec["type"], bool(spec.get("personal")),
                                                          spec.get("label", {}))
    return Catalogue(properties)


def field_value_type(field: dict) -> str:
    """The type a field's value has, for matching against a property (calculate fields say it)."""
    return field.get("value_type", field["type"]) if field["type"] == "calculate" else field["type"]
