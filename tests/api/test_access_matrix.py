"""C1, C2, C4 and S13 of reliability.md: every operation of the OpenAPI document × every role × own and other county.

The cases are not listed by hand. `plan` walks the document's paths and methods and, for each operation, every role
(admin, supervisor, planner and enumerator, all of 漾濞 532922) and both sides: an object of the caller's own county,
and one of another county (剑川 532931). Each parameter is filled from PARAMETERS by its name, so a new operation
with a known parameter is covered as soon as it is documented, and one with an unknown parameter fails the plan with
a message saying to add it; a documented request body needs an example in EXAMPLES, checked against its schema.
Path and required parameters take the side's object; optional ones (list filters) are sent on the other side only,
so the own side reads a list as a caller sees it by default, and the other side filters it by the other county.

A cross-area success is any 2xx for an operation that names another county's object (in its path or in its body);
for a push, whose answer is 200 whatever its items, any item not refused `out_of_scope`; and for every answer, any
row of the other county in it (every page of a keyset list is read). The three pushes of S13 follow the matrix.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft7Validator
from sqlalchemy import select

from server.extensions import db
from server.models import (
    AssistanceMeasure,
    AuditEntry,
    AuditOutcome,
    EntityVersion,
    ExportJob,
    ExportState,
    Household,
    MonitoringCase,
    Person,
    Role,
    Submission,
    User,
)
from tests.api.access_world import (
    CALLERS,
    MEASURE,
    OTHER,
    OTHER_HOUSEHOLDER,
    OWN,
    PHOTO,
    PHOTO_NAME,
    PHOTO_SHA256,
    SIDES,
    URL,
    World,
    build,
    household_revisit,
    household_visit,
    sign_in,
)
from tests.server.conftest import PASSWORD
from tests.sync.conftest import batch, committed_app  # noqa: F401 (a fixture: the app on a database that commits)

OPENAPI = "/api/v1/openapi.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
ROLES = tuple(CALLERS)
FORM = ("small_household", 1)  # forms belong to no area: both sides name the same version
TILE = (16, 50963, 27930)  # the zoom-16 tile of 25.67 N, 99.95 E, where tests.sync.conftest.item() places visits


@dataclass(frozen=True)
class Fixture:
    """What a parameter of this name is, for a calling role and a side; `area_bound` when it names an area's object."""

    pick: Callable[[World, Role, str], Any]
    area_bound: bool = True


PARAMETERS: dict[str, Fixture] = {
    "household_id": Fixture(lambda w, role, side: w.counties[side].households[role].id),
    "submission_uuid": Fixture(lambda w, role, side: w.counties[side].households[role].first),
    "area_code": Fixture(lambda w, role, side: w.counties[side].villages[role].id),  # a surveyed natural village
    "parent_code": Fixture(lambda w, role, side: w.counties[side].code),
    "code": Fixture(lambda w, role, side: w.counties[side].township),
    "assignment_id": Fixture(lambda w, role, side: w.counties[side].assignments[role]),
    # The caller's own second token, or a token of the other county's enumerator.
    "token_id": Fixture(lambda w, role, side: w.spare_tokens[role].token_id if side == OWN else w.foreign_token.token_id),
    "form_id": Fixture(lambda w, role, side: FORM[0], area_bound=False),
    "version": Fixture(lambda w, role, side: FORM[1], area_bound=False),
    "name": Fixture(lambda w, role, side: PHOTO_NAME, area_bound=False),  # the attachment the first visit declared
    "X-Content-SHA256": Fixture(lambda w, role, side: PHOTO_SHA256, area_bound=False),
    "year": Fixture(lambda w, role, side: 2024, area_bound=False),
    # A map tile names a place, not an object: every visit of both counties is at item()'s fix, so this one close-up
    # tile holds them all, and only what it draws of the other county would be a leak.
    "z": Fixture(lambda w, role, side: TILE[0], area_bound=False),
    "x": Fixture(lambda w, role, side: TILE[1], area_bound=False),
    "y": Fixture(lambda w, role, side: TILE[2], area_bound=False),
    # The OGC API's layers belong to no area; a feature is a natural village of the side. Natural villages are areas,
    # there in the default (approved) view whatever the review of their visits, which the matrix's own decisions change.
    "collection_id": Fixture(lambda w, role, side: "natural_villages", area_bound=False),
    "feature_id": Fixture(lambda w, role, side: w.counties[side].villages[role].id),
    # An export names a dataset and a format, no object; its area filter is the side's county (sent on the other side).
    "dataset": Fixture(lambda w, role, side: "households", area_bound=False),
    "format": Fixture(lambda w, role, side: "csv", area_bound=False),
    # An export job is its asker's: the caller's own, or one of the other county's supervisor.
    "job_id": Fixture(lambda w, role, side: _export_job(w, CALLERS[role] if side == OWN else w.counties[OTHER].supervisor)),
}


