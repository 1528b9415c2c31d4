"""A checked form definition: its identity, its canonical bytes and their SHA-256."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any


def canonical_bytes(document: dict[str, Any]) -> bytes:
    """The bytes a version is stored, hashed and served as: sorted keys, no spaces, real UTF-8."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class FormDefinition:
    form_id: str
    version: int
    subject: str
    roles: tuple[str, ...]
    title: dict[str, str]
    document: dict[str, Any]
    content: bytes
    sha256: str

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> FormDefinition:
        content = canonical_bytes(document)
        return cls(
            form_id=document["form_id"],
            version=document["version"],
            subject=document["subject"],
            roles=tuple(document["roles"]),
            title=dict(document["title"]),
            document=document,
            content=content,
            sha256=hashlib.sha256(content).hexdigest(),
        )

    @property
    def parameters(self) -> dict[str, Any]:
        return {name: spec["value"] for name, spec in self.document.get("parameters", {}).items()}
