"""PII key rotation: everything sealed under an old key re-sealed under PII_KEY, and ID numbers' hashes re-keyed."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, Text, bindparam, cast, func, select, text, true, update
from sqlalchemy.orm import Session

from core.errors import PiiUnreadable
from core.pii import COMPARABLE, HEADER_BYTES, SEALED, VERSION, Protector, UnreadableSeal
from server.models import ConflictResolution, Household, Person, Submission, SubmissionConflict, Village
from sync.compiled_forms import CompiledForms
from sync.evidence import ID_KEY, MEMBER
from sync.reconcile import rebuild_all
from sync.sealing import open_payload, save_map_of, seal_payload

HASH = "hash:"  # an ID number's keyed hash (sync.evidence), derived from the key like everything sealed
# Every column a sealed value can reach: what must hold nothing under another key once a rotation is done.
SEALED_COLUMNS = {"submission": ("payload", "evidence"), "submission_conflict": ("payload",),
                  "household": ("properties", "registry"), "village": ("properties",), "entity_version": ("changes",),
                  "entity_conflict": ("base_value", "candidates"), "conflict_resolution": ("value",)}


@dataclass
class Rotation:
    key_id: str  # the key everything is sealed with now
    resealed: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # table -> rows rewritten
    entities: int = 0  # households and villages rebuilt from their submissions
    remaining: dict[str, int] = field(default_factory=dict)  # table -> rows still holding a value of another key

    def summary(self) -> str:
        resealed = ", ".join(f"{table} {count:,}" for table, count in sorted(self.resealed.items()) if count)
        left = sum(self.remaining.values())
        lines = [f"Re-sealed under key {self.key_id}: {resealed or 'nothing'}.",
                 f"Rebuilt {self.entities:,} entities from their submissions.",
                 f"Rows still under an old key: {left:,}."]
        if left:
            lines.append("Keep PII_OLD_KEYS: " + ", ".join(f"{t} {n:,}" for t, n in sorted(self.remaining.items()) if n))
        else:
            lines.append("PII_OLD_KEYS can now be removed from the configuration.")
        return "\n".join(lines)


def rotate(session: Session, forms: CompiledForms, protector: Protector, batch: int = 500,
           progress: Callable[[str], None] | None = None) -> Rotation:
    """Re-seals every sealed value under the protector's current key, re-keys ID numbers' hashes in place (people
    keep their ids and the next visit still finds them), then rebuilds every entity from its submissions.

    Values sealed before key ids are re-sealed too, and so are payloads stored before phones (and items of unknown
    forms) were sealed. The caller commits once: an unreadable value stops the rotation with nothing changed.

    Raises:
        PiiUnreadable: a stored value that no configured key opens; its details name the table and row.
    """
    say = progress or (lambda message: None)
    rotation = Rotation(protector.key_id)
    for table, column in ((Submission.__table__, "uuid"), (SubmissionConflict.__table__, "submission_uuid")):
        _payloads(session, forms, protector, table, column, batch, rotation, say)
    _households(session, protector, batch, rotation, say)
    for table, column in ((Village.__table__, "properties"), (ConflictResolution.__table__, "value")):
        _stale_values(session, protector, table, column, rotation)
    rotation.entities = rebuild_all(session, forms, protector, batch,
                                    lambda done, total, _last: say(f"rebuilt {done:,} of {total:,} entities"))
    rotation.remaining = under_old_keys(session, protector)
    return rotation


def under_old_keys(session: Session, protector: Protector) -> dict[str, int]:
    """Per table, the rows holding a value sealed under another key than the current one, or before key ids."""
    stale = f'"({SEALED[:-1]}|{COMPARABLE[:-1]}):(?!{protector.key_id}:)'
    counts = {}
    for table, columns in SEALED_COLUMNS.items():
        where = " OR ".join(f"{column}::text ~ :stale" for column in columns)
        counts[table] = session.scalar(text(f"SELECT count(*) FROM {table} WHERE {where}"), {"stale": stale})  # nosec B608  # noqa: S608 (names from SEALED_COLUMNS)
    counts["person"] = session.scalar(select(func.count()).select_from(Person).where(
        Person.id_card_encrypted.is_not(None),
        func.substring(Person.id_card_encrypted, 1, HEADER_BYTES) != bytes([VERSION]) + bytes.fromhex(protector.key_id)))
    return counts


@contextmanager
def _reading(table: str, row: Any) -> Iterator[None]:
    try:
        yield
    except UnreadableSeal as error:
        raise PiiUnreadable(f"{table} row {row}: {error}. Add the key it was sealed with to PII_OLD_KEYS and run the "
                            "rotation again; nothing was changed.", details={"table": table, "row": str(row)}) from error


def _payloads(session: Session, forms: CompiledForms, protector: Protector, table: Table, uuid_column: str,
              batch: int, rotation: Rotation, say: Callable[[str], None]) -> None:
    """Each stored payload opened with whichever key sealed it and sealed again, in batches by primary key."""
    key = next(iter(table.primary_key.columns))
    last, read = None, 0
    while rows := session.execute(select(key, table.c[uuid_column], table.c.payload).where(
            key > last if last is not None else true()).order_by(key).limit(batch)).all():
        changed = []
        for row_key, submission_uuid, payload in rows:
            with _reading(table.name, row_key):
                item = open_payload(protector, save_map_of(session, forms, payload), submission_uuid, payload)
            resealed = seal_payload(protector, save_map_of(session, forms, item), submission_uuid, item)
            if _shape(resealed, protector.key_id) != _shape(payload, protector.key_id):
                changed.append({"b_key": row_key, "b_payload": resealed})
        if changed:
            session.execute(update(table).where(key == bindparam("b_key")).values(payload=bindparam("b_payload")),
                            changed)
        last, read = rows[-1][0], read + len(rows)
        rotation.resealed[table.name] += len(changed)
        say(f"{table.name}: {read:,} rows read, {rotation.resealed[table.name]:,} re-sealed")


def _households(session: Session, protector: Protector, batch: int, rotation: Rotation,
                say: Callable[[str], None]) -> None:
    """People's numbers re-encrypted and re-hashed, and what names them by hash (registry, resolutions) renamed."""
    last, read = None, 0
    while rows := session.execute(select(Household.id, Household.registry, Household.properties).where(
            Household.id > last if last is not None else true()).order_by(Household.id).limit(batch)).all():
        names = _people(session, protector, [row.id for row in rows], rotation)
        changed = []
        for row in rows:
            registry, properties = (_rekeyed(value, protector, names[row.id], "household", row.id)
                                    for value in (row.registry, row.properties))
            if (registry, properties) != (row.registry, row.properties):
                changed.append({"b_id": row.id, "b_registry": registry, "b_properties": properties})
        if changed:
            table = Household.__table__
            session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
                registry=bindparam("b_registry"), properties=bindparam("b_properties")), changed)
        rotation.resealed["household"] += len(changed)
        _resolutions(session, protector, names, rotation)
        last, read = rows[-1].id, read + len(rows)
        say(f"household: {read:,} rows read, {rotation.resealed['person']:,} people re-keyed")


