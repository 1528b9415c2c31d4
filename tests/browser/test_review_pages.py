"""The review workbench in a real headless Chromium (issue 14): sign in, filter the list and see its markers on the
map, open a submission and see its photo, reject it with a comment that the device simulator's next pull brings,
switch the language, and a decision posted without its CSRF token refused.

Screenshots of the dashboard, the list with its map and a submission page are written to SCREENSHOTS (CJK text needs
Debian's fonts-noto-cjk, which `make test` installs).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from server.demo.accounts import ACCOUNTS
from tests.browser.support import serving_demo, wait_until
from tools.simulate import Client, Device, DeviceSettings

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
ACCOUNT = {a.username: a for a in ACCOUNTS}
VISITS = 6


@dataclass
class Workbench:
    url: str
    database_url: str
    phone: Device


@pytest.fixture(scope="module")
def workbench(tmp_path_factory) -> Iterator[Workbench]:
    """The app on a real port over the small Dali demo, and a simulated phone of 漾濞 that has synced six visits
    with their photos (real JPEGs) through the API."""
    with serving_demo("survey_browser", tmp_path_factory.mktemp("attachments")) as served:
        enumerator = ACCOUNT["demo_enumerator"]
        phone = Device(Client(served.url), DeviceSettings(enumerator.username, enumerator.password, "browser-phone"),
                       random.Random(14))
        phone.login()
        deadline = time.monotonic() + 30
        # The feed holds back what a transaction still open anywhere on the server might precede (protocol.md,
        # guarantee 1): on a shared test server the demo's households may take a moment to be released.
        while not phone.knowledge.households and time.monotonic() < deadline:
            phone.pull()
            time.sleep(0.2)
        phone.refresh_forms()
        phone.collect(VISITS)
        phone.sync()
        assert not phone.outbox, "every visit is acknowledged"
        yield Workbench(served.url, served.database_url, phone)


@pytest.fixture
def browser(open_context):
    """A context of its own in the shared Chromium, closed after the test: its pages are 1400 x 900, in Chinese."""
    return open_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")


def signed_in(browser, workbench: Workbench, username: str = "demo_supervisor"):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.errors = errors
    page.goto(workbench.url + "/")
    assert "/login" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", ACCOUNT[username].password)
    page.click("button[type=submit]")
    return page


def test_the_dashboard_counts_what_waits_and_switches_to_english(browser, workbench):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = signed_in(browser, workbench)
    assert page.inner_text("h1") == "审核概览"
    pending = page.locator("#by-state .state-pending .n").inner_text()
    assert int(pending) == VISITS - len(workbench.phone.held)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"))
    page.click("#language")
    assert page.inner_text("h1") == "Review dashboard"
    assert "To review" in page.inner_text("header.top nav")
    page.goto(workbench.url + "/submissions")  # the choice is kept for the next pages
    assert page.inner_text("h1") == "Submissions"
    page.click("#language")
    assert page.inner_text("h1") == "提交列表"
    assert page.errors == []


def test_the_filtered_list_and_its_map_show_the_same_submissions_and_point_at_each_other(browser, workbench):
    page = signed_in(browser, workbench)
    page.goto(workbench.url + "/submissions")
    page.select_option("select[name=review_state]", "pending")
    page.fill("input[name=enumerator]", "demo_enumerator")
    page.click("#filters button[type=submit]")
    assert "review_state=pending" in page.url
    rows = page.locator("#submissions tbody tr[data-uuid]")
    count = rows.count()
    assert count == VISITS - len(workbench.phone.held)
    wait_until(page, f"document.getElementById('map').dataset.drawn === '{count}'")
    assert page.inner_text("#map-caption") == f"地图上 {count} 份提交"
    page.screenshot(path=str(SCREENSHOTS / "list_and_map.png"))
    # On a tablet held upright the map goes under the list, as wide as the page.
    page.set_viewport_size({"width": 820, "height": 1180})
    table, shown = page.locator("#submissions").bounding_box(), page.locator("#map").bounding_box()
    assert shown["y"] > table["y"] + table["height"] - 1 and shown["width"] > 700
    page.screenshot(path=str(SCREENSHOTS / "list_on_a_tablet.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})

    # A row chosen in the list is marked on the map ...
    row = rows.nth(1)
    row.locator("td").nth(2).click()
    chosen = row.get_attribute("data-uuid")
    assert page.get_attribute("#map", "data-selected") == chosen
    # ... and a point chosen on the map marks its row (zoomed in close, where each submission is its own point).
    other = rows.nth(0)
    lat, lon = float(other.get_attribute("data-lat")), float(other.get_attribute("data-lon"))
    wait_until(page, "!document.getElementById('map').olMap.getView().getAnimating()")  # the row's pan is over
    page.evaluate("document.getElementById('map').olMap.getView().setZoom(17)")
    page.evaluate(f"document.getElementById('map').olMap.getView().setCenter(ol.proj.fromLonLat([{lon}, {lat}]))")
    # The pixel of the frame drawn for the new view (renderSync), not of the one before it.
    x, y = page.evaluate(f"(() => {{ const m = document.getElementById('map').olMap; m.renderSync(); "
                         f"return m.getPixelFromCoordinate(ol.proj.fromLonLat([{lon}, {lat}])); }})()")
    box = page.locator("#map").bounding_box()
    selected = f"document.querySelector('tr[data-uuid=\"{other.get_attribute('data-uuid')}\"]').classList.contains('selected')"
    deadline = time.monotonic() + 15
    while not page.evaluate(selected):  # clicked again until the close-up tile has come and drawn the point
        assert time.monotonic() < deadline, "a click on the submission's point never marked its row"
        page.mouse.click(box["x"] + x, box["y"] + y)
        time.sleep(0.3)
    assert page.errors == []


def test_a_supervisor_opens_a_submission_sees_its_photo_and_rejects_it_and_the_phone_learns_why(browser, workbench):
    page = signed_in(browser, workbench)
    with_photo = next(m.uuid for m in workbench.phone.made.values()
                      if m.item["attachments"] and m.uuid not in workbench.phone.held)
    page.goto(f"{workbench.url}/submissions/{with_photo}?review_state=pending")
    photo = page.locator("#photos img").first
    photo.scroll_into_view_if_needed()
    wait_until(page, "Array.from(document.querySelectorAll('#photos img')).every(i => i.complete)")
    assert photo.evaluate("img => img.naturalWidth") > 0, "the photo is shown, not a broken image"
    assert page.locator("dl.answers dd").count() > 10  # the answers laid out by the form, labelled
    page.screenshot(path=str(SCREENSHOTS / "submission.png"))

    # R asks for the reason first; Ctrl+Enter then sends the rejection.
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.id") == "comment"
    comment = "门牌照片看不清，请补拍后重新提交"
    page.keyboard.type(comment)
    page.keyboard.press("Control+Enter")
    page.wait_for_load_state()
    assert "已退回 1 份" in page.inner_text("ul.flashes")

    workbench.phone.pull()
    review = workbench.phone.knowledge.reviews[with_photo]
    assert review["state"] == "rejected" and review["comment"] == comment and review["reviewer"]
    assert page.errors == []


def test_a_decision_posted_without_its_csrf_token_is_refused_and_changes_nothing(browser, workbench):
    page = signed_in(browser, workbench)
    target = next(uid for uid in workbench.phone.ledger if uid not in workbench.phone.knowledge.reviews)
    answer = page.request.post(f"{workbench.url}/submissions/{target}/decision", form={"decision": "approved"})
    assert answer.status == 400 and 'id="error-code">csrf_failed<' in answer.text()
    engine = create_engine(workbench.database_url)
    with engine.connect() as connection:
        assert connection.execute(text("select review_state from submission where uuid = :u"), {"u": target}).scalar() \
            == "pending"
    engine.dispose()


def test_a_supervisor_of_another_county_reaches_none_of_it_through_the_pages(browser, workbench):
    page = signed_in(browser, workbench, "demo_supervisor_jc")
    target = next(iter(workbench.phone.ledger))
    answer = page.goto(f"{workbench.url}/submissions/{target}")
    assert answer.status == 404
    page.goto(workbench.url + "/submissions?enumerator=demo_enumerator")
    assert page.locator("#submissions tbody tr[data-uuid]").count() == 0
