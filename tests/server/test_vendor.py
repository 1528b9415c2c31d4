"""The front-end libraries: served by the app from node_modules (installed by `npm ci`), an allowlist only."""

from pathlib import Path

import pytest

from server import config
from server.web import vendor

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def packages(app) -> Path:
    directory = Path(app.config["FRONTEND_PACKAGES_DIR"])
    if not (directory / "ol" / "dist" / "ol.js").is_file():
        pytest.fail(f"{directory} has no ol/dist/ol.js: `make test` installs it (npm ci), or run `make node_modules/.installed`")
    return directory


def test_the_packages_are_the_checkouts_node_modules_unless_configured():
    db = {"DATABASE_URL": "postgresql://u:p@127.0.0.1:5432/db"}
    assert Path(config.load(db)["FRONTEND_PACKAGES_DIR"]) == ROOT / "node_modules"
    assert config.load(db | {"FRONTEND_PACKAGES_DIR": "/srv/survey/node_modules"})["FRONTEND_PACKAGES_DIR"] == \
        "/srv/survey/node_modules"


def test_openlayers_is_the_installed_file_with_its_type_and_a_days_cache(client, packages):
    answer = client.get("/web/vendor/ol.js")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert answer.data == (packages / "ol" / "dist" / "ol.js").read_bytes()
    assert answer.data.startswith(b"var ol=")  # the full UMD build: the global `ol`
    assert "max-age=86400" in answer.headers["Cache-Control"]
    answer.close()

    css = client.get("/web/vendor/ol.css")
    assert css.status_code == 200
    assert css.headers["Content-Type"] == "text/css; charset=utf-8"
    assert css.data == (packages / "ol" / "ol.css").read_bytes()
    css.close()


def test_a_browser_that_has_the_file_gets_304(client, packages):
    first = client.get("/web/vendor/ol.css")
    assert first.status_code == 200 and first.headers["ETag"]
    first.close()
    again = client.get("/web/vendor/ol.css", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


@pytest.mark.parametrize("name", ["ol.js.map", "package.json", "geotiff.js", "ol", "..", "%2e%2e%2fpackage.json"])
def test_a_name_not_in_the_allowlist_is_404(client, packages, name):
    assert name not in vendor.FILES
    assert client.get(f"/web/vendor/{name}").status_code == 404


def test_without_npm_ci_the_answer_is_503_telling_to_run_make_run(app, client, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "FRONTEND_PACKAGES_DIR", str(tmp_path))  # an empty folder: npm never ran
    answer = client.get("/web/vendor/ol.js")
    assert answer.status_code == 503
    assert answer.mimetype == "text/plain"
    assert answer.headers["Cache-Control"] == "no-store"
    text = answer.get_data(as_text=True)
    assert "make run" in text and "前端库未安装" in text and "not installed" in text
    assert client.get("/web/vendor/nothing.js").status_code == 404  # the allowlist still comes first