def _export_job(w: World, username: str) -> str:
    """A finished-with-failure export job of the user (made once): readable by its asker, downloadable by no one."""
    with w.app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        job = db.session.scalar(select(ExportJob).where(ExportJob.user_id == user_id))
        if job is None:
            job = ExportJob(user_id=user_id, state=ExportState.failed, request={"dataset": "households", "format": "csv"},
                            error={"code": "export_failed", "message": "access matrix"})
            db.session.add(job)
            db.session.commit()
        return str(job.id)

# A parameter of one operation that takes another object than its name does elsewhere.
OVERRIDES: dict[tuple[str, str], Fixture] = {
    # Yearly figures are set for a county (or a prefecture, or the province), not a village.
    ("PUT /api/v1/parameters/{year}/{area_code}", "area_code"): Fixture(lambda w, role, side: w.counties[side].code),
}


@dataclass(frozen=True)
class Example:
    """A valid body of an operation; `names_object` when on the other side the body itself names the other county's
    object (so a 2xx is a cross-area success even without a path id)."""

    build: Callable[[World, Role, str], Any]
    names_object: bool = False
    content_type: str = "application/json"


def _push_body(w: World, role: Role, side: str) -> dict[str, Any]:
    """A new household of the caller's county; or, on the other side, a visit of the other county's household that
    claims a village of the caller's county (S13)."""
    own_village = w.counties[OWN].villages[role].area_code
    if side == OWN:
        visit = household_visit(OWN, own_village)
    else:
        visit = household_revisit(OWN, w.counties[OTHER].households[role].id, own_village, 1, housing_grade="A")
    return batch([visit]) | {"device_id": w.callers[role].device_id}


def _resolution(kind: str) -> Callable[[World, Role, str], dict[str, Any]]:
    def body(w: World, role: Role, side: str) -> dict[str, Any]:
        entity = getattr(w.counties[side], kind)[role]
        return {"property": entity.conflict_property, "base_version": 1, "choice": entity.candidates[0],
                "comment": "access matrix"}
    return body


EXAMPLES: dict[str, Example] = {
    "POST /api/v1/auth/device-tokens": Example(lambda w, role, side: {
        "username": CALLERS[role], "password": PASSWORD, "device_id": f"matrix-{role}-{side}", "device_label": "matrix"}),
    "POST /api/v1/sync/submissions": Example(_push_body, names_object=True),
    "POST /api/v1/assignments": Example(lambda w, role, side: {
        "assignee": w.counties[side].enumerator, "household_id": w.counties[side].households[role].id,
        "form_id": FORM[0], "round": "2026-Q4"}, names_object=True),
    "POST /api/v1/submissions/{submission_uuid}/reviews": Example(lambda w, role, side: {
        "decision": "approved", "comment": "access matrix"}),
    "POST /api/v1/reviews": Example(lambda w, role, side: {
        "submissions": [str(w.counties[side].households[role].first)], "decision": "has_issues",
        "comment": "access matrix"}, names_object=True),
    "PUT /api/v1/submissions/{submission_uuid}/attachments/{name}": Example(lambda w, role, side: PHOTO,
                                                                           content_type="image/jpeg"),
    "POST /api/v1/households/{household_id}/monitoring": Example(lambda w, role, side: {
        "action": "village_review", "step_date": "2026-11-25", "minutes": "access matrix"}),
    "POST /api/v1/households/{household_id}/resolutions": Example(_resolution("households")),
    "POST /api/v1/villages/{area_code}/resolutions": Example(_resolution("villages")),
    "PUT /api/v1/parameters/{year}/{area_code}": Example(lambda w, role, side: {
        "monitoring_line": 6000, "dibao_standard": 4620, "watch_line": 10000, "source": "access matrix"}),
    "POST /api/v1/export-jobs": Example(lambda w, role, side: {
        "dataset": "households", "format": "csv", "review": "any", "area_code": w.counties[side].code},
        names_object=True),
}


