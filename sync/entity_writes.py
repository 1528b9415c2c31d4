"""The rows of a push's merged entities: households, people, villages, versions and conflicts, one statement a table.

A replayed entity gets all its rows written again; an extended one (sync.merge.extend) only what the new evidence
made: its household row, the people whose properties changed, and the versions and conflicts from the generation it
joined on. Statements are sync.bulk's, so a batch's six hundred people are one INSERT.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, text, tuple_
from sqlalchemy.orm import Session

from core import geo
from core.pii import Protector
from server.models import EntityConflict, EntityVersion, Household, Person, Village
from survey_forms.risk_tiers import RaisedFlags
from sync import bulk
from sync.evidence import AREA, MEMBER
from sync.merge import Conflict, Merged

# Person properties that are columns of their own; the rest stay in person.properties.
PERSON_COLUMNS = ("name", "sex", "birth_date", "relation_to_head")
ID_CARD = "id_card_no"
_HOUSEHOLD_COLUMNS = ("area_code", "household_no", "householder_name", "location", "properties", "version",
                      "risk_flags", "watch_flags", "merge_tail")
# Column names from the constants above only, never a value: bandit's B608 is waived on these two lines for that.
_UPSERT_HOUSEHOLDS = "ON CONFLICT (id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _HOUSEHOLD_COLUMNS)  # nosec B608
_UPSERT_PEOPLE = "ON CONFLICT (household_id, person_key) DO UPDATE SET " + ", ".join(  # nosec B608
    f"{c} = excluded.{c}" for c in (*PERSON_COLUMNS, "county_code", "properties", "id_card_hash")) + (
    # A replay without the clear text at hand keeps what was encrypted when the number arrived. A row found by its
    # key under another id (its key renamed in place by a PII key rotation, sync/rekey.py) keeps its own: the number
    # is bound to the row's id, and this one was encrypted for the id a new row gets.
    ", id_card_encrypted = CASE WHEN person.id = excluded.id "
    "THEN coalesce(excluded.id_card_encrypted, person.id_card_encrypted) ELSE person.id_card_encrypted END")
_UPSERT_VILLAGES = ("ON CONFLICT (area_code) DO UPDATE SET properties = excluded.properties, "
                    "version = excluded.version, risk_flags = excluded.risk_flags, merge_tail = excluded.merge_tail, "
                    "updated_at = now()")
# A member gone from the state (only a superseded visit named them, or they now go by their ID key) loses its row;
# rows are matched by person_key, so the people a registry import made keep their ids.
_DROP_PEOPLE = text("""
DELETE FROM person AS p WHERE p.household_id = ANY(CAST(:households AS uuid[])) AND NOT EXISTS (
    SELECT 1 FROM unnest(CAST(:kept_households AS uuid[]), CAST(:kept_keys AS text[])) AS kept (household_id, person_key)
    WHERE kept.household_id = p.household_id AND kept.person_key = p.person_key)
""")
_DROP_MEMBERS = text("""
DELETE FROM person AS p USING unnest(CAST(:households AS uuid[]), CAST(:keys AS text[])) AS gone (household_id, person_key)
WHERE p.household_id = gone.household_id AND p.person_key = gone.person_key
""")
# What an entity's merge made again: versions after its `since` generation, conflicts from it on.
_DROP_HISTORY = (text("""
DELETE FROM entity_version AS v USING unnest(CAST(:types AS text[]), CAST(:ids AS text[]), CAST(:since AS int[]))
    AS e (entity_type, entity_id, since)
WHERE v.entity_type = e.entity_type AND v.entity_id = e.entity_id AND v.version > e.since
"""), text("""
DELETE FROM entity_conflict AS c USING unnest(CAST(:types AS text[]), CAST(:ids AS text[]), CAST(:since AS int[]))
    AS e (entity_type, entity_id, since)
WHERE c.entity_type = e.entity_type AND c.entity_id = e.entity_id AND c.base_version >= e.since
"""))

_DROP_CONFLICTS = text("""
DELETE FROM entity_conflict AS c USING unnest(CAST(:types AS text[]), CAST(:ids AS text[]), CAST(:versions AS int[]),
                                             CAST(:properties AS text[])) AS gone (entity_type, entity_id, version, property)
