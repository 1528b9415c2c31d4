"""Pull (protocol.md): the feed's four guarantees, its scope, households with their members, villages, assignments, reviews."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DBAPIError

from schemas.form_definition import form_definition_schema
from server.app import create_app
from server.extensions import db
from server.services import forms
from survey_forms import loader
from sync.evidence import NAMESPACE
from tests.sync.conftest import AREA, batch, bearer, item
from tools import formfill

OTHER_COUNTY_AREA = "532931101"  # 沙溪镇, 剑川


def pull(client, headers, cursor: str | None = None, limit: int = 500) -> dict[str, Any]:
    query = {"limit": limit} | ({"cursor": cursor} if cursor else {})
    answer = client.get("/api/v1/sync/changes", query_string=query, headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json


def settle(app, seconds: float = 30) -> None:
    """Waits until every transaction older than the newest change has ended, wherever it runs.

    Pull holds back changes while an older transaction is open anywhere in the cluster (guarantee 1), and on a
    shared test server another test's transaction may be open for a moment.
    """
    deadline = time.monotonic() + seconds
    with app.app_context():
        while db.session.execute(text(
                "SELECT coalesce(max(txid), '0'::xid8) >= pg_snapshot_xmin(pg_current_snapshot()) FROM sync_change"
        )).scalar_one() and time.monotonic() < deadline:
            db.session.rollback()
            time.sleep(0.05)
        db.session.rollback()


def pull_all(client, headers, cursor: str | None = None, limit: int = 500) -> tuple[list[dict], str]:
    """Every change from the cursor on, page by page, and the cursor to keep."""
    settle(client.application)
    changes: list[dict] = []
    while True:
        page = pull(client, headers, cursor, limit)
        changes += page["changes"]
        cursor = page["cursor"]
        if not page["has_more"]:
            return changes, cursor


def ids(changes: list[dict], kind: str) -> set[str]:
    return {change["id"] for change in changes if change["kind"] == kind}


def add_household(app, area_code: str, number: str) -> str:
    with app.app_context():
        household_id = db.session.execute(text(
            "INSERT INTO household (area_code, household_no, householder_name, properties) "
            "VALUES (:area, :number, '杨建华', '{\"phone\": \"13800000000\", \"monitoring_category\": \"none\"}') "
            "RETURNING id"), {"area": area_code, "number": number}).scalar_one()
        db.session.commit()
    return str(household_id)


def test_a_first_pull_gives_the_areas_in_scope_and_the_forms_of_the_role(committed_app):
    client = committed_app.test_client()
    changes, _ = pull_all(client, bearer(committed_app, "enum_a"))
    assert ids(changes, "area") == {"532922", "532922100"}
    assert ids(changes, "form") == {"small_household/1"}
    area = next(c for c in changes if c["id"] == "532922100")
    assert area["data"]["name"] == {"zh": "苍山西镇", "en": None}
    assert area["data"]["level"] == "township"
    form = next(c for c in changes if c["kind"] == "form")["data"]
    assert form["form_id"] == "small_household" and len(form["sha256"]) == 64

    planner_areas, _ = pull_all(client, bearer(committed_app, "admin"))
    assert ids(planner_areas, "area") >= {"53", "5329", "532922", "532931"}


def test_a_change_whose_transaction_began_before_a_pull_appears_in_the_next_pull(committed_app):
    """Guarantee 1, with two real connections: a slow writer's change is not skipped by a fast one's."""
    client = committed_app.test_client()
    headers = bearer(committed_app, "enum_a")
    _, cursor = pull_all(client, headers)
    engine = create_engine(committed_app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.connect() as slow:
        slow.execute(text("INSERT INTO household (area_code, household_no) VALUES (:area, 'slow-1')"), {"area": AREA})
        # The slow transaction has its id; a later one commits a change that sorts after it.
        fast = add_household(committed_app, AREA, "fast-1")
        page = pull(client, headers, cursor)
        assert page["changes"] == []  # held back: the slow transaction may still commit before it
        assert page["held_back"] is True  # and the device is told so
        slow.commit()
    engine.dispose()
    changes, _ = pull_all(client, headers, page["cursor"])
    numbers = {c["data"]["household_no"] for c in changes if c["kind"] == "household"}
    assert numbers == {"slow-1", "fast-1"}
    assert fast in ids(changes, "household")


def test_a_transaction_the_app_leaves_open_and_idle_is_ended_and_the_feed_moves_on(committed_app):
    """No stalls: the app's sessions carry idle_in_transaction_session_timeout, so a forgotten transaction ends
    (rolled back, nothing of it kept) and holds the feed back no longer than that."""
    client = committed_app.test_client()
    headers = bearer(committed_app, "enum_a")
    _, cursor = pull_all(client, headers)
    stalled = create_app({**committed_app.config, "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": 300})
    engine = create_engine(stalled.config["SQLALCHEMY_DATABASE_URI"], **stalled.config["SQLALCHEMY_ENGINE_OPTIONS"])
    with engine.connect() as forgotten:
        forgotten.execute(text("INSERT INTO household (area_code, household_no) VALUES (:area, 'never')"), {"area": AREA})
        add_household(committed_app, AREA, "later-1")
        assert pull(client, headers, cursor)["held_back"] is True
        time.sleep(1)
        changes, _ = pull_all(client, headers, cursor)
        assert {c["data"]["household_no"] for c in changes if c["kind"] == "household"} == {"later-1"}
        with pytest.raises(DBAPIError, match="idle-in-transaction timeout"):
            forgotten.execute(text("SELECT 1"))  # the server ended it
    engine.dispose()


def test_the_same_cursor_gives_the_same_changes(committed_app):
    """Guarantee 2: a pull whose answer was lost can be retried."""
    client = committed_app.test_client()
    headers = bearer(committed_app, "enum_a")
    for number in range(5):
        add_household(committed_app, AREA, f"h-{number}")
    settle(committed_app)
    first = pull(client, headers, limit=3)
    again = pull(client, headers, limit=3)
    assert first == again
    assert pull(client, headers, first["cursor"]) == pull(client, headers, first["cursor"])


def test_only_the_latest_state_of_an_object_is_sent(committed_app):
    """Guarantee 3: three updates before a pull give one change, carrying the last version and values."""
    client = committed_app.test_client()
    headers = bearer(committed_app, "enum_a")
    _, cursor = pull_all(client, headers)
    household = add_household(committed_app, AREA, "h-1")
    with committed_app.app_context():
        for version in (2, 3, 4):
            db.session.execute(text(
                "UPDATE household SET version = :v, "
                "properties = jsonb_set(properties, '{phone}', to_jsonb(CAST(:phone AS text))) WHERE id = :id"),
                {"v": version, "phone": f"1380000000{version}", "id": household})
            db.session.commit()
    changes, _ = pull_all(client, headers, cursor)
    assert [c["id"] for c in changes] == [household]
    assert changes[0]["version"] == 4
    assert changes[0]["data"]["version"] == 4


def test_households_carry_their_prefill_values(committed_app):
    client = committed_app.test_client()
    household = add_household(committed_app, AREA, "h-1")
    changes, _ = pull_all(client, bearer(committed_app, "enum_a"))
    data = next(c for c in changes if c["id"] == household)["data"]
    assert data["household_no"] == "h-1" and data["householder_name"] == "杨建华"
    assert data["monitoring_category"] == "none"
    assert data["area_code"] == AREA
    # The one form published here pre-fills no property the household holds: the phone number stays on the server.
    assert data["prefill"] == {}


def test_nothing_outside_the_callers_areas_or_addressed_to_someone_else_is_pulled(committed_app):
    """Guarantee 4: households, areas, assignments and reviews of others never reach a device."""
    client = committed_app.test_client()
    theirs = add_household(committed_app, OTHER_COUNTY_AREA, "jc-1")
    ours = add_household(committed_app, AREA, "yb-1")
    admin = bearer(committed_app, "admin")
    assert client.post("/api/v1/assignments", headers=admin, json={
        "assignee": "enum_b", "area_code": OTHER_COUNTY_AREA, "form_id": "small_household", "round": "2026-Q4"}
    ).status_code == 201
    assert client.post("/api/v1/assignments", headers=admin, json={
        "assignee": "sup_a", "area_code": AREA, "form_id": "small_household", "round": "2026-Q4"}).status_code == 201

    changes, _ = pull_all(client, bearer(committed_app, "enum_a"))
    assert ids(changes, "household") == {ours}
    assert theirs not in {c["id"] for c in changes}
    assert all(c["data"]["code"].startswith("532922") for c in changes if c["kind"] == "area")
    assert ids(changes, "assignment") == set()  # one is in another county, the other is for sup_a

    enum_b_changes, _ = pull_all(client, bearer(committed_app, "enum_b"))
    assert ids(enum_b_changes, "household") == {theirs}
    assert len(ids(enum_b_changes, "assignment")) == 1


def test_an_assignment_reaches_the_enumerators_device_and_so_does_its_cancellation(committed_app):
    client = committed_app.test_client()
    enumerator = bearer(committed_app, "enum_a")
    supervisor = bearer(committed_app, "sup_a")
    household = add_household(committed_app, AREA, "h-1")
    _, cursor = pull_all(client, enumerator)
    answer = client.post("/api/v1/assignments", headers=supervisor, json={
        "assignee": "enum_a", "household_id": household, "form_id": "small_household", "round": "2026-Q4",
        "due_date": "2026-12-31"})
    assert answer.status_code == 201, answer.json
    assignment = answer.json["id"]
    changes, cursor = pull_all(client, enumerator, cursor)
    assert [c["data"] for c in changes] == [{
        "id": assignment, "area_code": AREA, "household_id": household, "form_id": "small_household",
        "round": "2026-Q4", "due_date": "2026-12-31", "state": "open"}]

    assert client.post(f"/api/v1/assignments/{assignment}/cancel", headers=supervisor).status_code == 200
    changes, _ = pull_all(client, enumerator, cursor)
    assert [(c["id"], c["data"]["state"]) for c in changes] == [(assignment, "cancelled")]


def test_an_assignment_outside_the_supervisors_areas_is_refused_and_audited(committed_app):
    client = committed_app.test_client()
    answer = client.post("/api/v1/assignments", headers=bearer(committed_app, "sup_a"), json={
        "assignee": "enum_b", "area_code": OTHER_COUNTY_AREA, "form_id": "small_household", "round": "2026-Q4"})
    assert answer.status_code == 403
    assert answer.json["error"]["code"] == "forbidden"
    with committed_app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM assignment")).scalar_one() == 0
        audited = db.session.execute(text(
            "SELECT outcome FROM audit_log WHERE action = 'assignment.create'")).scalars().all()
    assert audited == ["denied"]


def test_an_assignment_in_an_area_the_enumerator_cannot_see_is_refused(committed_app):
    answer = committed_app.test_client().post("/api/v1/assignments", headers=bearer(committed_app, "admin"), json={
        "assignee": "enum_a", "area_code": OTHER_COUNTY_AREA, "form_id": "small_household", "round": "2026-Q4"})
    assert answer.status_code == 422
    assert "enum_a" in answer.json["error"]["message"]


def test_assignments_from_the_command_line(committed_app):
    runner = committed_app.test_cli_runner()
    result = runner.invoke(args=["assignments", "create", "--by", "sup_a", "--assignee", "enum_a", "--area", AREA,
                                 "--form", "small_household", "--round", "2026-Q4", "--due", "2026-12-31"])
    assert result.exit_code == 0, result.output
    changes, _ = pull_all(committed_app.test_client(), bearer(committed_app, "enum_a"))
    assert [c["data"]["round"] for c in changes if c["kind"] == "assignment"] == ["2026-Q4"]

    refused = runner.invoke(args=["assignments", "create", "--by", "sup_b", "--assignee", "enum_a", "--area", AREA,
                                  "--form", "small_household", "--round", "2026-Q4"])
    assert refused.exit_code == 1
    assert "outside your areas" in refused.output


def test_a_review_reaches_the_submitters_device_only(committed_app):
    client = committed_app.test_client()
    enumerator = bearer(committed_app, "enum_a")
    sent = item()
    assert client.post("/api/v1/sync/submissions", headers=enumerator, json=batch([sent])).json["results"][0][
        "status"] == "accepted"
    _, cursor = pull_all(client, enumerator)
    supervisor = bearer(committed_app, "sup_a")
    answer = client.post(f"/api/v1/submissions/{sent['uuid']}/reviews", headers=supervisor,
                         json={"decision": "rejected", "comment": "户主身份证号有误，请核实"})
    assert answer.status_code == 201, answer.json
    changes, _ = pull_all(client, enumerator, cursor)
    assert len(changes) == 1
    review = changes[0]["data"]
    assert review["uuid"] == sent["uuid"] and review["state"] == "rejected"
    assert review["comment"] == "户主身份证号有误，请核实"
    assert review["reviewer"] == "sup_a"

    other = bearer(committed_app, "sup_b")
    assert client.post(f"/api/v1/submissions/{sent['uuid']}/reviews", headers=other,
                       json={"decision": "approved"}).status_code == 404
    assert ids(pull_all(client, bearer(committed_app, "enum_b"))[0], "review") == set()


def test_a_cursor_this_server_did_not_give_out_is_refused(committed_app):
    client = committed_app.test_client()
    headers = bearer(committed_app, "enum_a")
    for cursor in ("not-a-cursor", "WzEsMiwzXQ", "WyJ4IiwxXQ"):  # junk, [1,2,3], ["x",1]
        answer = client.get("/api/v1/sync/changes", query_string={"cursor": cursor}, headers=headers)
        assert answer.status_code == 422, cursor
        assert answer.json["error"]["code"] == "bad_cursor"


def test_paged_pull_while_writes_go_on_skips_and_repeats_nothing(committed_app):
    """S11: a device pulls in pages of 20 while 500 households are written in parallel."""
    client = committed_app.test_client()
    headers = bearer(committed_app, "enum_a")
    before = {add_household(committed_app, AREA, f"before-{n}") for n in range(200)}
    written: list[str] = []

    def write() -> None:
        for n in range(500):
            written.append(add_household(committed_app, AREA, f"during-{n}"))

    writer = threading.Thread(target=write)
    writer.start()
    pages: list[list[dict]] = []
    cursor = None
    while True:
        page = pull(client, headers, cursor, limit=20)
        pages.append(page["changes"])
        cursor = page["cursor"]
        if not page["has_more"] and not writer.is_alive():
            break
    writer.join()
    rest, _ = pull_all(client, headers, cursor)
    seen = [(c["kind"], c["id"]) for page in [*pages, rest] for c in page]
    assert len(seen) == len(set(seen)), "an object was sent twice"
    households = {object_id for kind, object_id in seen if kind == "household"}
    assert before <= households, "a household present before the pull was skipped"
    assert households == before | set(written)
    print(f"\nS11: {len(pages)} pages of ≤20 under 500 parallel writes; duplicated 0, skipped "
          f"{len((before | set(written)) - households)}")


@pytest.fixture
def real_forms(committed_app):
    """The repository's forms published too: the household and village forms and what they pre-fill."""
    definitions = loader.load_all(form_definition_schema())
    with committed_app.app_context():
        forms.publish(db.session, definitions, actor="test")
        db.session.commit()
    return {d.form_id: d for d in definitions}


