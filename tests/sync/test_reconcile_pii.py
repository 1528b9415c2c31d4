"""ID-card numbers through reconciliation: encrypted with the application's key, matched by keyed hash, never in clear."""

from __future__ import annotations

import random
import uuid

import pytest
from sqlalchemy import func, select, text

from server.models import AuditEntry, Flag, Household, Person, Role
from sync.evidence import NAMESPACE, same_people
from tests.sync.conftest import AREA, batch, item
from tools import formfill

# Every table a submission's values reach, the raw submissions among them.
STORED_TABLES = ("submission", "submission_conflict", "household", "person", "entity_version", "entity_conflict")


@pytest.fixture
def auth(household_form, make_user, sign_in):
    make_user("enum_a")
    return sign_in("enum_a")["auth"]


def _visit(household_form, data: dict, **changes) -> dict:
    return item(form_id="household_visit", form_version=household_form.version, data=data, **changes)


def test_id_numbers_are_stored_encrypted_and_found_again_by_their_keyed_hash(app, client, db_session, auth,
                                                                              household_form):
    data = formfill.fill(household_form, random.Random(11), members=4)  # noqa: S311 - test data
    ids = [row["id_card_no"] for row in data["members"] if row.get("id_card_no")]
    assert ids, "formfill gives members ID numbers"
    first = _visit(household_form, data)
    answer = client.post("/api/v1/sync/submissions", json=batch([first]), headers=auth)
    assert answer.json["results"][0]["status"] == "accepted", answer.json
    household_id = uuid.uuid5(NAMESPACE, f"household:{first['uuid']}")
    protector = app.extensions["pii"]

    people = db_session.scalars(select(Person).where(Person.household_id == household_id)).all()
    with_id = [p for p in people if p.id_card_encrypted is not None]
    assert sorted(protector.decrypt(p.id_card_encrypted, p.id.bytes) for p in with_id) == sorted(ids)
    assert all(p.id_card_hash == protector.keyed_hash(protector.decrypt(p.id_card_encrypted, p.id.bytes))
               for p in with_id)
    for table in STORED_TABLES:  # a raw dump shows no ID number (reliability P2)
        dump = db_session.execute(text(f"SELECT coalesce(string_agg(t::text, ''), '') FROM {table} AS t")).scalar_one()
        assert not any(number in dump for number in ids), table

    # The next visit names the members in another order: the same people are found, none added.
    again = dict(data, members=list(reversed(data["members"])))
    revisit = _visit(household_form, again, subject={"type": "household", "id": str(household_id), "area_code": AREA},
                     base_version=1)
    assert client.post("/api/v1/sync/submissions", json=batch([revisit]), headers=auth).json["results"][0][
        "status"] == "accepted"
    db_session.expire_all()
    assert db_session.get(Household, household_id).version == 2
    assert len(db_session.scalars(select(Person).where(Person.household_id == household_id)).all()) == len(people)


@pytest.mark.parametrize("revisit_first", [False, True])
def test_a_revisit_without_id_numbers_finds_the_people_known_by_them(app, client, db_session, auth, household_form,
                                                                     revisit_first):
    """Phones are sent no ID numbers, so a revisit names members by name and birth date only: still one person each."""
    data = formfill.fill(household_form, random.Random(11), members=4)  # noqa: S311 - test data
    first = _visit(household_form, data)
    household_id = uuid.uuid5(NAMESPACE, f"household:{first['uuid']}")
    without = {k: v for k, v in data.items() if k != "householder_id_card_no"}
    without["members"] = [{k: v for k, v in row.items() if k != "id_card_no"} for row in data["members"]]
    revisit = _visit(household_form, without, subject={"type": "household", "id": str(household_id), "area_code": AREA},
                     base_version=1)
    for sent in (revisit, first) if revisit_first else (first, revisit):
        result = client.post("/api/v1/sync/submissions", json=batch([sent]), headers=auth).json["results"][0]
        assert result["status"] == "accepted", result
    people = db_session.scalars(select(Person).where(Person.household_id == household_id)).all()
    assert len(people) == len(data["members"])
    assert sum(p.id_card_encrypted is not None for p in people) == sum(bool(r.get("id_card_no")) for r in data["members"])


def test_a_second_household_whose_head_has_the_same_id_number_is_a_possible_duplicate(client, db_session, auth,
                                                                                      household_form):
    data = formfill.fill(household_form, random.Random(12), members=3)  # noqa: S311 - test data
    first, second = _visit(household_form, data), _visit(household_form, data)  # one family recorded twice
    answer = client.post("/api/v1/sync/submissions", json=batch([first, second]), headers=auth)
    assert [r["status"] for r in answer.json["results"]] == ["accepted", "accepted"]
    flagged = db_session.execute(select(Flag.entity_id, Flag.details["reason"].astext).where(
        Flag.code == "possible_duplicate_household")).all()
    households = {str(uuid.uuid5(NAMESPACE, f"household:{sent['uuid']}")) for sent in (first, second)}
    assert {entity for entity, _ in flagged} == households
    assert "head_id_card" in {reason for _, reason in flagged}  # (their numbers are the same too)


