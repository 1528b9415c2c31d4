"""The field app at /app in a real headless Chromium, with the network switched off and on (issue 16): sign in, go
offline, make a household visit with two members, a GPS fix and a photo, reload while offline and find it in the
outbox, go online and see it accepted, pull a supervisor's rejection with its comment, send the correction that
supersedes it, sign in again after the token is revoked without losing the outbox, and an update of the app that
keeps the outbox. The same answers pushed by the device simulator are stored the same way.

Screenshots of the form, the outbox and the rejected visit are written to SCREENSHOTS (CJK needs fonts-noto-cjk).
"""

from __future__ import annotations

import io
import json
import random
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import create_engine, text

from server.demo.accounts import ACCOUNTS
from survey_forms import loader
from survey_forms.definition import FormDefinition
from tests.browser import support
from tests.browser.form_driver import Driver
from tests.browser.support import Served
from tools.formfill import fill, iter_fields
from tools.simulate import Client, Device, DeviceSettings

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots" / "field_app"
ACCOUNT = {a.username: a for a in ACCOUNTS}
ENUMERATOR = ACCOUNT["demo_enumerator"]
SUPERVISOR = ACCOUNT["demo_supervisor"]
COMMENT = "门牌照片看不清，请重拍并核对家庭人口。"
SEED = 16


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    """The app on a real port over the small Dali demo."""
    with support.serving_demo("survey_field_app", tmp_path_factory.mktemp("attachments")) as served:
        yield served


# The phone's steps (a sync, its worker taking charge, an update) are given 20 s by default here, not 15.
wait_until = partial(support.wait_until, timeout=20)


STORE = """async ([name, key]) => {
  const s = await import('/app/static/store.js'); return key === undefined ? s.all(name) : s.get(name, key) }"""


def stored(page, name: str, key: str | None = None) -> Any:
    """What the app keeps in its IndexedDB store `name` (all of it, or one key)."""
    return page.evaluate(STORE, [name, key] if key is not None else [name])


def shown_as(uuid_: str, status: str, section: str = "main") -> str:
    """A JavaScript test: the outbox page lists this submission with this server status."""
    return f"document.querySelector('{section} a[data-uuid=\"{uuid_}\"] [data-status]')?.dataset.status === '{status}'"


def big_photo() -> bytes:
    """A camera-sized JPEG (4000 x 3000) of noise, which does not compress: the app must shrink it."""
    image = Image.effect_noise((4000, 3000), 64).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def answers_for(definition: FormDefinition, area_code: str, fix: dict[str, float]) -> dict[str, Any]:
    """formfill's valid answers for a new household of `area_code` with two members, as the app names its photos."""
    overrides = {"natural_village_code": area_code, "enumerator_id": ENUMERATOR.username}
    for key, spec in iter_fields(definition):
        if "." not in key and spec["type"] == "geopoint":
            overrides[key] = dict(fix)
    answers = fill(definition, random.Random(SEED), members=2, overrides=overrides)
    for key, spec in iter_fields(definition):
        # Read-only fields are the phone's to fill: who visits; a new household has no last year to show.
        if spec.get("read_only") and key != "enumerator_id":
            answers.pop(key, None)
    for key, spec in iter_fields(definition):
        repeat, _, name = key.rpartition(".")
        if spec["type"] == "photo":
            for index, row in enumerate(answers.get(repeat, []) if repeat else [answers]):
                if row.get(name):
                    row[name] = (f"{repeat}_{index}_{name}" if repeat else name) + ".jpg"
    return answers


def api_token(url: str, account) -> str:
    answer = Client(url).send_json("POST", "/api/v1/auth/device-tokens", {
        "username": account.username, "password": account.password, "device_id": f"test-{account.username}"})
    return answer.json()["token"]


def api(url: str, token: str, method: str, path: str, payload: Any = None) -> Any:
    client = Client(url)
    client.token = token
    answer = client.send_json(method, path, payload) if payload is not None else client.request(method, path)
    return answer.json() if answer.body else None


