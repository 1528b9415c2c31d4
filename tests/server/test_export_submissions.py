"""The raw submissions of a form as export layers: columns, one row per visit, repeats, filters, scope, personal data."""

from __future__ import annotations

import copy
import random
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.masking import ExportView
from schemas.form_definition import form_definition_schema
from server.models import Role
from server.services import forms
from server.services.exports.datasets import Filters, ReviewFilter
from server.services.exports.layers import Kind, Layer, Shape
from server.services.exports.submissions import submission_layers
from survey_forms import loader
from survey_forms.definition import FormDefinition
from tests.sync.conftest import AREA, batch, item
from tools import formfill

NAME, PHONE, ID_NUMBER = "金丝猴测试", "13912345678", "11010519491231002X"
# The canary is the household's head: a woman born 1949-12-31, as the ID number says (the form checks it).
HEAD = {"name": NAME, "id_card_no": ID_NUMBER, "birth_date": "1949-12-31", "sex": "female", "relation_to_head": "head"}
OTHER_AREA = "532931101"  # in 剑川 (532931), another county
HERE = ("532922",)
META = ["submission_uuid", "form_version", "area_code", "household_id", "review_state", "collected_at", "received_at",
        "enumerator", "gps_accuracy_m", "supersedes"]


@pytest.fixture
def household_visit(db_session: Session) -> dict[int, FormDefinition]:
    """Every form of the repository published; the household visit's versions by number."""
    definitions = loader.load_all(form_definition_schema())
    forms.publish(db_session, definitions, actor="test")
    db_session.commit()
    return {d.version: d for d in definitions if d.form_id == "household_visit"}


@pytest.fixture
def phones(make_user, sign_in) -> dict[str, dict[str, str]]:
    make_user("enum_a")
    make_user("enum_b", scope=("532931",))
    make_user("sup_a", Role.supervisor)
    return {name: sign_in(name)["auth"] for name in ("enum_a", "enum_b", "sup_a")}


def _push(client, auth: dict[str, str], sent: dict[str, Any]) -> str:
    result = client.post("/api/v1/sync/submissions", json=batch([sent]), headers=auth).json["results"][0]
    assert result["status"] == "accepted", result
    return sent["uuid"]


def _approve(client, auth: dict[str, str], submission_uuid: str) -> None:
    answer = client.post(f"/api/v1/submissions/{submission_uuid}/reviews", json={"decision": "approved"}, headers=auth)
    assert answer.status_code == 201, answer.json


def _visit(definition: FormDefinition, data: dict[str, Any], area_code: str = AREA, **changes: Any) -> dict[str, Any]:
    return item(form_id=definition.form_id, form_version=definition.version, data=data, attachments=[],
                subject={"type": "household", "id": None, "area_code": area_code}, **changes)


@pytest.fixture
def visits(client, household_visit, phones) -> dict[str, Any]:
    """In 漾濞: the canary's visit (approved), a plain one (approved), a v1 visit (pending); in 剑川 one more."""
    v1, v2 = household_visit[1], household_visit[2]
    canary_data = formfill.fill(v2, random.Random(5), overrides={  # noqa: S311 - test data
        "phone": PHONE, "householder_id_card_no": ID_NUMBER, "respondent_name": NAME, "members": [HEAD, {}, {}]})
    assert canary_data["householder_name"] == NAME
    sent = {
        "canary": _visit(v2, canary_data),
        "plain": _visit(v2, formfill.fill(v2, random.Random(6))),  # noqa: S311
        "old": _visit(v1, formfill.fill(v1, random.Random(7))),  # noqa: S311
        "elsewhere": _visit(v2, formfill.fill(v2, random.Random(8)), OTHER_AREA),  # noqa: S311
    }
    for name, visit in sent.items():
        _push(client, phones["enum_b" if name == "elsewhere" else "enum_a"], visit)
    for name in ("canary", "plain"):
        _approve(client, phones["sup_a"], sent[name]["uuid"])
    return sent


def _layers(session: Session, view: ExportView, review: ReviewFilter = ReviewFilter.any, **filters: Any) -> dict[str, Layer]:
    layers = submission_layers(session, Filters(HERE, review=review, **filters), view, "household_visit")
    return {layer.name: layer for layer in layers}


