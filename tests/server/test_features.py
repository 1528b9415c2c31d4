"""The OGC API – Features endpoint (issue 15, part 4): paged by keyset through `next` links, counted as SQL counts,
scoped to the caller's areas, masked for every role, refused to enumerators, and read by GDAL's OAPIF driver."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pyogrio
import pytest
from flask import Flask
from pyogrio import raw
from sqlalchemy import Engine, create_engine, text

from server import paging
from server.app import create_app
from server.demo.accounts import ACCOUNTS
from server.extensions import db
from server.models import Area, AreaLevel, Role
from server.services import users
from tests.conftest import scratch_database
from tests.server.conftest import PASSWORD
from tools import live_server

ROOT = "/api/v1/features"
YANGBI, JIANCHUAN, LINXIANG = "532922", "532931", "530902"  # 临翔区 of 临沧, where the demo has no household
PLANNERS = {"planner_yangbi": YANGBI, "planner_jianchuan": JIANCHUAN, "planner_linxiang": LINXIANG}
DEMO = {a.username: a.password for a in ACCOUNTS}
CANARY = {"householder_name": "测试甲乙丙", "phone": "13912345678", "householder_id_card_no": "11010519491231002X"}
VILLAGE_CANARY = {"contact_name": "测试丁戊己", "contact_phone": "13987654321"}
SQL = {  # what a reader of one area (the :area prefix) has in each collection, read directly
    "households": "SELECT id::text FROM household WHERE area_code LIKE :area || '%'",
    "natural_villages": "SELECT code FROM area WHERE level = 'natural_village' AND code LIKE :area || '%'",
    "admin_villages": "SELECT code FROM area WHERE level = 'admin_village' AND code LIKE :area || '%'",
}


@dataclass(frozen=True)
class Served:
    app: Flask
    database_url: str
    engine: Engine
    tokens: dict[str, str]  # username -> bearer token

    def get(self, path: str, user: str, **query: Any):
        return self.app.test_client().get(path, query_string=query, headers={"Authorization": f"Bearer {self.tokens[user]}"})


def _sign_in(app: Flask, username: str, password: str) -> str:
    answer = app.test_client().post("/api/v1/auth/device-tokens",
                                    json={"username": username, "password": password, "device_id": f"qgis-{username}"})
    assert answer.status_code == 201, answer.json
    return answer.json["token"]


def _seed_canaries() -> None:
    """Personal values no feature may carry: on a household of 漾濞 and on one of its villages."""
    household = db.session.scalar(text("SELECT id FROM household WHERE area_code LIKE :area || '%' ORDER BY id LIMIT 1"),
                                  {"area": YANGBI})
    db.session.execute(text("UPDATE household SET householder_name = :name, properties = properties || CAST(:values AS jsonb) "
                            "WHERE id = :id"),
                       {"name": CANARY["householder_name"], "values": json.dumps(CANARY), "id": household})
    db.session.execute(text("UPDATE person SET name = :name WHERE household_id = :id"), {"name": "测试庚辛", "id": household})
    db.session.execute(text("UPDATE village SET properties = properties || CAST(:values AS jsonb) WHERE area_code = "
                            "(SELECT min(area_code) FROM village WHERE area_code LIKE :area || '%')"),
                       {"values": json.dumps(VILLAGE_CANARY), "area": YANGBI})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The small Dali demo (12 counties, 40 households each) committed to a database of its own, with planners of
    漾濞, 剑川 and 临翔 (a county with no data) and canary personal values, and the app on it."""
    with scratch_database("survey_features") as database:
        live_server.prepare(database)
        app = create_app({**database.overrides(), "TESTING": True, "SECRET_KEY": "features-test",
                          "ATTACHMENT_DIR": str(tmp_path_factory.mktemp("attachments"))})
        with app.app_context():
            db.session.add(Area(code=LINXIANG, level=AreaLevel.county, parent_code="5309", name_zh="临翔区"))
            for username, area in PLANNERS.items():
                users.create_user(db.session, username, Role.planner, [area], PASSWORD, actor="test")
            _seed_canaries()
            db.session.commit()
        tokens = {name: _sign_in(app, name, PASSWORD) for name in PLANNERS}
        tokens |= {name: _sign_in(app, name, DEMO[name]) for name in ("demo_admin", "demo_supervisor", "demo_enumerator")}
        engine = create_engine(database.url)
        try:
            yield Served(app, database.url, engine, tokens)
        finally:
            engine.dispose()
            with app.app_context():
                db.engine.dispose()


def _direct(served: Served, collection: str, area: str) -> list[str]:
    with served.engine.connect() as connection:
        return list(connection.scalars(text(SQL[collection]), {"area": area}))


