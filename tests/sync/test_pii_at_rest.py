"""Personal data at rest (reliability P2): ID and phone numbers sealed everywhere they are stored, and key rotation."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import os
import random
import re
import uuid

import flask_migrate
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, text, update

from core.pii import Protector
from schemas.form_definition import form_definition_schema
from server.app import create_app
from server.extensions import db
from server.models import (
    Area,
    ConflictResolution,
    EntityConflict,
    Household,
    Person,
    Role,
    Submission,
    SubmissionState,
    User,
)
from server.services import forms, users
from server.services.push import COMPILED_FORMS
from survey_forms import loader
from sync.compiled_forms import CompiledForms
from sync.evidence import NAMESPACE
from sync.reconcile import reconcile_entities
from sync.rekey import under_old_keys
from sync.sealing import WHOLE, open_payload
from tests.server.conftest import AREAS, PASSWORD
from tests.sync.conftest import AREA, item
from tools import formfill
from tools.formfill.idcard import id_card_no

URL = "/api/v1/sync/submissions"
CANARY_ID, CANARY_PHONE, CANARY_NAME = "11010519491231002X", "13800138000", "测试甲乙丙"
HEAD = {"name": CANARY_NAME, "id_card_no": CANARY_ID, "birth_date": "1949-12-31", "sex": "female",
        "relation_to_head": "head"}
KEY_A, KEY_B = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))


def dump(session) -> str:
    """Every row of every table of ours as text (what pg_dump --data-only shows), read in the test's transaction."""
    tables = session.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                  "AND tablename <> 'spatial_ref_sys' ORDER BY tablename")).all()
    return "\n".join(session.scalar(text(f'SELECT coalesce(string_agg(t::text, \'\n\' ORDER BY t::text), \'\') '
                                         f'FROM "{table}" AS t')) for table in tables)


def leaked(text_dump: str, *canaries: str) -> list[str]:
    """The canaries found in clear, or as the hex of bytes (a bytea column)."""
    return [c for c in canaries if c in text_dump or c.encode().hex() in text_dump]


def visit(definition, data: dict, **changes) -> dict:
    return item(**{"form_id": "household_visit", "form_version": definition.version, "data": data, **changes})


def canary_data(definition, seed: int = 11) -> dict:
    return formfill.fill(definition, random.Random(seed), overrides={  # noqa: S311 - test data
        "phone": CANARY_PHONE, "householder_id_card_no": CANARY_ID, "householder_name": CANARY_NAME,
        "members": [HEAD, {}, {}]})