def _out_of_scope(result: dict[str, Any]) -> bool:
    return result["status"] == "invalid" and any(e["code"] == "out_of_scope" for e in result.get("errors", []))


# Operations whose 2xx does not by itself mean the other county's object was acted on: a push answers 200 with
# one result per item, and the item results say what was stored.
JUDGES: dict[str, Callable[[Any], bool]] = {
    "POST /api/v1/sync/submissions": lambda body: not all(_out_of_scope(r) for r in body["results"]),
    # A bulk decision answers 200 with one outcome per submission: only one decided counts.
    "POST /api/v1/reviews": lambda body: any(r["status"] == "decided" for r in body["results"]),
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    parameters: tuple[dict[str, Any], ...]  # the path's and the operation's, $refs resolved
    has_body: bool

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"


@dataclass(frozen=True)
class Case:
    operation: Operation
    role: Role
    side: str


class IncompletePlan(AssertionError):
    """The document has an operation the matrix cannot fill in."""


def operations(document: dict[str, Any]) -> list[Operation]:
    """Every operation of the document, in its order."""
    def resolved(parameter: dict[str, Any]) -> dict[str, Any]:
        if "$ref" not in parameter:
            return parameter
        node: Any = document
        for part in parameter["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        return node

    found = []
    for path, item in document["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            # A placeholder of the path template that no parameter declares is still a path parameter to fill.
            parameters = {("path", name): {"in": "path", "name": name, "required": True}
                          for name in re.findall(r"{([^}]+)}", path)}
            parameters |= {(p["in"], p["name"]): p for p in map(resolved, item.get("parameters", []))}
            parameters |= {(p["in"], p["name"]): p for p in map(resolved, item[method].get("parameters", []))}
            found.append(Operation(method, path, tuple(parameters.values()), "requestBody" in item[method]))
    return found


def plan(document: dict[str, Any]) -> list[Case]:
    """Every operation × role × side.

    Raises:
        IncompletePlan: a parameter the matrix must fill has no fixture, or a documented body no example.
    """
    missing = []
    for operation in operations(document):
        for parameter in operation.parameters:
            needed = parameter["in"] == "path" or parameter.get("required", False)
            if needed and parameter["name"] not in PARAMETERS:
                missing.append(f"{operation.label}: no fixture for the {parameter['in']} parameter "
                               f"{parameter['name']!r}; add one to PARAMETERS in tests/api/test_access_matrix.py")
        if operation.has_body and operation.label not in EXAMPLES:
            missing.append(f"{operation.label}: no example body; add one to EXAMPLES in tests/api/test_access_matrix.py")
    labels = {operation.label for operation in operations(document)}
    missing += [f"{label}: an example body of an operation the document does not have; rename or remove it in EXAMPLES"
                for label in EXAMPLES if label not in labels]
    if missing:
        raise IncompletePlan("\n".join(missing))
    return [Case(operation, role, side) for operation in operations(document) for role in ROLES for side in SIDES]


@dataclass
class Outcome:
    case: Case
    status: int
    cross_area: str | None  # why the answer counts as a cross-area success


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    body: Any  # JSON, or the bytes of a file
    content_type: str | None
    names_other: bool  # it names an object of the other county, in its path or its body

    @property
    def sent(self) -> str:
        """All the caller wrote: what the answer echoes of it is no leak."""
        body = "" if self.body is None or isinstance(self.body, bytes) else json.dumps(self.body, ensure_ascii=False)
        return " ".join([self.path, json.dumps(self.query, ensure_ascii=False), body])


def request_for(world: World, document: dict[str, Any], case: Case) -> Request:
    operation, role, side = case.operation, case.role, case.side
    path, query, headers = operation.path, {}, dict(world.callers[role].headers)
    names_other = False
    for parameter in operation.parameters:
        name, where = parameter["name"], parameter["in"]
        fixture = OVERRIDES.get((operation.label, name), PARAMETERS.get(name))
        if fixture is None or not (where == "path" or parameter.get("required", False) or side == OTHER):
            continue  # an optional parameter nobody knows, or a list filter on the own side
        value = fixture.pick(world, role, side)
        if where == "path":
            path = path.replace(f"{{{name}}}", quote(str(value), safe=""))
            names_other |= side == OTHER and fixture.area_bound
        elif where == "query":
            query[name] = value
        elif where == "header":
            headers[name] = str(value)
    example = EXAMPLES.get(operation.label)
    if example is None:
        return Request(path, query, headers, None, None, names_other)
    body = example.build(world, role, side)
    if example.content_type == "application/json":
        _check_documented(document, operation, body)
    return Request(path, query, headers, body, example.content_type, names_other or (side == OTHER and example.names_object))


def run(world: World, document: dict[str, Any], case: Case) -> Outcome:
    request, client = request_for(world, document, case), world.client()
    binary = isinstance(request.body, bytes)
    answer = client.open(request.path, method=case.operation.method.upper(), query_string=request.query,
                         headers=request.headers, data=request.body if binary else None,
                         json=None if binary else request.body, content_type=request.content_type)
    return Outcome(case, answer.status_code, _cross_area(world, case.operation, request, answer, client))


def _check_documented(document: dict[str, Any], operation: Operation, body: Any) -> None:
    """An example body is one the document calls valid: its required fields, and no field it does not publish."""
    item = document["paths"][operation.path][operation.method]
    schema = item["requestBody"]["content"]["application/json"]["schema"]
    errors = [e.message for e in Draft7Validator({**schema, "components": document["components"]}).iter_errors(body)]
    assert errors == [], f"the example body of {operation.label} is not valid per the document: {errors}"


def _cross_area(world: World, operation: Operation, request: Request, answer, client: FlaskClient) -> str | None:
    if not 200 <= answer.status_code < 300:
        return None
    judge = JUDGES.get(operation.label)
    if request.names_other and (judge is None or judge(answer.get_json(silent=True))):
        return "2xx on another county's object"
    leaked = [text for page in _pages(answer, client, operation, request)
              for text in _other_county_text(world, page, request.sent)]
    return f"another county's data in the answer: {sorted(set(leaked))[:5]}" if leaked else None


def _pages(answer, client: FlaskClient, operation: Operation, request: Request) -> Iterator[Any]:
    """The answer, and every later page of a keyset list: a row of another county may hide on page two."""
    page = answer.get_json(silent=True)
    # Not JSON: a file or a map tile, whose text (a tile's ids are UTF-8 strings in it) is searched as it is.
    yield page if page is not None else answer.get_data().decode("utf-8", "replace")
    for _ in range(1000):
        following = _next_page(page, client, operation, request)
        if following is None:
            return
        assert following.status_code == 200, following.get_json(silent=True)
        page = following.get_json()
        yield page
    raise AssertionError(f"{operation.label} gave more than 1000 pages")


def _next_page(page: Any, client: FlaskClient, operation: Operation, request: Request):
    """The page after this one: by the cursor of the API's lists, or by the `next` link of an OGC API page."""
    if operation.method != "get" or not isinstance(page, dict):
        return None
    links = [link["href"] for link in page.get("links", []) if isinstance(link, dict) and link.get("rel") == "next"]
    if links:
        return client.get(links[0].removeprefix("http://localhost"), headers=request.headers)
    if page.get("has_more") and page.get("cursor"):
        return client.get(request.path, query_string={**request.query, "cursor": page["cursor"]}, headers=request.headers)
    return None


def _other_county_text(world: World, answer: Any, sent: str) -> Iterator[str]:
    """Strings of the answer that belong to the other county, except what the caller itself sent (an echo)."""
    other = world.counties[OTHER]
    markers = {other.enumerator, other.supervisor, OTHER_HOUSEHOLDER, *other.assignments.values(),
               *(t.token_id for t in [world.foreign_token, *other.devices, other.boss])}
    for visited in [*other.households.values(), *other.villages.values()]:
        markers |= {visited.id, visited.first, *visited.candidates}
    markers = {m for m in markers if m not in sent}
    for text in _strings(answer):
        if (text.startswith(other.code) and text not in sent) or any(m in text for m in markers):
            yield text


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


@pytest.fixture
def world(committed_app: Flask) -> World:  # noqa: F811 (pytest injects the imported fixture)
    return build(committed_app)


def test_the_access_matrix_has_no_cross_area_success(world):
    document = world.client().get(OPENAPI).json
    outcomes = [run(world, document, case) for case in plan(document)]
    labels = [operation.label for operation in operations(document)]
    cross = [f"{o.case.operation.label} as {o.case.role} on the {o.case.side} county: {o.status}, {o.cross_area}"
             for o in outcomes if o.cross_area]
    print(f"access matrix: {len(outcomes)} cases ({len(labels)} operations × {len(ROLES)} roles × own/other), "
          f"cross-area successes: {len(cross)}")
    server_errors = [f"{o.case.operation.label} as {o.case.role} ({o.case.side}): {o.status}" for o in outcomes
                     if o.status >= 500]
    # Every operation is exercised: some role reached its success on its own county's object. Otherwise the
    # fixtures are wrong, and a 404 everywhere would pass the matrix for nothing.
    succeeded = {o.case.operation.label for o in outcomes if o.case.side == OWN and 200 <= o.status < 300}
    assert {"cross-area successes": cross, "5xx": server_errors,
            "operations never answered 2xx on an own object": [label for label in labels if label not in succeeded],
            } == {"cross-area successes": [], "5xx": [], "operations never answered 2xx on an own object": []}


def test_the_matrix_sees_a_caller_whose_scope_covers_both_counties(world):
    # The matrix's own check: the admin of Yunnan (53) may act on 剑川, so the same cases must count cross-area
    # successes, by id and in the lists; were the markers or the fixtures wrong, this would find none. Its push is
    # left out: accepted, it moves the other county's household into 漾濞, and the later cases would not find it there.
    document = world.client().get(OPENAPI).json
    yunnan = dataclasses.replace(world, callers={**world.callers, Role.admin: sign_in(world.client(), "admin", "matrix-53")})
    seen = {case.operation.label for case in plan(document)
            if case.role == Role.admin and case.side == OTHER and case.operation.label != "POST /api/v1/sync/submissions"
            and run(yunnan, document, case).cross_area}
    assert {"GET /api/v1/areas", "GET /api/v1/areas/{code}", "GET /api/v1/households", "GET /api/v1/sync/changes",
            "GET /api/v1/households/{household_id}", "GET /api/v1/villages/{area_code}",
            "POST /api/v1/submissions/{submission_uuid}/reviews", "POST /api/v1/assignments",
            "GET /api/v1/submissions", "GET /api/v1/submissions/{submission_uuid}", "POST /api/v1/reviews",
            "GET /api/v1/tiles/submissions/{z}/{x}/{y}.mvt", "GET /api/v1/tiles/households/{z}/{x}/{y}.mvt",
            "GET /api/v1/features/collections/{collection_id}/items",
            "GET /api/v1/features/collections/{collection_id}/items/{feature_id}"} <= seen, seen


def test_an_operation_the_matrix_cannot_fill_fails_the_plan():
    document = {"paths": {
        "/api/v1/widgets/{widget_id}": {"get": {}},  # a placeholder the document forgot to declare counts too
        "/api/v1/widgets": {"get": {"parameters": [{"in": "query", "name": "colour", "required": True}]}},
        "/api/v1/households/{household_id}/notes": {"post": {"requestBody": {}}},
    }}
    with pytest.raises(IncompletePlan) as failure:
        plan(document)
    told = str(failure.value).splitlines()
    assert "GET /api/v1/widgets/{widget_id}: no fixture for the path parameter 'widget_id'; add one to PARAMETERS " \
           "in tests/api/test_access_matrix.py" in told
    assert "GET /api/v1/widgets: no fixture for the query parameter 'colour'; add one to PARAMETERS " \
           "in tests/api/test_access_matrix.py" in told
    assert "POST /api/v1/households/{household_id}/notes: no example body; add one to EXAMPLES " \
           "in tests/api/test_access_matrix.py" in told


# S13: ids from another area in a push.
PUSHERS = (Role.admin, Role.supervisor, Role.enumerator)


def _snapshot(app: Flask, household: str) -> dict[str, Any]:
    """What the other county holds about its household: version, history, cases, measures and evidence."""
    with app.app_context():
        row = db.session.get(Household, household)
        rows = {
            "history": select(EntityVersion.version, EntityVersion.submission_uuids, EntityVersion.changes)
            .where(EntityVersion.entity_type == "household", EntityVersion.entity_id == household)
            .order_by(EntityVersion.version),
            "cases": select(MonitoringCase.state, MonitoringCase.category).where(MonitoringCase.household_id == household)
            .order_by(MonitoringCase.opened_at),
            "measures": select(AssistanceMeasure.measure_type, AssistanceMeasure.case_id, AssistanceMeasure.submission_uuid,
                               AssistanceMeasure.amount_yuan).where(AssistanceMeasure.household_id == household)
            .order_by(AssistanceMeasure.id),
            "evidence": select(Submission.uuid, Submission.supersedes).where(Submission.entity_id == household)
            .order_by(Submission.uuid),
        }
        snapshot = {name: [tuple(r) for r in db.session.execute(query)] for name, query in rows.items()}
        snapshot["household"] = (row.version, row.area_code, row.householder_name, row.properties)
        snapshot["people"] = sorted(tuple(r) for r in db.session.execute(
            select(Person.person_key, Person.name, Person.properties).where(Person.household_id == household)))
        return snapshot


def _stored(app: Flask, submission_uuid: str) -> bool:
    with app.app_context():
        return db.session.get(Submission, submission_uuid) is not None


def _denied(app: Flask, username: str) -> list[str | None]:
    """The targets of the refusals audited for this user."""
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.target).where(
            AuditEntry.actor == username, AuditEntry.outcome == AuditOutcome.denied).order_by(AuditEntry.at)))


