"""The simulator against a live gunicorn: acknowledged submissions stored once, broken ones quarantined, files whole."""

from __future__ import annotations

import hashlib
import random
from collections import Counter

import pytest
from sqlalchemy import Engine, text

from survey_forms.prefill import prefill_fields
from sync.blobs import FileBlobStore
from tests.live.conftest import ENUMERATOR, LiveServer
from tools.simulate import Client, Device, DeviceSettings, Mix, Options, SimulationResult, simulate
from tools.simulate.command import main

DEVICES = 3
SUBMISSIONS = 60
INVALID_SHARE = 0.1


@pytest.fixture(scope="module")
def first_run(live_server: LiveServer) -> SimulationResult:
    options = Options(url=live_server.url, username=ENUMERATOR.username, password=ENUMERATOR.password, devices=DEVICES,
                      submissions=SUBMISSIONS, batch=25, invalid_share=INVALID_SHARE, seed=7001)
    return simulate(options)


def _stored(live_db: Engine, result: SimulationResult) -> list:
    devices = [d.settings.device_id for d in result.devices]
    with live_db.connect() as connection:
        return connection.execute(text("select uuid::text, state::text from submission where device_id = any(:devices)"),
                                  {"devices": devices}).all()


def test_every_device_sends_everything_and_accounts_for_every_acknowledgement(first_run):
    assert first_run.failures == []
    assert first_run.pending == 0
    assert first_run.accounting_problems == []
    assert first_run.sync.protocol_errors == []
    assert first_run.sync.http_errors == Counter()
    assert first_run.unaccounted == []  # every acknowledged submission came back `duplicate` when resent
    assert first_run.exit_code == 0


def test_accepted_submissions_are_stored_exactly_once_and_broken_ones_quarantined(first_run, live_db):
    made = {uid: m for d in first_run.devices for uid, m in d.made.items()}
    broken = {uid for uid, m in made.items() if m.broken}
    assert len(made) == DEVICES * SUBMISSIONS
    assert 0 < len(broken) < len(made)
    assert first_run.sync.surprises == []  # each item was answered as it was meant: valid accepted, broken invalid
    assert first_run.count("accepted") + first_run.count("duplicate") == len(made) - len(broken)
    assert first_run.count("invalid") == len(broken)
    assert first_run.count("conflict") == 0

    with live_db.connect() as connection:
        counted = connection.execute(text("select count(*), count(distinct uuid) from submission where device_id = any(:ids)"),
                                     {"ids": [d.settings.device_id for d in first_run.devices]}).one()
    assert tuple(counted) == (len(made), len(made))
    rows = _stored(live_db, first_run)
    states = dict(rows)
    acknowledged = {uid for d in first_run.devices for uid in d.ledger}
    assert acknowledged == made.keys() - broken
    assert {uid for uid, state in states.items() if state == "accepted"} == acknowledged
    assert {uid for uid, state in states.items() if state == "quarantined"} == broken
    for device in first_run.devices:
        for uid, held in device.held.items():
            assert held.status == "invalid" and held.errors, uid


def test_accepted_submissions_have_every_declared_file_stored_with_its_hash(first_run, live_db, live_server):
    declared = {(m.uuid, a["name"]): a["sha256"] for d in first_run.devices for m in d.made.values() if not m.broken
                for a in m.item["attachments"]}
    assert declared, "the forms declare photos, so some submissions must carry files"
    with live_db.connect() as connection:
        stored = connection.execute(text("select submission_uuid::text, name, sha256 from attachment "
                                         "where submission_uuid = any(cast(:uuids as uuid[]))"),
                                    {"uuids": list({uid for uid, _ in declared})}).all()
    assert {(uid, name): sha for uid, name, sha in stored} == declared
    store = FileBlobStore(live_server.attachment_dir)  # the bytes themselves, whole, under their hash
    assert all(hashlib.sha256(store.read(sha)).hexdigest() == sha for sha in set(declared.values()))
    with_files = {uid for uid, _ in declared}
    assert with_files <= {uid for d in first_run.devices for uid in d.complete}  # the server said so, too


def test_resending_the_whole_outbox_is_answered_duplicate_and_stores_nothing_new(first_run, live_db):
    before = _stored(live_db, first_run)
    for device in first_run.devices:
        errors_before = {uid: held.errors for uid, held in device.held.items()}
        uploaded_before = device.stats.files_stored + device.stats.files_again
        device.requeue(list(device.made))
        tally = device.sync()
        assert tally == Counter(duplicate=len(device.ledger), invalid=len(errors_before))
        assert {uid: held.errors for uid, held in device.held.items()} == errors_before  # the same errors again
        assert device.outbox == {}
        assert device.stats.files_stored + device.stats.files_again == uploaded_before  # nothing uploaded twice
    assert sorted(_stored(live_db, first_run)) == sorted(before)


