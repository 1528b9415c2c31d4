"""The review map's vector tiles (issue 14): points drawn from PostGIS with the list's filter and the reader's scope,
counted into cells at county zoom."""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest

from core import geo
from server.models import Area, AreaLevel
from tests.sync.conftest import batch, item

LAT, LON = 25.67, 99.95  # where item() places its visits


def tile_of(lat: float, lon: float, z: int) -> tuple[int, int, int]:
    """The slippy-map tile holding a point."""
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def features(client, headers, layer: str, z: int, **query) -> list[dict]:
    z, x, y = tile_of(LAT, LON, z)
    answer = client.get(f"/api/v1/tiles/{layer}/{z}/{x}/{y}.mvt", query_string=query, headers=headers)
    assert answer.status_code == 200, answer.data[:300]
    assert answer.mimetype == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(answer.data)
    return decoded[layer]["features"] if layer in decoded else []


VILLAGE = "532922100201001"  # a natural village of 苍山西镇 whose centroid is at LAT, LON


@pytest.fixture
def visits(client, db_session, people):
    db_session.add(Area(code=VILLAGE, level=AreaLevel.natural_village, parent_code="532922100", name_zh="测试村",
                        centroid=geo.point(LAT, LON)))
    db_session.commit()
    sent = [item(gps={"lat": LAT + i * 0.0005, "lon": LON, "accuracy_m": 5}) for i in range(3)]
    sent.append(item(gps=None, subject={"type": "household", "id": None, "area_code": VILLAGE}))  # drawn by village
    results = client.post("/api/v1/sync/submissions", json=batch(sent), headers=people["enum_a"]).json["results"]
    assert [r["status"] for r in results] == ["accepted"] * 4
    return [s["uuid"] for s in sent]


def test_close_up_each_submission_is_a_point_with_its_uuid_and_the_lists_filter_applies(client, people, visits):
    close = features(client, people["sup_a"], "submissions", 16)
    assert sorted(f["properties"]["uuid"] for f in close) == sorted(visits[:3])  # the fourth has no fix
    assert {f["properties"]["review_state"] for f in close} == {"pending"}
    client.post(f"/api/v1/submissions/{visits[0]}/reviews", json={"decision": "approved"}, headers=people["sup_a"])
    assert [f["properties"]["uuid"] for f in features(client, people["sup_a"], "submissions", 16,
                                                      review_state="approved")] == [visits[0]]


def test_at_village_zoom_points_are_counted_into_cells_and_farther_out_by_village(client, people, visits):
    cells = features(client, people["sup_a"], "submissions", 12)
    # 55 m apart, a third of a tile unit at this zoom: one cell, or two where a cell's edge falls between them.
    assert sum(f["properties"]["count"] for f in cells) == 3 and len(cells) < 3
    assert sum(f["properties"]["flagged"] for f in cells) == 3  # all three wait for a decision
    # Farther out, by natural village at its centroid (the visit without a fix counts there too); the three of the
    # township, which no area places, amid their fixes: the map counts what the list holds.
    villages = features(client, people["sup_a"], "submissions", 9)
    assert sorted((f["properties"]["count"], f["properties"]["flagged"]) for f in villages) == [(1, 1), (3, 3)]
    households = features(client, people["sup_a"], "households", 9)
    # Four households: the fourth visit's household has its place from the form's own location answer.
    assert sum(f["properties"]["count"] for f in households) == 4


def test_a_supervisor_of_another_county_gets_an_empty_tile(client, people, visits):
    assert features(client, people["sup_b"], "submissions", 16) == []
    assert features(client, people["sup_b"], "households", 9) == []
    assert client.get("/api/v1/tiles/households/9/1/1.mvt", headers=people["enum_a"]).status_code == 403


def test_a_tile_off_the_map_is_a_clear_error(client, people):
    for path in ("households/3/8/0", "submissions/23/0/0", "areas/2/1/4"):
        answer = client.get(f"/api/v1/tiles/{path}.mvt", headers=people["sup_a"])
        assert answer.status_code == 422, path
        assert answer.json["error"]["code"] == "validation_failed"
