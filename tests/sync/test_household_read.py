"""GET /households (filters, keyset pages, scope) and GET /villages/{area_code}."""

from __future__ import annotations

from sqlalchemy import text

from server.models import Village
from tests.sync.conftest import batch, item


def test_households_are_listed_in_pages_filtered_and_scoped(client, people):
    safe = item()
    safe["data"]["housing_grade"] = "A"
    sent = [item(), item(), safe]
    results = client.post("/api/v1/sync/submissions", json=batch(sent), headers=people["enum_a"]).json["results"]
    assert [r["status"] for r in results] == ["accepted"] * 3

    first = client.get("/api/v1/households", query_string={"limit": 2}, headers=people["sup_a"]).json
    assert len(first["households"]) == 2 and first["has_more"]
    rest = client.get("/api/v1/households", query_string={"cursor": first["cursor"]}, headers=people["sup_a"]).json
    ids = [h["id"] for h in first["households"] + rest["households"]]
    assert len(ids) == len(set(ids)) == 3 and not rest["has_more"]

    unsafe = client.get("/api/v1/households", query_string={"flag": "house_unsafe"}, headers=people["sup_a"]).json
    assert len(unsafe["households"]) == 2
    candidates = client.get("/api/v1/households", query_string={"monitoring_state": "candidate"},
                            headers=people["sup_a"]).json
    assert len(candidates["households"]) == 3
    assert client.get("/api/v1/households", headers=people["sup_b"]).json["households"] == []
    masked = client.get("/api/v1/households", headers=people["enum_a"]).json["households"]
    assert {h["householder_name"] for h in masked} == {"***"}


def test_a_village_is_read_with_its_state_and_only_in_scope(client, db_session, people):
    db_session.add(Village(area_code="532922100", properties={"road_hardened": "yes", "contact_phone": "13800000000"},
                           version=1))
    db_session.execute(text("INSERT INTO entity_version (entity_type, entity_id, version, submission_uuids, changes) "
                            "VALUES ('village', '532922100', 1, '{}', '{\"road_hardened\": [null, \"yes\"]}')"))
    db_session.commit()
    answer = client.get("/api/v1/villages/532922100", headers=people["sup_a"])
    assert answer.status_code == 200
    assert answer.json["properties"]["road_hardened"] == "yes" and answer.json["history"][0]["version"] == 1
    assert client.get("/api/v1/villages/532922100", headers=people["enum_a"]).json["properties"]["contact_phone"] == "***"
    assert client.get("/api/v1/villages/532922100", headers=people["sup_b"]).status_code == 404
    assert client.get("/api/v1/villages/532931101", headers=people["sup_b"]).status_code == 404
