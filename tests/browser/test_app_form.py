"""The field app's form renderer (server/fieldapp/static/form.js) in a real headless Chromium, on the real forms.

A household visit (v2, two members) and a village infrastructure survey are answered through the widgets, as an
enumerator would, with formfill's valid answers: the renderer's data() must pass the server's validator and be those
answers with the server's own calculations. Along the way, its check() must find what the server's validator finds
in the half-filled form, relevance must show and hide fields, an inaccurate GPS fix must be refused, and a
server-style error list must be shown on its fields. Started from data broken in one place (formfill's mutations),
check() must report what the server reports, or data() leave the broken part out.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from server.app import create_app
from survey_forms import loader
from survey_forms.checks import answered
from survey_forms.definition import FormDefinition
from survey_forms.validator import CompiledForm, compile_form
from tests.browser.form_driver import Driver, same
from tests.browser.support import serving
from tests.conftest import scratch_database
from tools.formfill import fill, iter_fields, mutations

pytestmark = pytest.mark.browser

SEED = 20261031
FIX = {"lat": 25.612345, "lon": 100.267891, "accuracy_m": 12.5, "altitude_m": 2010.4,
       "captured_at": "2026-10-31T10:02:00+08:00"}
PIXEL = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
PROBE_EVERY = 20  # answers between two comparisons of check() with the server's validator

# Renders the form into the page with stub media and GPS: attach keeps the file's own name, locate gives window.fix.
RENDER = """async ({definition, initial, defaults, pixel}) => {
  const { renderForm } = await import('/app/static/form.js')
  const holder = document.createElement('div')
  holder.id = 'form-under-test'
  document.body.replaceChildren(holder)
  window.fix = null
  window.changes = 0
  window.controller = renderForm(holder, definition, {
    language: 'zh', initial, defaults, params: {},
    onChange: () => { window.changes += 1 },
    media: { attach: async (path, file) => file.name, urlOf: () => pixel },
    locate: async () => window.fix
  })
}"""


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """The app on a real port (its own scratch database; the form page reads nothing from it)."""
    with scratch_database("survey_form_page") as database:
        app = create_app({**database.overrides(), "SECRET_KEY": "browser-test"})
        with serving(app) as url:
            yield url


@pytest.fixture
def page(open_context, served):
    """The app's page (its CSP included), without the app's own script and worker: the renderer alone is tested."""
    page = open_context(locale="zh-CN", service_workers="block").new_page()
    page.set_default_timeout(5000)
    page.route("**/app/static/app.js", lambda route: route.abort())
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(served + "/app")
    yield page
    assert not errors, errors


def _definition(form_id: str, version: int) -> FormDefinition:
    path = loader.DEFINITIONS_DIR / form_id / f"v{version}.json"
    return FormDefinition.from_document(json.loads(path.read_text(encoding="utf-8")))


def _answers(definition: FormDefinition, members: int | None) -> dict[str, Any]:
    """formfill's valid answers, with a GPS fix as the phone gives it (tools/simulate/make.py does the same), as a
    careful device sends them: without what the server takes for no answer (a repeat without rows is [] there)."""
    overrides = {}
    for key, spec in iter_fields(definition):
        if "." not in key and spec["type"] == "geopoint":
            limit = spec.get("max_accuracy_m")
            overrides[key] = {**FIX, "accuracy_m": min(FIX["accuracy_m"], limit * 0.9)} if limit else dict(FIX)
    return _as_sent(fill(definition, random.Random(SEED), members=members, overrides=overrides))


def _as_sent(values: dict[str, Any]) -> dict[str, Any]:
    return {name: [_as_sent(row) for row in value] if isinstance(value, list) and value and isinstance(value[0], dict)
            else value for name, value in values.items() if answered(value)}


def _render(page, definition: FormDefinition, answers: dict[str, Any]) -> None:
    """The form on the page, started from what the phone fills in itself: its read-only fields."""
    read_only = [key for key, spec in iter_fields(definition) if "." not in key and spec.get("read_only")]
    initial = {key: answers[key] for key in read_only if key in answers}
    page.evaluate(RENDER, {"definition": definition.document, "initial": initial, "defaults": True, "pixel": PIXEL})


def _driver(page) -> Driver:
    return Driver(page, "#form-under-test", lambda: page.evaluate("controller.data()"),
                  lambda fix: page.evaluate("fix => { window.fix = fix }", fix))


def _problems(items: list[Any]) -> list[tuple[str, str]]:
    return sorted((item["field"], item["code"]) if isinstance(item, dict) else (item.field, item.code) for item in items)


def _agrees_with_server(page, validator: CompiledForm) -> Callable[[], list[tuple[str, str]]]:
    """A probe: check() on the page lists the problems the server's validator finds in data(), and no not_relevant."""

    def probe() -> list[tuple[str, str]]:
        data, found = page.evaluate("() => [controller.data(), controller.check()]")
        ours = _problems(found)
        assert ours == _problems(validator.validate(data))
        assert "not_relevant" not in {code for _, code in ours}
        return ours

    return probe


