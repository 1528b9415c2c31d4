"""Monitoring cases (domain.md 3.13) and their measures (3.14): risk flags open a candidate; only supervisors move it."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from server.models import AuditEntry, MonitoringCase, MonitoringEvent
from sync.evidence import NAMESPACE
from tests.sync.conftest import batch, item

URL = "/api/v1/sync/submissions"
MEASURE = {"measure_type": "public_welfare_job", "measure_scope": "single", "measure_date": "2026-11-25",
           "amount_yuan": 6000, "responsible_person": "王文"}


def visit(client, people, sent) -> uuid.UUID:
    result = client.post(URL, json=batch([sent]), headers=people["enum_a"]).json["results"][0]
    assert result["status"] == "accepted", result
    subject = sent["subject"]["id"]
    return uuid.UUID(subject) if subject else uuid.uuid5(NAMESPACE, f"household:{sent['uuid']}")


def move(client, people, household_id, action, who="sup_a", **extra):
    return client.post(f"/api/v1/households/{household_id}/monitoring", json={"action": action, **extra},
                       headers=people[who])


def cases(db_session, household_id) -> list[tuple[str, str | None]]:
    db_session.expire_all()
    rows = db_session.scalars(select(MonitoringCase).where(MonitoringCase.household_id == household_id)
                              .order_by(MonitoringCase.opened_at)).all()
    return [(case.state.value, case.category) for case in rows]


def test_risk_flags_open_a_candidate_and_a_supervisor_takes_it_through_to_elimination(client, db_session, people):
    household_id = visit(client, people, item())  # income under the line, a child out of school, an unsafe house
    assert cases(db_session, household_id) == [("candidate", None)]

    assert move(client, people, household_id, "identify").status_code == 422  # a category is required
    answer = move(client, people, household_id, "identify", category="marginal", comment="村民代表会议评议通过")
    assert answer.status_code == 200 and answer.json["state"] == "identified"
    assert move(client, people, household_id, "assist", measures=[MEASURE]).json["state"] == "assisted"
    answer = move(client, people, household_id, "eliminate", comment="风险消除评议会")
    assert answer.json["state"] == "risk_eliminated" and answer.json["closed_at"] is not None

    case_id = db_session.scalar(select(MonitoringCase.id).where(MonitoringCase.household_id == household_id))
    events = db_session.execute(select(MonitoringEvent.from_state, MonitoringEvent.to_state, MonitoringEvent.actor_id)
                                .where(MonitoringEvent.case_id == case_id).order_by(MonitoringEvent.id)).all()
    assert [(a, b) for a, b, _ in events] == [(None, "candidate"), ("candidate", "identified"),
                                               ("identified", "assisted"), ("assisted", "risk_eliminated")]
    assert events[0][2] is None and all(actor is not None for _, _, actor in events[1:])
    audited = db_session.scalars(select(AuditEntry.action).where(AuditEntry.target == str(household_id))).all()
    assert sorted(audited) == ["monitoring.assist", "monitoring.eliminate", "monitoring.identify"]


def test_a_new_risk_after_elimination_opens_a_new_case_and_the_old_one_stays(client, db_session, people):
    household_id = visit(client, people, item())
    for action, extra in (("identify", {"category": "unstable_tuopin"}), ("assist", {"measures": [MEASURE]}),
                          ("eliminate", {})):
        assert move(client, people, household_id, action, **extra).status_code == 200
    revisit = item(subject={"type": "household", "id": str(household_id), "area_code": "532922100"}, base_version=1)
    visit(client, people, revisit)  # the flags still hold
    assert cases(db_session, household_id) == [("risk_eliminated", "unstable_tuopin"), ("candidate", None)]


def test_moves_out_of_order_or_by_the_wrong_person_change_nothing(client, db_session, people):
    household_id = visit(client, people, item())
    assert move(client, people, household_id, "assist").status_code == 409  # a candidate is identified first
    assert move(client, people, household_id, "identify", who="enum_a", category="marginal").status_code == 403
    assert move(client, people, household_id, "identify", who="sup_b", category="marginal").status_code == 404
    assert cases(db_session, household_id) == [("candidate", None)]


def test_a_household_without_risk_flags_gets_no_case(client, db_session, people):
    sent = item()
    sent["data"].update(income_wage=30000, housing_grade="A", income_per_capita=(30000 + 3000.5) / 3)
    sent["data"]["members"][2].update(schooling_status="primary")
    sent["data"]["members"][2].pop("dropout_reason")
    sent["data"]["children_out_of_school"] = 0
    household_id = visit(client, people, sent)
    assert cases(db_session, household_id) == []


def measures(client, people, household_id) -> tuple[list[list[str]], list[str]]:
    """The measure types of each case, and those recorded while no case was open, as a supervisor reads them."""
    view = client.get(f"/api/v1/households/{household_id}", headers=people["sup_a"]).json
    return ([[m["measure_type"] for m in case["measures"]] for case in view["monitoring"]],
            [m["measure_type"] for m in view["measures_outside_cases"]])


def test_assisting_records_the_measures_on_the_case(client, db_session, people):
    household_id = visit(client, people, item())
    move(client, people, household_id, "identify", category="marginal")
    refused = move(client, people, household_id, "assist")  # nothing recorded yet: assisting needs a measure
    assert refused.status_code == 422 and cases(db_session, household_id) == [("identified", "marginal")]
    unknown = move(client, people, household_id, "assist", measures=[{**MEASURE, "measure_type": "lottery"}])
    assert unknown.status_code == 422 and unknown.json["error"]["details"]["unknown"] == ["lottery"]
    assert move(client, people, household_id, "assist", measures=[MEASURE]).status_code == 200
    assert measures(client, people, household_id) == ([["public_welfare_job"]], [])
    audit = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "monitoring.assist")).one()
    assert audit.details["measures"] == 1


def test_a_visits_measures_go_to_the_open_case_and_let_it_be_assisted(client, db_session, people):
    household_id = visit(client, people, item())
    move(client, people, household_id, "identify", category="sudden_hardship")
    revisit = item(subject={"type": "household", "id": str(household_id), "area_code": "532922100"}, base_version=1)
    revisit["data"]["measures"] = [MEASURE, {**MEASURE, "measure_type": "dibao", "measure_scope": "comprehensive"}]
    visit(client, people, revisit)
    assert measures(client, people, household_id) == ([["public_welfare_job", "dibao"]], [])
    assert move(client, people, household_id, "assist").status_code == 200  # the visit recorded what was done


def test_measures_with_no_open_case_are_kept_and_a_correction_replaces_them(client, db_session, people):
    sent = item()
    sent["data"].update(income_wage=30000, housing_grade="A", income_per_capita=(30000 + 3000.5) / 3,
                        children_out_of_school=0, measures=[MEASURE])
    sent["data"]["members"][2].update(schooling_status="primary")
    sent["data"]["members"][2].pop("dropout_reason")
    household_id = visit(client, people, sent)  # no risk: no case
    assert measures(client, people, household_id) == ([], ["public_welfare_job"])
    correction = {**sent, "uuid": str(uuid.uuid4()), "supersedes": sent["uuid"]}
    correction["data"] = {**sent["data"], "measures": [{**MEASURE, "measure_type": "industry"}]}
    visit(client, people, correction)
    assert measures(client, people, household_id) == ([], ["industry"])
