"""Exports read back as a planner's tools read them: GDAL (pyogrio) for GeoPackage, GeoJSON, Shapefile and KML, GDAL's
own GeoPackage validator, openpyxl for XLSX, the csv module for CSV; the canary of reliability P1 in none of them.

Visits are pushed through the sync API by real phones' requests and reviewed through the API, so the state exported
is the one reconciliation made.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import subprocess
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pyogrio
import pytest
import shapely
from flask import Flask
from pyogrio.raw import read
from sqlalchemy import func, select, text

from schemas import exports as export_schemas
from schemas.form_definition import form_definition_schema
from server.extensions import db
from server.models import AuditEntry, ExportJob, ExportState, Role
from server.services import forms, users
from server.services.exports import jobs
from server.services.exports.datasets import ReviewFilter
from server.services.exports.files import FORMULA_STARTS, Format
from server.services.exports.layers import Shape
from server.services.exports.requests import DATASET_NAMES
from survey_forms import loader
from tests.api.test_canary import ID_NUMBER, NAME, PHONE, resident_ids
from tests.conftest import scratch_database
from tests.server.conftest import PASSWORD
from tests.sync.conftest import app_on, batch, bearer, item
from tools import formfill

FORMULA = "=HYPERLINK(\"http://x.example\",\"点我\")"
VALIDATE_GPKG = "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py"  # Debian's python3-gdal


def _visit(form, seed: int, **overrides) -> dict:
    data = formfill.fill(form, random.Random(seed), overrides=overrides)  # noqa: S311 - test data
    return item(form_id=form.form_id, form_version=form.version, data=data, attachments=[])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Three visits in 漾濞 (the canary's, approved; one whose national number is a formula, approved; one pending) and
    one in 剑川; a planner of each county. One database for the module: the tests read it, and those that add to it
    (jobs, audit rows) count what they add."""
    with scratch_database("survey_exports") as database:
        app = app_on(database, tmp_path_factory.mktemp("exports"))
        yield _world(app)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def committed_app(world: dict) -> Flask:
    return world["client"].application


def _world(committed_app: Flask) -> dict:
    definitions = loader.load_all(form_definition_schema())
    with committed_app.app_context():
        forms.publish(db.session, definitions, actor="test")
        for username, scope in (("planner_a", "532922"), ("planner_b", "532931")):
            users.create_user(db.session, username, Role.planner, [scope], PASSWORD, actor="test")
        db.session.commit()
    form = next(d for d in definitions if d.form_id == "household_visit")
    head = {"name": NAME, "id_card_no": ID_NUMBER, "birth_date": "1949-12-31", "sex": "female", "relation_to_head": "head"}
    canary = _visit(form, 5, phone=PHONE, members=[head])
    formula = _visit(form, 6, national_household_no=FORMULA)
    pending = _visit(form, 7)
    other = _visit(form, 8)
    other["subject"]["area_code"], other["gps"] = "532931101", {"lat": 26.4, "lon": 99.9, "accuracy_m": 5.0}
    client = committed_app.test_client()
    for username, visits in (("enum_a", [canary, formula, pending]), ("enum_b", [other])):
        answer = client.post("/api/v1/sync/submissions", json=batch(visits), headers=bearer(committed_app, username))
        assert [r["status"] for r in answer.json["results"]] == ["accepted"] * len(visits), answer.json
    supervisor = bearer(committed_app, "sup_a")
    for visit in (canary, formula):
        answer = client.post(f"/api/v1/submissions/{visit['uuid']}/reviews", json={"decision": "approved"},
                             headers=supervisor)
        assert answer.status_code == 201, answer.json
    return {"client": client, "planner": bearer(committed_app, "planner_a"), "supervisor": supervisor,
            "uuids": {"canary": canary["uuid"], "formula": formula["uuid"], "pending": pending["uuid"]}}


