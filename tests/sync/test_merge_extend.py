"""Merging new evidence onto a stored tail (sync.merge.extend) gives what a replay of everything gives, in any order."""

from __future__ import annotations

import json
import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.merge import Evidence, Resolution, Tail, extend, merge

DEVICES = ["phone-a", "phone-b", "phone-c"]
# Few properties and values, so that devices often change one property, differently or alike; 1 and 1.0 merge as
# equal, True and 1 do not.
VALUES = st.sampled_from([0, 1, 1.0, True, "A", "C", None, [1, 2]])
PROPERTIES = st.sampled_from(["a", "b", "c", "members/k1/name"])


def visit(uuid: str, base: int | None, device: str = "phone-a", made_at: str = "2026-11-20T09:00:00+08:00",
          supersedes: str | None = None, **carried) -> Evidence:
    return Evidence(uuid, device, base, made_at, carried, supersedes)


class Stored:
    """What reconciliation keeps of an entity: the tail (as JSON, as the database returns it), its versions and
    conflicts, and which evidence it has merged; a push extends it where it can and replays everything otherwise."""

    def __init__(self, resolutions: list[Resolution], baseline: tuple[int, dict]):
        self.resolutions, self.baseline = resolutions, baseline
        self.evidence: list[Evidence] = []
        self.tail: dict | None = None
        self.versions: list = []
        self.conflicts: list = []

    def push(self, new: list[Evidence]) -> bool:
        """Takes in a push's evidence; True if it was merged onto the tail."""
        merged = extended = None
        if self.tail is not None and not self._reaches_back(new):
            merged = extended = extend(Tail.of_json(self.tail), new, self.resolutions)
        self.evidence += new
        if merged is None:
            merged = merge(self.evidence, self.resolutions, self.baseline)
        self.versions = [v for v in self.versions if v.number <= merged.since] + merged.versions
        self.conflicts = [c for c in self.conflicts if c.generation < merged.since] + merged.conflicts
        self.tail = json.loads(json.dumps(merged.tail.as_json()))
        self.state, self.version = merged.state, merged.version
        return extended is not None

    def _reaches_back(self, new: list[Evidence]) -> bool:
        """The caller's check (sync.reconcile): a correction of merged evidence, or evidence merged ones correct."""
        merged = {e.uuid for e in self.evidence}
        return any(e.supersedes in merged for e in new) or any(e.supersedes in {n.uuid for n in new}
                                                                for e in self.evidence)


@st.composite
def histories(draw) -> tuple[list[Evidence], list[list[int]], list[Resolution], tuple[int, dict]]:
    """Evidence about one entity (corrections and concurrent devices among it), the pushes that bring it in some
    order, supervisors' resolutions, and a baseline."""
    count = draw(st.integers(1, 14))
    items = []
    for index in range(count):
        carried = draw(st.dictionaries(PROPERTIES, VALUES, max_size=4))
        supersedes = f"u{draw(st.integers(0, count - 1))}" if draw(st.integers(0, 5)) == 0 else None
        items.append(Evidence(f"u{index}", draw(st.sampled_from(DEVICES)), draw(st.sampled_from([None, 1, 2, 3, 5])),
                              f"2026-11-2{draw(st.integers(0, 9))}T09:00:00+08:00", carried, supersedes))
    in_order = draw(st.booleans())  # mostly in the order made, as phones that pull before each visit send them
    order = sorted(range(count), key=lambda i: (items[i].base_version or 0, items[i].made_at)) if in_order else \
        draw(st.permutations(range(count)))
    cuts = sorted(draw(st.sets(st.integers(1, max(count - 1, 1)), max_size=count)))
    pushes = [order[a:b] for a, b in zip([0, *cuts], [*cuts, count], strict=True) if order[a:b]]
    resolutions = draw(st.lists(st.builds(Resolution, PROPERTIES, st.sampled_from([0, 1, 2, 3]), VALUES), max_size=2))
    baseline = draw(st.sampled_from([(0, {}), (1, {"a": 0, "members/k1/name": "A"})]))
    return items, pushes, resolutions, baseline


FIGURES: Counter = Counter()


@settings(max_examples=400, deadline=None)
@given(history=histories())
def test_extending_the_stored_tail_gives_what_a_replay_of_everything_gives(history):
    items, pushes, resolutions, baseline = history
    stored = Stored(resolutions, baseline)
    for push in pushes:
        extended = stored.push([items[i] for i in push])
        FIGURES["extended" if extended else "replayed"] += 1
        replay = merge(stored.evidence, resolutions, baseline)
        assert (stored.state, stored.version) == (replay.state, replay.version)
        assert stored.versions == replay.versions
        assert stored.conflicts == replay.conflicts
        assert stored.tail == json.loads(json.dumps(replay.tail.as_json()))


def test_the_property_test_extends_often_and_replays_often():
    """Both paths are taken by the examples above, so the equality is tested on each (run after it, in file order)."""
    if not FIGURES:
        test_extending_the_stored_tail_gives_what_a_replay_of_everything_gives()
    assert FIGURES["extended"] > 100 and FIGURES["replayed"] > 100, FIGURES


def test_an_in_order_revisit_extends_the_tail():
    first = merge([visit("u1", None, income=5000, phone="138")])
    merged = extend(first.tail, [visit("u2", 1, income=7000, phone="138")])
    assert merged is not None and merged.since == 1
    assert merged.state == {"income": 7000, "phone": "138"} and merged.version == 2
    assert [(v.number, dict(v.changes)) for v in merged.versions] == [(2, {"income": (5000, 7000)})]


def test_a_visit_from_the_same_version_joins_its_generation_and_can_make_a_conflict():
    stored = merge([visit("u1", None, housing="A"), visit("ua", 1, "phone-a", housing="C")])
    merged = extend(stored.tail, [visit("ub", 1, "phone-b", housing="D")])
    assert merged is not None and merged.since == 1
    assert merged.state == {"housing": "A"} and [c.property for c in merged.conflicts] == ["housing"]
    assert merged.versions[0].uuids == ("ua", "ub")


def test_an_older_visit_or_one_made_before_its_devices_last_is_left_to_a_replay():
    stored = merge([visit("u1", None, income=5000), visit("u2", 1, income=6000), visit("u3", 2, income=7000)])
    assert extend(stored.tail, [visit("u4", 1, "phone-b", income=5500)]) is None
    evening = merge([visit("u1", None, income=5000), visit("u2", 1, made_at="2026-11-20T18:00:00+08:00", income=6500)])
    assert extend(evening.tail, [visit("u3", 1, made_at="2026-11-20T09:00:00+08:00", income=6000)]) is None


def test_a_tail_survives_the_trip_through_json():
    merged = merge([visit("u1", None, a=[1, 2]), visit("u2", 1, "phone-b", a=1.0), visit("u3", 1, "phone-c", a=True)])
    assert Tail.of_json(json.loads(json.dumps(merged.tail.as_json()))) == merged.tail


def test_shuffled_pushes_of_the_same_evidence_end_in_the_same_entity():
    items = [visit(f"u{i}", base, DEVICES[i % 3], f"2026-11-2{i}T09:00:00+08:00", a=i % 2, b=i)
             for i, base in enumerate([None, 1, 1, 2, 2, 3])]
    ends = set()
    for seed in range(20):
        order = list(items)
        random.Random(seed).shuffle(order)
        stored = Stored([], (0, {}))
        for item in order:
            stored.push([item])
        ends.add(json.dumps([stored.state, stored.version, [v.uuids for v in stored.versions]], sort_keys=True))
    assert len(ends) == 1
