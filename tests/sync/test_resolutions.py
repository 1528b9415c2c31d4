"""Supervisors resolve conflicts through the API: the choice applies now, on later visits and on a rebuild."""

from __future__ import annotations

import random
import uuid

import pytest
from click.testing import Result
from sqlalchemy import select

from server.models import Area, AreaLevel, AuditEntry, EntityConflict, Household, Person, Village
from server.services import forms
from survey_forms.definition import FormDefinition
from sync.evidence import NAMESPACE
from tests.survey_forms.test_village_forms import load
from tests.sync.conftest import batch, item
from tests.sync.test_reconcile import revisit
from tools.formfill import fill

URL = "/api/v1/sync/submissions"
VILLAGE = "532922100001001"


def push(client, phones, *items, device_id: str) -> None:
    headers = phones("enum_a", device_id)
    answer = client.post(URL, json=batch(list(items)) | {"device_id": device_id}, headers=headers)
    assert [r["status"] for r in answer.json["results"]] == ["accepted"] * len(items), answer.json


@pytest.fixture
def conflicted(client, db_session, people, phones):
    """A household whose housing grade two devices changed from C, one to A and one to D."""
    first = item()
    push(client, phones, first, device_id="phone-1")
    household_id = uuid.uuid5(NAMESPACE, f"household:{first['uuid']}")
    to_a = revisit(household_id, 1, housing_grade="A")
    to_d = revisit(household_id, 1, housing_grade="D")
    push(client, phones, to_a, device_id="phone-2")
    push(client, phones, to_d, device_id="phone-3")
    return household_id, to_a["uuid"], to_d["uuid"]


def resolve(client, headers, household_id, choice, **extra):
    body = {"property": "housing_grade", "base_version": 1, "choice": choice, **extra}
    return client.post(f"/api/v1/households/{household_id}/resolutions", json=body, headers=headers)


def grade(db_session, household_id) -> tuple[str, int]:
    db_session.expire_all()
    household = db_session.get(Household, household_id)
    return household.properties["housing_grade"], household.version


def test_a_supervisor_chooses_a_candidate_and_the_conflict_closes(client, db_session, people, conflicted):
    household_id, to_a, _ = conflicted
    view = client.get(f"/api/v1/households/{household_id}", headers=people["sup_a"]).json
    conflict, = view["conflicts"]
    assert conflict["base_value"] == "C" and {c["uuid"] for c in conflict["candidates"]} == set(conflicted[1:])

    answer = resolve(client, people["sup_a"], household_id, to_a, comment="入户核实 · checked on site")
    assert answer.status_code == 200, answer.json
    assert answer.json["version"] == 2 and answer.json["properties"] == ["housing_grade"]
    assert grade(db_session, household_id) == ("A", 2)
    assert client.get(f"/api/v1/households/{household_id}", headers=people["sup_a"]).json["conflicts"] == []
    audit = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "conflict.resolve")).one()
    assert audit.target == f"household:{household_id}" and audit.details["choice"] == to_a


def test_keeping_the_base_value_and_changing_ones_mind(client, db_session, people, conflicted):
    household_id, to_a, to_d = conflicted
    assert resolve(client, people["sup_a"], household_id, to_d).status_code == 200
    assert grade(db_session, household_id) == ("D", 2)
    assert resolve(client, people["sup_a"], household_id, "base").status_code == 200
    assert grade(db_session, household_id)[0] == "C"


def test_the_resolution_holds_through_later_visits_and_a_rebuild(client, app, db_session, people, phones, conflicted):
    household_id, to_a, _ = conflicted
    resolve(client, people["sup_a"], household_id, to_a)
    # The next visit starts from version 2, where the phone's prefill shows the chosen grade.
    push(client, phones, revisit(household_id, 2, income_wage=30000, housing_grade="A"), device_id="phone-1")
    assert grade(db_session, household_id) == ("A", 3)
    result: Result = app.test_cli_runner().invoke(args=["entities", "rebuild"])
    assert result.exit_code == 0, result.output
    assert grade(db_session, household_id) == ("A", 3)
    conflict = db_session.scalars(select(EntityConflict).where(EntityConflict.entity_id == str(household_id))).one()
    assert conflict.resolved


def test_refusals_change_nothing(client, db_session, people, conflicted):
    household_id, to_a, _ = conflicted
    unknown = resolve(client, people["sup_a"], household_id, str(uuid.uuid4()))
    assert unknown.status_code == 422 and unknown.json["error"]["code"] == "invalid_input"
    assert len(unknown.json["error"]["details"]["candidates"]) == 2
    assert resolve(client, people["sup_a"], household_id, to_a, base_version=2).status_code == 404
    assert resolve(client, people["enum_a"], household_id, to_a).status_code == 403
    assert resolve(client, people["sup_b"], household_id, to_a).status_code == 404  # another county's supervisor
    assert resolve(client, people["sup_a"], uuid.uuid4(), to_a).status_code == 404
    assert grade(db_session, household_id) == ("C", 2)