def signed_in(chromium, served: Served, fix: dict[str, float]):
    """A phone (its context, page and page errors) signed in as the enumerator, synced, its worker in charge."""
    context = chromium.new_context(locale="zh-CN", viewport={"width": 412, "height": 900}, permissions=["geolocation"],
                                   geolocation={"latitude": fix["lat"], "longitude": fix["lon"], "accuracy": fix["accuracy_m"]})
    page = context.new_page()
    page.set_default_timeout(10000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(served.url + "/app/")
    page.fill("input[name=username]", ENUMERATOR.username)
    page.fill("input[name=password]", ENUMERATOR.password)
    page.click("form.login button[type=submit]")
    wait_until(page, "document.querySelectorAll('ul.households a[data-household]').length > 0")
    wait_until(page, "navigator.serviceWorker.controller !== null")
    assert page.inner_text("#sync-status").endswith("无待发送")
    return context, page, errors


def test_a_visit_made_offline_is_sent_rejected_and_corrected(chromium, served):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    engine = create_engine(served.database_url)
    with engine.connect() as connection:
        area_code, lat, lon = connection.execute(text(
            "SELECT code, ST_Y(ST_PointOnSurface(boundary)), ST_X(ST_PointOnSurface(boundary)) FROM area "
            "WHERE level = 'natural_village' AND code LIKE '532922%' AND boundary IS NOT NULL ORDER BY code LIMIT 1")).one()
    fix = {"lat": round(lat, 6), "lon": round(lon, 6), "accuracy_m": 8.0}
    context, page, errors = signed_in(chromium, served, fix)
    # Offline from here: a new household's first visit, answered through the widgets.
    context.set_offline(True)
    page.click("a[href='#/new']")
    page.select_option("select[name=area_code]", area_code)
    page.click("button[data-form=household_visit]")
    wait_until(page, "location.hash.startsWith('#/visit/')")
    draft_id = page.evaluate("location.hash.slice('#/visit/'.length)")
    definition = FormDefinition.from_document(json.loads((loader.DEFINITIONS_DIR / "household_visit" / "v2.json").read_text()))
    answers = answers_for(definition, area_code, fix)
    # A fix worse than the form's limit is refused and said so, and one outside the village's pulled boundary is
    # pointed out; the phone's next fix, good and at the door, is taken.
    context.set_geolocation({"latitude": fix["lat"] + 0.3, "longitude": fix["lon"], "accuracy": 400})
    page.click("main button[data-locate='location']")
    wait_until(page, "document.querySelector(\"div.field[data-path='location'] .geo-refused\") !== null")
    assert "400 米，超过允许的" in page.inner_text("div.field[data-path='location'] .geo-status")
    assert page.is_visible("#outside-area")
    context.set_geolocation({"latitude": fix["lat"], "longitude": fix["lon"], "accuracy": fix["accuracy_m"]})
    driver = Driver(page, "main", data=lambda: stored(page, "drafts", draft_id)["data"], locate=lambda want: None,
                    photo=big_photo())
    driver.drive(answers)
    assert "精度 8 米" in page.inner_text("div.field[data-path='location'] .geo-value")
    assert page.is_hidden("#outside-area")
    page.locator("div.repeat-row[data-path='members[1]']").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "form.png"))
    page.click("#finish")
    wait_until(page, "location.hash === '#/outbox'")
    assert page.inner_text("#count-waiting b") == "1"
    assert "离线" in page.inner_text("#sync-status") or page.get_attribute("#sync-status", "data-state") == "offline"

    # What sits in the outbox: the visit as the protocol wants it, its photo shrunk before it was stored.
    [waiting] = stored(page, "outbox")
    item = waiting["item"]
    assert item["uuid"] == draft_id and item["subject"]["type"] == "household" and item["base_version"] is None
    assert len(item["data"]["members"]) == 2
    assert item["gps"]["lat"] == fix["lat"] and item["gps"]["accuracy_m"] == 8.0
    [declared] = [a for a in item["attachments"] if a["name"] == "photo_house.jpg"]
    assert declared["content_type"] == "image/jpeg" and declared["size"] < len(driver.photo) / 3

    # A reload with no network: the worker serves the app, and the visit is still in the outbox.
    page.reload()
    wait_until(page, "document.getElementById('sync-status').textContent.includes('1')")
    page.goto(served.url + "/app/#/outbox")
    wait_until(page, "document.querySelector('#count-waiting b')?.textContent === '1'")
    page.screenshot(path=str(SCREENSHOTS / "outbox_offline.png"))

    # Online again: it goes by itself, is accepted, and its photos follow; the first upload is cut off midway, and
    # the next pass sends it again by itself.
    cut: list[str] = []

    def cut_once(route):
        if cut:
            route.continue_()
        else:
            cut.append(route.request.url)
            route.abort("connectionreset")

    page.route("**/attachments/**", cut_once)
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(page, shown_as(draft_id, "accepted"))
    wait_until(page, "document.querySelector('#count-files b')?.textContent === '0'", timeout=30)
    assert len(cut) == 1
    with engine.connect() as connection:
        state, missing = connection.execute(text(
            "SELECT state, attachments_missing FROM submission WHERE uuid = :u"), {"u": draft_id}).one()
        files = dict(connection.execute(text("SELECT name, size FROM attachment WHERE submission_uuid = :u"),
                                        {"u": draft_id}).all())
    assert (state, missing) == ("accepted", 0) and files == {a["name"]: a["size"] for a in item["attachments"]}

    # The same answers pushed by the device simulator are stored the same way.
    assert same_as_the_simulator(served, engine, item) == []

    # The supervisor returns it with a comment; the next pull brings the decision to the phone.
    supervisor = api_token(served.url, SUPERVISOR)
    api(served.url, supervisor, "POST", f"/api/v1/submissions/{draft_id}/reviews", {"decision": "rejected", "comment": COMMENT})
    page.click("#sync-now")
    wait_until(page, "document.querySelector('#count-attention b')?.textContent === '1'")
    page.click(f"#attention a[data-uuid='{draft_id}']")
    wait_until(page, "document.getElementById('review-comment') !== null")
    assert page.inner_text("#review-comment") == COMMENT
    page.screenshot(path=str(SCREENSHOTS / "rejected.png"))

    # The correction, made offline, starts from the visit's answers and supersedes it.
    context.set_offline(True)
    page.click("#correct")
    wait_until(page, "location.hash.startsWith('#/visit/')")
    correction_id = page.evaluate("location.hash.slice('#/visit/'.length)")
    assert "替代原记录" in page.inner_text("main")
    page.fill("main [name='members[0].name']", answers["members"][0]["name"] + "甲")
    page.click("#finish")
    wait_until(page, "location.hash === '#/outbox'")
    assert [entry["item"]["supersedes"] for entry in stored(page, "outbox")] == [draft_id]

    # Meanwhile its token is revoked and a new release of the app is installed: the outbox stays where it was.
    token_id = stored(page, "meta", "token_id")
    api(served.url, api_token(served.url, ACCOUNT["demo_admin"]), "DELETE", f"/api/v1/auth/device-tokens/{token_id}")
    served.app.config["FIELD_APP_BUILD"] = "next-release"
    context.set_offline(False)
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
    wait_until(page, "!document.getElementById('update').hidden")
    page.click("#update button")
    wait_until(page, "caches.keys().then((names) => names.join() === 'shell-next-release')")
    assert [entry["item"]["uuid"] for entry in stored(page, "outbox")] == [correction_id]

    # The reloaded app's first sync meets the revoked token: sign in again, and the correction goes.
    wait_until(page, "location.hash === '#/login' && document.querySelector('form.login .notice') !== null")
    assert "1 条走访等待发送" in page.inner_text("main")
    page.fill("input[name=password]", ENUMERATOR.password)
    page.click("form.login button[type=submit]")
    wait_until(page, "location.hash === '#/'")
    page.goto(served.url + "/app/#/outbox")
    wait_until(page, shown_as(correction_id, "accepted"), timeout=30)
    household_id = item["subject"]["id"]
    with engine.connect() as connection:
        supersedes = connection.execute(text("SELECT supersedes FROM submission WHERE uuid = :u"),
                                        {"u": correction_id}).scalar_one()
        names = connection.execute(text("SELECT name FROM person WHERE household_id = :h"), {"h": household_id}).scalars().all()
    # The household is rebuilt without the visit it replaces: the member goes by the corrected name only.
    assert str(supersedes) == draft_id
    assert sorted(names) == sorted([answers["members"][0]["name"] + "甲", answers["members"][1]["name"]])
    wait_until(page, "document.querySelector('#count-attention b')?.textContent === '0'")
    page.screenshot(path=str(SCREENSHOTS / "outbox_synced.png"))

    # Approved, the correction's photos leave the phone; its record stays.
    api(served.url, supervisor, "POST", f"/api/v1/submissions/{correction_id}/reviews", {"decision": "approved"})
    page.click("#sync-now")
    wait_until(page, shown_as(correction_id, "accepted"))
    kept = "async (id) => (await (await import('/app/static/store.js')).all('files')).filter((f) => f.uuid === id)"
    wait_until(page, f"({kept})('{correction_id}').then((files) => files.length > 0 && files.every((f) => f.blob === null))")
    assert errors == []
    context.close()
    engine.dispose()