def _answered_as_server_computes(page, definition: FormDefinition, answers: dict[str, Any]) -> dict[str, Any]:
    validator = compile_form(definition)
    assert validator.validate(answers) == []  # formfill's answers carry the server's calculations
    probe = _agrees_with_server(page, validator)
    _driver(page).drive(answers, probe, PROBE_EVERY)
    data = page.evaluate("controller.data()")
    assert validator.validate(data) == []
    assert same(data, answers), json.dumps({"form": data, "formfill": answers}, ensure_ascii=False, indent=1)
    assert probe() == []
    assert page.evaluate("window.changes") > 0  # the app saves its draft on each change
    return data


def _shown(page, path: str) -> bool:
    return page.evaluate("p => { const n = document.querySelector(`div.field[data-path=\"${p}\"]`);"
                         " return Boolean(n) && !n.closest('[hidden]') }", path)


def test_household_visit_answered_through_the_widgets(page):
    definition = _definition("household_visit", 2)
    answers = _answers(definition, members=2)
    _render(page, definition, answers)
    validator = compile_form(definition)

    # Relevance: the exit year is asked of a household lifted out of poverty only, and kept while hidden.
    others = [c["name"] for c in definition.document["choice_lists"]["household_type"]["choices"] if c["name"] != "tuopin"]
    page.check('[name="household_type"][value="tuopin"]')
    assert _shown(page, "poverty_exit_year")
    page.fill('[name="poverty_exit_year"]', "2016")
    page.check(f'[name="household_type"][value="{others[0]}"]')
    assert not _shown(page, "poverty_exit_year")
    assert "poverty_exit_year" not in page.evaluate("controller.data()")
    page.check('[name="household_type"][value="tuopin"]')
    assert page.evaluate("controller.data()")["poverty_exit_year"] == 2016

    # A fix worse than the field's max_accuracy_m is refused, with a message, and no value set.
    page.evaluate("fix => { window.fix = fix }", {**FIX, "accuracy_m": 120})
    page.click('button[data-locate="location"]')
    refused = page.locator('div.field[data-path="location"] .geo-status.geo-refused')
    assert "50" in refused.inner_text() and "120" in refused.inner_text()
    assert "location" not in page.evaluate("controller.data()")
    assert _shown(page, "gps_skip_reason")  # asked while there is no location

    data = _answered_as_server_computes(page, definition, answers)
    assert len(data["members"]) == 2 and not _shown(page, "gps_skip_reason")
    assert page.locator('div.field[data-path="location"] .geo-value').inner_text().startswith("纬度 25.6")

    # Touch targets: choices, add and locate buttons are at least 44px high.
    for selector in ('div.field[data-path="visit_reason"] label.choice', 'button[data-add="members"]',
                     'button[data-locate="location"]', '[name="respondent_name"]', '[name="members[0].relation_to_head"]'):
        assert page.locator(selector).first.bounding_box()["height"] >= 44, selector

    # Emptied required fields: check() finds what the server finds, at the same paths.
    page.fill('[name="respondent_name"]', "")
    page.fill('[name="members[1].name"]', "")
    found = _agrees_with_server(page, validator)()
    assert found == [("members[1].name", "required"), ("respondent_name", "required")]

    # The server's errors, shown on their fields; what has no field here is handed back.
    sent = validator.validate(page.evaluate("controller.data()"))
    unknown = {"field": "members[1].nickname", "code": "unknown_field",
               "message": "表单中没有此项 · This form has no such field."}
    unplaced = page.evaluate("errors => controller.showErrors(errors)", [e.as_dict() for e in sent] + [unknown])
    assert unplaced == [unknown]
    marked = page.locator('div.field[data-path="members[1].name"]')
    assert "invalid" in marked.get_attribute("class").split()
    assert marked.locator(".field-error").inner_text() == "此项为必填项"
    page.evaluate("controller.setLanguage('en')")
    assert marked.locator(".field-error").inner_text() == "This field is required."
    assert page.locator('button[data-locate="location"]').inner_text() == "Get location"
    page.fill('[name="members[1].name"]', answers["members"][1]["name"])  # an edit clears its field's error
    assert "invalid" not in marked.get_attribute("class").split()

    page.evaluate("controller.destroy()")
    assert page.locator("#form-under-test form").count() == 0