def visit_household(app, household_form, seed: int, members: int = 4) -> tuple[str, dict[str, Any]]:
    """A household_visit pushed by enum_a about a new household; the household's id and the data sent."""
    data = formfill.fill(household_form, random.Random(seed), members=members)  # noqa: S311 - test data
    sent = item(form_id="household_visit", form_version=household_form.version, data=data)
    answer = app.test_client().post("/api/v1/sync/submissions", json=batch([sent]), headers=bearer(app, "enum_a"))
    assert answer.json["results"][0]["status"] == "accepted", answer.json
    return str(uuid.uuid5(NAMESPACE, f"household:{sent['uuid']}")), data


def test_a_household_carries_its_members_prefill_values_and_no_id_number(committed_app, real_forms):
    household, data = visit_household(committed_app, real_forms["household_visit"], seed=21)
    numbers = [row["id_card_no"] for row in data["members"] if row.get("id_card_no")]
    assert numbers, "formfill gives members ID numbers"

    changes, _ = pull_all(committed_app.test_client(), bearer(committed_app, "enum_a"))
    pulled = next(c for c in changes if c["id"] == household)["data"]
    members = pulled["members"]
    assert len(members) == len(data["members"])
    assert all(m["person_key"] for m in members)
    shown = ("name", "sex", "birth_date", "relation_to_head", "member_status", "education_level")  # columns, properties
    assert sorted(tuple(m.get(n) for n in shown) for m in members) == sorted(
        tuple(row.get(n) for n in shown) for row in data["members"])
    assert not any("id_card_no" in member for member in members)
    assert pulled["prefill"]["household_size"] == data["household_size"]
    assert "householder_id_card_no" not in pulled["prefill"]
    sent = json.dumps(changes, ensure_ascii=False)
    assert not any(number in sent for number in numbers)  # nor masked: not even the last four digits with stars
    assert "*" * 14 not in sent