def test_the_household_read_shows_id_numbers_to_supervisors_audited_and_masks_them_for_planners(
        client, db_session, auth, household_form, make_user, sign_in):
    data = formfill.fill(household_form, random.Random(13), members=3)  # noqa: S311 - test data
    first = _visit(household_form, data)
    assert client.post("/api/v1/sync/submissions", json=batch([first]), headers=auth).json["results"][0][
        "status"] == "accepted"
    household_id = uuid.uuid5(NAMESPACE, f"household:{first['uuid']}")
    ids = sorted(row["id_card_no"] for row in data["members"] if row.get("id_card_no"))
    make_user("sup_a", Role.supervisor)
    make_user("plan_a", Role.planner)

    supervisor = client.get(f"/api/v1/households/{household_id}", headers=sign_in("sup_a", device_id="s")["auth"])
    assert supervisor.status_code == 200, supervisor.json
    assert sorted(m["id_card_no"] for m in supervisor.json["members"] if m["id_card_no"]) == ids
    assert supervisor.json["history"][0]["version"] == 1
    assert db_session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "pii.read", AuditEntry.target == str(household_id))) == 1

    planner = client.get(f"/api/v1/households/{household_id}", headers=sign_in("plan_a", device_id="p")["auth"])
    body = planner.text
    assert planner.status_code == 200 and not any(number in body for number in ids)
    # Planners get no personal value (design.md): not even an ID number's last four characters.
    assert all(m["name"] == "***" and m["id_card_no"] in (None, "***") for m in planner.json["members"])
    assert sum(m["id_card_no"] == "***" for m in planner.json["members"]) == len(ids)
    make_user("enum_b")
    enumerator = client.get(f"/api/v1/households/{household_id}", headers=sign_in("enum_b", device_id="e")["auth"])
    # An enumerator checks a card held in the hand against the last four characters.
    assert sorted(m["id_card_no"][-4:] for m in enumerator.json["members"] if m["id_card_no"]) == sorted(
        n[-4:] for n in ids)
    assert not any(number in enumerator.text for number in ids)
    other = client.get(f"/api/v1/households/{uuid.uuid4()}", headers=sign_in("sup_a", device_id="s2")["auth"])
    assert other.status_code == 404


def test_a_name_two_people_known_by_id_share_is_not_taken_for_either():
    twins = {"members/id:a/name": "杨小龙", "members/id:a/birth_date": "2014-05-01",
             "members/id:b/name": "杨小龙", "members/id:b/birth_date": "2014-09-09",
             "members/id:c/name": "李秀英", "members/id:c/birth_date": "1978-08-15"}
    assert same_people([twins, {"members/nb:杨小龙|2014/sex": "male"}]) == {"nb:李秀英|1978": "id:c"}


def test_stored_payloads_hold_id_numbers_sealed_and_a_rebuild_still_reads_them(app, client, db_session, auth,
                                                                             household_form):
    data = formfill.fill(household_form, random.Random(13), members=3)  # noqa: S311 - test data
    ids = sorted(row["id_card_no"] for row in data["members"] if row.get("id_card_no"))
    first = _visit(household_form, data)
    reused = dict(first, data=dict(data, phone="13900000000"))  # the same UUID with other content: kept aside
    results = client.post("/api/v1/sync/submissions", json=batch([first]), headers=auth).json["results"]
    results += client.post("/api/v1/sync/submissions", json=batch([reused]), headers=auth).json["results"]
    assert [r["status"] for r in results] == ["accepted", "conflict"]
    for table in ("submission", "submission_conflict"):
        dump = db_session.execute(text(f"SELECT string_agg(t::text, '') FROM {table} AS t")).scalar_one()
        assert ids and not any(number in dump for number in ids) and "enc:" in dump, table

    assert app.test_cli_runner().invoke(args=["entities", "rebuild"]).exit_code == 0
    db_session.expire_all()
    household_id = uuid.uuid5(NAMESPACE, f"household:{first['uuid']}")
    people = db_session.scalars(select(Person).where(Person.household_id == household_id)).all()
    protector = app.extensions["pii"]
    assert sorted(protector.decrypt(p.id_card_encrypted, p.id.bytes) for p in people if p.id_card_encrypted) == ids


def test_every_name_a_person_known_by_id_was_given_counts_whatever_the_order():
    before = {"members/id:a/name": "杨小花", "members/id:a/birth_date": "2014-05-01"}
    after = {"members/id:a/name": "杨晓花"}  # a later visit corrected the name
    expected = {"nb:杨小花|2014": "id:a", "nb:杨晓花|2014": "id:a"}
    assert same_people([before, after]) == same_people([after, before]) == expected