def test_a_device_pulls_every_page_of_its_scope_and_keeps_the_versions(live_server, live_db):
    device = Device(Client(live_server.url), DeviceSettings(ENUMERATOR.username, ENUMERATOR.password, "pull-phone", page=7),
                    random.Random(7003))
    device.login()
    first = device.pull()
    with live_db.connect() as connection:
        areas = set(connection.scalars(text("select code from area where code like '532922%'")))
        households = dict(connection.execute(
            text("select id::text, version from household where area_code like '532922%'")).all())
    assert first > 7  # many pages, every one followed
    assert set(device.knowledge.areas) == areas
    assert {hid: h["version"] for hid, h in device.knowledge.households.items()} == households
    assert device.pull() == 0  # the cursor is kept: nothing has changed since
    device.refresh_forms()
    assert {form_id for form_id, _ in device.definitions} == {"household_visit", "village_collective", "village_infrastructure"}


def test_a_revoked_token_loses_nothing_in_the_outbox(live_server):
    device = Device(Client(live_server.url), DeviceSettings(ENUMERATOR.username, ENUMERATOR.password, "revoked-phone",
                                                            batch=5), random.Random(7004))
    device.login()
    device.pull()
    device.refresh_forms()
    device.collect(10)
    old_token = device.client.token
    assert device.client.request("DELETE", f"/api/v1/auth/device-tokens/{device.token_id}").status == 204
    assert device.sync() == Counter(accepted=10)  # 401 token_revoked: it signed in again and pushed
    assert device.client.token != old_token and device.outbox == {}


def test_the_command_prints_the_summary_and_exits_0_when_all_is_accounted_for(live_server, capsys):
    code = main(["--url", live_server.url, "--username", ENUMERATOR.username, "--password", ENUMERATOR.password,
                 "--devices", "2", "--submissions", "5", "--batch", "3", "--invalid-share", "0.2", "--seed", "7005",
                 "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    for figure in ("pushed", "accepted", "duplicate", "invalid", "conflict", "retries", "attachments", "elapsed",
                   "submissions/s", "p50", "p95", "unaccounted     0 of"):
        assert figure in printed


def _people(live_db: Engine, household_ids: set[str]) -> dict[str, int]:
    with live_db.connect() as connection:
        return dict(connection.execute(text(
            "select household_id::text, count(*) from person where household_id = any(cast(:ids as uuid[])) group by 1"),
            {"ids": list(household_ids)}).all())


def test_a_revisit_starts_from_the_pulled_household_and_keeps_its_members(live_server, live_db):
    device = Device(Client(live_server.url), DeviceSettings(ENUMERATOR.username, ENUMERATOR.password, "revisit-phone",
                                                            mix=Mix(new_households=0.0, villages=0.0)),
                    random.Random(7006))
    device.login()
    device.refresh_forms()
    device.pull()
    # Households whose people the server knows by name and birth year (the registry's). One keyed by ID number would
    # come back as another person: the phone is never sent the number, so the revisit cannot give it. The phone's
    # person_key is opaque (core.masking), so the server's own keys say which.
    with live_db.connect() as connection:
        keyed_by_id = set(connection.scalars(text("select distinct household_id::text from person "
                                                  "where person_key like 'id:%'")))
    device.knowledge.households = {hid: h for hid, h in device.knowledge.households.items()
                                   if h["members"] and hid not in keyed_by_id}
    form = device.definitions[("household_visit", device.knowledge.forms["household_visit"]["version"])]
    top = prefill_fields(form.document)[None]
    changed: list[int] = []
    for round_ in ("first visits of registry households", "visits of households visited before"):
        pulled = {hid: dict(h) for hid, h in device.knowledge.households.items()}
        everything = device.collect(12)
        made = [m for m in everything if m.item["subject"]["type"] == "household"]
        assert made and all(m.item["subject"]["id"] in pulled for m in made), round_  # revisits, every one
        for one in made:
            household, data = pulled[one.item["subject"]["id"]], one.item["data"]
            # The same people, lined up by person_key on the phone; no random member, no made-up ID number.
            assert sorted((r["name"], r["birth_date"]) for r in data["members"]) == sorted(
                (m["name"], m["birth_date"]) for m in household["members"]), round_
            assert not any("id_card_no" in row for row in data["members"])
            prefill = {name: household["prefill"][prop] for name, target in top.items()
                       if (prop := target.partition(".")[2]) in household["prefill"]}
            # An answer the form no longer asks (is_dibao now "no": no phase-out date) is not shown, so not changed.
            changed.append(sum(name in data and data[name] != value for name, value in prefill.items()))
        visited = {m.item["subject"]["id"] for m in made}
        before = _people(live_db, visited)
        assert device.sync() == Counter(accepted=len(everything))
        assert _people(live_db, visited) == before, round_  # the server found every member again: none added
        # The next round revisits the households this one visited: now they have a state to start from.
        device.knowledge.households = {hid: h for hid, h in device.knowledge.households.items() if hid in visited}
        device.pull()
    second = changed[-len(made):]
    assert sum(second) <= 3 * len(second), changed  # a few answers changed, the rest as pulled
    assert all(len(device.knowledge.households[hid]["prefill"]) > 20 for hid in visited)
