"""P1 of reliability.md: a canary name, phone and ID number pushed through a household visit never reach a planner.

Every GET operation of the OpenAPI document is called as a planner of the household's own county, with every path
parameter naming the canary's household, its submission, village and area, and every page of every list is read.
A new operation with a parameter this table does not know fails the test, so a new path out is never skipped.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import make_url

from schemas.form_definition import form_definition_schema
from server.extensions import db
from server.models import Role
from server.services import forms, users
from survey_forms import loader
from sync.evidence import NAMESPACE
from tests.api.test_access_matrix import OPENAPI, operations
from tests.server.conftest import PASSWORD
from tests.sync.conftest import AREA, batch, bearer, committed_app, item  # noqa: F401 (committed_app: a fixture)
from tests.sync.test_pull import settle
from tools import formfill
from tools.formfill.idcard import id_check_digit

NAME, PHONE, ID_NUMBER = "测试甲乙丙", "13800138000", "11010519491231002X"
# An 18-character resident ID number (GB 11643): region, a birth date, a sequence and its check character.
RESIDENT_ID = re.compile(r"(?<!\d)\d{6}(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dXx])")


def resident_ids(text: str) -> list[str]:
    """The resident ID numbers in a text: those the pattern finds whose check character is right."""
    return [found for found in RESIDENT_ID.findall(text) if id_check_digit(found[:17]) == found[17].upper()]


@pytest.fixture
def canary(committed_app: Flask) -> dict[str, str]:  # noqa: F811 (pytest injects the imported fixture)
    """A household visit of 漾濞 whose head is the canary, pushed by its enumerator; what names it."""
    definitions = loader.load_all(form_definition_schema())
    with committed_app.app_context():
        forms.publish(db.session, definitions, actor="test")
        users.create_user(db.session, "planner_a", Role.planner, ["532922"], PASSWORD, actor="test")
        db.session.commit()
    household_form = next(d for d in definitions if d.form_id == "household_visit")
    # The head is the canary: a woman born 1949-12-31, as the canary ID number says (the form checks it).
    head = {"name": NAME, "id_card_no": ID_NUMBER, "birth_date": "1949-12-31", "sex": "female", "relation_to_head": "head"}
    data = formfill.fill(household_form, random.Random(5),  # noqa: S311 - test data
                         overrides={"phone": PHONE, "members": [head]})
    assert data["householder_name"] == NAME and data["phone"] == PHONE and data["members"][0]["id_card_no"] == ID_NUMBER
    sent = item(form_id="household_visit", form_version=household_form.version, data=data, attachments=[])
    answer = committed_app.test_client().post("/api/v1/sync/submissions", json=batch([sent]),
                                              headers=bearer(committed_app, "enum_a"))
    assert answer.json["results"][0]["status"] == "accepted", answer.json
    household_id = str(uuid.uuid5(NAMESPACE, f"household:{sent['uuid']}"))
    supervisor = committed_app.test_client().get(f"/api/v1/households/{household_id}",
                                                 headers=bearer(committed_app, "sup_a"))
    # The canaries are there to find: the supervisor, who holds the grant, reads all three.
    shown = _text(supervisor)
    assert NAME in shown and PHONE in shown and ID_NUMBER in shown, "the canary visit did not record its values"
    return {"household_id": household_id, "submission_uuid": sent["uuid"], "area_code": AREA, "code": AREA,
            "parent_code": AREA[:6], "form_id": household_form.form_id, "version": str(household_form.version),
            "name": "house_front.jpg", "z": "16", "x": "50963", "y": "27930",  # the tile of the visit's fix
            # Exports and the OGC API: the households in their current state (the canary's visit is not reviewed);
            # tests/server/test_exports.py reads every dataset in every format.
            "dataset": "households", "format": "csv", "review": "any", "job_id": str(uuid.uuid4()),
            "collection_id": "households", "feature_id": household_id}


def _text(answer) -> str:
    """What the answer says, with any JSON escapes undone, so a name sent as \\uXXXX is still found."""
    body = answer.get_json(silent=True)
    return answer.get_data().decode("utf-8", "replace") if body is None else json.dumps(body, ensure_ascii=False)


def _get(client, path: str, headers: dict[str, str], query: dict | None = None) -> list[str]:
    """The text of the answer and of every later page of a keyset list."""
    settle(client.application)  # pull holds back changes while an older transaction is open (guarantee 1)
    texts = []
    query = dict(query or {})
    for _ in range(1000):
        answer = client.get(path, query_string=query, headers=headers)
        texts.append(_text(answer))
        body = answer.get_json(silent=True)
        if not (answer.status_code == 200 and isinstance(body, dict) and body.get("has_more") and body.get("cursor")):
            return texts
        query["cursor"] = body["cursor"]
    raise AssertionError(f"{path} gave more than 1000 pages")


def test_no_path_gives_a_planner_the_canary(committed_app, canary):  # noqa: F811
    client = committed_app.test_client()
    headers = bearer(committed_app, "planner_a")
    document = client.get(OPENAPI).get_json()
    called, leaks = [], []
    for operation in operations(document):
        if operation.method != "get":
            continue
        path, query = operation.path, {}
        for parameter in operation.parameters:
            name = parameter["name"]
            if parameter["in"] == "path":
                assert name in canary, f"{operation.label}: no canary value for the path parameter {name!r}; add it"
                path = path.replace("{" + name + "}", canary[name])
            elif parameter["in"] == "query" and name in canary:
                query[name] = canary[name]
        for text in _get(client, path, headers, query):
            found = [value for value in (NAME, PHONE, ID_NUMBER) if value in text] + resident_ids(text)
            leaks += [f"{operation.label}: {value}" for value in found]
        called.append(operation.label)
    print(f"\nP1 canary: {len(called)} GET operations read as a planner; canary hits: {len(leaks)}")
    assert "GET /api/v1/households/{household_id}" in called and "GET /api/v1/sync/changes" in called
    assert leaks == []


def test_an_enumerator_gets_the_name_and_phone_its_form_prefills_but_never_the_id_number(committed_app, canary):  # noqa: F811
    client = committed_app.test_client()
    texts = _get(client, "/api/v1/sync/changes", bearer(committed_app, "enum_a"))
    feed = "".join(texts)
    assert NAME in feed and PHONE in feed  # the household form pre-fills both: the next visit starts from them
    assert ID_NUMBER not in feed and not resident_ids(feed)
    record = client.get(f"/api/v1/households/{canary['household_id']}", headers=bearer(committed_app, "enum_a"))
    assert record.status_code == 200  # the read API masks personal values for an enumerator
    assert not [value for value in (NAME, PHONE, ID_NUMBER) if value in _text(record)]


# Where Debian's postgresql-15 package puts its programs (scripts/devdb.sh runs the same ones).
PG_DUMP = shutil.which("pg_dump", path="/usr/lib/postgresql/15/bin") or shutil.which("pg_dump")


def test_a_pg_dump_holds_no_canary_id_or_phone_number_quarantine_included(committed_app, canary):  # noqa: F811
    # The same values again in an item of a form version this server never published: quarantined, sealed whole.
    unknown = item(form_id="household_visit", form_version=99, data={"householder_name": NAME, "phone": PHONE,
                                                                      "members": [{"id_card_no": ID_NUMBER}]})
    answer = committed_app.test_client().post("/api/v1/sync/submissions", json=batch([unknown]),
                                              headers=bearer(committed_app, "enum_a"))
    assert [e["code"] for e in answer.json["results"][0]["errors"]] == ["form_version_unknown"]
    assert PG_DUMP and Path(PG_DUMP).is_file(), "pg_dump not found: install postgresql-15 (make test does)"
    url = make_url(committed_app.config["MIGRATIONS_DATABASE_URI"] or committed_app.config["SQLALCHEMY_DATABASE_URI"])
    dump = subprocess.run(  # noqa: S603 - our own database, our own arguments
        [PG_DUMP, "--data-only", "--no-owner", "--host", url.host, "--port", str(url.port), "--username", url.username,
         url.database], env={"PGPASSWORD": url.password or ""}, capture_output=True, check=True).stdout.decode()
    assert canary["submission_uuid"] in dump and unknown["uuid"] in dump  # both submissions are in the dump
    assert ID_NUMBER not in dump and PHONE not in dump and not resident_ids(dump)
    print(f"\nP2 canary hits in pg_dump: 0 of 2 values ({len(dump):,} bytes dumped)")