def test_a_page_of_households_takes_the_same_queries_however_many_households_and_members_it_holds(
        committed_app, real_forms):
    client, headers = committed_app.test_client(), bearer(committed_app, "enum_a")
    for seed in range(6):
        visit_household(committed_app, real_forms["household_visit"], seed=30 + seed, members=3)
    with committed_app.app_context():
        engine = db.engine
    settle(committed_app)
    # What a first pull works out once (the published forms' prefill) is not counted. The households come last in
    # the feed, after the areas and forms.
    before = sum(c["kind"] != "household" for c in pull(client, headers)["changes"])

    def statements(households: int) -> int:
        seen: list[str] = []

        def count(connection, cursor, statement, *rest) -> None:
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            page = pull(client, headers, limit=before + households)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert sum(c["kind"] == "household" for c in page["changes"]) == households
        assert all(len(c["data"]["members"]) == 3 for c in page["changes"] if c["kind"] == "household")
        return len(seen)

    assert statements(1) == statements(6)


def add_village(app, area_code: str, properties: dict[str, Any], version: int = 1) -> None:
    with app.app_context():
        db.session.execute(text(
            "INSERT INTO village (area_code, properties, version) VALUES (:area, CAST(:properties AS jsonb), :version) "
            "ON CONFLICT (area_code) DO UPDATE SET properties = EXCLUDED.properties, version = EXCLUDED.version"),
            {"area": area_code, "properties": json.dumps(properties), "version": version})
        db.session.commit()


