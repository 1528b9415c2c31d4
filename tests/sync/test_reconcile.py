"""Reconciliation through push: households and people made, visits merged, conflicts kept, rebuild equal."""

from __future__ import annotations

import copy
import random
import uuid

import pytest
from sqlalchemy import select, text

from server.models import EntityConflict, EntityVersion, Household, Person
from sync import reconcile
from sync.evidence import NAMESPACE
from sync.merge import merge
from tests.server.conftest import PASSWORD
from tests.sync.conftest import batch, item

URL = "/api/v1/sync/submissions"


@pytest.fixture
def auth(published, make_user, sign_in):
    make_user("enum_a")
    return sign_in("enum_a")["auth"]  # phone-1's


def _token(client, device_id: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/device-tokens", json={"username": "enum_a", "password": PASSWORD,
                                                              "device_id": device_id})
    return {"Authorization": f"Bearer {answer.json['token']}"}


def push(client, auth, *items, device_id: str = "phone-1") -> list[str]:
    """Pushes as enum_a's phone `device_id`: phone-1 with `auth`, another phone with a token of its own."""
    body = batch(list(items)) | {"device_id": device_id}
    if device_id != "phone-1":
        auth = _token(client, device_id)
    answer = client.post(URL, json=body, headers=auth)
    assert answer.status_code == 200, answer.json
    return [result["status"] for result in answer.json["results"]]


def revisit(household_id: uuid.UUID, base_version: int, **data_changes) -> dict:
    sent = item(subject={"type": "household", "id": str(household_id), "area_code": "532922100"},
                base_version=base_version)
    sent["data"].update(data_changes)
    if "income_wage" in data_changes:  # keep the calculation the server checks
        sent["data"]["income_per_capita"] = (data_changes["income_wage"] + sent["data"]["income_business"]) / 3
    return sent


def household_of(db_session, first: dict) -> Household:
    household_id = uuid.uuid5(NAMESPACE, f"household:{first['uuid']}")
    db_session.expire_all()
    return db_session.get(Household, household_id)


def test_a_first_visit_makes_the_household_and_its_members(client, db_session, auth):
    first = item()
    assert push(client, auth, first) == ["accepted"]
    household = household_of(db_session, first)
    assert household.version == 1
    assert household.area_code == "532922100" and household.householder_name == "杨建华"
    assert household.properties["household_size"] == 3 and household.properties["housing_grade"] == "C"
    people = db_session.scalars(select(Person).where(Person.household_id == household.id).order_by(Person.name)).all()
    assert [(p.name, p.sex, str(p.birth_date)) for p in people] == [
        ("李秀英", "female", "1978-08-15"), ("杨小龙", "male", "2014-05-01"), ("杨建华", "male", "1975-03-02")]
    assert people[1].properties == {"schooling_status": "dropped_out"}
    history = db_session.scalars(select(EntityVersion).where(EntityVersion.entity_id == str(household.id))).all()
    assert [(v.version, v.submission_uuids) for v in history] == [(1, [first["uuid"]])]


def test_a_later_visit_updates_what_it_changes_and_finds_the_same_people(client, db_session, auth):
    first = item()
    push(client, auth, first)
    household = household_of(db_session, first)
    assert push(client, auth, revisit(household.id, 1, income_wage=20000, housing_grade="B")) == ["accepted"]
    household = household_of(db_session, first)
    assert household.version == 2
    assert household.properties["income_wage"] == 20000 and household.properties["housing_grade"] == "B"
    assert db_session.scalar(select(text("count(*)")).select_from(Person).where(Person.household_id == household.id)) == 3
    changes = db_session.scalar(select(EntityVersion.changes).where(
        EntityVersion.entity_id == str(household.id), EntityVersion.version == 2))
    assert changes["housing_grade"] == ["C", "B"] and "householder_name" not in changes


def test_two_devices_changing_one_field_differently_make_a_conflict_and_the_value_stays(client, db_session, auth):
    first = item()
    push(client, auth, first)
    household = household_of(db_session, first)
    push(client, auth, revisit(household.id, 1, housing_grade="A", income_wage=9000), device_id="phone-2")
    push(client, auth, revisit(household.id, 1, housing_grade="D"), device_id="phone-3")
    household = household_of(db_session, first)
    assert household.properties["housing_grade"] == "C"  # the value both started from, until a supervisor decides
    assert household.properties["income_wage"] == 9000  # changed by one device only: merged
    conflict, = db_session.scalars(select(EntityConflict).where(EntityConflict.entity_id == str(household.id))).all()
    assert conflict.property == "housing_grade" and conflict.base_value == "C"
    assert sorted(c["value"] for c in conflict.candidates) == ["A", "D"]


def test_an_older_visit_arriving_late_does_not_overwrite_a_newer_one(client, db_session, auth):
    first = item()
    push(client, auth, first)
    household = household_of(db_session, first)
    older = revisit(household.id, 1, housing_grade="B")
    newer = revisit(household.id, 2, housing_grade="A")
    push(client, auth, newer, device_id="phone-2")
    push(client, auth, older, device_id="phone-3")
    household = household_of(db_session, first)
    assert household.properties["housing_grade"] == "A" and household.version == 3


