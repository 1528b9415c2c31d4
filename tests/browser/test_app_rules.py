"""The field app's rules.js in a real headless Chromium under the app's CSP: every JsonLogic conformance case, as the server."""

from __future__ import annotations

import json

import flask_migrate
import pytest

from server.app import create_app
from tests.browser.support import serving
from tests.survey_forms.test_jsonlogic_conformance import SUITES, case_name, mismatch

pytestmark = pytest.mark.browser

# Runs in the page with {file: [case, ...]}: test_jsonlogic_conformance.mismatch() and same() in JavaScript.
RUN_SUITES = """async (suites) => {
  const { compileRule } = await import('/app/static/rules.js')
  const show = (value) => value instanceof Error || Number.isNaN(value) ? String(value) : JSON.stringify(value)
  // Equal as JSON values: true is not 1, key order does not matter.
  const same = (actual, expected) => {
    if (typeof actual === 'boolean' || typeof expected === 'boolean') return actual === expected
    if (Array.isArray(actual) || Array.isArray(expected)) {
      return Array.isArray(actual) && Array.isArray(expected) && actual.length === expected.length &&
        actual.every((item, i) => same(item, expected[i]))
    }
    if (actual && expected && typeof actual === 'object' && typeof expected === 'object') {
      const keys = Object.keys(expected)
      return Object.keys(actual).length === keys.length &&
        keys.every((key) => Object.hasOwn(actual, key) && same(actual[key], expected[key]))
    }
    return typeof actual === typeof expected && actual === expected
  }
  const mismatch = (c) => {
    const data = 'data' in c ? c.data : null
    let result, again
    try {
      const evaluate = compileRule(c.rule)
      result = evaluate(structuredClone(data))
      again = evaluate(data)
    } catch (error) {
      if (!('error' in c)) return `expected ${show(c.result)}, raised ${show(error)}`
      return same(error, c.error) ? null : `expected error ${show(c.error)}, raised ${show(error)}`
    }
    if ('error' in c) return `expected error ${show(c.error)}, got ${show(result)}`
    if (!same(result, c.result)) return `expected ${show(c.result)}, got ${show(result)}`
    return same(again, result) ? null : `a second evaluation gave ${show(again)}, the first ${show(result)}`
  }
  const runAll = () => {
    const passed = {}
    const failures = []
    for (const [file, cases] of Object.entries(suites)) {
      passed[file] = 0
      for (const c of cases) {
        const wrong = mismatch(c)
        if (wrong === null) passed[file]++
        else failures.push(`${file}: ${c.description || JSON.stringify(c.rule)}: ${wrong}`)
      }
    }
    return { passed, failures }
  }
  const planned = runAll()
  // After 500 new rules in a row the engine stops keeping plans for good and interprets: the same cases that way.
  for (let i = 0; i <= 500; i++) compileRule({ var: 'x' })(null)
  return { planned, interpreted: runAll() }
}"""

# Collected from the first byte of the page on: an eval or new Function the CSP refuses fires this event.
WATCH_CSP = """window.cspViolations = []
document.addEventListener('securitypolicyviolation',
  (e) => window.cspViolations.push(`${e.violatedDirective} ${e.sourceFile}:${e.lineNumber}`))"""


@pytest.fixture
def app_url(empty_database):
    """The app on a real port with its own database."""
    app = create_app({**empty_database.overrides(), "SECRET_KEY": "browser-test"})
    with app.app_context():
        flask_migrate.upgrade()
    with serving(app) as url:
        yield url


@pytest.fixture
def page(open_context):
    # No worker: rules.js must come from the server, not from a cache an earlier page filled.
    return open_context(service_workers="block").new_page()


def suites() -> dict[str, list[dict]]:
    files = json.loads((SUITES / "index.json").read_text(encoding="utf-8"))
    return {file: [case for case in json.loads((SUITES / file).read_text(encoding="utf-8")) if isinstance(case, dict)]
            for file in files}


def test_app_rules_pass_every_conformance_case_as_the_server_does(app_url, page):
    cases = suites()
    total = sum(len(items) for items in cases.values())
    server_failures = [f"{file}: {case_name(case)}: {wrong}" for file, items in cases.items()
                       for case in items if (wrong := mismatch(case)) is not None]
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(WATCH_CSP)
    # The app's own script is not under test, and may take the page elsewhere (to sign in) while the suites run.
    page.route("**/app/static/app.js", lambda route: route.fulfill(content_type="text/javascript", body=""))

    response = page.goto(app_url + "/app")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "unsafe-eval" not in policy
    answer = page.evaluate(RUN_SUITES, cases)
    violations = page.evaluate("new Promise((done) => setTimeout(() => done(window.cspViolations), 100))")

    server_passed = total - len(server_failures)
    passed = {path: sum(answer[path]["passed"].values()) for path in ("planned", "interpreted")}
    print(f"\nJsonLogic conformance: browser (rules.js) {passed['planned']} with the engine's plans and "
          f"{passed['interpreted']} interpreted, server {server_passed}, of {total} cases")
    wrong = [f"{path}: {failure}" for path in passed for failure in answer[path]["failures"]] + [
        f"server: {failure}" for failure in server_failures]
    assert passed["planned"] == passed["interpreted"] == server_passed == total, "\n".join(wrong)
    refused = violations + [text for text in console if "Content Security Policy" in text]
    assert not refused, "the page's CSP refused something rules.js did:\n" + "\n".join(refused)