@pytest.fixture
def assisted(world: World) -> World:
    """The other county's supervisor identified and assisted each of its households, so they carry measures."""
    client, boss = world.client(), world.counties[OTHER].boss
    for household in world.counties[OTHER].households.values():
        for move in ({"action": "village_review", "step_date": "2026-11-25", "minutes": "评议"},
                     {"action": "township_check", "step_date": "2026-11-25", "comment": "同意"},
                     {"action": "identify", "step_date": "2026-11-25", "category": "marginal",
                      "risk_types": ["illness"], "channel": "cadre_screening"},
                     {"action": "assist", "measures": [{**MEASURE, "risk_types": ["illness"]}]}):
            answer = client.post(f"/api/v1/households/{household.id}/monitoring", json=move, headers=boss.headers)
            assert answer.status_code == 200, answer.json
    return world


def _s13_item(world: World, role: Role, kind: str) -> tuple[dict[str, Any], str]:
    """The item a caller of 漾濞 pushes for one S13 case, and the device its envelope names."""
    own_village = world.counties[OWN].villages[role].area_code
    target = world.counties[OTHER].households[role]
    device = world.callers[role].device_id
    if kind == "subject":
        sent = household_revisit(OWN, target.id, own_village, _snapshot(world.app, target.id)["household"][0],
                                 housing_grade="A")
        sent["data"]["measures"] = [MEASURE]
    elif kind == "supersedes":
        sent = household_visit(OWN, own_village, supersedes=target.first)
        sent["data"]["measures"] = [MEASURE]
    else:
        sent, device = household_visit(OWN, own_village), world.counties[OTHER].devices[0].device_id
    return sent, device