# What a submission's row holds that does not depend on who sent it or when.
STORED = ("state", "errors", "form_id", "form_version", "subject_type", "area_code", "base_version", "supersedes",
          "evidence", "risk_flags", "watch_flags", "gps_accuracy_m", "ST_AsText(location)", "review_state")
# What a household's row holds that does not depend on its id or when it was written; and its members'.
HOUSEHOLD = ("area_code", "householder_name", "ST_AsText(location)", "version", "risk_flags", "watch_flags", "properties")
PEOPLE = "SELECT name, sex, birth_date, relation_to_head, properties FROM person WHERE household_id = :k ORDER BY name"


def same_as_the_simulator(served: Served, engine, item: dict[str, Any]) -> list[str]:
    """The app's visit sent again by the device simulator, as a new household's with a new uuid: every stored column
    that does not name the submission, the household, the device or a time must be equal. Returns the differences."""
    twin = {**item, "uuid": str(uuid.uuid4()), "subject": {**item["subject"], "id": str(uuid.uuid4())}}
    phone = Device(Client(served.url), DeviceSettings(ENUMERATOR.username, ENUMERATOR.password, "simulated-twin",
                                                      uploads=False), random.Random(SEED))
    phone.login()
    phone.outbox[twin["uuid"]] = twin
    assert dict(phone.sync()) == {"accepted": 1}
    reads = {  # what: (the columns compared, the statement, the app's key, the simulator's key)
        "submission": (STORED, f"SELECT {', '.join(STORED)} FROM submission WHERE uuid = :k",  # noqa: S608
                       item["uuid"], twin["uuid"]),
        "household": (HOUSEHOLD, f"SELECT {', '.join(HOUSEHOLD)} FROM household WHERE id = :k",  # noqa: S608
                      item["subject"]["id"], twin["subject"]["id"]),
    }
    differences = []
    with engine.connect() as connection:
        for what, (columns, sql, ours, theirs) in reads.items():
            app_row, simulator_row = (connection.execute(text(sql), {"k": key}).one() for key in (ours, theirs))
            differences += [f"{what}.{column}: {a!r} != {b!r}"
                            for column, a, b in zip(columns, app_row, simulator_row, strict=True) if a != b]
        # Personal values are sealed deterministically in properties: the same answer is the same text.
        members = [connection.execute(text(PEOPLE), {"k": key}).all() for key in (item["subject"]["id"], twin["subject"]["id"])]
        if members[0] != members[1]:
            differences.append(f"members: {members[0]!r} != {members[1]!r}")
    return differences


