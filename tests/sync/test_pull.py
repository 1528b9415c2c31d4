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
    """A household_visit pushed by enum_a about a new household, with a phone number; its id and the data sent."""
    data = formfill.fill(household_form, random.Random(seed), members=members,  # noqa: S311 - test data
                         overrides={"phone": "13987654321"})
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


def add_village(app, area_code: str, properties: dict[str, Any], version: int = 1, risk_flags: tuple[str, ...] = ()) -> None:
    with app.app_context():
        db.session.execute(text(
            "INSERT INTO village (area_code, properties, version, risk_flags) "
            "VALUES (:area, CAST(:properties AS jsonb), :version, :flags) ON CONFLICT (area_code) "
            "DO UPDATE SET properties = EXCLUDED.properties, version = EXCLUDED.version, risk_flags = EXCLUDED.risk_flags"),
            {"area": area_code, "properties": json.dumps(properties), "version": version, "flags": list(risk_flags)})
        db.session.commit()


def test_a_village_reaches_the_devices_whose_scope_covers_it_with_its_version_and_prefill(committed_app, real_forms):
    client = committed_app.test_client()
    enumerator = bearer(committed_app, "enum_a")
    _, cursor = pull_all(client, enumerator)
    add_village(committed_app, AREA, {"road_access": "hardened", "clinic": "yes", "surveyor_note": "not pre-filled"},
                risk_flags=("no_broadband",))
    add_village(committed_app, OTHER_COUNTY_AREA, {"road_access": "gravel"})

    changes, cursor = pull_all(client, enumerator, cursor)
    assert [(c["kind"], c["id"], c["version"]) for c in changes] == [("village", AREA, 1)]
    assert changes[0]["data"] == {"area_code": AREA, "prefill": {"clinic": "yes", "road_access": "hardened"},
                                  "version": 1, "risk_flags": ["no_broadband"]}
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


FEED_AREAS = ("53", "5329", "532922", "532922100", "532922100001", "532922100001001", "532922100002001", "532922101",
              "5329221", "532923100", "532931", "532931101001", "5330", "533001100", None)
SCOPES = ([], ["53"], ["5329"], ["532922"], ["532922100"], ["532922100001"], ["532922100001001"],
          ["532922", "532931101"], ["5329", "532922100"], ["532922100", "532922100001", "532922101"],
          ["532922100001", "532931101001", "533001"], ["%"], ["53292_"])


def _feed_rows(me: uuid.UUID) -> list[dict[str, Any]]:
    """Feed rows at every level of the area tree, with none, for the reader, for someone else, and for roles."""
    other = uuid.uuid4()
    rows = []
    for n, area in enumerate(FEED_AREAS):
        for user, roles in ((None, None), (me, None), (other, None), (None, ["enumerator"]), (None, ["supervisor"])):
            rows.append({"kind": "household", "object_id": f"scope-{n}-{len(rows)}", "area_code": area, "user_id": user,
                         "roles": roles})
    return rows


def _reference(reader, after, waiting: bool):
    """The feed query as it was written before it read county by county: one scan, scope as a filter."""
    from sqlalchemy import BigInteger, Text, cast, func, literal, or_, select, tuple_

    from core.scope import in_scope
    from server.models import SyncChange, Xid8

    change = SyncChange
    position = tuple_(cast(cast(literal(str(after[0])), Text), Xid8), literal(after[1]))
    oldest_running = func.pg_snapshot_xmin(func.pg_current_snapshot())
    return (select(change.kind, change.object_id, change.seq, cast(cast(change.txid, Text), BigInteger).label("txid"))
            .where(change.txid >= oldest_running if waiting else change.txid < oldest_running,
                   tuple_(change.txid, change.seq) > position,
                   or_(change.area_code.is_(None), in_scope(change.area_code, reader.scope)),
                   or_(change.user_id.is_(None), change.user_id == reader.user_id),
                   or_(change.roles.is_(None), change.roles.any(reader.role)))
            .order_by(change.txid, change.seq))