def _export(world: dict, dataset: str, fmt: str, headers: dict | None = None, **query) -> tuple[bytes, str]:
    answer = world["client"].get(f"/api/v1/exports/{dataset}", query_string={"format": fmt, **query},
                                 headers=headers or world["planner"])
    assert answer.status_code == 200, answer.get_json(silent=True)
    return answer.get_data(), answer.headers["Content-Disposition"]


def _saved(tmp_path: Path, body: bytes, disposition: str) -> Path:
    name = disposition.split("filename=")[-1].strip('"')
    path = tmp_path / name
    path.write_bytes(body)
    if name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            archive.extractall(tmp_path / "unzipped")
        return tmp_path / "unzipped"
    return path


def _database(committed_app: Flask, sql: str, **params) -> list:
    with committed_app.app_context():
        return list(db.session.execute(text(sql), params).all())


def _household_numbers(committed_app: Flask, county: str) -> set[str]:
    return {row[0] for row in _database(committed_app, "SELECT household_no FROM household WHERE county_code = :c",
                                        c=county)}


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "shp", "kml"])
def test_gdal_reads_every_gis_format_back_with_the_database_values(world, committed_app, tmp_path, fmt):
    body, disposition = _export(world, "households", fmt, review="any")
    path = _saved(tmp_path, body, disposition)
    source = next(path.glob("households.shp")) if fmt == "shp" else path
    kind = "Unknown" if fmt == "kml" else "Point"  # KML declares no geometry type per layer
    assert [list(layer) for layer in pyogrio.list_layers(source)] == [["households", kind]]
    meta, _, geometry, values = read(source, layer="households")
    fields = list(meta["fields"])
    rows = [dict(zip(fields, row, strict=True)) for row in zip(*values, strict=True)]
    assert meta["crs"] == "EPSG:4326"
    shapes = shapely.from_wkb(geometry)
    assert shapely.is_valid(shapes).all() and len(rows) == 3  # 漾濞's three; 剑川's is the other county's
    # A Shapefile's fields are short names its table maps.
    field: dict[str, str] = {}
    if fmt == "shp":
        field = {r["name"]: r["field"] for r in csv.DictReader((path / "households_fields.csv").open(encoding="utf-8-sig"))}
    assert {row[field.get("household_no", "household_no")] for row in rows} == _household_numbers(committed_app, "532922")
    assert {row[field.get("township", "township")] for row in rows} == {"苍山西镇"}  # Chinese, read back as written
    stored = _database(committed_app, "SELECT ST_X(location), ST_Y(location) FROM household WHERE county_code = '532922'")
    assert sorted(zip(shapely.get_x(shapes).round(6), shapely.get_y(shapes).round(6), strict=True)) == sorted(
        (round(x, 6), round(y, 6)) for x, y in stored)


