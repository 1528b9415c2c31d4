"""What a device learned from its pulls: areas, households and villages with their versions, assignments, reviews, forms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ProtocolError(Exception):
    """The server answered in a way protocol.md does not allow (a result missing, a cursor going nowhere)."""


@dataclass
class Knowledge:
    areas: dict[str, dict[str, Any]] = field(default_factory=dict)  # by code
    households: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id, with "version", prefill, members
    villages: dict[str, dict[str, Any]] = field(default_factory=dict)  # by area code, with "version" and prefill
    assignments: dict[str, dict[str, Any]] = field(default_factory=dict)  # open ones, by id
    reviews: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)  # newest {form_id, version, sha256} per form
    cursor: str | None = None  # where the next pull starts
    changes: int = 0  # changes applied, over every pull

    def apply(self, change: dict[str, Any]) -> None:
        """Keeps the latest state of one object; a newer change replaces what an older one said."""
        kind, object_id, data = change.get("kind"), str(change.get("id")), change.get("data")
        self.changes += 1
        if data is None:  # the object is gone (a form version never goes)
            kept = {"area": self.areas, "household": self.households, "village": self.villages,
                    "assignment": self.assignments, "review": self.reviews}.get(kind)
            if kept is not None:
                kept.pop(object_id, None)
            return
        if not isinstance(data, dict):
            raise ProtocolError(f"a {kind} change whose data is not an object: {change!r}")
        if kind == "area":
            self.areas[data["code"]] = data
        elif kind == "household":
            self.households[str(data["id"])] = {**data, "version": change.get("version", data.get("version"))}
        elif kind == "village":
            self.villages[data["area_code"]] = {**data, "version": change.get("version", data.get("version"))}
        elif kind == "assignment":
            if data.get("state") == "open":
                self.assignments[str(data["id"])] = data
            else:
                self.assignments.pop(str(data["id"]), None)
        elif kind == "review":
            self.reviews[object_id] = data
        elif kind == "form":
            self.learn_form(data)
        # A kind this device does not know yet is skipped: the protocol only ever adds.

    def learn_form(self, summary: dict[str, Any]) -> None:
        known = self.forms.get(summary["form_id"])
        if known is None or summary["version"] > known["version"]:
            self.forms[summary["form_id"]] = summary

    def areas_at(self, level: str) -> list[dict[str, Any]]:
        return sorted((a for a in self.areas.values() if a.get("level") == level), key=lambda a: a["code"])

    def sorted_households(self) -> list[dict[str, Any]]:
        return sorted(self.households.values(), key=lambda h: (h["area_code"], str(h.get("household_no")), str(h["id"])))

    def sorted_assignments(self) -> list[dict[str, Any]]:
        return sorted(self.assignments.values(), key=lambda a: (str(a.get("due_date")), str(a["id"])))
