"""Compiled form versions, kept for the life of the process: a published version never changes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from server.models import FormVersion
from survey_forms.definition import FormDefinition
from survey_forms.validator import CompiledForm, compile_form
from sync.evidence import SaveMap
from sync.limits import MAX_VERSION


class CompiledForms:
    def __init__(self) -> None:
        self._compiled: dict[tuple[str, int], CompiledForm] = {}
        self._save_maps: dict[tuple[str, int], SaveMap] = {}

    def get(self, session: Session, form_id: str, version: int) -> CompiledForm | None:
        """The compiled version, or None when it was never published (it may be published later)."""
        key = (form_id, version)
        if key not in self._compiled:
            if not 0 < version <= MAX_VERSION:  # never published, and beyond what the column (and query) can hold
                return None
            row = session.get(FormVersion, key)
            if row is None:
                return None
            self._compiled[key] = compile_form(FormDefinition.from_document(row.definition))
        return self._compiled[key]

    def save_map(self, session: Session, form_id: str, version: int) -> SaveMap | None:
        """Where the version's fields save (sync.evidence), or None when it was never published."""
        key = (form_id, version)
        if key not in self._save_maps:
            form = self.get(session, form_id, version)
            if form is None:
                return None
            self._save_maps[key] = SaveMap.of(form.definition.document)
        return self._save_maps[key]