def _rows(session: Session, layer: Layer) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in session.execute(layer.query.order_by(*layer.order)).all()]


def test_the_main_layer_has_the_visit_columns_then_the_answers_typed_by_field(db_session, visits):
    layers = _layers(db_session, ExportView("supervisor", unmasked=True))
    assert list(layers) == ["household_visit", "household_visit_members", "household_visit_measures"]
    main = layers["household_visit"]
    assert main.shape is Shape.point and main.key_name == "submission_uuid"
    assert main.names[:len(META)] == META
    kinds = {c.name: c.kind for c in main.columns}
    # In the newest version's order, groups flattened; notes, groups and repeats hold no column.
    assert main.names[len(META):len(META) + 3] == ["visit_date", "visit_reason", "enumerator_id"]
    assert {"visit", "income_note", "members", "measures", "location"}.isdisjoint(kinds)
    assert kinds["visit_date"] is Kind.date and kinds["household_size"] is Kind.integer
    assert kinds["income_wage"] is Kind.decimal and kinds["housing_safe"] is Kind.boolean
    assert kinds["housing_policies_received"] is Kind.text and kinds["photo_house"] is Kind.text
    assert kinds["location_lat"] is Kind.decimal and kinds["location_lon"] is Kind.decimal
    assert kinds["received_at"] is Kind.datetime and kinds["gps_accuracy_m"] is Kind.decimal
    assert len(main.names) == len(set(main.names))

    rows = {row["submission_uuid"]: row for row in _rows(db_session, main)}
    canary = visits["canary"]
    row = rows[canary["uuid"]]
    assert row["geometry"] is not None and row["enumerator"] == "enum_a" and row["area_code"] == AREA
    assert row["form_version"] == 2 and row["review_state"] == "approved" and row["gps_accuracy_m"] == 8.0
    assert row["household_id"] is not None and row["supersedes"] is None
    assert row["visit_date"] == date.fromisoformat(canary["data"]["visit_date"])
    assert row["household_size"] == canary["data"]["household_size"]
    assert row["location_lat"] == canary["data"]["location"]["lat"]
    policies = canary["data"].get("housing_policies_received")
    assert row["housing_policies_received"] == (";".join(policies) if policies else None)
    assert rows[visits["old"]["uuid"]]["form_version"] == 1


def test_one_row_per_accepted_submission_of_the_readers_areas_and_none_quarantined(client, db_session, visits, phones,
                                                                                 household_visit):
    broken = _visit(household_visit[2], {"visit_date": "not a date"})
    result = client.post("/api/v1/sync/submissions", json=batch([broken]), headers=phones["enum_a"]).json["results"][0]
    assert result["status"] == "invalid"
    rows = _rows(db_session, _layers(db_session, ExportView("planner"))["household_visit"])
    # 剑川's visit is another county's; the quarantined one never satisfied its form.
    assert sorted(r["submission_uuid"] for r in rows) == sorted(visits[n]["uuid"] for n in ("canary", "plain", "old"))


def test_members_are_child_rows_keyed_by_their_submission_and_position(db_session, visits):
    layers = _layers(db_session, ExportView("supervisor", unmasked=True))
    members = layers["household_visit_members"]
    assert members.shape is None and members.key_name == "row_id"
    assert members.names[:3] == ["row_id", "submission_uuid", "position"]
    assert {"name", "sex", "birth_date", "age_years"} <= set(members.names) and "member_education" not in members.names
    rows = _rows(db_session, members)
    for name in ("canary", "plain", "old"):
        sent = visits[name]
        mine = [r for r in rows if r["submission_uuid"] == sent["uuid"]]
        assert [r["position"] for r in mine] == list(range(len(sent["data"]["members"])))
        assert [r["sex"] for r in mine] == [m["sex"] for m in sent["data"]["members"]]
        assert [r["row_id"] for r in mine] == [f"{sent['uuid']}/{n}" for n in range(len(mine))]
    assert [r["name"] for r in rows if r["submission_uuid"] == visits["canary"]["uuid"]][0] == NAME
    assert visits["elsewhere"]["uuid"] not in {r["submission_uuid"] for r in rows}


