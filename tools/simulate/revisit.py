"""A revisit's answers: what the pull pre-filled, put back into the form's fields, with a few answered anew."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

from survey_forms.definition import FormDefinition
from survey_forms.prefill import prefill_fields

CHANGED = (1, 3)  # how many pre-filled answers the enumerator gives anew on a visit
NO_CHANGE = (0, 0)  # a visit that gives every pre-filled answer as pulled
# Who a member is: what the server finds the person again by (name and birth year, or the ID number) and what makes
# the family (sex, relation to the head). A revisit never redraws them, or it would add a person. The ID number is
# not pulled (sync/pull.py), so it stays unanswered rather than made up.
KEPT = ("person.name", "person.birth_date", "person.id_card_no", "person.sex", "person.relation_to_head")
# What the phone shows for a member the pull knows nothing more of (a registry household's first visit).
KNOWN_MEMBER = {"person.member_status": "present"}
_ROW_PATH = re.compile(r"(\w+)\[(\d+)\]\.(\w+)")


def answers(definition: FormDefinition, prefill: Mapping[str, Any], members: list[dict[str, Any]],
            rng: random.Random, changes: tuple[int, int] = CHANGED) -> dict[str, Any]:
    """Top-level answers for formfill's overrides: the pre-filled ones and one row per pulled member.

    The members come as the pull sends them (person_key and pre-filled person properties); each row is filled from
    the member with the same person_key, so the household keeps its people. A few (`changes`) pre-filled answers
    are left out, for formfill to draw again: the enumerator changes what has changed since the last visit.
    """
    fields = prefill_fields(definition.document)
    # A property pulled as null was cleared (a visit made its field irrelevant): there is nothing to pre-fill.
    given = {name: prefill[_property(target)] for name, target in fields[None].items()
             if prefill.get(_property(target)) is not None}
    changeable = list(given)
    for repeat, targets in fields.items():
        if repeat is not None and members and any(target.startswith("person.") for target in targets.values()):
            rows = _people(targets, members)
            given[repeat] = rows
            changeable += [f"{repeat}[{index}].{name}" for index, row in enumerate(rows) for name, value in row.items()
                           if value is not None and targets[name] not in KEPT]
    for path in rng.sample(changeable, min(len(changeable), rng.randint(*changes))):
        forget(given, path)
    return given


def forget(given: dict[str, Any], path: str) -> bool:
    """Leaves one answer (a validator path: "phone", "members[2].education_level") for formfill to draw; False if absent.

    A repeat is never forgotten whole: the household keeps its people.
    """
    match = _ROW_PATH.fullmatch(path)
    if match is None:
        if path not in given or _rows(given[path]):
            return False
        del given[path]
        return True
    rows = given.get(match[1])
    index = int(match[2])
    if _rows(rows) and index < len(rows) and match[3] in rows[index]:
        del rows[index][match[3]]
        return True
    return False


def unanswered_removed(data: dict[str, Any]) -> dict[str, Any]:
    """The data as sent: an answer the revisit kept unanswered (None) is left out, as forms.md has it."""
    return {name: [{k: v for k, v in row.items() if v is not None} for row in value] if _rows(value) else value
            for name, value in data.items() if value is not None}


def _people(targets: Mapping[str, str], members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per person, by person_key; two keys with one name and birth date are one person shown twice.

    That happens when the server knew someone by ID number and a later visit, which could not give the number,
    named them by name and birth year: the enumerator records the person once.
    """
    rows: dict[tuple[Any, Any], dict[str, Any]] = {}
    for member in sorted(members, key=lambda m: str(m.get("person_key"))):
        row = _row(targets, member)
        rows.setdefault((member.get("name"), member.get("birth_date")), row)
    return list(rows.values())


def _row(targets: Mapping[str, str], member: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, target in targets.items():
        value = member.get(_property(target), KNOWN_MEMBER.get(target))
        if value is not None or target in KEPT:
            row[name] = value  # None: kept unanswered, as the ID number the pull does not carry
    return row


def _rows(value: Any) -> bool:
    return type(value) is list and any(type(row) is dict for row in value)


def _property(target: str) -> str:
    return target.partition(".")[2]
