"""The merge of one entity's evidence into its state, versions and conflicts: a pure function of the set of evidence.

Why a replay and not an update in arrival order: devices sync days late and in any order, and the entity must come
out the same whatever the order (issue 6, reliability S4). So the state is always the replay of every accepted,
not superseded submission about the entity, ordered by what the devices saw (base_version), never by arrival:

- A submission with base_version b (none: 0) belongs to generation b: it was made from the state of version b.
  Generations are applied in ascending order; generation b makes version b + 1 from the latest version <= b.
- What a submission changes is what it carries that differs from that base state (phones prefill the base values).
  Several submissions of one device in one generation follow each other, in the order the device made them.
- Across devices a property changed by one, or by several to the same value, is applied. Changed by several to
  different values it is a conflict: the base value stays until a supervisor resolves it (a resolution is evidence
  too, applied in its generation).
- A correction (supersedes) takes the place of the submission it corrects.

An older visit arriving after a newer one falls into its own, earlier generation: it never overwrites what the
newer visit changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Properties = Mapping[str, Any]


@dataclass(frozen=True)
class Evidence:
    """What one submission says about one entity: the values it carries for the entity's properties."""

    uuid: str
    device_id: str
    base_version: int | None
    made_at: str  # the device's own time, ISO 8601; orders one device's submissions among themselves only
    carried: Properties
    supersedes: str | None = None


@dataclass(frozen=True)
class Resolution:
    """A supervisor's choice for a conflicting property of one generation."""

    property: str
    generation: int
    value: Any


@dataclass(frozen=True)
class Candidate:
    device_id: str
    value: Any
    uuid: str


@dataclass(frozen=True)
class Conflict:
    property: str
    generation: int  # the base version both sides started from
    base_value: Any
    candidates: tuple[Candidate, ...]  # one per device, by device id
    resolved: bool = False


@dataclass(frozen=True)
class Version:
    number: int
    uuids: tuple[str, ...]  # the submissions of its generation, sorted
    changes: Mapping[str, tuple[Any, Any]]  # property: (before, after)


@dataclass
class Merged:
    state: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    versions: list[Version] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    superseded: set[str] = field(default_factory=set)


def merge(evidence: Iterable[Evidence], resolutions: Iterable[Resolution] = (),
          baseline: tuple[int, Properties] = (0, {})) -> Merged:
    """The entity as the evidence makes it; the same set in any order gives the same result.

    baseline: (version, state) the entity had before any evidence, e.g. a registry record imported as version 1.
    """
    items = {e.uuid: e for e in evidence}
    superseded = {e.supersedes for e in items.values() if e.supersedes in items}
    generations: dict[int, list[Evidence]] = defaultdict(list)
    for item in items.values():
        if item.uuid not in superseded:
            # A device cannot have seen a version before the baseline: such evidence starts from the baseline.
            generations[max(item.base_version or 0, baseline[0])].append(item)
    chosen: dict[int, dict[str, Any]] = defaultdict(dict)
    for resolution in resolutions:
        chosen[resolution.generation][resolution.property] = resolution.value
    merged = Merged(superseded=superseded)
    states: list[tuple[int, dict[str, Any]]] = [(baseline[0], dict(baseline[1]))]
    for generation in sorted(generations):
        base = next(state for number, state in reversed(states) if number <= generation)
        changes, conflicts = _generation(base, generations[generation], generation, chosen[generation])
        state = {**base, **{name: after for name, (_, after) in changes.items()}}
        number = generation + 1
        states.append((number, state))
        merged.versions.append(Version(number, tuple(sorted(e.uuid for e in generations[generation])), changes))
        merged.conflicts += conflicts
    merged.version, merged.state = states[-1]
    return merged


def _generation(base: Properties, items: list[Evidence], generation: int,
                chosen: Mapping[str, Any]) -> tuple[dict[str, tuple[Any, Any]], list[Conflict]]:
    """The changes one generation applies to its base, and its conflicts."""
    by_device: dict[str, list[Evidence]] = defaultdict(list)
    for item in items:
        by_device[item.device_id].append(item)
    if len(by_device) == 1:  # one device: nothing to merge or to conflict over (the common case)
        changes = _device_changes(base, items)
        return {name: (base.get(name), value) for name, (value, _) in sorted(changes.items())}, []
    proposals: dict[str, list[Candidate]] = defaultdict(list)
    for device_id in sorted(by_device):
        for name, (value, uuid) in _device_changes(base, by_device[device_id]).items():
            proposals[name].append(Candidate(device_id, value, uuid))
    changes: dict[str, tuple[Any, Any]] = {}
    conflicts = []
    for name in sorted(proposals):
        candidates = proposals[name]
        values = {_key(c.value) for c in candidates}
        if len(values) > 1:
            conflicts.append(Conflict(name, generation, base.get(name), tuple(candidates), name in chosen))
            if name not in chosen:
                continue  # the base value stays until a supervisor chooses
            value = chosen[name]
        else:
            value = candidates[0].value
        if name not in base or _key(value) != _key(base[name]):
            changes[name] = (base.get(name), value)
    return changes, conflicts


def _device_changes(base: Properties, items: list[Evidence]) -> dict[str, tuple[Any, str]]:
    """What one device's submissions of one generation change, each after the one before it on that device."""
    running = dict(base)
    changes: dict[str, tuple[Any, str]] = {}
    for item in sorted(items, key=lambda e: (e.made_at, e.uuid)):
        for name, value in item.carried.items():
            if name not in running or _key(running[name]) != _key(value):
                running[name] = value
                changes[name] = (value, item.uuid)
    return {name: change for name, change in changes.items() if name not in base or _key(base[name]) != _key(change[0])}


def _key(value: Any) -> Any:
    """A comparable form of a JSON value in which 1 and 1.0 are equal but True and 1 are not."""
    kind = type(value)
    if kind is str or kind is int or kind is float or value is None:
        return value  # the common case; True becomes ("bool", True) below, so never equals 1
    if kind is bool:
        return ("bool", value)
    if kind is dict:
        return ("dict", tuple(sorted((k, _key(v)) for k, v in value.items())))
    if kind is list:
        return ("list", tuple(_key(v) for v in value))
    return ("value", value)