def test_the_geopackage_passes_gdals_validator_and_holds_every_layer_of_a_dataset(world, tmp_path):
    body, disposition = _export(world, "cases", "gpkg", review="any")
    assert disposition.endswith('.gpkg"') or disposition.endswith(".gpkg")
    path = _saved(tmp_path, body, disposition)
    assert [list(layer) for layer in pyogrio.list_layers(path)] == [["monitoring_cases", "Point"],
                                                                    ["assistance_measures", None]]
    body, disposition = _export(world, "villages", "gpkg")
    villages = _saved(tmp_path, body, disposition)
    for checked in (path, villages):
        result = subprocess.run(["/usr/bin/python3", VALIDATE_GPKG, str(checked)],  # noqa: S603 - our own file
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_csv_opens_as_utf8_with_its_bom_lon_lat_and_formulas_made_text(world, committed_app, tmp_path):
    body, disposition = _export(world, "households", "csv", review="any")
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert list(rows[0])[:2] == ["lon", "lat"] and len(rows) == 3
    assert all(-180 <= float(r["lon"]) <= 180 and -90 <= float(r["lat"]) <= 90 for r in rows)
    assert {r["township"] for r in rows} == {"苍山西镇"}
    assert "householder_name" not in rows[0]  # personal: not a column of the planner's export
    numbers = {r["national_household_no"] for r in rows}
    assert "'" + FORMULA in numbers and FORMULA not in numbers
    assert not [n for n in numbers if n.startswith(FORMULA_STARTS)]
    # Several layers: one CSV each, in a zip.
    body, disposition = _export(world, "villages", "csv")
    unzipped = _saved(tmp_path, body, disposition)
    assert sorted(p.name for p in unzipped.iterdir()) == ["admin_villages.csv", "natural_villages.csv"]


def test_xlsx_has_a_sheet_per_layer_with_headers_and_a_sheet_naming_the_columns(world, tmp_path):
    body, disposition = _export(world, "cases", "xlsx", review="any")
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    assert book.sheetnames == ["字段说明 Columns", "monitoring_cases", "assistance_measures"]
    headers = next(book["monitoring_cases"].iter_rows(max_row=1, values_only=True))
    assert headers[:4] == ("lon", "lat", "case_id", "household_id")
    described = {(row[0], row[1]): row[2] for row in book["字段说明 Columns"].iter_rows(min_row=2, values_only=True)}
    assert described["monitoring_cases", "township"] == "乡（镇、街道）"
    body, _ = _export(world, "households", "xlsx", review="any")
    sheet = openpyxl.load_workbook(io.BytesIO(body))["households"]
    header = [c.value for c in sheet[1]]
    cells = [row[header.index("national_household_no")] for row in sheet.iter_rows(min_row=2)]
    assert "'" + FORMULA in [c.value for c in cells] and all(c.data_type == "s" for c in cells)


def test_json_for_the_pages_carries_labelled_columns_and_rows_as_objects(world, committed_app):
    body, disposition = _export(world, "indicators", "json", review="any")
    assert disposition.endswith('.json"') or disposition.endswith(".json")
    layers = {layer["name"]: layer for layer in json.loads(body)["layers"]}
    assert list(layers) == ["indicators_natural_village", "indicators_admin_village", "indicators_township",
                            "indicators_county"]
    county = layers["indicators_county"]
    assert county["title"]["zh"] and {"name": "households", "kind": "integer"}.items() <= next(
        c for c in county["columns"] if c["name"] == "households").items()
    assert [(row["area_code"], row["households"]) for row in county["rows"]] == [("532922", 3)]
    body, _ = _export(world, "households", "json", review="any")
    rows = json.loads(body)["layers"][0]["rows"]
    assert len(rows) == 3 and all(-180 <= row["lon"] <= 180 for row in rows)
    assert "'" + FORMULA not in {row["national_household_no"] for row in rows}  # JSON is not a spreadsheet: as stored
    assert FORMULA in {row["national_household_no"] for row in rows}


def test_a_shapefile_zip_says_its_encoding_and_keeps_the_long_field_names(world, tmp_path):
    body, disposition = _export(world, "households", "shp", review="any")
    unzipped = _saved(tmp_path, body, disposition)
    assert (unzipped / "households.cpg").read_text() == "UTF-8"
    names = list(csv.DictReader((unzipped / "households_fields.csv").open(encoding="utf-8-sig")))
    assert all(len(n["field"]) <= 10 for n in names)
    assert len({n["field"] for n in names}) == len(names)  # unique after shortening
    long_names = {n["name"]: n["field"] for n in names}
    assert long_names["natural_village"] == "natural_vi" and long_names["national_household_no"] != long_names["natural_village"]
    meta = pyogrio.read_info(unzipped / "households.shp")
    assert meta["encoding"] == "UTF-8" and list(meta["fields"]) == [n["field"] for n in names]


def _unpacked_text(body: bytes) -> str:
    """Every byte of an export as text: zip members (XLSX, Shapefile and CSV zips) opened."""
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "".join(_unpacked_text(archive.read(name)) for name in archive.namelist())
    return body.decode("utf-8", "replace")


EXPORTS = [("households", {}), ("people", {}), ("villages", {}), ("cases", {}), ("indicators", {}), ("ledgers", {}),
           ("submissions", {"form_id": "household_visit"})]


def test_p1_no_canary_in_any_planners_export(world):
    exported, leaks = 0, []
    for dataset, query in EXPORTS:
        for fmt in Format:
            answer = world["client"].get(f"/api/v1/exports/{dataset}", headers=world["planner"],
                                         query_string={"format": fmt.value, "review": "any", **query})
            if answer.status_code == 422 and answer.json["error"]["code"] == "format_not_possible":
                continue  # people and ledgers as KML: no places
            assert answer.status_code == 200, (dataset, fmt, answer.json)
            content = _unpacked_text(answer.get_data())
            leaks += [f"{dataset}.{fmt.value}: {v}" for v in (NAME, PHONE, ID_NUMBER) if v in content]
            leaks += [f"{dataset}.{fmt.value}: {v}" for v in resident_ids(content)]
            exported += 1
    print(f"\nP1 canary: {exported} planner exports read; canary hits: {len(leaks)}")
    assert exported == 47 and leaks == []


def test_a_supervisors_unmasked_submissions_open_their_sealed_answers(world):
    body, _ = _export(world, "submissions", "csv", headers=world["supervisor"], review="any", unmasked="true",
                      form_id="household_visit")
    text = _unpacked_text(body)
    assert PHONE in text and ID_NUMBER in text and NAME in text and "enc:" not in text


def test_an_unmasked_export_needs_the_grant_and_leaves_an_audit_row(world, committed_app):
    def audited() -> list[str]:
        with committed_app.app_context():
            return list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("export%"))
                                           .order_by(AuditEntry.id)))

    before = audited()
    refused = world["client"].get("/api/v1/exports/households", query_string={"format": "csv", "unmasked": "true"},
                                  headers=world["planner"])
    assert refused.status_code == 403 and refused.json["error"]["code"] == "personal_data_not_granted"
    assert audited() == before  # refused before anything was made
    body, _ = _export(world, "people", "csv", headers=world["supervisor"], review="any", unmasked="true")
    assert NAME in body.decode("utf-8-sig")
    assert audited() == [*before, "export.personal_data"]