def test_the_feed_read_county_by_county_gives_what_the_scope_clause_gives_for_readers_at_every_level(committed_app):
    """core.scope.in_scope_by_county splits the scope into parts the feed merges: together they must select the rows
    in_scope selects, in feed order, none twice; for the changes a cursor may pass and for those held back."""
    from sqlalchemy import insert

    from server.models import SyncChange
    from sync import pull as feed

    me = uuid.uuid4()
    readers = [feed.Reader(me, role, scope) for scope in SCOPES for role in ("enumerator", "supervisor")]
    # One snapshot for the whole comparison: a transaction that ends elsewhere on the server between two statements
    # would move pg_snapshot_xmin, and with it what each statement may give.
    one_snapshot = {"isolation_level": "REPEATABLE READ"}
    with committed_app.app_context():
        db.session.connection(execution_options=one_snapshot)
        db.session.execute(insert(SyncChange), _feed_rows(me))
        # Still open: this transaction's rows are the ones held back, from the start, from a cursor among them, and
        # from a cursor after them.
        mine = db.session.execute(_reference(readers[0], feed.START, waiting=True)).all()
        cursors = [feed.START, (mine[0].txid, mine[0].seq), (mine[-1].txid, mine[-1].seq + 1)]
        for reader in readers:
            for cursor in cursors:
                expected = db.session.execute(_reference(reader, cursor, waiting=True)).all()
                got = db.session.execute(feed._page_query(reader, cursor, 10_000, waiting=True)).all()
                assert got == expected, (reader.scope, reader.role, cursor)
                assert len(got) == len(set(got))
        assert any(db.session.execute(_reference(reader, feed.START, waiting=True)).all() for reader in readers[2:])
        db.session.commit()
    settle(committed_app)
    with committed_app.app_context():
        db.session.connection(execution_options=one_snapshot)
        for reader in readers:
            expected = db.session.execute(_reference(reader, feed.START, waiting=False)).all()
            assert db.session.execute(feed._page_query(reader, feed.START, 10_000)).all() == expected, reader.scope
            middle = expected[len(expected) // 2]
            assert (db.session.execute(feed._page_query(reader, (middle.txid, middle.seq), 10_000)).all()
                    == expected[len(expected) // 2 + 1:]), reader.scope
            assert db.session.execute(feed._page_query(reader, feed.START, 3)).all() == expected[:3]
        db.session.rollback()


# Feed epochs (server/services/pull.py): a position (txid, seq) holds only in the epoch its cursor carries.

FAR_AHEAD = 1_000_000_000  # added to the feed's txids: a cluster's ids far below them, as after a restore elsewhere


def _keys(changes: list[dict]) -> set[tuple[str, str]]:
    return {(change["kind"], change["id"]) for change in changes}


def test_a_cursor_of_another_epoch_or_from_before_epochs_starts_the_device_over(committed_app):
    """Such a cursor gets the device everything in its scope again, each object in its latest state, and a cursor of
    the current epoch to go on with."""
    from server import paging

    client = committed_app.test_client()
    headers = bearer(committed_app, "enum_a")
    everything, cursor = pull_all(client, headers)
    household = add_household(committed_app, AREA, "h-1")
    epoch, txid, seq = paging.decode(cursor, list)
    assert len(epoch) == 32 and int(epoch, 16) >= 0
    mine, _ = pull_all(client, headers, cursor)
    assert _keys(mine) == {("household", household)}

    for other in (paging.encode([uuid.uuid4().hex, txid, seq]), paging.encode([txid, seq])):  # another epoch; none
        again, again_cursor = pull_all(client, headers, other)
        assert _keys(again) == _keys(everything) | {("household", household)}, paging.decode(other, list)
        assert len(again) == len(_keys(again))
        assert paging.decode(again_cursor, list)[0] == epoch
        assert pull_all(client, headers, again_cursor)[0] == []


def test_flask_feed_new_epoch_renumbers_the_feed_and_starts_every_device_over(committed_app):
    """After a point-in-time recovery or a failover (docs/operations.md), stood for in one cluster: the feed's txids
    are moved far above the cluster's, as a restore into a cluster with a shorter history leaves them. Its rows are
    then hidden from every pull, and a device holding a position in that numbering would skip every new change.
    `flask feed new-epoch` renumbers the feed into its own transaction and starts a new epoch."""
    from server import paging

    client = committed_app.test_client()
    headers = bearer(committed_app, "enum_a")
    household = add_household(committed_app, AREA, "h-1")
    everything, cursor = pull_all(client, headers)
    assert ("household", household) in _keys(everything)
    with committed_app.app_context():
        db.session.execute(text("UPDATE sync_change SET txid = "
                                "CAST(CAST(CAST(CAST(txid AS text) AS bigint) + :far AS text) AS xid8)"), {"far": FAR_AHEAD})
        db.session.commit()
        far = db.session.execute(text("SELECT CAST(CAST(txid AS text) AS bigint), seq FROM sync_change "
                                      "ORDER BY txid DESC, seq DESC LIMIT 1")).one()
        db.session.rollback()
    hidden = pull(client, headers)
    assert hidden["changes"] == [] and hidden["held_back"] is True
    epoch = paging.decode(cursor, list)[0]
    far_cursor = paging.encode([epoch, *far])  # a device's, had the cluster given out those ids: of this epoch still

    result = committed_app.test_cli_runner().invoke(args=["feed", "new-epoch"])
    assert result.exit_code == 0, result.output
    assert "each device's next pull starts over" in result.output

    first, new_cursor = pull_all(client, headers)
    assert _keys(first) == _keys(everything)
    assert paging.decode(new_cursor, list)[0] != epoch
    for before in (cursor, far_cursor):
        again, _ = pull_all(client, headers, before)
        assert _keys(again) == _keys(everything)
    later = add_household(committed_app, AREA, "h-2")
    assert _keys(pull_all(client, headers, new_cursor)[0]) == {("household", later)}
    assert _keys(pull_all(client, headers, far_cursor)[0]) == _keys(everything) | {("household", later)}
    with committed_app.app_context():
        # What the epoch saves that device from: after its old position, the renumbered feed holds nothing at all.
        assert db.session.scalar(text(
            "SELECT count(*) FROM sync_change WHERE (txid, seq) > (CAST(CAST(:txid AS text) AS xid8), :seq)"),
            {"txid": far[0], "seq": far[1]}) == 0
        renumbered = db.session.execute(text(
            "SELECT count(DISTINCT txid), max(CAST(CAST(txid AS text) AS bigint)) FROM sync_change "
            "WHERE object_id <> :later"), {"later": later}).one()
        assert renumbered[0] == 1 and renumbered[1] < FAR_AHEAD
        [(actor, details)] = db.session.execute(text(
            "SELECT actor, details FROM audit_log WHERE action = 'feed.new_epoch'")).all()
        assert actor.startswith("cli:") and details["epoch"] == paging.decode(new_cursor, list)[0]
        assert details["changes"] == db.session.scalar(text("SELECT count(*) FROM sync_change")) - 1  # all but h-2
        db.session.rollback()


def test_a_cursor_this_server_did_not_give_out_is_refused_whatever_epoch_it_names(committed_app):
    from server import paging

    client = committed_app.test_client()
    headers = bearer(committed_app, "enum_a")
    epoch, txid, seq = paging.decode(pull_all(client, headers)[1], list)
    other = uuid.uuid4().hex
    forged = [[epoch, -1, seq], [epoch, txid, -1], [other, 2**64, seq], [epoch, txid, 2**63], [epoch, str(txid), seq],
              [epoch, float(txid), seq], [epoch, True, seq], [epoch.upper(), txid, seq], [epoch[:-1], txid, seq],
              ["not-an-epoch", txid, seq], [None, txid, seq], [epoch, txid, seq, 0], [epoch, txid], [txid, -1],
              [2**64, 0], [txid, seq, epoch], {"epoch": epoch, "txid": txid, "seq": seq}]
    for position in forged:
        answer = client.get("/api/v1/sync/changes", query_string={"cursor": paging.encode(position)}, headers=headers)
        assert answer.status_code == 422, position
        assert answer.json["error"]["code"] == "bad_cursor", position
    assert pull(client, headers, paging.encode([epoch, txid, seq]))["changes"] == []