def test_a_correction_replaces_the_visit_it_corrects(client, db_session, auth):
    first = item()
    push(client, auth, first)
    household = household_of(db_session, first)
    wrong = revisit(household.id, 1, housing_grade="D")
    push(client, auth, wrong)
    fixed = revisit(household.id, 1, housing_grade="B") | {"supersedes": wrong["uuid"]}
    push(client, auth, fixed)
    household = household_of(db_session, first)
    assert household.properties["housing_grade"] == "B" and household.version == 2
    versions = db_session.scalars(select(EntityVersion.submission_uuids).where(
        EntityVersion.entity_id == str(household.id)).order_by(EntityVersion.version)).all()
    assert versions == [[first["uuid"]], [fixed["uuid"]]]


@pytest.mark.parametrize("correction_first", [False, True])
def test_a_correction_of_a_members_birth_year_leaves_one_person(client, db_session, auth, correction_first):
    first = item()
    fixed = copy.deepcopy(first) | {"uuid": str(uuid.uuid4()), "supersedes": first["uuid"]}
    fixed["data"]["members"][2].update(birth_date="2013-05-01", age_years=13)  # the key is name and birth year
    for sent in (fixed, first) if correction_first else (first, fixed):
        assert push(client, auth, sent) == ["accepted"]
    people = db_session.scalars(select(Person.person_key).where(
        Person.household_id == household_of(db_session, first).id).order_by(Person.person_key)).all()
    assert people == ["nb:李秀英|1978", "nb:杨小龙|2013", "nb:杨建华|1975"]


def test_the_same_visits_pushed_in_any_order_give_the_same_household(client, db_session, auth):
    """Order independence through the real path: one household per order, the same visits pushed shuffled."""
    changes = [(1, "phone-a", {"housing_grade": "A"}), (1, "phone-b", {"income_wage": 9000}),
               (2, "phone-c", {"housing_grade": "B"}), (2, "phone-d", {"housing_grade": "D"}),
               (3, "phone-a", {"income_wage": 11000})]
    snapshots = []
    for seed in range(4):
        first = item()
        push(client, auth, first)
        household = household_of(db_session, first)
        order = list(changes)
        random.Random(seed).shuffle(order)
        for base, device, data in order:
            assert push(client, auth, revisit(household.id, base, **data), device_id=device) == ["accepted"]
        snapshots.append(_snapshot(db_session, household.id, with_uuids=False))
    assert all(snapshot == snapshots[0] for snapshot in snapshots)
    assert snapshots[0][1] == 4 and snapshots[0][0]["income_wage"] == 11000


def test_rebuild_gives_the_state_that_incremental_reconciliation_gave(client, db_session, auth, app):
    first = item()
    push(client, auth, first)
    household = household_of(db_session, first)
    for index, data in enumerate([{"housing_grade": "A"}, {"housing_grade": "D"}, {"income_wage": 9000}]):
        push(client, auth, revisit(household.id, 1, **data), device_id=f"phone-{index}")
    incremental = _snapshot(db_session, household.id)
    db_session.execute(text("UPDATE household SET properties = '{}', version = 0 WHERE id = :id"), {"id": household.id})
    db_session.execute(text("DELETE FROM entity_version; DELETE FROM entity_conflict"))
    db_session.commit()
    result = app.test_cli_runner().invoke(args=["entities", "rebuild"])
    assert result.exit_code == 0, result.output
    assert _snapshot(db_session, household.id) == incremental


