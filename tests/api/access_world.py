"""The objects the access matrix names: two counties' households, submissions, villages, conflicts and tokens.

Everything is made through the API, as devices and supervisors make it: each county's enumerator pushes household
and village visits with the published forms, two more of its devices push concurrent revisits (so each household and
village has an open conflict), and its supervisor assigns the households. Objects that an operation changes (a
monitoring case, a conflict, a token) exist once per calling role, so one role's success never hides another's.
"""

from __future__ import annotations

import functools
import hashlib
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.models import Area, AreaLevel, Role
from server.services import forms, users
from survey_forms.definition import FormDefinition
from sync.evidence import NAMESPACE
from tests.server.conftest import PASSWORD
from tests.survey_forms.test_village_forms import load
from tests.sync.conftest import batch, item
from tools.formfill import fill

# The callers of the matrix, one per role, all of 漾濞 (532922); committed_app makes enum_a and sup_a.
CALLERS = {Role.admin: "admin_a", Role.supervisor: "sup_a", Role.planner: "planner_a", Role.enumerator: "enum_a"}
OWN, OTHER = "own", "other"
SIDES = (OWN, OTHER)
# Each county: its code, the township its villages lie in, the enumerator who visits and the supervisor who assigns.
COUNTIES = {OWN: ("532922", "532922100", "enum_a", "sup_a"), OTHER: ("532931", "532931101", "enum_b", "sup_b")}
OTHER_HOUSEHOLDER = "段剑川"  # the other county's householders: a name that must never reach a caller of 漾濞

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8  # a JPEG's first bytes are all the server looks at
PHOTO_SHA256 = hashlib.sha256(PHOTO).hexdigest()
PHOTO_NAME = "house_front.jpg"
MEASURE = {"measure_type": "public_welfare_job", "measure_scope": "single", "measure_date": "2026-11-25",
           "amount_yuan": 6000, "responsible_person": "王文"}
URL = "/api/v1/sync/submissions"


@dataclass(frozen=True)
class Token:
    username: str
    token: str
    token_id: str
    device_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class Visited:
    """A household or village: its id (a household's uuid, a village's area code), its first visit, and the two
    concurrent revisits that left a conflict on `conflict_property` from version 1."""

    id: str
    area_code: str
    first: str
    candidates: tuple[str, str]
    conflict_property: str


@dataclass
class County:
    code: str
    township: str
    enumerator: str
    supervisor: str
    households: dict[Role, Visited] = field(default_factory=dict)  # one per calling role
    villages: dict[Role, Visited] = field(default_factory=dict)
    assignments: dict[Role, str] = field(default_factory=dict)
    devices: list[Token] = field(default_factory=list)  # the enumerator's phones, in the order they pushed
    boss: Token | None = None  # the supervisor's


@dataclass(repr=False)
class World:
    app: Flask
    callers: dict[Role, Token]
    spare_tokens: dict[Role, Token]  # a second token of each caller's own, for it to revoke
    foreign_token: Token  # a token of the other county's enumerator (revoking it again is a 204 again: one will do)
    counties: dict[str, County]

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def __repr__(self) -> str:  # pytest prints the fixture of a failed test: its tokens and ids say nothing there
        return f"World({', '.join(CALLERS.values())} of 漾濞; households, villages and tokens of two counties)"


def sign_in(client: FlaskClient, username: str, device_id: str) -> Token:
    answer = client.post("/api/v1/auth/device-tokens", json={
        "username": username, "password": PASSWORD, "device_id": device_id, "device_label": "access matrix"})
    assert answer.status_code == 201, answer.json
    return Token(username, answer.json["token"], answer.json["token_id"], device_id)


def push(client: FlaskClient, token: Token, items: list[dict[str, Any]]) -> None:
    answer = client.post(URL, json=batch(items) | {"device_id": token.device_id}, headers=token.headers)
    assert answer.status_code == 200, answer.json
    assert [r["status"] for r in answer.json["results"]] == ["accepted"] * len(items), answer.json


def build(app: Flask) -> World:
    """The world on committed_app: its users, plus an admin and a planner of 漾濞, villages and the village form."""
    _add_users_areas_and_forms(app)
    client = app.test_client()
    callers = {role: sign_in(client, name, f"matrix-{role}") for role, name in CALLERS.items()}
    spare = {role: sign_in(client, name, f"matrix-{role}-spare") for role, name in CALLERS.items()}
    foreign = sign_in(client, "enum_b", "enum_b-phone-4")
    counties = {side: _county(client, side) for side in SIDES}
    return World(app, callers, spare, foreign, counties)


def _natural_village(township: str, role: Role) -> str:
    return f"{township}001{list(CALLERS).index(role) + 1:03d}"