def push(client, headers: dict, device_id: str, *items: dict) -> list[dict]:
    answer = client.post(URL, json={"device_id": device_id, "sent_at": "2026-11-22T09:30:00+08:00",
                                    "submissions": list(items)}, headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json["results"]


@pytest.fixture
def phone_1(household_form, make_user, sign_in):
    make_user("enum_a")
    return sign_in("enum_a", device_id="phone-1")["auth"]


def test_a_visits_phone_and_id_numbers_are_in_no_table_yet_the_phone_opens(app, client, db_session, household_form,
                                                                          phone_1):
    sent = visit(household_form, canary_data(household_form))
    assert push(client, phone_1, "phone-1", sent)[0]["status"] == "accepted"
    reused = dict(sent, data=dict(sent["data"], income_wage=1))  # the same uuid, other content: kept aside
    assert push(client, phone_1, "phone-1", reused)[0]["status"] == "conflict"

    assert leaked(dump(db_session), CANARY_ID, CANARY_PHONE) == []
    protector = app.extensions["pii"]
    household = db_session.get(Household, uuid.uuid5(NAMESPACE, f"household:{sent['uuid']}"))
    assert household.properties["phone"].startswith(f"pii:{protector.key_id}:")
    assert protector.open_value(household.properties["phone"]) == CANARY_PHONE
    row = db_session.get(Submission, uuid.UUID(sent["uuid"]))
    assert protector.open_value(row.evidence["phone"]) == CANARY_PHONE
    assert row.payload["data"]["phone"].startswith(f"enc:{protector.key_id}:")
    save_map = CompiledForms().save_map(db_session, "household_visit", household_form.version)
    assert open_payload(protector, save_map, row.uuid, row.payload) == sent  # what a rebuild reads: the item as sent

    # The phone seals to the same text every time: a rebuild derives the same evidence and household from the payloads.
    evidence, properties = row.evidence, household.properties
    assert app.test_cli_runner().invoke(args=["entities", "rebuild"]).exit_code == 0
    db_session.expire_all()
    assert db_session.get(Submission, row.uuid).evidence == evidence
    assert db_session.get(Household, household.id).properties == properties


def test_an_item_of_a_form_version_never_published_is_kept_sealed_whole(app, client, db_session, household_form,
                                                                        phone_1):
    sent = visit(household_form, canary_data(household_form), form_version=99)
    first = push(client, phone_1, "phone-1", sent)
    assert first[0]["status"] == "invalid" and first[0]["errors"][0]["code"] == "form_version_unknown"
    assert push(client, phone_1, "phone-1", sent) == first  # a resend answers the same
    reused = dict(sent, data=dict(sent["data"], phone="13900000000"))
    assert push(client, phone_1, "phone-1", reused)[0]["status"] == "conflict"

    row = db_session.get(Submission, uuid.UUID(sent["uuid"]))
    assert row.state == SubmissionState.quarantined
    assert set(row.payload) == {"uuid", "form_id", "form_version", "subject", "attachments", WHOLE}
    assert row.payload["attachments"] == sent["attachments"] and row.payload["subject"] == sent["subject"]
    assert leaked(dump(db_session), CANARY_ID, CANARY_PHONE, CANARY_NAME) == []
    assert open_payload(app.extensions["pii"], None, row.uuid, row.payload) == sent


def test_a_phone_or_id_number_sent_as_a_number_is_quarantined_sealed_whole(app, client, db_session, household_form,
                                                                           phone_1):
    data = canary_data(household_form)
    data["phone"] = int(CANARY_PHONE)  # the wrong type: the form says text, so the item is quarantined
    data["members"][0]["id_card_no"] = int(CANARY_ID[:-1])
    sent = visit(household_form, data)
    [result] = push(client, phone_1, "phone-1", sent)
    assert result["status"] == "invalid" and {e["field"] for e in result["errors"]} >= {"phone"}
    row = db_session.get(Submission, uuid.UUID(sent["uuid"]))
    assert WHOLE in row.payload and "data" not in row.payload
    assert leaked(dump(db_session), CANARY_PHONE, CANARY_ID[:-1]) == []
    save_map = CompiledForms().save_map(db_session, "household_visit", household_form.version)
    assert open_payload(app.extensions["pii"], save_map, row.uuid, row.payload) == sent


def test_a_rotation_under_the_same_key_seals_what_was_stored_in_clear_before_this_version(app, client, db_session,
                                                                                       household_form, phone_1):
    sent, unknown = (visit(household_form, canary_data(household_form), **extra) for extra in ({}, {"form_version": 9}))
    assert [r["status"] for r in push(client, phone_1, "phone-1", sent, unknown)] == ["accepted", "invalid"]
    household_id = uuid.uuid5(NAMESPACE, f"household:{sent['uuid']}")
    phone = {"phone": json.dumps(CANARY_PHONE)}
    # As a database made before phones and unknown items were sealed holds them:
    db_session.execute(text("UPDATE submission SET payload = jsonb_set(payload, '{data,phone}', CAST(:phone AS jsonb)), "
                            "evidence = jsonb_set(evidence, '{phone}', CAST(:phone AS jsonb)) WHERE uuid = :uuid"),
                       phone | {"uuid": sent["uuid"]})
    db_session.execute(text("UPDATE household SET properties = jsonb_set(properties, '{phone}', CAST(:phone AS jsonb)) "
                            "WHERE id = :id"), phone | {"id": household_id})
    db_session.execute(update(Submission).where(Submission.uuid == uuid.UUID(unknown["uuid"])).values(payload=unknown))
    db_session.commit()
    assert leaked(dump(db_session), CANARY_PHONE, CANARY_ID) == [CANARY_PHONE, CANARY_ID]

    result = app.test_cli_runner().invoke(args=["pii", "rotate"])
    assert result.exit_code == 0 and "submission 2" in result.output, result.output
    db_session.expire_all()
    assert leaked(dump(db_session), CANARY_PHONE, CANARY_ID) == []
    row = db_session.get(Submission, uuid.UUID(unknown["uuid"]))
    assert open_payload(app.extensions["pii"], None, row.uuid, row.payload) == unknown
    assert app.extensions["pii"].open_value(db_session.get(Household, household_id).properties["phone"]) == CANARY_PHONE


# Rotation: apps on a database of their own, each with the keys it is given; every request and command commits.


@pytest.fixture
def keyed(empty_database, tmp_path):
    made = []

    def app_with(key: str, old_keys: str = ""):
        app = create_app({**empty_database.overrides(), "TESTING": True, "SECRET_KEY": "x", "PII_KEY": key,
                          "PII_OLD_KEYS": old_keys, "ATTACHMENT_DIR": str(tmp_path)})
        made.append(app)
        return app

    yield app_with
    for app in made:
        with app.app_context():
            db.engine.dispose()


def _token(app, username: str, device_id: str) -> dict[str, str]:
    answer = app.test_client().post("/api/v1/auth/device-tokens", json={
        "username": username, "password": PASSWORD, "device_id": device_id})
    assert answer.status_code == 201, answer.json
    return {"Authorization": f"Bearer {answer.json['token']}"}


def _before_key_ids(key: str, plain: str, context: bytes) -> bytes:
    """person.id_card_encrypted as it was made before key ids: nonce + AES-GCM."""
    nonce = os.urandom(12)
    cipher = AESGCM(hmac.digest(base64.b64decode(key), b"survey pii encryption", hashlib.sha256))
    return nonce + cipher.encrypt(nonce, plain.encode(), context)


@pytest.fixture
def under_a(keyed):
    """Data pushed under key A: a visited household whose phone and a member two devices then changed differently,
    resolved by a supervisor; a resend with other content; an item of an unknown form version; and a household
    imported from the registry, its head known by ID number (encrypted as before key ids) and its phone sealed."""
    app = keyed(KEY_A)
    with app.app_context():
        flask_migrate.upgrade()
        db.session.add_all([Area(code=c, level=lv, parent_code=p, name_zh=n) for c, lv, p, n in AREAS])
        users.create_user(db.session, "enum_a", Role.enumerator, ["532922"], PASSWORD, actor="test")
        users.create_user(db.session, "sup_a", Role.supervisor, ["532922"], PASSWORD, actor="test")
        definitions = loader.load_all(form_definition_schema())
        forms.publish(db.session, definitions, actor="test")
        db.session.commit()
    definition = next(d for d in definitions if d.form_id == "household_visit")
    client, phones = app.test_client(), {d: _token(app, "enum_a", d) for d in ("phone-1", "phone-2", "phone-3")}
    data = canary_data(definition)
    first = visit(definition, data)
    household_id = uuid.uuid5(NAMESPACE, f"household:{first['uuid']}")
    assert push(client, phones["phone-1"], "phone-1", first)[0]["status"] == "accepted"
    subject = {"type": "household", "id": str(household_id), "area_code": AREA}
    changed = []
    for device, phone, training in (("phone-2", "13700000002", "trained"), ("phone-3", "13700000003", "certified")):
        members = copy.deepcopy(data["members"])
        members[0].update(skills_training=training, is_trained=True)  # (the form calculates is_trained)
        changed.append(visit(definition, dict(data, phone=phone, members=members,
                                              trained_members=data["trained_members"] + 1),
                             subject=subject, base_version=1))
        assert push(client, phones[device], device, changed[-1])[0]["status"] == "accepted"
    assert {"phone", "skills_training"} <= _choose(app, household_id, changed[0]["uuid"])
    assert push(client, phones["phone-1"], "phone-1", dict(first, data=dict(data, income_wage=1)))[0][
        "status"] == "conflict"
    assert push(client, phones["phone-1"], "phone-1", visit(definition, data, form_version=99))[0]["status"] == "invalid"
    registry_id, registry_head = _registry_household(app, definition)
    return app, definition, household_id, (registry_id, registry_head)


def _choose(app, household_id: uuid.UUID, choice: str) -> set[str]:
    """A supervisor's choice of one visit for every open conflict from version 1, stored as conflict resolution
    stores it (server/services/conflicts.py), then the household rebuilt; the properties it settled."""
    with app.app_context():
        supervisor = db.session.scalar(select(User.id).where(User.username == "sup_a"))
        conflicts = db.session.scalars(select(EntityConflict).where(EntityConflict.entity_id == str(household_id),
                                                                   EntityConflict.base_version == 1)).all()
        db.session.add_all([ConflictResolution(
            entity_type="household", entity_id=str(household_id), property=c.property, base_version=1,
            value=next(x["value"] for x in c.candidates if x["uuid"] == choice), resolved_by=supervisor)
            for c in conflicts])
        db.session.flush()
        reconcile_entities(db.session, [household_id], app.extensions["pii"], {}, COMPILED_FORMS)
        db.session.commit()
        return {c.property.split("/")[-1] for c in conflicts}


def _registry_household(app, definition) -> tuple[uuid.UUID, dict]:
    """A household as a registry import leaves it (no visit yet), keyed under key A; ids as an importer makes them."""
    protector = app.extensions["pii"]
    number = id_card_no(random.Random(5), "1962-03-04", "male")  # noqa: S311 - test data
    head = {"name": "杨登记", "id_card_no": number, "birth_date": "1962-03-04", "sex": "male", "relation_to_head": "head"}
    key = "id:" + protector.keyed_hash(number).hex()[:32]
    household_id, person_id = uuid.uuid4(), uuid.uuid4()
    members = {f"members/{key}/{name}": head[name] for name in ("name", "birth_date", "sex", "relation_to_head")}
    phone = protector.seal_value("household.phone", "13600000006")
    with app.app_context():
        db.session.add(Household(id=household_id, area_code=AREA, householder_name=head["name"], properties={
            "phone": phone}, registry={"householder_name": head["name"], "phone": phone, **members,
                                       "householder_id_card_no": "hash:" + protector.keyed_hash(number).hex()}))
        db.session.flush()
        db.session.add(Person(id=person_id, household_id=household_id, county_code=AREA[:6], name=head["name"],
                              sex="male", relation_to_head="head", person_key=key,
                              id_card_hash=protector.keyed_hash(number),
                              id_card_encrypted=_before_key_ids(KEY_A, number, person_id.bytes)))
        db.session.commit()
    return household_id, head


def _state(app) -> dict:
    """Households and people as a reader sees them: phones opened, ID numbers decrypted, versions and conflicts."""
    protector = app.extensions["pii"]
    with app.app_context():
        households = {h.id: (h.version, h.area_code, {k: protector.open_value(v) for k, v in h.properties.items()})
                      for h in db.session.scalars(select(Household))}
        people = {p.id: (p.household_id, p.name, protector.decrypt(p.id_card_encrypted, p.id.bytes)
                         if p.id_card_encrypted else None) for p in db.session.scalars(select(Person))}
        conflicts = sorted((c.entity_id, c.property.split("/")[-1], c.resolved)
                           for c in db.session.scalars(select(EntityConflict)))
        return {"households": households, "people": people, "conflicts": conflicts}


def test_a_rotation_re_seals_everything_under_the_new_key_and_nothing_else_changes(keyed, under_a):
    app_a, definition, household_id, (registry_id, registry_head) = under_a
    kid_a, before = app_a.extensions["pii"].key_id, _state(app_a)
    assert before["people"] and CANARY_ID in {number for _, _, number in before["people"].values()}

    rotating = keyed(KEY_B, KEY_A)
    with rotating.app_context():
        stale = under_old_keys(db.session, rotating.extensions["pii"])
    assert all(stale[table] for table in ("submission", "submission_conflict", "household", "person", "entity_version",
                                          "entity_conflict", "conflict_resolution")), stale
    result = rotating.test_cli_runner().invoke(args=["pii", "rotate", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "Rows still under an old key: 0." in result.output and "person 3" in result.output

    app_b = keyed(KEY_B)  # the old key removed from the configuration
    kid_b = app_b.extensions["pii"].key_id
    assert _state(app_b) == before  # people keep their ids and numbers; households and conflicts as they were
    with app_b.app_context():
        everything = dump(db.session)
    assert leaked(everything, CANARY_ID, CANARY_PHONE, registry_head["id_card_no"]) == []
    assert not re.search(rf"(enc|pii):{kid_a}:|\\x01{kid_a}|\"enc:[A-Za-z0-9+/]+=*\"", everything)
    assert f"pii:{kid_b}:" in everything and f"enc:{kid_b}:" in everything and f"\\x01{kid_b}" in everything

    assert app_b.test_cli_runner().invoke(args=["entities", "rebuild"]).exit_code == 0
    assert _state(app_b) == before
    again = app_b.test_cli_runner().invoke(args=["pii", "rotate"])  # nothing is left to re-seal
    assert again.exit_code == 0 and f"Re-sealed under key {kid_b}: nothing." in again.output, again.output
    # The next visits name the same ID numbers: the same people are found, none added.
    phone = _token(app_b, "enum_a", "phone-1")
    version = before["households"][household_id][0]
    data = canary_data(definition)
    revisit = visit(definition, data, subject={"type": "household", "id": str(household_id), "area_code": AREA},
                    base_version=version)
    registry_visit = visit(definition, formfill.fill(definition, random.Random(6), overrides={  # noqa: S311
        "householder_name": registry_head["name"], "householder_id_card_no": registry_head["id_card_no"],
        "members": [registry_head]}), subject={"type": "household", "id": str(registry_id), "area_code": AREA},
                           base_version=1)
    results = push(app_b.test_client(), phone, "phone-1", revisit, registry_visit)
    assert [r["status"] for r in results] == ["accepted", "accepted"], results
    after = _state(app_b)
    assert after["people"].keys() == before["people"].keys()
    assert after["households"][household_id][0] == version + 1
    assert after["households"][registry_id][2]["phone"] == "13600000006"


def test_a_value_no_configured_key_opens_makes_the_rotation_refuse_and_change_nothing(keyed, under_a):
    app_a, registry_id = under_a[0], under_a[3][0]
    lost = Protector.from_base64(base64.b64encode(os.urandom(32)).decode())  # a key nobody kept
    with app_a.app_context():
        person = db.session.scalars(select(Person).where(Person.household_id == registry_id)).one()
        person_id = person.id
        person.id_card_encrypted = lost.encrypt("11010519491231002X", person_id.bytes)
        db.session.commit()
        before = dump(db.session)
    # The payloads are re-sealed before the people are read: the refusal has to undo that work too.
    result = keyed(KEY_B, KEY_A).test_cli_runner().invoke(args=["pii", "rotate"])
    assert result.exit_code == 1
    assert f"pii_unreadable): person row {person_id}" in result.output and lost.key_id in result.output
    assert "nothing was changed" in result.output and "submission: " in result.output
    with app_a.app_context():
        assert dump(db.session) == before