def _pages(served: Served, user: str, collection: str, **query: Any) -> list[dict[str, Any]]:
    """Every page of a collection, following each page's `next` link as a client does."""
    answer = served.get(f"{ROOT}/collections/{collection}/items", user, **query)
    pages = []
    while True:
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.mimetype == "application/geo+json"
        pages.append(answer.get_json(force=True))
        following = [link["href"] for link in pages[-1]["links"] if link["rel"] == "next"]
        if not following:
            return pages
        assert len(pages) < 1000, "the next links do not end"
        target = urlsplit(following[0])
        answer = served.app.test_client().get(f"{target.path}?{target.query}",
                                              headers={"Authorization": f"Bearer {served.tokens[user]}"})


def _ids(pages: list[dict[str, Any]]) -> list[str]:
    return [feature["id"] for page in pages for feature in page["features"]]


def _error(answer, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.get_data(as_text=True)
    body = answer.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"], body
    return body["error"]


@pytest.mark.parametrize("collection", ["households", "natural_villages", "admin_villages"])
def test_next_links_give_every_row_in_scope_exactly_once_and_the_count_is_an_sql_count(served, collection):
    pages = _pages(served, "planner_yangbi", collection, limit=3)
    ids, expected = _ids(pages), _direct(served, collection, YANGBI)
    assert len(ids) == len(set(ids)), "a feature came twice"
    assert sorted(ids) == sorted(expected) and len(expected) > 3
    assert pages[0]["numberMatched"] == len(expected)
    assert [page["numberReturned"] for page in pages] == [len(page["features"]) for page in pages]
    assert len(pages) == -(-len(expected) // 3) and all(len(page["features"]) == 3 for page in pages[:-1])
    assert all(f["properties"]["area_code"].startswith(YANGBI) for page in pages for f in page["features"])


def test_a_bbox_narrows_the_page_and_the_count_to_what_postgis_finds_in_it(served):
    with served.engine.connect() as connection:
        # The box of one township's households: inside the county, and not the whole of it.
        box = connection.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(location) e "
                                      "FROM household WHERE area_code LIKE :area || '%') x"), {"area": f"{YANGBI}204"}).one()
        expected = set(connection.scalars(text(
            "SELECT id::text FROM household WHERE area_code LIKE :area || '%' "
            "AND location && ST_MakeEnvelope(:w, :s, :e, :n, 4326)"), {"area": YANGBI, "w": box[0], "s": box[1],
                                                                        "e": box[2], "n": box[3]}))
    pages = _pages(served, "planner_yangbi", "households", limit=4, bbox=",".join(map(str, box)))
    assert 0 < len(expected) < len(_direct(served, "households", YANGBI))
    assert pages[0]["numberMatched"] == len(expected) and set(_ids(pages)) == expected and len(_ids(pages)) == len(expected)


def test_another_countys_planner_sees_nothing_and_a_direct_id_is_not_found(served):
    household, village = _direct(served, "households", YANGBI)[0], _direct(served, "natural_villages", YANGBI)[0]
    for collection in ("households", "natural_villages", "admin_villages"):
        page = served.get(f"{ROOT}/collections/{collection}/items", "planner_linxiang").get_json(force=True)
        assert (page["numberMatched"], page["features"]) == (0, [])
    for planner in ("planner_linxiang", "planner_jianchuan"):
        _error(served.get(f"{ROOT}/collections/households/items/{household}", planner), 404, "not_found")
        _error(served.get(f"{ROOT}/collections/natural_villages/items/{village}", planner), 404, "not_found")
        _error(served.get(f"{ROOT}/collections/households/items", planner, area_code=YANGBI), 404, "not_found")
    # 剑川's own planner reads 剑川's households, and only them.
    own = _ids(_pages(served, "planner_jianchuan", "households", limit=10_000))
    assert sorted(own) == sorted(_direct(served, "households", JIANCHUAN)) and household not in own
    # The same household to a planner of its own county.
    answer = served.get(f"{ROOT}/collections/households/items/{household}", "planner_yangbi")
    assert answer.status_code == 200 and answer.mimetype == "application/geo+json"
    assert answer.get_json(force=True)["id"] == household


@pytest.mark.parametrize("path", ["", "/conformance", "/collections", "/collections/households",
                                  "/collections/households/items"])
def test_an_enumerator_is_refused(served, path):
    _error(served.get(ROOT + path, "demo_enumerator"), 403, "forbidden")


def test_no_personal_property_or_value_reaches_any_feature_even_for_an_admin(served):
    from core.masking import personal

    names = set().union(*personal().values())
    collections = [c["id"] for c in served.get(f"{ROOT}/collections", "demo_admin").json["collections"]]
    for collection in collections:
        for review in ("approved", "any"):
            pages = _pages(served, "demo_admin", collection, limit=10_000, review=review)
            keys = {key for page in pages for feature in page["features"] for key in feature["properties"]}
            assert keys and not keys & names, f"{collection}: personal properties {sorted(keys & names)}"
            shown = json.dumps(pages, ensure_ascii=False)
            leaked = [value for value in [*CANARY.values(), *VILLAGE_CANARY.values(), "测试庚辛", "***"] if value in shown]
            assert leaked == [], f"{collection} ({review}) carries {leaked}"


