"""Retired areas (issue 15): the pull feed carries `retired`, a push placing something new in one is kept and flagged,
GET /areas leaves them out unless asked, the map does not draw them, no assignment names them, scopes keep them."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from server.extensions import db
from server.models import Area, Flag
from server.services.area_import import import_areas
from sync.evidence import NAMESPACE
from tests.sync.conftest import AREA, batch, bearer, item
from tests.sync.test_cross_checks import VILLAGE, auth, village_form  # noqa: F401 (fixtures)
from tests.sync.test_pull import pull_all
from tests.sync.test_tiles import features
from tests.sync.test_village_flags import survey

URL = "/api/v1/sync/submissions"
# 漾濞 as an official county file of 2027: 苍山西镇 (AREA) is gone, 漾江镇 is new.
YANGBI_2027 = [("532922", "county", "漾濞彝族自治县"), ("532922102", "township", "漾江镇")]
SQUARE = {"type": "MultiPolygon", "coordinates": [[[[99.94, 25.66], [99.96, 25.66], [99.96, 25.68], [99.94, 25.68],
                                                    [99.94, 25.66]]]]}


def _county_file(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    features = [{"type": "Feature", "geometry": None, "properties": {"code": code, "level": level, "name": name}}
                for code, level, name in rows]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    return path


def _import(app, path: Path, **options) -> None:
    with app.app_context():
        import_areas(db.session, path, actor="test:importer", **options)
        db.session.commit()


def _retire(db_session, code: str = AREA) -> None:
    db_session.execute(update(Area).where(Area.code == code).values(retired_at=func.now()))
    db_session.commit()


def _flags(db_session, sent: dict) -> dict[str, tuple]:
    rows = db_session.scalars(select(Flag).where(Flag.submission_uuid == sent["uuid"])).all()
    return {flag.code: (flag.entity_type, flag.entity_id, flag.details) for flag in rows}


def _push(client, headers, sent: dict) -> dict:
    answer = client.post(URL, json=batch([sent]), headers=headers)
    assert answer.json["results"][0]["status"] == "accepted", answer.json
    return sent


def test_a_retirement_reaches_the_phones_in_scope_as_an_area_change_and_so_does_its_undoing(committed_app, tmp_path):
    client = committed_app.test_client()
    phone, other_county = bearer(committed_app, "enum_a"), bearer(committed_app, "enum_b")
    first, cursor = pull_all(client, phone)
    assert {c["data"]["retired"] for c in first if c["kind"] == "area"} == {False}
    _, other_cursor = pull_all(client, other_county)

    _import(committed_app, _county_file(tmp_path / "yangbi_2027.geojson", YANGBI_2027), retire_missing=True)

    changes, cursor = pull_all(client, phone, cursor)
    areas = {c["id"]: c["data"] for c in changes if c["kind"] == "area"}
    assert set(areas) == {AREA, "532922102"}  # the county, unchanged, is not sent again
    assert areas[AREA] == {"code": AREA, "level": "township", "parent_code": "532922", "name": {"zh": "苍山西镇", "en": None},
                           "centroid": None, "bbox": None, "retired": True, "boundary": None}
    assert areas["532922102"]["retired"] is False
    assert pull_all(client, other_county, other_cursor)[0] == []  # 剑川 is not told of 漾濞's areas

    _import(committed_app, _county_file(tmp_path / "yangbi_back.geojson",
                                        [*YANGBI_2027, (AREA, "township", "苍山西镇")]), retire_missing=True)

    changes, _ = pull_all(client, phone, cursor)
    assert [(c["id"], c["data"]["retired"]) for c in changes] == [(AREA, False)]


def test_a_new_household_in_a_retired_area_is_kept_and_flagged_and_one_already_there_is_not(client, db_session, people):
    existing = _push(client, people["enum_a"], item())
    household = str(uuid.uuid5(NAMESPACE, f"household:{existing['uuid']}"))
    _retire(db_session)

    new = _push(client, people["enum_a"], item())
    visit = _push(client, people["enum_a"], item(subject={"type": "household", "id": household, "area_code": AREA},
                                                 base_version=1))

    entity_type, entity_id, details = _flags(db_session, new)["area_retired"]
    assert (entity_type, entity_id, details["area_code"]) == ("household", str(uuid.uuid5(NAMESPACE, f"household:{new['uuid']}")),
                                                              AREA)
    assert "area_retired" not in _flags(db_session, visit)
    flagged = client.get("/api/v1/submissions", query_string={"flag": "area_retired"}, headers=people["sup_a"])
    assert [s["uuid"] for s in flagged.json["submissions"]] == [new["uuid"]]  # the supervisor's list finds it


def test_a_household_moving_into_a_retired_area_is_flagged(client, db_session, people):
    db_session.add(Area(code="532922102", level="township", parent_code="532922", name_zh="漾江镇"))
    db_session.commit()
    first = _push(client, people["enum_a"], item())
    household = str(uuid.uuid5(NAMESPACE, f"household:{first['uuid']}"))
    _retire(db_session, "532922102")

    moved = _push(client, people["enum_a"], item(
        subject={"type": "household", "id": household, "area_code": "532922102"}, base_version=1))

    assert _flags(db_session, moved)["area_retired"][:2] == ("household", household)


def test_a_new_village_in_a_retired_area_is_kept_and_flagged(client, db_session, auth, village_form):  # noqa: F811
    _retire(db_session, VILLAGE)

    survey(client, auth, village_form, None)
    survey(client, auth, village_form, 1)

    flags = db_session.execute(select(Flag.entity_type, Flag.entity_id).where(Flag.code == "area_retired")).all()
    assert flags == [("village", VILLAGE)]  # the first survey made the village; the second found it there


def test_the_areas_list_leaves_retired_areas_out_unless_asked(client, db_session, people):
    _retire(db_session)
    headers = people["sup_a"]

    listed = client.get("/api/v1/areas", headers=headers).json["areas"]
    everything = client.get("/api/v1/areas", query_string={"include_retired": "true"}, headers=headers).json["areas"]
    one = client.get(f"/api/v1/areas/{AREA}", headers=headers)

    assert [a["code"] for a in listed] == ["532922"]
    assert [(a["code"], a["retired_at"] is not None) for a in everything] == [("532922", False), (AREA, True)]
    assert one.status_code == 200 and one.json["retired_at"] is not None  # records still name it


def test_the_map_does_not_draw_a_retired_area(client, db_session, people):
    db_session.execute(update(Area).where(Area.code == AREA).values(boundary=func.ST_GeomFromGeoJSON(json.dumps(SQUARE))))
    db_session.commit()
    assert [f["properties"]["code"] for f in features(client, people["sup_a"], "areas", 13)] == [AREA]

    _retire(db_session)

    assert features(client, people["sup_a"], "areas", 13) == []


def test_no_new_assignment_names_a_retired_area(client, db_session, people):
    _retire(db_session)

    answer = client.post("/api/v1/assignments", headers=people["sup_a"], json={
        "assignee": "enum_a", "area_code": AREA, "form_id": "small_household", "round": "2026-Q4"})

    assert answer.status_code == 422
    assert f"Area {AREA} was retired on" in answer.json["error"]["message"]


@pytest.mark.usefixtures("published")
def test_a_user_whose_scope_names_a_retired_area_keeps_it_and_reads_its_records(client, db_session, make_user, sign_in):
    make_user("enum_t", scope=(AREA,))
    household = str(uuid.uuid5(NAMESPACE, f"household:{_push(client, sign_in('enum_t')['auth'], item())['uuid']}"))
    _retire(db_session)

    signed_in = sign_in("enum_t", device_id="phone-2")
    headers = signed_in["auth"]

    assert signed_in["scope"] == [AREA]
    assert client.get(f"/api/v1/areas/{AREA}", headers=headers).json["retired_at"] is not None
    assert client.get(f"/api/v1/households/{household}", headers=headers).status_code == 200