def _people(session: Session, protector: Protector, household_ids: list[uuid.UUID],
            rotation: Rotation) -> dict[uuid.UUID, dict[str, str]]:
    """Re-keys the people of these households; per household, each old hash token and person key -> the new one."""
    names: dict[uuid.UUID, dict[str, str]] = defaultdict(dict)
    changed = []
    for person in session.execute(select(Person.id, Person.household_id, Person.person_key, Person.id_card_encrypted,
                                         Person.id_card_hash).where(Person.household_id.in_(household_ids),
                                                                    Person.id_card_encrypted.is_not(None))):
        with _reading("person", person.id):
            number = protector.decrypt(person.id_card_encrypted, person.id.bytes)
        new = protector.keyed_hash(number)
        for old in {*protector.keyed_hashes(number), *([person.id_card_hash] if person.id_card_hash else [])}:
            names[person.household_id][HASH + old.hex()] = HASH + new.hex()
            names[person.household_id][ID_KEY + old.hex()[:32]] = ID_KEY + new.hex()[:32]
        # Renamed in place, so the person keeps its id (and the number stays bound to it): the rebuild finds the row
        # by its new key, which is what every payload's number now hashes to.
        key = names[person.household_id].get(person.person_key, person.person_key)
        if (protector.key_id_of(person.id_card_encrypted) != protector.key_id or person.id_card_hash != new
                or key != person.person_key):
            changed.append({"b_id": person.id, "b_key": key, "b_hash": new,
                            "b_encrypted": protector.encrypt(number, person.id.bytes)})
    if changed:
        table = Person.__table__
        session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
            person_key=bindparam("b_key"), id_card_hash=bindparam("b_hash"),
            id_card_encrypted=bindparam("b_encrypted")), changed)
    rotation.resealed["person"] += len(changed)
    return names