WHERE c.entity_type = gone.entity_type AND c.entity_id = gone.entity_id AND c.base_version = gone.version
  AND c.property = gone.property
""")


@dataclass(frozen=True)
class Known:
    """What reconciliation reads of a household that exists: what the merge does not say, and how it was merged."""

    id: uuid.UUID
    area_code: str
    household_no: str | None
    registry: dict[str, Any] | None
    merge_tail: dict[str, Any] | None


class EntityWrites:
    """Collects the rows of every merged entity of a batch, then writes each table with one or two statements."""

    def __init__(self, protector: Protector, id_cards: dict[str, str]):
        self.protector, self.id_cards = protector, id_cards
        self.households: list[dict[str, Any]] = []
        self.people: list[dict[str, Any]] = []
        self.villages: list[dict[str, Any]] = []
        self.histories: list[tuple[str, str, Merged]] = []
        self.conflicts: list[tuple[str, str, Conflict]] = []  # to insert
        self.stale: list[tuple[str, str, int, str]] = []  # (type, id, base version, property) of conflicts to delete
        self.diffed: set[tuple[str, str]] = set()  # entities whose conflicts are written by difference
        self.replayed: list[uuid.UUID] = []  # known households whose people are all written again
        self.gone: list[tuple[uuid.UUID, str]] = []  # (household, person key) no longer in an extended state
        self.new_entities: set[tuple[str, str]] = set()  # no versions or conflicts stored yet: nothing to replace

    def household(self, household_id: uuid.UUID, known: Known | None, area_code: str, merged: Merged,
                  flags: RaisedFlags, tail: dict[str, Any] | None, before: Mapping[str, Any] | None,
                  conflicts: list[Conflict] | None = None) -> None:
        """before: the state the merge extended (only the people it changed are written), None after a replay;
        conflicts: those stored of the generation the merge joined (only the ones it changed are written)."""
        own = {name: value for name, value in merged.state.items() if not name.startswith(MEMBER)}
        location = own.get("location")
        area_code = own.pop(AREA, None) or (known.area_code if known is not None else area_code)
        self.households.append({
            "id": household_id, "area_code": area_code,
            "household_no": own.get("national_household_no") or (known.household_no if known is not None else None),
            "householder_name": own.get("householder_name"),
            "location": geo.point(location["lat"], location["lon"]) if isinstance(location, dict) else None,
            # ID numbers never in clear here: forms pre-fill them from the person, not from these properties.
            "properties": {name: value for name, value in own.items() if not str(value).startswith("hash:")},
            "version": merged.version, "risk_flags": flags.risk, "watch_flags": flags.watch, "merge_tail": tail,
        })
        people = _members(merged.state)
        if before is not None and known is not None and known.area_code[:6] == area_code[:6]:
            earlier = _members(before)
            self.gone += [(household_id, key) for key in earlier.keys() - people.keys()]
            people = {key: props for key, props in people.items() if earlier.get(key) != props}
        elif known is not None:
            self.replayed.append(household_id)
        for key, props in sorted(people.items()):
            self.people.append(self._person(household_id, area_code[:6], key, props))
        self._history_of("household", str(household_id), merged, conflicts)
        if known is None:
            self.new_entities.add(("household", str(household_id)))

    def village(self, area_code: str, merged: Merged, tail: dict[str, Any], risk_flags: list[str],
                conflicts: list[Conflict] | None = None) -> None:
        self.villages.append({"area_code": area_code, "properties": merged.state, "version": merged.version,
                              "risk_flags": risk_flags, "merge_tail": tail})
        self._history_of("village", area_code, merged, conflicts)

    def _history_of(self, entity_type: str, entity_id: str, merged: Merged, stored: list[Conflict] | None) -> None:
        self.histories.append((entity_type, entity_id, merged))
        if not stored:
            self.conflicts += [(entity_type, entity_id, c) for c in merged.conflicts]
            return
        self.diffed.add((entity_type, entity_id))
        # Compared as the JSON stored, where 1, 1.0 and true differ (as dataclasses they would be equal).
        made = {(c.generation, c.property): bulk.json_text(_conflict_row(c)) for c in merged.conflicts}
        kept = {(c.generation, c.property): bulk.json_text(_conflict_row(c)) for c in stored}
        self.conflicts += [(entity_type, entity_id, c) for c in merged.conflicts
                           if kept.get((c.generation, c.property)) != made[c.generation, c.property]]
        self.stale += [(entity_type, entity_id, *key) for key, row in kept.items() if made.get(key) != row]

    def _person(self, household_id: uuid.UUID, county_code: str, key: str, props: dict[str, Any]) -> dict[str, Any]:
        person_id = uuid.uuid5(household_id, key)
        token = props.get(ID_CARD)
        clear = self.id_cards.get(token) if token else None
        return {
            "id": person_id, "household_id": household_id, "county_code": county_code, "person_key": key,
            "name": props.get("name") or "", "sex": props.get("sex"), "birth_date": _date(props.get("birth_date")),
            "relation_to_head": props.get("relation_to_head"),
            "properties": {p: v for p, v in props.items() if p not in PERSON_COLUMNS and p != ID_CARD},
            "id_card_hash": bytes.fromhex(token[5:]) if token else None,
            "id_card_encrypted": self.protector.encrypt(clear, person_id.bytes) if clear else None,
        }

    def flush(self, session: Session) -> None:
        if self.households:
            session.execute(*bulk.insert(Household.__table__, self.households, _UPSERT_HOUSEHOLDS))
        if self.replayed:
            session.execute(_DROP_PEOPLE, {"households": self.replayed,
                                           "kept_households": [p["household_id"] for p in self.people],
                                           "kept_keys": [p["person_key"] for p in self.people]})
        if self.gone:
            session.execute(_DROP_MEMBERS, {"households": [h for h, _ in self.gone], "keys": [k for _, k in self.gone]})
        if self.people:
            session.execute(*bulk.insert(Person.__table__, self.people, _UPSERT_PEOPLE))
        if self.villages:
            session.execute(*bulk.insert(Village.__table__, self.villages, _UPSERT_VILLAGES))
        self._history(session)

    def _history(self, session: Session) -> None:
        replaced = [(t, i, merged.since) for t, i, merged in self.histories if (t, i) not in self.new_entities]
        rebuilt = [(t, i) for t, i, since in replaced if since == 0]
        for model in (EntityVersion, EntityConflict) if rebuilt else ():
            # An ORM delete, so that rows a caller's session holds are known gone (conflict resolution reads them).
            session.execute(delete(model).where(tuple_(model.entity_type, model.entity_id).in_(rebuilt)))
        extended = [(t, i, since) for t, i, since in replaced if since != 0]
        drops = [(_DROP_HISTORY[0], extended), (_DROP_HISTORY[1], [e for e in extended if e[:2] not in self.diffed])]
        for statement, entities in drops:
            if entities:
                session.execute(statement, {"types": [t for t, _, _ in entities], "ids": [i for _, i, _ in entities],
                                            "since": [since for _, _, since in entities]})
        if self.stale:
            session.execute(_DROP_CONFLICTS, {name: [row[n] for row in self.stale]
                                              for n, name in enumerate(("types", "ids", "versions", "properties"))})
        versions = [{"entity_type": t, "entity_id": i, "version": v.number, "submission_uuids": list(v.uuids),
                     "changes": v.changes}  # (before, after) pairs: JSON arrays
                    for t, i, merged in self.histories for v in merged.versions]
        conflicts = [{"entity_type": t, "entity_id": i, **_conflict_row(c)} for t, i, c in self.conflicts]
        if versions:
            session.execute(*bulk.insert(EntityVersion.__table__, versions))
        if conflicts:
            session.execute(*bulk.insert(EntityConflict.__table__, conflicts))


def _conflict_row(conflict: Conflict) -> dict[str, Any]:
    return {"property": conflict.property, "base_version": conflict.generation, "base_value": conflict.base_value,
            "resolved": conflict.resolved, "candidates": [{"device_id": x.device_id, "value": x.value, "uuid": x.uuid}
                                                          for x in conflict.candidates]}


def _members(state: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The state's members: person key -> their properties."""
    people: dict[str, dict[str, Any]] = defaultdict(dict)
    for name, value in state.items():
        if name.startswith(MEMBER):
            key, _, prop = name[len(MEMBER):].partition("/")
            people[key][prop] = value
    return people


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
