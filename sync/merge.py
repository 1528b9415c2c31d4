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

Replaying everything costs O(visits) per push, so the merge also hands back its latest generation (Tail: the state it
started from and each device's changes in it). Evidence that belongs in that generation after each of its devices'
earlier ones, or in a later generation, changes nothing before it: `extend` merges it onto the tail and gives what a
replay of everything would give (tests/sync/test_merge_extend.py). Anything reaching further back is replayed.
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


@dataclass(frozen=True)
class DeviceRun:
    """One device's submissions in one generation: the order of its last one, and what they change, in turn."""

    last: tuple[str, str]  # (made_at, uuid) of the device's last submission in the generation
    changes: Mapping[str, tuple[Any, str]]  # property: (value, uuid of the submission that set it)


@dataclass(frozen=True)
class Tail:
    """The latest generation of a merge: what later evidence needs to be merged onto it without a replay."""

    floor: int  # the baseline's version: evidence claiming an older base starts from the baseline
    version: int
    state: Mapping[str, Any]
    generation: int | None = None  # None: no evidence yet, the state is the baseline
    base: Mapping[str, Any] = field(default_factory=dict)  # the state the latest generation started from
    devices: Mapping[str, DeviceRun] = field(default_factory=dict)
    uuids: tuple[str, ...] = ()  # the submissions of the latest generation, sorted

    def as_json(self) -> dict[str, Any]:
        return {"floor": self.floor, "version": self.version, "state": self.state, "generation": self.generation,
                "base": self.base, "uuids": list(self.uuids),
                "devices": {d: {"last": list(run.last), "changes": run.changes} for d, run in self.devices.items()}}

    @classmethod
    def of_json(cls, data: Mapping[str, Any]) -> Tail:
        devices = {d: DeviceRun((run["last"][0], run["last"][1]),
                                {name: (value, uuid) for name, (value, uuid) in run["changes"].items()})
                   for d, run in data["devices"].items()}
        return cls(data["floor"], data["version"], data["state"], data["generation"], data["base"], devices,
                   tuple(data["uuids"]))


@dataclass
class Merged:
    """The entity's state and the history that made it: versions after `since` and conflicts from `since` on (a
    replay: all of them; an extension: those it made or made again, the earlier ones being as stored)."""

    state: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    versions: list[Version] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    superseded: set[str] = field(default_factory=set)
    tail: Tail = field(default_factory=lambda: Tail(0, 0, {}))
    since: int = 0


def merge(evidence: Iterable[Evidence], resolutions: Iterable[Resolution] = (),
          baseline: tuple[int, Properties] = (0, {})) -> Merged:
    """The entity as the evidence makes it; the same set in any order gives the same result.

    baseline: (version, state) the entity had before any evidence, e.g. a registry record imported as version 1.
    """
    items, superseded = _standing(evidence)
    merged = Merged(superseded=superseded)
    return _merge_onto(Tail(baseline[0], baseline[0], dict(baseline[1])), _generations(items, baseline[0]),
                       _chosen(resolutions), merged)


def extend(tail: Tail, evidence: Iterable[Evidence], resolutions: Iterable[Resolution] = ()) -> Merged | None:
    """The merge of everything `tail` came from and this new evidence, or None when only a replay can tell.

    The new evidence must be the only evidence not yet merged into the tail, and the caller has checked that none
    of it supersedes, or is superseded by, evidence merged before: those reach back into the history.
    """
    items, superseded = _standing(evidence)
    generations = _generations(items, tail.floor)
    if tail.generation is not None and generations:
        if min(generations) < tail.generation:
            return None  # an older generation: everything after it may change
        for item in generations.get(tail.generation, ()):
            run = tail.devices.get(item.device_id)
            if run is not None and _order(item) <= run.last:
                return None  # before another of its device's submissions: that one's changes may change
    merged = Merged(superseded=superseded, since=min(generations, default=tail.version))
    return _merge_onto(tail, generations, _chosen(resolutions), merged)


def conflicts_of(tail: Tail, resolutions: Iterable[Resolution] = ()) -> list[Conflict]:
    """The conflicts of the tail's own generation, as the merge that made the tail found them."""
    if tail.generation is None:
        return []
    return _generation(tail.base, tail.devices, tail.generation, _chosen(resolutions).get(tail.generation, {}))[1]


def _standing(evidence: Iterable[Evidence]) -> tuple[list[Evidence], set[str]]:
    """The evidence no other evidence corrects, and the uuids of what is corrected."""
    items = {e.uuid: e for e in evidence}
    superseded = {e.supersedes for e in items.values() if e.supersedes in items}
    return [item for item in items.values() if item.uuid not in superseded], superseded


def _generations(items: list[Evidence], floor: int) -> dict[int, list[Evidence]]:
    generations: dict[int, list[Evidence]] = defaultdict(list)
    for item in items:
        # A device cannot have seen a version before the baseline: such evidence starts from the baseline.
        generations[max(item.base_version or 0, floor)].append(item)
    return generations


def _chosen(resolutions: Iterable[Resolution]) -> dict[int, dict[str, Any]]:
    chosen: dict[int, dict[str, Any]] = defaultdict(dict)
    for resolution in resolutions:
        chosen[resolution.generation][resolution.property] = resolution.value
    return chosen


def _merge_onto(tail: Tail, generations: dict[int, list[Evidence]], chosen: dict[int, dict[str, Any]],
                merged: Merged) -> Merged:
    """Applies the generations in ascending order: generation b makes version b + 1 from the latest state (every
    earlier generation made a version <= b); evidence of the tail's own generation joins it instead."""
    for generation in sorted(generations):
        items = generations[generation]
        if generation == tail.generation:
            base, runs, uuids = tail.base, _runs(tail.base, items, tail.devices), (*tail.uuids, *(e.uuid for e in items))
        else:
            base, runs, uuids = tail.state, _runs(tail.state, items, {}), tuple(e.uuid for e in items)
        changes, conflicts = _generation(base, runs, generation, chosen.get(generation, {}))
        state = {**base, **{name: after for name, (_, after) in changes.items()}}
        tail = Tail(tail.floor, generation + 1, state, generation, base, runs, tuple(sorted(uuids)))
        merged.versions.append(Version(tail.version, tail.uuids, changes))
        merged.conflicts += conflicts
    merged.version, merged.state, merged.tail = tail.version, dict(tail.state), tail
    return merged


def _runs(base: Properties, items: list[Evidence], runs: Mapping[str, DeviceRun]) -> dict[str, DeviceRun]:
    """Each device's run through its submissions of one generation, continuing the runs already made."""
    by_device: dict[str, list[Evidence]] = defaultdict(list)
    for item in items:
        by_device[item.device_id].append(item)
    result = dict(runs)
    for device_id, device_items in by_device.items():
        result[device_id] = _device_run(base, device_items, runs.get(device_id))
    return result


def _generation(base: Properties, runs: Mapping[str, DeviceRun], generation: int,
                chosen: Mapping[str, Any]) -> tuple[dict[str, tuple[Any, Any]], list[Conflict]]:
    """The changes one generation applies to its base, and its conflicts."""
    if len(runs) == 1:  # one device: nothing to merge or to conflict over (the common case)
        run, = runs.values()
        return {name: (base.get(name), value) for name, (value, _) in sorted(run.changes.items())}, []
    proposals: dict[str, list[Candidate]] = defaultdict(list)
    for device_id in sorted(runs):
        for name, (value, uuid) in runs[device_id].changes.items():
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


def _device_run(base: Properties, items: list[Evidence], previous: DeviceRun | None) -> DeviceRun:
    """What one device's submissions of one generation change, each after the one before it on that device.

    A change back to the base value is dropped, so the base and the changes kept are the device's running state:
    a run continues from them as it would have from its submissions.
    """
    running = dict(base)
    changes: dict[str, tuple[Any, str]] = {}
    if previous is not None:
        changes.update(previous.changes)
        running.update((name, value) for name, (value, _) in previous.changes.items())
    ordered = sorted(items, key=_order)
    for item in ordered:
        for name, value in item.carried.items():
            if name not in running or _key(running[name]) != _key(value):
                running[name] = value
                changes[name] = (value, item.uuid)
    kept = {name: change for name, change in changes.items() if name not in base or _key(base[name]) != _key(change[0])}
    return DeviceRun(_order(ordered[-1]), kept)


def _order(item: Evidence) -> tuple[str, str]:
    return item.made_at, item.uuid


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