def test_the_approved_state_leaves_out_what_no_supervisor_approved(world, committed_app):
    def numbers(**query) -> set[str]:
        body, _ = _export(world, "households", "csv", **query)
        return {r["household_no"] for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}

    pending = _database(committed_app, "SELECT h.household_no FROM household h JOIN submission s ON s.entity_id = h.id "
                                       "WHERE s.uuid = :u", u=world["uuids"]["pending"])[0][0]
    assert pending in numbers(review="any") and pending not in numbers()  # approved is the default
    assert len(numbers()) == 2
    assert numbers(review="any", as_of="2020-01-01") == set()  # none of them had been received then


def test_an_area_outside_the_readers_scope_is_not_found(world):
    answer = world["client"].get("/api/v1/exports/households", query_string={"format": "csv", "area_code": "532931"},
                                 headers=world["planner"])
    assert answer.status_code == 404
    body, _ = _export(world, "households", "csv", review="any", area_code="532922100")
    assert len(list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))) == 3
    enumerator = world["client"].get("/api/v1/exports/households", query_string={"format": "csv"},
                                     headers=bearer(world["client"].application, "enum_a"))
    assert enumerator.status_code == 403


def test_too_many_rows_for_now_names_the_job_to_ask_for(world, committed_app):
    committed_app.config["EXPORT_DIRECT_MAX_ROWS"] = 2
    try:
        answer = world["client"].get("/api/v1/exports/households", query_string={"format": "csv", "review": "any"},
                                     headers=world["planner"])
    finally:
        committed_app.config["EXPORT_DIRECT_MAX_ROWS"] = 50_000
    assert answer.status_code == 422 and answer.json["error"]["code"] == "export_too_large"
    assert "/api/v1/export-jobs" in answer.json["error"]["message"]


