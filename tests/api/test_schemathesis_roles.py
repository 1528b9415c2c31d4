"""B1 of reliability.md again, as an enumerator and as a planner of 漾濞 (532922) instead of an admin.

The same app, document, configuration and checks as tests/api/test_schemathesis.py (no 5xx, statuses in B1's list,
every 4xx in the error shape), imported from there; only the token differs, and fewer examples per operation. A role
sees other answers than an admin (403 for what it may not do, 404 for forms it does not use): each must still be one
the contract allows, whatever schemathesis sends.
"""

from __future__ import annotations

import pytest
import schemathesis
from flask import Flask

from server.extensions import db
from server.models import Role
from server.services import users
from tests.api.test_schemathesis import OPENAPI, api_app, error_shape, schemathesis_config, status_in_contract  # noqa: F401
from tests.server.conftest import PASSWORD

MAX_EXAMPLES = 15  # per operation and role; the admin run sends 50

enumerator_schema = schemathesis.pytest.from_fixture("enumerator_api_schema")
planner_schema = schemathesis.pytest.from_fixture("planner_api_schema")


@pytest.fixture(scope="module")
def role_tokens(api_app: Flask) -> dict[Role, str]:  # noqa: F811 (pytest injects the imported fixture)
    """Issued once, before the runs, as admin_token is: the runs' random sign-ins may lock the client's address out."""
    with api_app.app_context():
        users.create_user(db.session, "planner_a", Role.planner, ["532922"], PASSWORD, actor="test")
        db.session.commit()
    tokens = {}
    for role, username in ((Role.enumerator, "enum_a"), (Role.planner, "planner_a")):
        answer = api_app.test_client().post("/api/v1/auth/device-tokens", json={
            "username": username, "password": PASSWORD, "device_id": f"schemathesis-{role}"})
        assert answer.status_code == 201, answer.json
        tokens[role] = answer.json["token"]
    return tokens


def _schema(app: Flask, token: str):
    config = schemathesis_config(token)
    config.projects.default.generation.update(max_examples=MAX_EXAMPLES)
    return schemathesis.openapi.from_wsgi(OPENAPI, app, config=config)


@pytest.fixture(scope="module")
def enumerator_api_schema(api_app: Flask, role_tokens: dict[Role, str]):  # noqa: F811
    return _schema(api_app, role_tokens[Role.enumerator])


@pytest.fixture(scope="module")
def planner_api_schema(api_app: Flask, role_tokens: dict[Role, str]):  # noqa: F811
    return _schema(api_app, role_tokens[Role.planner])


@enumerator_schema.parametrize()
def test_api_as_an_enumerator(case):
    case.call_and_validate(additional_checks=[status_in_contract, error_shape])


@planner_schema.parametrize()
def test_api_as_a_planner(case):
    case.call_and_validate(additional_checks=[status_in_contract, error_shape])