def _resolutions(session: Session, protector: Protector, names: Mapping[uuid.UUID, Mapping[str, str]],
                 rotation: Rotation) -> None:
    """Supervisors' choices about these households, their member names and sealed values under the new key."""
    table = ConflictResolution.__table__
    rows = session.execute(select(table).where(table.c.entity_type == "household",
                                               table.c.entity_id.in_([str(i) for i in names]))).all()
    for row in rows:
        household_names = names[uuid.UUID(row.entity_id)]
        prop = _member_renamed(row.property, household_names)
        value = _rekeyed(row.value, protector, household_names, "conflict_resolution", row.property)
        if (prop, value) != (row.property, row.value):
            session.execute(update(table).where(
                table.c.entity_type == row.entity_type, table.c.entity_id == row.entity_id,
                table.c.property == row.property, table.c.base_version == row.base_version).values(
                property=prop, value=value))
            rotation.resealed["conflict_resolution"] += 1


def _stale_values(session: Session, protector: Protector, table: Table, column: str, rotation: Rotation) -> None:
    """Deterministic seals of another key in a JSON column no household pass reached (villages, their choices)."""
    stale = f'"{COMPARABLE}(?!{protector.key_id}:)'
    keys = list(table.primary_key.columns)
    for row in session.execute(select(*keys, table.c[column]).where(cast(table.c[column], Text).regexp_match(stale))):
        where = [key == row[i] for i, key in enumerate(keys)]
        value = _rekeyed(row[-1], protector, {}, table.name, "/".join(map(str, row[:-1])))
        session.execute(update(table).where(*where).values({column: value}))
        rotation.resealed[table.name] += 1


def _rekeyed(value: Any, protector: Protector, names: Mapping[str, str], table: str, row: Any) -> Any:
    """A JSON value with its deterministic seals made again under the current key and its old hashes renamed."""
    if isinstance(value, str):
        if value.startswith(COMPARABLE):
            with _reading(table, row):
                return protector.reseal_value(value)
        return names.get(value, value)
    if isinstance(value, list):
        return [_rekeyed(v, protector, names, table, row) for v in value]
    if isinstance(value, dict):
        return {_member_renamed(k, names): _rekeyed(v, protector, names, table, row) for k, v in value.items()}
    return value


def _member_renamed(name: str, names: Mapping[str, str]) -> str:
    """"members/<old key>/<property>" under the member's new key."""
    if not name.startswith(MEMBER):
        return name
    key, slash, rest = name[len(MEMBER):].partition("/")
    return f"{MEMBER}{names.get(key, key)}{slash}{rest}"


def _shape(value: Any, key_id: str) -> Any:
    """The value with each seal of the current key cut to its prefix: what sealing it again would not change."""
    current = f"{SEALED}{key_id}:"
    if isinstance(value, str):
        return current if value.startswith(current) else value
    if isinstance(value, list):
        return [_shape(v, key_id) for v in value]
    if isinstance(value, dict):
        return {k: _shape(v, key_id) for k, v in value.items()}
    return value