def _add_users_areas_and_forms(app: Flask) -> None:
    with app.app_context():
        users.create_user(db.session, "admin_a", Role.admin, ["532922"], PASSWORD, actor="test")
        users.create_user(db.session, "planner_a", Role.planner, ["532922"], PASSWORD, actor="test")
        for _, township, _, _ in COUNTIES.values():
            db.session.add(Area(code=f"{township}001", level=AreaLevel.admin_village, parent_code=township,
                                name_zh=f"{township}村委会"))
            db.session.add_all(Area(code=_natural_village(township, role), level=AreaLevel.natural_village,
                                    parent_code=f"{township}001", name_zh=f"{role}组") for role in CALLERS)
        forms.publish(db.session, [village_form()], actor="test")
        db.session.commit()


@functools.cache
def village_form() -> FormDefinition:
    return FormDefinition.from_document(load("village_infrastructure"))


def _county(client: FlaskClient, side: str) -> County:
    code, township, enumerator, supervisor = COUNTIES[side]
    county = County(code, township, enumerator, supervisor)
    county.devices = [sign_in(client, enumerator, f"{enumerator}-phone-{n}") for n in (1, 2, 3)]
    firsts = {role: (household_visit(side, _natural_village(township, role)),
                     village_visit(_natural_village(township, role))) for role in CALLERS}
    push(client, county.devices[0], [visit for pair in firsts.values() for visit in pair])
    revisits = {}
    for device, grade, road in ((county.devices[1], "A", "hardened"), (county.devices[2], "D", "none")):
        made = {role: (household_revisit(side, household_id(h), h["subject"]["area_code"], 1, housing_grade=grade),
                       village_visit(v["subject"]["area_code"], base_version=1, road_access=road))
                for role, (h, v) in firsts.items()}
        push(client, device, [visit for pair in made.values() for visit in pair])
        revisits[grade] = made
    for role, (h, v) in firsts.items():
        county.households[role] = Visited(str(household_id(h)), h["subject"]["area_code"], h["uuid"],
                                          (revisits["A"][role][0]["uuid"], revisits["D"][role][0]["uuid"]), "housing_grade")
        county.villages[role] = Visited(v["subject"]["area_code"], v["subject"]["area_code"], v["uuid"],
                                        (revisits["A"][role][1]["uuid"], revisits["D"][role][1]["uuid"]), "road_access")
    for household in county.households.values():  # the photos arrive, so a reviewer has them to open
        answer = client.put(f"/api/v1/submissions/{household.first}/attachments/{PHOTO_NAME}", data=PHOTO, headers={
            **county.devices[0].headers, "X-Content-SHA256": PHOTO_SHA256, "Content-Type": "image/jpeg"})
        assert answer.status_code == 201, answer.json
    county.boss = boss = sign_in(client, supervisor, f"{supervisor}-phone")
    for role, household in county.households.items():
        answer = client.post("/api/v1/assignments", headers=boss.headers, json={
            "assignee": enumerator, "household_id": household.id, "form_id": "small_household", "round": "2026-Q4"})
        assert answer.status_code == 201, answer.json
        county.assignments[role] = answer.json["id"]
    # A decision reaches the submitter's pulls: something of this county that only its own people may read.
    answer = client.post(f"/api/v1/submissions/{county.households[Role.admin].first}/reviews", headers=boss.headers,
                         json={"decision": "approved", "comment": "核实无误"})
    assert answer.status_code == 201, answer.json
    return county


def household_id(visit: dict[str, Any]) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"household:{visit['uuid']}")


def household_visit(side: str, area_code: str, **changes: Any) -> dict[str, Any]:
    """A first visit of a new household, declaring the photo the matrix uploads."""
    sent = item(subject={"type": "household", "id": None, "area_code": area_code},
                attachments=[{"name": PHOTO_NAME, "sha256": PHOTO_SHA256, "size": len(PHOTO), "content_type": "image/jpeg"}],
                **changes)
    if side == OTHER:
        sent["data"]["householder_name"] = sent["data"]["members"][0]["name"] = OTHER_HOUSEHOLDER
    return sent


def household_revisit(side: str, household: uuid.UUID | str, area_code: str, base_version: int,
                      **data_changes: Any) -> dict[str, Any]:
    sent = household_visit(side, area_code, base_version=base_version)
    sent["subject"]["id"] = str(household)
    sent["data"].update(data_changes)
    return sent


def village_visit(area_code: str, base_version: int | None = None, road_access: str = "gravel") -> dict[str, Any]:
    # The same seed each time: a village's visits differ in the road only.
    data = fill(village_form(), random.Random(7), overrides={"natural_village_code": area_code, "road_access": road_access})
    return item(form_id="village_infrastructure", subject={"type": "village", "id": None, "area_code": area_code},
                base_version=base_version, data=data, attachments=[])