def _s13_push(world: World, role: Role, kind: str) -> tuple[bool, list[str]]:
    """Pushes one S13 case as the role: was any of it accepted, and what went wrong."""
    target = world.counties[OTHER].households[role]
    before, denied_before = _snapshot(world.app, target.id), _denied(world.app, CALLERS[role])
    sent, device = _s13_item(world, role, kind)
    answer = world.client().post(URL, json=batch([sent]) | {"device_id": device}, headers=world.callers[role].headers)
    found = []
    if kind == "device" and answer.status_code != 403:
        found.append(f"answered {answer.status_code} {answer.get_json(silent=True)}, not 403")
    elif kind != "device" and (answer.status_code != 200 or not _out_of_scope(answer.json["results"][0])):
        found.append(f"answered {answer.status_code} {answer.get_json(silent=True)}, not an out_of_scope item")
    if _stored(world.app, sent["uuid"]):
        found.append("the submission was stored")
    if (after := _snapshot(world.app, target.id)) != before:
        found.append(f"the other county's household changed: {before} -> {after}")
    accepted = bool(found)
    denied = _denied(world.app, CALLERS[role])
    if len(denied) == len(denied_before) or (kind != "device" and sent["uuid"] not in denied):
        found.append(f"no refusal audited (denied targets before {denied_before}, after {denied})")
    return accepted, found


def test_a_push_naming_another_countys_household_submission_or_device_changes_nothing(assisted):
    # Every role that pushes, on one world (each push is compared with a snapshot taken just before it): a 漾濞 visit
    # of a 剑川 household; a correction of a 剑川 submission; an envelope naming a 剑川 phone.
    problems = {}
    for kind in ("subject", "supersedes", "device"):
        outcomes = {role: _s13_push(assisted, role, kind) for role in PUSHERS}
        accepted = sum(accepted for accepted, _ in outcomes.values())
        print(f"S13 ({kind}): cross-area writes accepted: {accepted} of {len(outcomes)} tried")
        problems |= {f"{kind} as {role}": found for role, (_, found) in outcomes.items() if found}
    assert problems == {}
