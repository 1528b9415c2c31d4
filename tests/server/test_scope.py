"""Area scoping: one SQL clause, applied by every query that returns data."""

import pytest
from sqlalchemy import select

from core.scope import covers, in_scope
from server.models import Area, Household, Role, UserArea


@pytest.fixture
def households(db_session, areas):
    rows = [
        Household(area_code="532922100", household_no="0001", householder_name="杨甲"),
        Household(area_code="532931101", household_no="0001", householder_name="段乙"),
    ]
    db_session.add_all(rows)
    db_session.flush()
    return rows


def _visible(db_session, scope):
    query = select(Household.householder_name).where(in_scope(Household.area_code, scope)).order_by(Household.householder_name)
    return db_session.scalars(query).all()


def test_county_user_sees_only_their_county(db_session, households):
    assert _visible(db_session, ["532922"]) == ["杨甲"]
    assert _visible(db_session, ["532931"]) == ["段乙"]


def test_prefecture_user_sees_both_counties(db_session, households):
    assert sorted(_visible(db_session, ["5329"])) == sorted(["杨甲", "段乙"])


def test_empty_scope_sees_nothing_and_wildcards_do_not_widen_it(db_session, households):
    assert _visible(db_session, []) == []
    assert _visible(db_session, ["%"]) == []
    assert _visible(db_session, ["5329_"]) == []


def test_covers_agrees_with_the_sql_clause(db_session, areas):
    for scope in (["532922"], ["5329"], ["532931", "532922100"], []):
        in_sql = set(db_session.scalars(select(Area.code).where(in_scope(Area.code, scope))))
        in_python = {a.code for a in areas if covers(scope, a.code)}
        assert in_sql == in_python


def test_area_api_lists_only_the_callers_areas(client, make_user, sign_in):
    make_user("enum_a", Role.enumerator, ("532922",))
    make_user("planner_p", Role.planner, ("5329",))
    county = client.get("/api/v1/areas", headers=sign_in("enum_a")["auth"]).json
    assert [a["code"] for a in county["areas"]] == ["532922", "532922100"]
    prefecture = client.get("/api/v1/areas", headers=sign_in("planner_p")["auth"]).json
    assert [a["code"] for a in prefecture["areas"]] == ["5329", "532922", "532922100", "532931", "532931101"]


def test_an_area_outside_scope_answers_404_like_a_missing_one(client, make_user, sign_in):
    make_user("enum_a", Role.enumerator, ("532922",))
    auth = sign_in("enum_a")["auth"]
    assert client.get("/api/v1/areas/532922100", headers=auth).json["name"]["zh"] == "苍山西镇"
    other = client.get("/api/v1/areas/532931", headers=auth)
    missing = client.get("/api/v1/areas/539999", headers=auth)
    assert other.status_code == missing.status_code == 404
    assert other.json["error"]["code"] == missing.json["error"]["code"] == "not_found"


def test_area_pages_are_keyset_and_complete(client, make_user, sign_in):
    make_user("planner_p", Role.planner, ("5329",))
    auth = sign_in("planner_p")["auth"]
    seen, cursor = [], None
    while True:
        query = "/api/v1/areas?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(query, headers=auth).json
        seen += [a["code"] for a in page["areas"]]
        if not page["has_more"]:
            break
        cursor = page["cursor"]
    assert seen == ["5329", "532922", "532922100", "532931", "532931101"]


def test_a_scope_change_applies_on_the_next_request(client, db_session, make_user, sign_in):
    user = make_user("enum_a", Role.enumerator, ("532922",))
    auth = sign_in("enum_a")["auth"]
    user.areas = [UserArea(area_code="532931")]
    db_session.commit()
    assert client.get("/api/v1/me", headers=auth).json["scope"] == ["532931"]
    assert client.get("/api/v1/areas/532922", headers=auth).status_code == 404
