"""Automatic checks in PostGIS (issue 6, domain.md 6.2): a flag on the submission and, where it applies, the household."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from server.models import Flag
from sync import flags
from sync.evidence import NAMESPACE
from tests.sync.conftest import AREA, batch, item

URL = "/api/v1/sync/submissions"
# A square of about 1 km around 苍山西镇's test point (25.67 N, 99.95 E).
BOUNDARY = "SRID=4326;MULTIPOLYGON(((99.945 25.665, 99.955 25.665, 99.955 25.675, 99.945 25.675, 99.945 25.665)))"


@pytest.fixture
def auth(published, make_user, sign_in, db_session):
    db_session.execute(text("UPDATE area SET boundary = ST_GeomFromEWKT(:b) WHERE code = :code"),
                       {"b": BOUNDARY, "code": AREA})
    db_session.commit()
    make_user("enum_a")
    return sign_in("enum_a")["auth"]


def push(client, auth, sent, sent_at=None):
    sent_at = sent_at or datetime.now(UTC).isoformat()  # a device whose clock is right
    answer = client.post(URL, json=batch([sent], sent_at=sent_at), headers=auth)
    assert answer.json["results"][0]["status"] == "accepted", answer.json
    return sent


def flags_of(db_session, sent) -> dict[str, tuple]:
    rows = db_session.scalars(select(Flag).where(Flag.submission_uuid == sent["uuid"])).all()
    return {flag.code: (flag.entity_type, flag.entity_id, flag.details) for flag in rows}


def test_a_visit_inside_its_village_with_a_good_fix_has_no_flag(client, db_session, auth):
    assert flags_of(db_session, push(client, auth, item())) == {}


@pytest.mark.parametrize(("gps", "code"), [
    ({"lat": 0.0, "lon": 0.0, "accuracy_m": 5}, "gps_impossible"),
    ({"lat": 25.67, "lon": 99.95, "accuracy_m": 80}, "gps_poor_accuracy"),
    (None, "gps_missing"),
])
def test_gps_that_cannot_be_trusted_is_stored_and_flagged(client, db_session, auth, gps, code):
    sent = push(client, auth, item(gps=gps))
    assert code in flags_of(db_session, sent)


def test_a_visit_far_outside_its_village_flags_the_submission_and_the_household(client, db_session, auth):
    sent = push(client, auth, item(gps={"lat": 25.80, "lon": 99.95, "accuracy_m": 5}))
    entity_type, entity_id, details = flags_of(db_session, sent)["gps_outside_village"]
    assert (entity_type, entity_id) == ("household", str(uuid.uuid5(NAMESPACE, f"household:{sent['uuid']}")))
    assert 13_000 < details["distance_m"] < 15_000


def test_a_household_far_from_its_known_position_is_flagged(client, db_session, auth):
    first = push(client, auth, item())
    household_id = uuid.uuid5(NAMESPACE, f"household:{first['uuid']}")
    moved = item(subject={"type": "household", "id": str(household_id), "area_code": AREA}, base_version=1,
                 gps={"lat": 25.674, "lon": 99.95, "accuracy_m": 5})
    moved["data"]["location"] = {"lat": 25.674, "lon": 99.95, "accuracy_m": 5.0}
    details = flags_of(db_session, push(client, auth, moved))["gps_far_from_previous"][2]
    assert 400 < details["distance_m"] < 500


def test_a_device_clock_off_by_days_is_flagged_but_accepted(client, db_session, auth):
    sent = push(client, auth, item(), sent_at=(datetime.now(UTC) - timedelta(days=3)).isoformat())
    assert "clock_skew" in flags_of(db_session, sent)


def test_a_second_household_with_the_same_number_in_the_area_is_a_possible_duplicate(db_session, areas):
    ids = [uuid.uuid4(), uuid.uuid4(), uuid.uuid4()]
    for household_id, number in zip(ids, ["0007", "0007", "0008"], strict=True):
        db_session.execute(text("INSERT INTO household (id, area_code, household_no) VALUES (:id, :area, :no)"),
                           {"id": household_id, "area": AREA, "no": number})
    flags.check_duplicates(db_session, [ids[1]])
    flags.check_duplicates(db_session, [ids[1]])  # checked again: flagged once
    found = db_session.execute(select(Flag.entity_id, Flag.details).where(Flag.code == "possible_duplicate_household")).all()
    assert [(entity, details["other_household"]) for entity, details in found] == [(str(ids[1]), str(ids[0]))]