def _finished(client, location: str, headers: dict) -> dict:
    for _ in range(300):
        job = client.get(location, headers=headers).json
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"the export did not finish: {job}")


def test_a_job_is_polled_then_downloaded_and_a_cut_download_resumes(world):
    client = world["client"]
    asked = client.post("/api/v1/export-jobs", json={"dataset": "households", "format": "gpkg", "review": "any"},
                        headers=world["planner"])
    assert asked.status_code == 202 and asked.json["state"] in ("queued", "running") and asked.json["rows_total"] == 3
    job = _finished(client, asked.headers["Location"], world["planner"])
    assert job["state"] == "done" and job["progress"] == 100.0 and job["layers"] == {"households": 3}, job
    whole = client.get(job["download"], headers=world["planner"])
    assert whole.status_code == 200 and hashlib.sha256(whole.get_data()).hexdigest() == job["sha256"]
    first = client.get(job["download"], headers={**world["planner"], "Range": "bytes=0-999"})
    rest = client.get(job["download"], headers={**world["planner"], "Range": "bytes=1000-"})
    assert first.status_code == rest.status_code == 206
    assert first.get_data() + rest.get_data() == whole.get_data()
    # A job is its asker's: the same county's other readers, and the other county, find nothing.
    other = bearer(client.application, "planner_b")
    assert client.get(asked.headers["Location"], headers=other).status_code == 404
    assert client.get(job["download"], headers=other).status_code == 404


def test_a_job_checks_its_request_before_it_is_queued(world, committed_app):
    client = world["client"]
    with committed_app.app_context():
        before = db.session.scalar(select(func.count()).select_from(ExportJob))
    for body, code in (({"dataset": "households", "format": "gpkg", "area_code": "532931"}, 404),
                       ({"dataset": "households", "format": "gpkg", "unmasked": True}, 403),
                       ({"dataset": "households", "format": "pdf"}, 422),
                       ({"dataset": "submissions", "format": "csv"}, 422)):
        assert client.post("/api/v1/export-jobs", json=body, headers=world["planner"]).status_code == code, body
    with committed_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExportJob)) == before


def test_a_job_whose_worker_was_lost_is_taken_up_again(world, committed_app, tmp_path):
    with committed_app.app_context():
        planner = db.session.scalar(text("SELECT id FROM app_user WHERE username = 'planner_a'"))
        lost = ExportJob(id=uuid.uuid4(), user_id=planner, state=ExportState.running, rows_total=3,
                         request={"dataset": "households", "format": "csv", "review": "any"})
        db.session.add(lost)
        db.session.flush()
        lost_id = lost.id
        db.session.execute(text("UPDATE export_job SET heartbeat_at = now() - interval '10 minutes' WHERE id = :id"),
                           {"id": lost_id})
        db.session.commit()
        claimed = jobs.claim(db.session)
        assert claimed is not None and claimed.id == lost_id
        db.session.commit()
    jobs.run(committed_app, lost_id, tmp_path)
    with committed_app.app_context():
        done = db.session.get(ExportJob, lost_id)
        assert done.state is ExportState.done and done.layers == {"households": 3}
        assert (tmp_path / str(done.id) / done.file_name).read_bytes().startswith(b"\xef\xbb\xbf")


def test_the_wire_names_are_the_services_names():
    assert export_schemas.DATASETS == list(DATASET_NAMES)
    assert export_schemas.FORMATS == [f.value for f in Format]
    assert export_schemas.REVIEWS == [r.value for r in ReviewFilter]
    assert export_schemas.SHAPES == [s.value for s in Shape]
    assert export_schemas.JOB_STATES == [s.value for s in ExportState]


def _set_role(app: Flask, username: str, role: Role) -> None:
    with app.app_context():
        db.session.execute(text("UPDATE app_user SET role = :r WHERE username = :u"), {"r": role.value, "u": username})
        db.session.commit()


