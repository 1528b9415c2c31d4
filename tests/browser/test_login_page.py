"""The sign-in page in a real headless Chromium: wrong password, sign in, sign out."""

import flask_migrate
import pytest

from server.app import create_app
from server.extensions import db
from server.models import Area, AreaLevel, Role
from server.services import users
from tests.browser.support import serving

PASSWORD = "cangshan-erhai-butterfly-spring"

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(empty_database):
    """The app on a real port with committed data in its own database."""
    app = create_app({**empty_database.overrides(), "SECRET_KEY": "browser-test"})
    with app.app_context():
        flask_migrate.upgrade()
        db.session.add(Area(code="532922", level=AreaLevel.county, name_zh="漾濞彝族自治县"))
        users.create_user(db.session, "sup_yangbi", Role.supervisor, ["532922"], PASSWORD, actor="test")
        db.session.commit()
    with serving(app) as url:
        yield url


@pytest.fixture
def page(open_context):
    return open_context(locale="zh-CN").new_page()


def test_supervisor_signs_in_and_out(live_server, page, tmp_path):
    page.goto(live_server + "/")
    assert "/login" in page.url
    assert page.title() == "登录"
    # The stylesheet loads (the CSP allows our own files): the sign-in page is a centred column.
    assert page.evaluate("getComputedStyle(document.body).maxWidth") == "640px"

    page.fill("input[name=username]", "sup_yangbi")
    page.fill("input[name=password]", "wrong-password-here")
    page.click("button[type=submit]")
    assert "Wrong username or password" in page.inner_text("[role=alert]")

    page.fill("input[name=username]", "sup_yangbi")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    signed_in = page.inner_text("#signed-in")
    assert "sup_yangbi" in signed_in and "supervisor" in signed_in and "532922" in signed_in
    page.screenshot(path=str(tmp_path / "home.png"))

    page.click("text=退出")
    assert page.url.endswith("/login")
    page.goto(live_server + "/")
    assert "/login" in page.url


def test_login_form_without_csrf_token_is_refused(live_server, page):
    answer = page.request.post(live_server + "/login", form={"username": "sup_yangbi", "password": PASSWORD})
    assert answer.status == 400
    assert 'id="error-code">csrf_failed<' in answer.text()  # a page saying so, as the form was a page's
