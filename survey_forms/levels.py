"""The levels of a form: the top and each repeat, with groups folded into their level."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FieldAt:
    """A value-holding field with where it stands: its JSON pointer and the groups around it."""

    spec: dict[str, Any]
    pointer: str
    group_relevance: list[tuple[Any, str]]  # (relevant rule, pointer) of each enclosing group


@dataclass
class Level:
    name: str | None  # None for the top level, else the repeat's name
    pointer: str
    fields: list[FieldAt] = field(default_factory=list)
    groups: list[FieldAt] = field(default_factory=list)

    @property
    def names(self) -> dict[str, FieldAt]:
        return {f.spec["name"]: f for f in self.fields}


def levels_of(definition: dict[str, Any]) -> dict[str | None, Level]:
    """Every level of the form; a repeat is a field of its parent level and a level of its own."""
    levels: dict[str | None, Level] = {}

    def visit(specs: list[dict[str, Any]], pointer: str, level: Level, groups: list[tuple[Any, str]]) -> None:
        for index, spec in enumerate(specs):
            here = f"{pointer}/{index}"
            if spec["type"] == "group":
                level.groups.append(FieldAt(spec, here, list(groups)))
                visit(spec["fields"], f"{here}/fields", level, [*groups, (spec.get("relevant"), here)])
                continue
            level.fields.append(FieldAt(spec, here, list(groups)))
            if spec["type"] == "repeat":
                inner = Level(spec["name"], here)
                levels[spec["name"]] = inner
                visit(spec["fields"], f"{here}/fields", inner, [])

    top = Level(None, "")
    levels[None] = top
    visit(definition["fields"], "/fields", top, [])
    return levels


def rules_of(field_at: FieldAt) -> Iterator[tuple[str, Any, str]]:
    """(kind, rule, pointer) of each JsonLogic rule a field carries, its groups' relevance included."""
    for kind in ("relevant", "required", "constraint", "calculation"):
        if kind in field_at.spec and not isinstance(field_at.spec[kind], bool):
            yield kind, field_at.spec[kind], f"{field_at.pointer}/{kind}"