def test_approved_reads_approved_visits_and_a_correction_replaces_its_visit_once_approved(client, db_session, visits,
                                                                                          phones, household_visit):
    def approved() -> list[str]:
        main = _layers(db_session, ExportView("planner"), ReviewFilter.approved)["household_visit"]
        return sorted(r["submission_uuid"] for r in _rows(db_session, main))

    assert approved() == sorted([visits["canary"]["uuid"], visits["plain"]["uuid"]])
    plain = visits["plain"]
    correction = _visit(household_visit[2], copy.deepcopy(plain["data"]), supersedes=plain["uuid"])
    _push(client, phones["enum_a"], correction)
    assert approved() == sorted([visits["canary"]["uuid"], plain["uuid"]])  # the correction still waits for review
    _approve(client, phones["sup_a"], correction["uuid"])
    assert approved() == sorted([visits["canary"]["uuid"], correction["uuid"]])
    members = _layers(db_session, ExportView("planner"), ReviewFilter.approved)["household_visit_members"]
    assert {r["submission_uuid"] for r in _rows(db_session, members)} == {visits["canary"]["uuid"], correction["uuid"]}
    # Every accepted one with review=any, the correction naming what it corrects.
    every = {r["submission_uuid"]: r for r in _rows(db_session, _layers(db_session, ExportView("planner"))["household_visit"])}
    assert len(every) == 4 and every[correction["uuid"]]["supersedes"] == plain["uuid"]
    # As of two days ago (a China day, whatever the machine's zone) nothing had been received.
    before = _layers(db_session, ExportView("planner"), as_of=date.today() - timedelta(days=2))["household_visit"]
    assert _rows(db_session, before) == []


def test_a_masked_export_holds_no_name_phone_or_id_number(db_session, visits):
    for review in ReviewFilter:
        for layer in _layers(db_session, ExportView("planner"), review).values():
            assert not [c.name for c in layer.columns if c.sealed], layer.name
            assert {"householder_name", "phone", "respondent_name", "name", "id_card_no"}.isdisjoint(layer.names)
            rows = _rows(db_session, layer)
            assert rows, layer.name
            for row in rows:
                cells = [str(value) for value in row.values() if value is not None]
                leaks = [cell for cell in cells for canary in (NAME, PHONE, ID_NUMBER, "enc:") if canary in cell]
                assert leaks == [], (layer.name, leaks)


def test_an_unmasked_export_has_the_personal_columns_and_opens_the_sealed_ones(app, db_session, visits):
    layers = _layers(db_session, ExportView("supervisor", unmasked=True))
    main, members = layers["household_visit"], layers["household_visit_members"]
    sealed = {c.name for layer in layers.values() for c in layer.columns if c.sealed}
    assert sealed == {"householder_id_card_no", "phone", "id_card_no"}
    assert {"householder_name", "respondent_name", "phone", "household_signature"} <= set(main.names)
    assert {"name", "id_card_no", "birth_date", "health_status"} <= set(members.names)
    assert "responsible_person" in layers["household_visit_measures"].names  # free text, carried unmasked only
    protector = app.extensions["pii"]
    canary = visits["canary"]["uuid"]
    row = next(r for r in _rows(db_session, main) if r["submission_uuid"] == canary)
    assert row["householder_name"] == NAME and row["respondent_name"] == NAME
    bound = uuid.UUID(canary).bytes  # what main.seal_context names: the writer opens each cell with it
    assert main.seal_context == members.seal_context == "submission_uuid"
    assert row["phone"].startswith("enc:") and protector.open_stored(row["phone"], bound) == PHONE
    assert protector.open_stored(row["householder_id_card_no"], bound) == ID_NUMBER
    head = next(r for r in _rows(db_session, members) if r["submission_uuid"] == canary and r["position"] == 0)
    assert head["name"] == NAME and protector.open_stored(head["id_card_no"], bound) == ID_NUMBER