def test_a_revisit_starts_from_the_pulled_household_and_refused_answers_go_back_to_their_fields(chromium, served):
    engine = create_engine(served.database_url)
    with engine.connect() as connection:
        household_id, name, version, household_type, members = connection.execute(text(
            "SELECT h.id, h.householder_name, h.version, h.properties->>'household_type', count(p.id) FROM household h "
            "JOIN person p ON p.household_id = h.id WHERE h.area_code LIKE '532922%' AND h.householder_name IS NOT NULL "
            "GROUP BY h.id HAVING count(p.id) >= 2 ORDER BY h.household_no LIMIT 1")).one()
    api(served.url, api_token(served.url, SUPERVISOR), "POST", "/api/v1/assignments", {
        "assignee": ENUMERATOR.username, "household_id": str(household_id), "form_id": "household_visit",
        "round": "2026-Q4", "due_date": "2026-12-20"})
    context, page, errors = signed_in(chromium, served, {"lat": 25.67, "lon": 99.95, "accuracy_m": 8.0})

    # The household the team is assigned comes first, with its due date.
    first = page.locator("ul.households a[data-household]").first
    assert first.get_attribute("data-household") == str(household_id)
    assert "待走访 2026-12-20" in first.inner_text()

    # Found by the head's name; the visit starts from what the pull brought, with the version it was shown at.
    page.fill("#search", name)
    wait_until(page, "document.querySelectorAll('ul.households a[data-household]').length === 1")
    page.click(f"a[data-household='{household_id}']")
    page.click("button[data-form=household_visit]")
    wait_until(page, "location.hash.startsWith('#/visit/')")
    draft = stored(page, "drafts", page.evaluate("location.hash.slice('#/visit/'.length)"))
    assert draft["base_version"] == version and draft["subject"]["id"] == str(household_id)
    assert draft["data"]["household_type"] == household_type
    assert page.locator("main div.repeat-row[data-path^='members[']").count() == members
    assert page.input_value("main [name='members[0].name']") != ""

    # Finished as it stands (as an older app that did not check might): the server refuses it, and its errors come
    # back onto the fields of the correction.
    uuid_sent = page.evaluate("""async (id) => {
      const store = await import('/app/static/store.js'); const visits = await import('/app/static/visits.js')
      const draft = await store.get('drafts', id); const form = await store.get('forms', draft.form_key)
      return (await visits.finishDraft(draft, form.definition, draft.data)).uuid }""", draft["id"])
    page.goto(served.url + "/app/#/outbox")
    page.click("#sync-now")
    wait_until(page, shown_as(uuid_sent, "invalid", "#attention"))
    page.click(f"#attention a[data-uuid='{uuid_sent}']")
    assert "visit_date" in page.inner_text("#server-errors")
    page.click("#correct")
    wait_until(page, "document.querySelector(\"div.field[data-path='visit_date'].invalid .field-error\") !== null")
    assert "必填" in page.inner_text("div.field[data-path='visit_date'] .field-error")

    # Signed out, for a phone that changes hands: the token is revoked and what was pulled leaves the phone.
    page.goto(served.url + "/app/#/outbox")
    page.once("dialog", lambda dialog: dialog.accept())
    token_id = stored(page, "meta", "token_id")
    page.click("#sign-out")
    wait_until(page, "location.hash === '#/login' && document.querySelector('form.login') !== null")
    assert stored(page, "households") == [] and stored(page, "meta", "token") is None
    assert stored(page, "sent") == [] and stored(page, "drafts") != []  # the correction's draft is kept
    with engine.connect() as connection:
        revoked = connection.execute(text("SELECT revoked_at FROM device_token WHERE id = :t"), {"t": token_id}).scalar_one()
    assert revoked is not None
    assert page.input_value("input[name=username]") == ""  # the next user of the phone signs in as themselves
    page.fill("input[name=username]", ENUMERATOR.username)
    page.fill("input[name=password]", ENUMERATOR.password)
    page.click("form.login button[type=submit]")
    wait_until(page, "document.querySelectorAll('ul.households a[data-household]').length > 0")
    page.goto(served.url + "/app/#/visit/" + stored(page, "drafts")[0]["id"])

    # In English at a touch, kept across reloads.
    with page.expect_navigation():
        page.click("#language")
    wait_until(page, "document.querySelector('#finish')?.textContent === 'Finish and save'")
    assert page.inner_text("#language") == "中文"
    assert errors == []
    context.close()
    engine.dispose()
