"""Household visit v1 and v2 submissions of one household reconcile together, in any order (issue 13, item 4)."""

from __future__ import annotations

import copy
import random
import uuid

import pytest
from sqlalchemy import select

from schemas.form_definition import form_definition_schema
from server.models import Household, Person
from survey_forms import loader
from sync.evidence import NAMESPACE
from tests.sync.conftest import AREA, batch, item
from tools import formfill

URL = "/api/v1/sync/submissions"
IDENTITY = ("name", "id_card_no", "sex", "birth_date", "relation_to_head", "member_status", "ethnicity")


@pytest.fixture
def versions(household_form) -> dict[int, object]:  # household_form publishes every form of the repository
    return {d.version: d for d in loader.load_all(form_definition_schema()) if d.form_id == "household_visit"}


@pytest.fixture
def auth(household_form, make_user, sign_in):
    make_user("enum_a")
    return sign_in("enum_a")["auth"]


def _pair(versions) -> tuple[dict, dict]:
    """A first visit on v1 and a revisit on v2 of the same family: v2 names the same members (the phone pre-fills
    them), answers the rest anew, and was made from version 1."""
    first = formfill.fill(versions[1], random.Random(5), members=3)  # noqa: S311 - test data
    people = [{key: row[key] for key in IDENTITY if key in row} for row in first["members"]]
    second = formfill.fill(versions[2], random.Random(6), members=3,  # noqa: S311 - test data
                           overrides={"members": people, "income_year": first["income_year"]})
    return first, second


def _push(client, auth, sent: dict) -> None:
    answer = client.post(URL, json=batch([sent]), headers=auth)
    assert answer.json["results"][0]["status"] == "accepted", answer.json


def _household(db_session, household_id: uuid.UUID) -> tuple:
    db_session.expire_all()
    household = db_session.get(Household, household_id)
    people = db_session.execute(select(Person.person_key, Person.name, Person.properties)
                                .where(Person.household_id == household_id).order_by(Person.person_key)).all()
    return household.properties, household.version, household.risk_flags, household.watch_flags, \
        [tuple(person) for person in people]


def test_v1_and_v2_visits_of_one_household_reconcile_together_in_any_order(client, db_session, auth, versions):
    first, second = _pair(versions)
    states = []
    for v2_first in (False, True):
        visit = item(form_id="household_visit", form_version=1, data=copy.deepcopy(first))
        household_id = uuid.uuid5(NAMESPACE, f"household:{visit['uuid']}")
        revisit = item(form_id="household_visit", form_version=2, data=copy.deepcopy(second), base_version=1,
                       subject={"type": "household", "id": str(household_id), "area_code": AREA},
                       collected_at="2026-11-21T09:40:00+08:00")
        for sent in ((revisit, visit) if v2_first else (visit, revisit)):
            _push(client, auth, sent)
        states.append(_household(db_session, household_id))
    assert states[0] == states[1]
    properties, version, *_ = states[0]
    assert version == 2
    # What only v2 asks is there, and what v2 asks of the same household's members lands on the same people.
    assert "elimination_consent" in properties or "sanitary_toilet_used" in properties
    assert len(states[0][4]) == len(first["members"])