def test_an_unmasked_file_is_downloaded_only_while_its_asker_holds_the_grant(world, committed_app):
    client, supervisor = world["client"], world["supervisor"]
    asked = client.post("/api/v1/export-jobs", json={"dataset": "people", "format": "csv", "review": "any",
                                                     "unmasked": True}, headers=supervisor)
    assert asked.status_code == 202, asked.json
    job = _finished(client, asked.headers["Location"], supervisor)
    with committed_app.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "export.download"))
    first = client.get(job["download"], headers=supervisor)
    assert first.status_code == 200 and NAME in first.get_data().decode("utf-8-sig")
    with committed_app.app_context():
        after = db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "export.download"))
    assert after == before + 1
    _set_role(committed_app, "sup_a", Role.planner)  # a role change applies on the next request (C4)
    try:
        again = client.get(job["download"], headers=supervisor)
    finally:
        _set_role(committed_app, "sup_a", Role.supervisor)
    assert again.status_code == 403 and NAME not in again.get_data().decode("utf-8", "replace")


def test_a_job_whose_asker_lost_the_role_fails_instead_of_running(world, committed_app, tmp_path):
    with committed_app.app_context():
        planner = db.session.scalar(text("SELECT id FROM app_user WHERE username = 'planner_b'"))
        job = ExportJob(id=uuid.uuid4(), user_id=planner, request={"dataset": "households", "format": "csv"})
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    _set_role(committed_app, "planner_b", Role.enumerator)
    try:
        jobs.run(committed_app, job_id, tmp_path)
    finally:
        _set_role(committed_app, "planner_b", Role.planner)
    with committed_app.app_context():
        failed = db.session.get(ExportJob, job_id)
        assert failed.state is ExportState.failed and failed.error["code"] == "forbidden" and failed.file_name is None
    assert not list((tmp_path / str(job_id)).glob("*"))


def test_a_file_past_its_time_is_removed_and_its_job_expired(world, committed_app, tmp_path):
    with committed_app.app_context():
        planner = db.session.scalar(text("SELECT id FROM app_user WHERE username = 'planner_a'"))
        job = ExportJob(id=uuid.uuid4(), user_id=planner, state=ExportState.done, file_name="households.csv",
                        request={"dataset": "households", "format": "csv"})
        db.session.add(job)
        db.session.flush()
        db.session.execute(text("UPDATE export_job SET expires_at = now() - interval '1 minute' WHERE id = :id"),
                           {"id": job.id})
        (tmp_path / str(job.id)).mkdir()
        (tmp_path / str(job.id) / "households.csv").write_text("x")
        assert jobs.expire(db.session, tmp_path) == 1
        db.session.commit()
        assert db.session.get(ExportJob, job.id).state is ExportState.expired
        assert not (tmp_path / str(job.id)).exists()


def test_the_cli_writes_an_export_as_the_user_it_names_with_its_progress(world, committed_app, tmp_path):
    runner = committed_app.test_cli_runner()
    result = runner.invoke(args=["exports", "make", "households", "--as", "planner_a", "--format", "csv",
                                 "--review", "any", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    # The bar (on a terminal it fills; here click prints its label) and the summary.
    assert "households → csv" in result.output and "households: 3" in result.output
    rows = list(csv.DictReader((tmp_path / "households_all_any.csv").open(encoding="utf-8-sig")))
    assert len(rows) == 3 and "householder_name" not in rows[0]
    refused = runner.invoke(args=["exports", "make", "households", "--as", "planner_a", "--unmasked", "--out",
                                  str(tmp_path)])
    assert refused.exit_code == 1 and "personal_data_not_granted" in refused.output
    outside = runner.invoke(args=["exports", "make", "households", "--as", "planner_a", "--area", "532931",
                                  "--out", str(tmp_path)])
    assert outside.exit_code == 1 and "not_found" in outside.output