def test_a_stopped_rebuild_keeps_what_it_committed_and_goes_on_from_the_id_it_reported(client, db_session, auth, app):
    """No stalls: the rebuild commits a batch at a time; stopped, `--after` the last reported id finishes it."""
    firsts = [item() for _ in range(3)]
    for first in firsts:
        push(client, auth, first)
    ids = sorted(household_of(db_session, first).id for first in firsts)
    incremental = [_snapshot(db_session, household_id) for household_id in ids]
    db_session.execute(text("UPDATE household SET properties = '{}', version = 0"))
    db_session.execute(text("DELETE FROM entity_version; DELETE FROM entity_conflict"))
    db_session.commit()
    result = app.test_cli_runner().invoke(args=["entities", "rebuild", "--batch", "1", "--after", str(ids[0])])
    assert result.exit_code == 0, result.output
    assert f"--after {ids[2]}" in result.output and "Rebuilt 2 entities" in result.output
    assert [_snapshot(db_session, i)[1] for i in ids] == [0, 1, 1]  # the first was not touched: it came before
    result = app.test_cli_runner().invoke(args=["entities", "rebuild", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert [_snapshot(db_session, i) for i in ids] == incremental


def _snapshot(db_session, household_id, with_uuids: bool = True) -> tuple:
    db_session.expire_all()
    household = db_session.get(Household, household_id)
    people = db_session.execute(select(Person.person_key, Person.name, Person.properties).where(
        Person.household_id == household_id).order_by(Person.person_key)).all()
    versions = db_session.execute(select(EntityVersion.version, EntityVersion.submission_uuids, EntityVersion.changes)
                                  .where(EntityVersion.entity_id == str(household_id)).order_by(EntityVersion.version)).all()
    conflicts = db_session.execute(select(EntityConflict.property, EntityConflict.base_version, EntityConflict.candidates)
                                   .where(EntityConflict.entity_id == str(household_id))
                                   .order_by(EntityConflict.property, EntityConflict.base_version)).all()
    return (household.properties, household.version, [tuple(p) for p in people],
            [(v.version, v.submission_uuids if with_uuids else len(v.submission_uuids), v.changes) for v in versions],
            [(c.property, c.base_version, sorted((x["device_id"], x["value"]) for x in c.candidates)
              + ([sorted(x["uuid"] for x in c.candidates)] if with_uuids else [])) for c in conflicts])


def test_the_forms_risk_flags_that_hold_in_the_latest_visit_are_on_the_household(client, db_session, auth):
    first = item()  # income per head 5,000 under the 6,000 line, a child out of school, a grade C house
    push(client, auth, first)
    household = household_of(db_session, first)
    assert household.risk_flags == ["child_out_of_school", "house_unsafe", "income_below_monitoring_line"]
    push(client, auth, revisit(household.id, 1, income_wage=20000, housing_grade="B"))
    assert household_of(db_session, first).risk_flags == ["child_out_of_school"]


def test_visits_merged_onto_the_stored_tail_give_what_a_rebuild_gives(client, db_session, auth, app, monkeypatch):
    """In-order visits extend the household's tail (no replay); an older one arriving late is replayed; a rebuild of
    the same visits gives the same household, history and conflicts."""
    replays = []
    monkeypatch.setattr(reconcile, "merge", lambda *a, **k: replays.append(1) or merge(*a, **k))
    first = item()
    push(client, auth, first)
    household_id = household_of(db_session, first).id
    push(client, auth, revisit(household_id, 1, housing_grade="A"))  # no tail yet: replayed, and the tail kept
    assert db_session.scalar(select(Household.merge_tail).where(Household.id == household_id)) is not None
    replays.clear()
    push(client, auth, revisit(household_id, 2, income_wage=9000), device_id="phone-2")  # a later version
    push(client, auth, revisit(household_id, 2, housing_grade="B", income_wage=9500), device_id="phone-3")  # joins it
    later = revisit(household_id, 2, housing_grade="B") | {"collected_at": "2026-11-21T09:40:00+08:00"}
    push(client, auth, later, device_id="phone-2")  # its device's next visit, made after its first
    assert replays == [], replays
    assert household_of(db_session, first).version == 3
    push(client, auth, revisit(household_id, 1, housing_grade="D"), device_id="phone-4")  # an older version: replayed
    assert replays == [1]
    push(client, auth, revisit(household_id, 3, income_wage=11000))
    assert replays == [1]
    incremental = _snapshot(db_session, household_id)
    assert incremental[1] == 4 and incremental[4]  # with the conflicts the phones made
    db_session.execute(text("UPDATE household SET properties = '{}', version = 0, merge_tail = NULL WHERE id = :id"),
                       {"id": household_id})
    db_session.execute(text("DELETE FROM entity_version; DELETE FROM entity_conflict"))
    db_session.commit()
    assert app.test_cli_runner().invoke(args=["entities", "rebuild"]).exit_code == 0
    assert _snapshot(db_session, household_id) == incremental


def _no_livestock(household_id: uuid.UUID) -> dict:
    """A revisit where the family sold its animals: the kinds of livestock are no longer asked."""
    sent = revisit(household_id, 1, has_livestock="no")
    del sent["data"]["livestock_kinds"]
    sent["collected_at"] = "2026-11-21T09:00:00+08:00"
    return sent


@pytest.mark.parametrize("revisit_first", [False, True], ids=["in order", "revisit first"])
def test_a_field_a_visit_makes_irrelevant_is_cleared_and_the_change_recorded(client, db_session, auth, app,
                                                                             revisit_first):
    """Issue 13, item 5: irrelevant means empty. The first visit records cattle and pigs; a later visit says the
    family keeps no livestock, so the kinds are cleared (not kept from the first visit), in any arrival order, and a
    rebuild gives the same."""
    first = item()
    household_id = uuid.uuid5(NAMESPACE, f"household:{first['uuid']}")
    later = _no_livestock(household_id)
    for sent in ((later, first) if revisit_first else (first, later)):
        assert push(client, auth, sent) == ["accepted"]
    household = household_of(db_session, first)
    assert household.properties["livestock_kinds"] is None
    changes = db_session.scalars(select(EntityVersion.changes).where(EntityVersion.entity_id == str(household_id))
                                 .order_by(EntityVersion.version)).all()
    assert changes[-1]["livestock_kinds"] == [["cattle", "pigs"], None]
    incremental = _snapshot(db_session, household_id)
    assert app.test_cli_runner().invoke(args=["entities", "rebuild"]).exit_code == 0
    assert _snapshot(db_session, household_id) == incremental