def test_village_infrastructure_answered_through_the_widgets(page):
    definition = _definition("village_infrastructure", 1)
    answers = _answers(definition, members=None)
    _render(page, definition, answers)
    data = _answered_as_server_computes(page, definition, answers)
    rows = len(data.get("project_needs", []))
    assert page.locator("div.repeat-row").count() == rows

    # Removing a row renumbers the ones after it, and the data follows.
    assert rows >= 2
    second = data["project_needs"][1]
    page.click('div.repeat-row[data-path="project_needs[0]"] button[data-remove]')
    assert same(page.evaluate("controller.data()")["project_needs"][0], second)
    assert page.locator("div.repeat-row").count() == rows - 1
    last = f"project_needs[{rows - 2}]"
    assert page.locator(f'div.repeat-row[data-path="{last}"] [name="{last}.priority"]').count() > 0

    page.fill('[name="contact_name"]', "")
    assert ("contact_name", "required") in _agrees_with_server(page, compile_form(definition))()


# What a careful device leaves out of data() rather than send: the validator then has nothing to say.
LEFT_OUT = {"answer_irrelevant", "wrong_calculation", "unknown_field"}


@pytest.mark.parametrize(("form_id", "version", "members"), [("household_visit", 2, 2), ("village_infrastructure", 1, None)])
def test_check_finds_what_the_server_finds_in_broken_data(page, form_id, version, members):
    """Started from data broken in one place (formfill's mutations; say a refused visit being corrected): check()
    reports the problem at the server's path with the server's code, or data() leaves the broken part out."""
    definition = _definition(form_id, version)
    answers = _answers(definition, members)
    validator = compile_form(definition)
    repeats = {key for key, spec in iter_fields(definition) if spec["type"] == "repeat"}
    kinds = set()
    for mutation in mutations(definition, answers, random.Random(SEED)):
        page.evaluate(RENDER, {"definition": definition.document, "initial": mutation.data, "defaults": False, "pixel": PIXEL})
        found = _agrees_with_server(page, validator)()
        if mutation.kind in LEFT_OUT:
            assert found == [] and same(page.evaluate("controller.data()"), answers), mutation
        elif mutation.kind == "wrong_type" and mutation.path in repeats:
            # Rows that are no list ({"rows": 1}) are none the form can show: it starts without them.
            assert mutation.path not in page.evaluate("controller.data()"), mutation
        else:
            assert (mutation.path, mutation.expected_code) in found, mutation
        kinds.add(mutation.kind)
    assert {"drop_required", "break_constraint", "wrong_type", "unknown_choice"} <= kinds