def test_an_unknown_form_or_one_without_submissions_here_is_not_found(db_session, visits):
    with pytest.raises(NotFound, match="No form 'no_such_form'"):
        submission_layers(db_session, Filters(HERE), ExportView("planner"), "no_such_form")
    with pytest.raises(NotFound, match="No submission of the form village_collective"):
        submission_layers(db_session, Filters(HERE), ExportView("planner"), "village_collective")
    with pytest.raises(NotFound, match="No submission"):  # 剑川's visit is not in 漾濞's areas
        submission_layers(db_session, Filters(("532931102",)), ExportView("planner"), "household_visit")


def _nested_form(version: int) -> FormDefinition:
    """A household form whose plots repeat holds a crops repeat; v1 has a count that v2 dropped and an integer area."""
    crops = {"name": "crops", "type": "repeat", "label": {"zh": "作物", "en": "Crops"},
             "fields": [{"name": "crop", "type": "text", "label": {"zh": "作物", "en": "Crop"}},
                        {"name": "yield_kg", "type": "decimal", "label": {"zh": "产量", "en": "Yield"}}]}
    plots = {"name": "plots", "type": "repeat", "label": {"zh": "地块", "en": "Plots"},
             "fields": [{"name": "area_mu", "type": "integer" if version == 1 else "decimal",
                         "label": {"zh": "面积", "en": "Area"}}, crops]}
    fields: list[dict[str, Any]] = [{"name": "visit_date", "type": "date", "label": {"zh": "日期", "en": "Date"}}, plots]
    if version == 1:
        fields.append({"name": "legacy_count", "type": "integer", "label": {"zh": "旧计数", "en": "Old count"}})
    return FormDefinition.from_document({
        "form_id": "plot_survey", "version": version, "subject": "household", "roles": ["enumerator", "supervisor"],
        "title": {"zh": "地块调查", "en": "Plot survey"}, "default_language": "zh", "fields": fields})


def test_versions_merge_and_a_repeat_in_a_repeat_is_a_layer_with_both_parent_keys(client, db_session, phones):
    forms.publish(db_session, [_nested_form(1), _nested_form(2)], actor="test")
    db_session.commit()
    old = item(form_id="plot_survey", form_version=1, attachments=[], data={
        "visit_date": "2026-11-19", "legacy_count": 4, "plots": [{"area_mu": 2}]})
    new = item(form_id="plot_survey", form_version=2, attachments=[], data={
        "visit_date": "2026-11-20", "plots": [{"area_mu": 1.5, "crops": [{"crop": "玉米", "yield_kg": 300}]},
                                              {"area_mu": 0.5, "crops": [{"crop": "核桃"}, {"crop": "烤烟", "yield_kg": 80.5}]}]})
    for sent in (old, new):
        _push(client, phones["enum_a"], sent)
    every = Filters(HERE, review=ReviewFilter.any)
    layers = {layer.name: layer for layer in
              submission_layers(db_session, every, ExportView("supervisor", unmasked=True), "plot_survey")}
    assert list(layers) == ["plot_survey", "plot_survey_plots", "plot_survey_crops"]
    main, plots, crops = layers.values()
    assert main.names[len(META):] == ["visit_date", "legacy_count"]  # the newest order, then what only v1 had
    assert {c.name: c.kind for c in plots.columns}["area_mu"] is Kind.decimal  # integer in v1, decimal in v2
    assert crops.names == ["row_id", "submission_uuid", "plots_position", "position", "crop", "yield_kg"]
    assert [r["legacy_count"] for r in _rows(db_session, main)] == [4, None]
    assert [(r["submission_uuid"], r["position"], r["area_mu"]) for r in _rows(db_session, plots)] == [
        (old["uuid"], 0, 2.0), (new["uuid"], 0, 1.5), (new["uuid"], 1, 0.5)]
    assert [(r["row_id"], r["plots_position"], r["position"], r["crop"], r["yield_kg"]) for r in _rows(db_session, crops)] == [
        (f"{new['uuid']}/0/0", 0, 0, "玉米", 300.0), (f"{new['uuid']}/1/0", 1, 0, "核桃", None),
        (f"{new['uuid']}/1/1", 1, 1, "烤烟", 80.5)]
    # Crop names are free text the form keeps to itself: a masked export leaves them out.
    masked = submission_layers(db_session, every, ExportView("planner"), "plot_survey")
    assert "crop" not in masked[2].names and "yield_kg" in masked[2].names
