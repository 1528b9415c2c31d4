"""What a submission says about its entity: the values its fields carry to their `save_to` properties.

Driven by the form's save_to mappings alone, so one code path serves every form. A household's members become
properties "members/<person key>/<property>", the key being the keyed hash of the ID number, else name and birth
year: the same person is found again on the next visit instead of being added twice. ID numbers are replaced by
their keyed hash before anything is merged or stored (the clear text goes only to the encrypted column), and phone
numbers by their deterministic seal (core.pii), which merges like the clear text would.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from core.pii import ID_CARD_PROPERTIES, PHONE_PROPERTIES, Protector
from survey_forms.checks import answered
from survey_forms.levels import levels_of
from survey_forms.validator import Irrelevant

# Reconciliation's own namespace for ids it makes (a new household from the submission that created it).
NAMESPACE = uuid.UUID("8d5f3c2e-6a1b-4c7d-9e2f-3b4a5c6d7e8f")
# The answers sealed in a stored payload (randomised, bound to the submission: core.pii.Protector.seal).
SEALED_ANSWERS = ID_CARD_PROPERTIES | PHONE_PROPERTIES
# A household visit also carries the area it was made in, so a household that moved is a change in its history
# like any other (protocol.md), merged and in conflict like the rest.
AREA = "area_code"
MEMBER = "members/"
ID_KEY = "id:"
_ID_MEMBER, _NAME_MEMBER = MEMBER + ID_KEY, MEMBER + "nb:"
_SEEN = ("name", "birth_date")
# ID key -> {"name": names, "birth_date": birth dates} that member was given: what same_people works from.
Seen = dict[str, dict[str, set[str]]]


@dataclass(frozen=True)
class SaveMap:
    """Where a form's fields save: its entity, top-level field -> property, and per repeat field -> property."""

    entity: str  # household or village
    top: Mapping[str, str]
    repeats: Mapping[str, Mapping[str, str]]

    @classmethod
    def of(cls, document: dict[str, Any]) -> SaveMap:
        top: dict[str, str] = {}
        repeats: dict[str, dict[str, str]] = {}
        for name, level in levels_of(document).items():
            targets = {item.spec["name"]: item.spec["save_to"] for item in level.fields if "save_to" in item.spec}
            if name is None:
                top = targets
            elif targets:
                repeats[name] = targets
        return cls(document["subject"], top, repeats)


def entity_id(subject_type: Any, subject_id: uuid.UUID | None, area_code: str | None, submission_uuid: uuid.UUID,
              supersedes: uuid.UUID | None) -> uuid.UUID | None:
    """The entity a submission is about; a new household is named after the submission that created it.

    A correction of a new household's submission (subject.id still null) belongs to the household its original made.
    """
    if subject_type == "village":
        return village_id(area_code) if area_code else None
    if subject_type != "household":
        return None
    if subject_id is not None:
        return subject_id
    return uuid.uuid5(NAMESPACE, f"household:{supersedes or submission_uuid}")


def village_id(area_code: str) -> uuid.UUID:
    """A village's id in reconciliation (its submissions' entity_id); versions and conflicts name it by area code."""
    return uuid.uuid5(NAMESPACE, f"village:{area_code}")