@pytest.mark.parametrize(("query", "field"), [
    ({"bbox": "99,25,100"}, "bbox"),
    ({"bbox": "99,26,100,25"}, "bbox"),  # south above north
    ({"bbox": "99,25,200,26"}, "bbox"),
    ({"bbox": "a,b,c,d"}, "bbox"),
    ({"bbox": "nan,25,100,26"}, "bbox"),
    ({"limit": 0}, "limit"),
    ({"limit": 10_001}, "limit"),
    ({"review": "pending"}, "review"),
    ({"area_code": "53x"}, "area_code"),
])
def test_bad_arguments_are_422_in_the_error_shape(served, query, field):
    error = _error(served.get(f"{ROOT}/collections/households/items", "planner_yangbi", **query), 422, "validation_failed")
    assert [f["field"] for f in error["details"]["fields"]] == [field]


@pytest.mark.parametrize("cursor", ["abc", paging.encode([5]), paging.encode(["a", "b"]), paging.encode("x")])
def test_a_cursor_not_given_out_is_422(served, cursor):
    _error(served.get(f"{ROOT}/collections/households/items", "planner_yangbi", cursor=cursor), 422, "bad_cursor")


def test_an_unknown_collection_or_feature_is_404(served):
    _error(served.get(f"{ROOT}/collections/people/items", "planner_yangbi"), 404, "collection_not_found")
    _error(served.get(f"{ROOT}/collections/people", "planner_yangbi"), 404, "collection_not_found")
    _error(served.get(f"{ROOT}/collections/households/items/not-a-household", "planner_yangbi"), 404, "not_found")


def test_the_landing_page_conformance_and_collections_are_what_clients_follow(served):
    landing = served.get(ROOT, "planner_yangbi").json
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert urlsplit(rels["service-desc"]).path == "/api/v1/openapi.json"
    conformance = served.get(urlsplit(rels["conformance"]).path, "planner_yangbi").json["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conformance
    listed = served.get(urlsplit(rels["data"]).path, "planner_yangbi").json["collections"]
    expected = {"households", "natural_villages", "admin_villages"}
    if importlib.util.find_spec("server.services.exports.indicators") is not None:
        expected |= {f"indicators_{level}" for level in ("natural_village", "admin_village", "township", "county")}
    assert {c["id"] for c in listed} == expected
    households = next(c for c in listed if c["id"] == "households")
    assert (households["title"], households["itemType"]) == ("农户", "feature")
    assert households["crs"] == ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
    west, south, east, north = households["extent"]["spatial"]["bbox"][0]
    assert 98 < west < east < 102 and 24 < south < north < 28  # 漾濞, within Dali
    english = served.app.test_client().get(f"{ROOT}/collections/households", headers={
        "Authorization": f"Bearer {served.tokens['planner_yangbi']}", "Accept-Language": "en-GB,en;q=0.9"}).json
    assert english["title"] == "Households"


@pytest.fixture
def port(served, tmp_path) -> Iterator[str]:
    """The app under gunicorn on a real port, over the same database. Not a werkzeug server in a thread of the test:
    pyogrio keeps the GIL while GDAL fetches a next page, and such a server never answers it."""
    with live_server.gunicorn(served.database_url, tmp_path / "attachments", tmp_path / "gunicorn.log", workers=1) as running:
        yield running.url


def test_gdal_reads_the_layer_with_the_right_count(served, port, tmp_path):
    # GDAL's OAPIF driver sends its Accept header as the request's HEADERS option, which replaces GDAL_HTTP_HEADERS
    # (GDAL 3.12, as OSGeo/gdal#11385 tells of ESRIJSON); a header file is added to every request of every driver.
    headers = tmp_path / "headers.txt"
    headers.write_text(f"Authorization: Bearer {served.tokens['planner_yangbi']}\n")
    url = f"OAPIF:{port}{ROOT}"
    pyogrio.set_gdal_config_options({"GDAL_HTTP_HEADER_FILE": str(headers)})
    try:
        layers = [name for name, _ in pyogrio.list_layers(url)]
        info = pyogrio.read_info(url, layer="households")
        meta, _, geometry, values = raw.read(url, layer="households", PAGE_SIZE="9")  # five pages by next links
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_HEADER_FILE": None})
    expected = _direct(served, "households", YANGBI)
    with served.engine.connect() as connection:
        numbers = dict(connection.execute(text("SELECT id::text, household_no FROM household WHERE area_code LIKE :area || '%'"),
                                          {"area": YANGBI}).all())
    fields = list(meta["fields"])
    read = dict(zip(values[fields.index("household_id")], values[fields.index("household_no")], strict=True))
    print(f"OAPIF: GDAL {pyogrio.__gdal_version_string__} read households of 漾濞: {info['features']} counted, "
          f"{len(geometry)} read in pages of 9; expected {len(expected)}")
    assert {"households", "natural_villages", "admin_villages"} <= set(layers)
    assert info["features"] == len(expected) == len(geometry) == 40
    assert info["crs"] == "EPSG:4326" and info["geometry_type"] == "Point"
    assert read == numbers
    assert all(g is not None for g in geometry)
