"""The monitoring state machine (domain.md 3.13): risk flags open a candidate; only supervisors move it, audited."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from server.models import AuditEntry, MonitoringCase, MonitoringEvent
from sync.evidence import NAMESPACE
from tests.sync.conftest import batch, item

URL = "/api/v1/sync/submissions"


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
    assert move(client, people, household_id, "assist").json["state"] == "assisted"
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
    for action, extra in (("identify", {"category": "unstable_tuopin"}), ("assist", {}), ("eliminate", {})):
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
