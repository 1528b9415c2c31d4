"""B1 of reliability.md: schemathesis sends valid and invalid requests to every operation of the OpenAPI document.

Every case must answer without a 5xx, with a status from the list below, and every 4xx in the one error shape.
Where the document and the server disagree today, the run is told so in `schemathesis_config`, and a strict xfail
at the end of this module pins each finding: once it is fixed the xfail fails, and its exemption can go.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import flask_migrate
import pytest
import schemathesis
from flask import Flask
from jsonschema import Draft7Validator

from server.app import create_app
from server.extensions import db
from server.models import Area, Role
from server.services import forms, users
from tests.conftest import scratch_database
from tests.server.conftest import AREAS, PASSWORD
from tests.survey_forms.helpers import small_form

OPENAPI = "/api/v1/openapi.json"
SEED = 20261122  # with derandomized Hypothesis, CI sends the same cases on every run
MAX_EXAMPLES = 50  # per operation in the fuzzing phase; the coverage phase adds its own boundary cases

# B1: an error answer is one of these; 405 only to a method the operation does not have, 429 only to sign-in.
ERROR_STATUSES = {400, 401, 403, 404, 409, 413, 415, 422}
SIGN_IN = "POST /api/v1/auth/device-tokens"
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")
# A 422 for a string the document allows, in the operation of finding 4 (and opaque cursors, by design).
ALSO_422 = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app on a database of its own, where schemathesis' requests really commit, as in production."""
    with scratch_database("survey_api") as database:
        app = create_app({**database.overrides(), "TESTING": True, "SECRET_KEY": "x",
                          "ATTACHMENT_DIR": str(tmp_path_factory.mktemp("attachments")),
                          "EXPORT_DIR": str(tmp_path_factory.mktemp("exports"))})
        with app.app_context():
            flask_migrate.upgrade()
            db.session.add_all([Area(code=c, level=lv, parent_code=p, name_zh=n) for c, lv, p, n in AREAS])
            users.create_user(db.session, "admin", Role.admin, ["53"], PASSWORD, actor="test")
            users.create_user(db.session, "enum_a", Role.enumerator, ["532922"], PASSWORD, actor="test")
            forms.publish(db.session, [small_form()], actor="test")
            db.session.commit()
        yield app
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def admin_token(api_app: Flask) -> str:
    """Issued once, before the run: the run's random sign-ins may lock the test client's address out (429).

    Nothing in the run can revoke it: DELETE /auth/device-tokens/{id} gets random UUIDs, never this token's id.
    """
    answer = api_app.test_client().post("/api/v1/auth/device-tokens", json={
        "username": "admin", "password": PASSWORD, "device_id": "schemathesis"})
    assert answer.status_code == 201, answer.json
    return answer.json["token"]


def schemathesis_config(token: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": {
            "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none",
        },
        # As an admin, the widest access. Negative cases still drop or spoil the header (401).
        "auth": {"openapi": {"bearerAuth": {"bearer": token}}},
        "operations": [
            # Cursors are opaque: any string but the server's own is the documented 422 bad_cursor.
            {"include-path-regex": r"^/api/v1/(areas|sync/changes|households|submissions)$",
             "checks": {"positive_data_acceptance": {"expected-statuses": ALSO_422}}},
            # Rules that tie one field to another, which OpenAPI 3.0 cannot state (each is in the field's
            # description): a rejection or an issue needs its comment; a tile's x and y are below 2 to the zoom; a
            # filter's since is not after its until.
            {"include-path-regex": r"^/api/v1/(reviews|submissions/\{submission_uuid\}/reviews|tiles/.*|submissions/counts)$",
             "checks": {"positive_data_acceptance": {"expected-statuses": ALSO_422}}},
            # An export's dataset, format and form must fit together (KML needs places; submissions need a form), and
            # an OGC API page's bbox is in degrees and its cursor opaque: rules OpenAPI 3.0 cannot state.
            {"include-path-regex": r"^/api/v1/(exports/\{dataset\}|export-jobs|features/collections/\{collection_id\}/items)$",
             "checks": {"positive_data_acceptance": {"expected-statuses": ALSO_422}}},
            # Finding 4: "an area_code or a household_id" is checked but not published.
            {"include-path": "/api/v1/assignments",
             "checks": {"positive_data_acceptance": {"expected-statuses": ALSO_422}}},
        ],
    })


@pytest.fixture(scope="module")
def api_schema(api_app: Flask, admin_token: str):
    return schemathesis.openapi.from_wsgi(OPENAPI, api_app, config=schemathesis_config(admin_token))