def test_a_village_reaches_the_devices_whose_scope_covers_it_with_its_version_and_prefill(committed_app, real_forms):
    client = committed_app.test_client()
    enumerator = bearer(committed_app, "enum_a")
    _, cursor = pull_all(client, enumerator)
    add_village(committed_app, AREA, {"road_access": "hardened", "clinic": "yes", "surveyor_note": "not pre-filled"})
    add_village(committed_app, OTHER_COUNTY_AREA, {"road_access": "gravel"})

    changes, cursor = pull_all(client, enumerator, cursor)
    assert [(c["kind"], c["id"], c["version"]) for c in changes] == [("village", AREA, 1)]
    assert changes[0]["data"] == {"area_code": AREA, "prefill": {"clinic": "yes", "road_access": "hardened"},
                                  "version": 1}
    assert ids(pull_all(client, bearer(committed_app, "enum_b"))[0], "village") == {OTHER_COUNTY_AREA}

    add_village(committed_app, AREA, {"road_access": "hardened", "clinic": "no"}, version=2)  # a later visit
    changes, _ = pull_all(client, enumerator, cursor)
    assert [(c["kind"], c["version"], c["data"]["version"], c["data"]["prefill"]["clinic"]) for c in changes] == [
        ("village", 2, 2, "no")]