@pytest.fixture
def village(db_session, people):
    """A natural village of 漾濞 surveyed once, then by two devices that disagree on its road."""
    db_session.add_all([Area(code="532922100001", level=AreaLevel.admin_village, parent_code="532922100", name_zh="光明村"),
                        Area(code=VILLAGE, level=AreaLevel.natural_village, parent_code="532922100001", name_zh="上组")])
    definition = FormDefinition.from_document(load("village_infrastructure"))
    forms.publish(db_session, [definition], actor="test")
    db_session.commit()

    def visit(base_version, road_access="gravel"):
        # The same seed each time: the visits differ in the road only.
        data = fill(definition, random.Random(7), overrides={"natural_village_code": VILLAGE, "road_access": road_access})
        return item(form_id="village_infrastructure", subject={"type": "village", "id": None, "area_code": VILLAGE},
                    base_version=base_version, data=data, attachments=[])
    return visit


def test_a_village_conflict_is_resolved_the_same_way(client, db_session, people, phones, village):
    push(client, phones, village(None), device_id="phone-1")
    hardened = village(1, road_access="hardened")
    push(client, phones, hardened, device_id="phone-2")
    push(client, phones, village(1, road_access="none"), device_id="phone-3")
    conflicts = client.get(f"/api/v1/villages/{VILLAGE}", headers=people["sup_a"]).json["conflicts"]
    conflict = next(c for c in conflicts if c["property"] == "road_access")  # its calculations conflict too
    assert conflict["base_value"] == "gravel" and conflict["base_version"] == 1

    answer = client.post(f"/api/v1/villages/{VILLAGE}/resolutions", headers=people["sup_a"], json={
        "property": "road_access", "base_version": 1, "choice": hardened["uuid"]})
    assert answer.status_code == 200, answer.json
    db_session.expire_all()
    assert db_session.get(Village, VILLAGE).properties["road_access"] == "hardened"
    after = client.get(f"/api/v1/villages/{VILLAGE}", headers=people["sup_a"]).json["conflicts"]
    assert len(after) == len(conflicts) - 1 and "road_access" not in {c["property"] for c in after}

    # Without a property, the same choice settles the calculated answers that follow from the road.
    rest = client.post(f"/api/v1/villages/{VILLAGE}/resolutions", headers=people["sup_a"], json={
        "base_version": 1, "choice": hardened["uuid"]})
    assert rest.status_code == 200 and sorted(rest.json["properties"]) == sorted(c["property"] for c in after)
    assert client.get(f"/api/v1/villages/{VILLAGE}", headers=people["sup_a"]).json["conflicts"] == []
    again = client.post(f"/api/v1/villages/{VILLAGE}/resolutions", headers=people["sup_a"], json={
        "base_version": 1, "choice": hardened["uuid"]})
    assert again.status_code == 404  # nothing left open for it to settle



def test_a_members_conflict_and_history_name_the_person_by_id_and_resolve_by_that_name(client, db_session, people,
                                                                                        phones):
    first = item()
    push(client, phones, first, device_id="phone-1")
    household_id = uuid.uuid5(NAMESPACE, f"household:{first['uuid']}")
    # Two devices correct the boy's birthday (he is keyed by name and birth year: no ID number), differently.
    back = {day: revisit(household_id, 1) for day in ("2014-06-01", "2014-07-01")}
    for device_id, (day, sent) in zip(("phone-2", "phone-3"), back.items(), strict=True):
        sent["data"]["members"][2].update(birth_date=day)
        push(client, phones, sent, device_id=device_id)
    view = client.get(f"/api/v1/households/{household_id}", headers=people["sup_a"]).json
    boy = next(m for m in view["members"] if m["name"] == "杨小龙")
    named = f"members/{boy['id']}/birth_date"
    assert named in {c["property"] for c in view["conflicts"]}
    keys = [c["property"] for c in view["conflicts"]] + [k for v in view["history"] for k in v["changes"]]
    assert not [k for k in keys if "杨" in k or "李" in k or "|" in k]  # no name or birth year in any key

    chosen = back["2014-07-01"]["uuid"]
    answer = client.post(f"/api/v1/households/{household_id}/resolutions", headers=people["sup_a"],
                         json={"property": named, "base_version": 1, "choice": chosen})
    assert answer.status_code == 200 and answer.json["properties"] == [named], answer.json
    db_session.expire_all()
    boy_row = db_session.get(Person, boy["id"])
    assert str(boy_row.birth_date) == "2014-07-01"  # and the person kept its id: get() found it by that id