def status_in_contract(ctx, response, case) -> None:
    """A success, or one of B1's error statuses (405 and 429 only where they belong)."""
    status = response.status_code
    if 200 <= status < 300 or status == 304 or status in ERROR_STATUSES:
        return
    if status == 405 and case.method.upper() != case.operation.method.upper():
        return
    if status == 429 and case.operation.label == SIGN_IN:
        return
    raise AssertionError(f"{status} is not an answer B1 allows for {case.method.upper()} {case.operation.path}")


def error_shape(ctx, response, case) -> None:
    """Every 4xx is JSON of the one error shape: {"error": {"code", "message", "details"}}."""
    if not 400 <= response.status_code < 500:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), f"error answer of type {content_type!r}"
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, f"not the API error shape: {body!r}"
    error = body["error"]
    assert set(error) <= {"code", "message", "details"}, f"unknown keys in the error: {body!r}"
    assert isinstance(error.get("code"), str) and SNAKE_CASE.match(error["code"]), f"no snake_case code: {body!r}"
    assert isinstance(error.get("message"), str) and error["message"], f"no message: {body!r}"
    assert isinstance(error.get("details", {}), dict), f"details is not an object: {body!r}"


@schema.parametrize()
def test_api(case):
    # The built-in checks include not_a_server_error, status_code_conformance, response_schema_conformance,
    # negative_data_rejection and positive_data_acceptance. Every operation documents a `default` error
    # response, so status_code_conformance passes any status: status_in_contract holds B1's list instead.
    case.call_and_validate(additional_checks=[status_in_contract, error_shape])


# Findings of this run. Each test states what should hold; it fails today (xfail), and passes once fixed.


def _document(app: Flask) -> dict[str, Any]:
    return app.test_client().get(OPENAPI).json


def _body_validator(document: dict[str, Any], path: str) -> Draft7Validator:
    """The documented JSON request body of POST `path`; its $refs resolve against the document's components."""
    body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return Draft7Validator({**body, "components": document["components"]})


def test_405_names_the_allowed_methods(api_app):
    answer = api_app.test_client().open("/api/v1/me", method="TRACE")
    assert answer.status_code == 405
    assert answer.headers.get("Allow"), answer.headers


def test_every_parameter_is_published_where_openapi_looks(api_app):
    document = _document(api_app)
    parameters = [(f"{method.upper()} {path}", parameter) for path, item in document["paths"].items()
                  for method, operation in item.items() if method != "parameters"
                  for parameter in operation.get("parameters", []) if "$ref" not in parameter]
    misplaced = [f"{operation} {p['name']}: in {p['in']}" for operation, p in parameters
                 if p["in"] not in {"path", "query", "header", "cookie"}]
    assert misplaced == []


@pytest.mark.parametrize(("path", "body"), [
    pytest.param("/api/v1/auth/device-tokens", {"username": "nobody", "password": "pass\x00word", "device_id": "d"},
                 id="text-with-nul"),
    pytest.param("/api/v1/assignments", {"assignee": "enum_a", "form_id": "small_household", "round": "2026-Q4"},
                 id="assignment-without-area-or-household", marks=pytest.mark.xfail(strict=True, raises=AssertionError,
                 reason="finding 4: area_code or household_id is required (422) but the document makes both optional")),
    pytest.param("/api/v1/sync/submissions", {"device_id": "schemathesis", "submissions": [], "note": "x"},
                 id="push-with-an-unknown-key"),
    pytest.param("/api/v1/sync/submissions", {"device_id": "schemathesis", "sent_at": 0, "submissions": []},
                 id="push-with-sent-at-not-a-string"),
    pytest.param("/api/v1/sync/submissions", {"device_id": "schemathesis", "submissions": [0]},
                 id="push-with-an-item-not-an-object"),
])
def test_the_document_and_the_server_agree_on(api_app, admin_token, path, body):
    documented = _body_validator(_document(api_app), path).is_valid(body)
    answer = api_app.test_client().post(path, json=body, headers={"Authorization": f"Bearer {admin_token}"})
    assert documented == (answer.status_code < 400), (
        f"the document calls it {'valid' if documented else 'invalid'}; the server answered {answer.status_code} {answer.json}")


@pytest.mark.parametrize("path", ["/api/v1/forms/0/versions/0", "/api/v1/areas?limit=0", "/api/v1/sync/changes?limit=0"])
def test_a_request_without_a_token_is_401_whatever_its_arguments(api_app, path):
    answer = api_app.test_client().get(path)
    assert answer.status_code == 401, answer.json