def _planner(app) -> dict[str, str]:
    from server.models import Role
    from server.services import users
    from tests.server.conftest import PASSWORD

    with app.app_context():
        users.create_user(db.session, "plan_a", Role.planner, ["532922"], PASSWORD, actor="test")
        db.session.commit()
    return bearer(app, "plan_a")


def test_a_planners_feed_carries_no_personal_value(committed_app, real_forms):
    household, data = visit_household(committed_app, real_forms["household_visit"], seed=23)
    changes, _ = pull_all(committed_app.test_client(), _planner(committed_app))
    pulled = next(c for c in changes if c["id"] == household)["data"]
    assert pulled["householder_name"] is None and pulled["prefill"] == {}
    assert all(set(member) == {"person_key"} for member in pulled["members"])
    assert len(pulled["members"]) == len(data["members"])
    sent = json.dumps(changes, ensure_ascii=False)
    personal = [data["householder_name"], data["phone"], *(row["name"] for row in data["members"])]
    assert not [value for value in personal if value in sent]


def test_an_enumerators_feed_carries_what_the_forms_of_the_role_prefill_and_no_more(committed_app, real_forms):
    from survey_forms.prefill import by_entity, prefill_targets

    household, data = visit_household(committed_app, real_forms["household_visit"], seed=25)
    changes, _ = pull_all(committed_app.test_client(), bearer(committed_app, "enum_a"))
    pulled = next(c for c in changes if c["id"] == household)["data"]
    prefilled = by_entity(prefill_targets(real_forms["household_visit"].document))
    assert set(pulled["prefill"]) <= prefilled["household"] - {"householder_id_card_no"}
    assert all(set(member) - {"person_key"} <= prefilled["person"] - {"id_card_no"} for member in pulled["members"])
    # The phone number is sealed at rest; the household form pre-fills it, so the enumerator's phone gets it in clear.
    assert pulled["prefill"]["phone"] == data["phone"]
    assert pulled["householder_name"] == data["householder_name"]
    # The key a phone lines members up by is opaque: no name or birth year in it.
    assert not any(row["name"] in member["person_key"] for member in pulled["members"] for row in data["members"])