def with_sealed_answers(save_map: SaveMap, data: dict[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    """A copy of the data with every ID-card and phone answer passed through `change`: sealed to be stored, opened
    to replay or to re-seal under another key."""
    result = dict(data)
    for name, target in save_map.top.items():
        if target in SEALED_ANSWERS and type(result.get(name)) is str:
            result[name] = change(result[name])
    for repeat, targets in save_map.repeats.items():
        names = [name for name, target in targets.items() if target in SEALED_ANSWERS]
        rows = result.get(repeat)
        if names and type(rows) is list:
            result[repeat] = [{**row, **{n: change(row[n]) for n in names if type(row.get(n)) is str}}
                              if type(row) is dict else row for row in rows]
    return result


def sealed_answers(save_map: SaveMap, data: dict[str, Any]) -> Iterator[Any]:
    """Every answer, as sent, that the form saves to an ID-card or phone property."""
    for name, target in save_map.top.items():
        if target in SEALED_ANSWERS:
            yield data.get(name)
    for repeat, targets in save_map.repeats.items():
        rows = data.get(repeat)
        for row in rows if type(rows) is list else ():
            if type(row) is dict:
                yield from (row.get(name) for name, target in targets.items() if target in SEALED_ANSWERS)


def carried(save_map: SaveMap, data: dict[str, Any], area_code: str | None, protector: Protector,
            id_cards: dict[str, str], irrelevant: Irrelevant | None = None) -> dict[str, Any]:
    """The properties a submission carries (unanswered fields carry nothing); ID numbers as their tokens, phone
    numbers sealed. A field the submission's own answers make irrelevant carries null: its property is cleared (a
    loan repaid, a child back in school), where an unanswered relevant one leaves the property as it was.

    id_cards receives token -> clear text, for the encrypted column only.
    """
    values = _carried(save_map.top, data, protector, id_cards)
    if irrelevant is not None:
        # A property another, relevant field of the submission answers keeps that answer.
        values = _cleared(save_map.top, irrelevant.top) | values
    if save_map.entity == "household" and area_code is not None:
        values[AREA] = area_code
    for repeat, targets in save_map.repeats.items():
        rows = data.get(repeat)
        cleared_rows = irrelevant.rows.get(repeat, []) if irrelevant is not None else []
        for index, row in enumerate(rows if type(rows) is list else ()):
            key = person_key(row, targets, protector) if type(row) is dict else None
            if key is not None:
                member = _carried(targets, row, protector, id_cards)
                if index < len(cleared_rows):
                    member = _cleared(targets, cleared_rows[index]) | member
                for name, value in member.items():
                    values[f"{MEMBER}{key}/{name}"] = value
    return values


def _cleared(targets: Mapping[str, str], names: frozenset[str]) -> dict[str, None]:
    """The properties that irrelevant fields save to, as null."""
    return {targets[name].partition(".")[2]: None for name in names if name in targets}


def person_key(row: dict[str, Any], targets: Mapping[str, str], protector: Protector) -> str | None:
    """How a member is recognised again: the keyed hash of the ID number, else name and birth year."""
    by_target = {target: row.get(name) for name, target in targets.items()}
    id_card = by_target.get("person.id_card_no")
    if answered(id_card):
        return ID_KEY + protector.keyed_hash(id_card).hex()[:32]
    return name_key(by_target.get("person.name"), by_target.get("person.birth_date"))


def name_key(name: Any, birth_date: Any) -> str | None:
    """The key of a member recorded without an ID number: name and birth year."""
    if not answered(name) or not isinstance(name, str):
        return None
    return f"nb:{name.strip()}|{str(birth_date)[:4] if answered(birth_date) else '?'}"


def same_people(states: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Name keys that stand for a person also recorded with an ID number: name key -> ID key.

    Phones never receive ID numbers (sync/pull.py), so a revisit names a member by name and birth year where an
    earlier visit gave the number, and a registry member may get a number only later; both are one person. Worked
    out from every state at once, so arrival order cannot matter; a name key two ID-known people share stays apart.
    """
    return aliases(seen_people(states))


def seen_people(states: Iterable[Mapping[str, Any]], seen: Seen | None = None) -> Seen:
    """Every name and birth date each member with an ID key was given in these states, added to `seen` (a copy).

    Every one counts (a visit may have corrected one), not the first one read.
    """
    result: Seen = {key: {prop: set(values) for prop, values in props.items()} for key, props in (seen or {}).items()}
    for state in states:
        for name, value in state.items():
            if name.startswith(_ID_MEMBER):
                key, _, prop = name[len(MEMBER):].partition("/")
                if prop in _SEEN and isinstance(value, str):
                    result.setdefault(key, {"name": set(), "birth_date": set()})[prop].add(value)
    return result


def aliases(seen: Seen) -> dict[str, str]:
    """The name keys of the people seen that stand for exactly one ID key: name key -> ID key."""
    found: dict[str, set[str]] = defaultdict(set)
    for key, values in seen.items():
        for person_name in values["name"]:
            for birth_date in values["birth_date"] or {None}:
                if (alias := name_key(person_name, birth_date)) is not None:
                    found[alias].add(key)
    return {alias: keys.pop() for alias, keys in found.items() if len(keys) == 1}


def renamed(state: Mapping[str, Any], aliases: Mapping[str, str]) -> dict[str, Any]:
    """The state with each aliased member's properties under the member's ID key."""
    result = {}
    for name, value in state.items():
        if name.startswith(_NAME_MEMBER):
            key, _, prop = name[len(MEMBER):].partition("/")
            if key in aliases:
                name = f"{MEMBER}{aliases[key]}/{prop}"
        result[name] = value
    return result


def _carried(targets: Mapping[str, str], values: dict[str, Any], protector: Protector,
             id_cards: dict[str, str]) -> dict[str, Any]:
    carried = {}
    for name, target in targets.items():
        value = values.get(name)
        if not answered(value):
            continue  # no answer is no information, not an erasure
        if target in ID_CARD_PROPERTIES:
            token = "hash:" + protector.keyed_hash(value).hex()
            id_cards[token] = value
            value = token
        elif target in PHONE_PROPERTIES:
            value = protector.seal_value(target, value)
        carried[target.partition(".")[2]] = value
    return carried
