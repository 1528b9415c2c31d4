"""Monitoring cases (domain.md 3.13) and their measures (3.14): case-tier risk flags open a candidate; supervisors take
it through the procedure, each step dated, justified and audited."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from server.models import AuditEntry, MonitoringCase, MonitoringEvent, Role, YearlyParameter
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


TODAY = date.today()
REVIEW = {"step_date": TODAY.isoformat(), "minutes": "村民代表会议评议：同意纳入监测"}
IDENTIFY = {"step_date": TODAY.isoformat(), "category": "marginal", "risk_types": ["illness", "schooling"],
            "channel": "cadre_screening"}
ANSWERED = {**MEASURE, "risk_types": ["illness"]}
# Each step with what justifies it, in the order of domain.md 3.13.
TO_ASSISTED = (("village_review", REVIEW), ("township_check", {"step_date": TODAY.isoformat(), "comment": "乡镇审核同意"}),
               ("identify", IDENTIFY), ("assist", {"step_date": TODAY.isoformat(), "measures": [ANSWERED]}))


def take(client, people, household_id, steps, who="sup_a") -> None:
    for action, extra in steps:
        answer = move(client, people, household_id, action, who, **extra)
        assert answer.status_code == 200, (action, answer.json)


def test_risk_flags_open_a_candidate_and_a_supervisor_takes_it_through_every_step(client, db_session, people):
    """domain.md 3.13: candidate → village review → township check → county decision → identified → assisted."""
    household_id = visit(client, people, item())  # income under the line, a child out of school, an unsafe house
    assert cases(db_session, household_id) == [("candidate", None)]
    take(client, people, household_id, TO_ASSISTED)
    assert cases(db_session, household_id) == [("assisted", "marginal")]

    case = db_session.scalars(select(MonitoringCase).where(MonitoringCase.household_id == household_id)).one()
    assert (case.risk_types, case.channel) == (["illness", "schooling"], "cadre_screening")
    events = db_session.execute(select(MonitoringEvent.step, MonitoringEvent.to_state, MonitoringEvent.step_date,
                                       MonitoringEvent.actor_id, MonitoringEvent.details)
                                .where(MonitoringEvent.case_id == case.id).order_by(MonitoringEvent.id)).all()
    assert [(e.step, e.to_state) for e in events] == [
        ("opened", "candidate"), ("village_review", "village_reviewed"), ("township_check", "township_checked"),
        ("identify", "identified"), ("assist", "assisted")]
    assert events[0].actor_id is None and all(e.actor_id is not None and e.step_date == TODAY for e in events[1:])
    assert events[1].details["minutes"] == REVIEW["minutes"]
    audited = db_session.scalars(select(AuditEntry.action).where(AuditEntry.target == str(household_id))).all()
    assert sorted(audited) == ["monitoring.assist", "monitoring.identify", "monitoring.township_check",
                               "monitoring.village_review"]


def test_each_step_refuses_what_does_not_justify_it_and_changes_nothing(client, db_session, people):
    household_id = visit(client, people, item())
    refusals = [
        ("identify", IDENTIFY, 409),  # the county decides after the village review and the township check
        ("village_review", {"minutes": "评议"}, 422),  # no date
        ("village_review", {"step_date": TODAY.isoformat()}, 422),  # no minutes
        ("village_review", {**REVIEW, "step_date": (TODAY + timedelta(days=2)).isoformat()}, 422),  # in the future
        ("dismiss", {}, 422),  # a dismissal says why
    ]
    for action, extra, status in refusals:
        answer = move(client, people, household_id, action, **extra)
        assert answer.status_code == status, (action, extra, answer.json)
        assert answer.json["error"]["message"]
    take(client, people, household_id, TO_ASSISTED[:2])
    for extra in ({**IDENTIFY, "category": None}, {**IDENTIFY, "risk_types": []},
                  {**IDENTIFY, "risk_types": ["bad_luck"]}, {**IDENTIFY, "channel": None}):
        assert move(client, people, household_id, "identify", **extra).status_code == 422, extra
    assert cases(db_session, household_id) == [("township_checked", None)]
    assert db_session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "monitoring.identify")) == 0


def test_the_county_decides_and_the_township_checks(client, db_session, people, make_user, sign_in):
    make_user("sup_town", Role.supervisor, ("532922100",))  # a township's supervisor
    people = {**people, "sup_town": sign_in("sup_town")["auth"]}
    household_id = visit(client, people, item())
    take(client, people, household_id, TO_ASSISTED[:2], who="sup_town")  # the village review and the township check
    refused = move(client, people, household_id, "identify", "sup_town", **IDENTIFY)
    assert refused.status_code == 403 and refused.json["error"]["details"] == {"level": "county"}
    assert move(client, people, household_id, "identify", **IDENTIFY).status_code == 200  # sup_a: the county


def test_a_new_risk_after_elimination_opens_a_new_case_and_the_old_one_stays(client, db_session, people):
    household_id = visit(client, people, item())
    take(client, people, household_id, [*TO_ASSISTED[:2], ("dismiss", {"comment": "核实无风险"})])
    revisit = item(subject={"type": "household", "id": str(household_id), "area_code": "532922100"}, base_version=1)
    visit(client, people, revisit)  # the flags still hold
    assert cases(db_session, household_id) == [("dismissed", None), ("candidate", None)]


def test_moves_out_of_order_or_by_the_wrong_person_change_nothing(client, db_session, people):
    household_id = visit(client, people, item())
    assert move(client, people, household_id, "assist").status_code == 409  # a candidate is identified first
    assert move(client, people, household_id, "village_review", who="enum_a", **REVIEW).status_code == 403
    assert move(client, people, household_id, "village_review", who="sup_b", **REVIEW).status_code == 404
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
    take(client, people, household_id, TO_ASSISTED[:3])
    refused = move(client, people, household_id, "assist")  # nothing recorded yet: assisting needs a measure
    assert refused.status_code == 422 and cases(db_session, household_id) == [("identified", "marginal")]
    unknown = move(client, people, household_id, "assist", measures=[{**ANSWERED, "measure_type": "lottery"}])
    assert unknown.status_code == 422 and unknown.json["error"]["details"]["unknown"] == ["lottery"]
    unanswered = move(client, people, household_id, "assist", measures=[MEASURE])  # answers none of the case's risks
    assert unanswered.status_code == 422 and unanswered.json["error"]["details"]["case_risks"] == ["illness", "schooling"]
    nobody = move(client, people, household_id, "assist", measures=[{**ANSWERED, "responsible_person": None}])
    assert nobody.status_code == 422
    assert move(client, people, household_id, "assist", measures=[ANSWERED]).status_code == 200
    assert measures(client, people, household_id) == ([["public_welfare_job"]], [])
    audit = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "monitoring.assist")).one()
    assert audit.details["measures"] == 1


def test_a_visits_measures_go_to_the_open_case_and_let_it_be_assisted(client, db_session, people):
    household_id = visit(client, people, item())
    take(client, people, household_id, TO_ASSISTED[:3])
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


def no_risk(sent: dict, income_per_capita: float) -> dict:
    """The visit with its risks answered away but for an income per head of `income_per_capita` (three people)."""
    sent["data"].update(income_wage=income_per_capita * 3, income_business=0, housing_grade="A",
                        income_per_capita=income_per_capita, children_out_of_school=0)
    sent["data"]["members"][2].update(schooling_status="primary")
    sent["data"]["members"][2].pop("dropout_reason")
    return sent


def test_a_household_between_the_monitoring_and_the_watch_line_is_watched_without_a_case(client, db_session, people):
    """domain.md 3.15, tiers: the watch line (10 000) marks a household for follow-up; only the monitoring line
    (6 000) and the other case-tier rules open a case."""
    household_id = visit(client, people, no_risk(item(), 8000))
    assert cases(db_session, household_id) == []
    view = client.get(f"/api/v1/households/{household_id}", headers=people["sup_a"]).json
    assert (view["risk_flags"], view["watch_flags"]) == ([], ["income_below_watch_line"])
    listed = client.get("/api/v1/households?watched=true", headers=people["sup_a"]).json["households"]
    assert [h["id"] for h in listed] == [str(household_id)]
    by_flag = client.get("/api/v1/households?flag=income_below_watch_line", headers=people["sup_a"]).json["households"]
    assert [h["id"] for h in by_flag] == [str(household_id)]
    assert client.get("/api/v1/households?watched=false", headers=people["sup_a"]).json["households"] == []


def test_a_visits_measures_reach_the_case_whichever_visit_arrives_first(client, db_session, people, phones):
    """domain.md 3.14: two devices visit the household from one version; the visit with the measures raises no risk
    itself and arrives before the one that opens the case. Either order, the measures are the case's."""
    results = []
    for order in ((0, 1), (1, 0)):
        first = item()
        household_id = visit(client, people, first)
        take(client, people, household_id, [*TO_ASSISTED[:2], ("dismiss", {"comment": "核实无风险"})])
        subject = {"type": "household", "id": str(household_id), "area_code": "532922100"}
        risky = item(subject=subject, base_version=1, collected_at="2026-11-21T09:00:00+08:00")
        helped = no_risk(item(subject=subject, base_version=1, collected_at="2026-11-21T15:00:00+08:00"), 9000)
        helped["data"]["measures"] = [MEASURE]
        pair = (risky, helped)
        for index in order:
            answer = client.post(URL, json=batch([pair[index]]) | {"device_id": f"phone-{index + 2}"},
                                 headers=phones("enum_a", f"phone-{index + 2}"))
            assert answer.json["results"][0]["status"] == "accepted", answer.json
        results.append(measures(client, people, household_id))
    assert results[0] == results[1] == ([[], ["public_welfare_job"]], [])


def recovered(household_id, base_version: int, collected_at: str, **data) -> dict:
    """A revisit with no case-tier risk left: income per head 9,000, two members able to work, consent given."""
    sent = no_risk(item(subject={"type": "household", "id": str(household_id), "area_code": "532922100"},
                        base_version=base_version, collected_at=collected_at), 9000)
    sent["data"].update({"labour_members": 2, "elimination_consent": "yes", **data})
    return sent


def assisted_household(client, db_session, people) -> uuid.UUID:
    household_id = visit(client, people, item(collected_at="2026-01-10T10:00:00+08:00"))
    take(client, people, household_id, TO_ASSISTED)
    return household_id


ELIMINATION_REVIEW = {"step_date": TODAY.isoformat(), "minutes": "风险消除评议会：同意，公示7天"}


def test_risk_is_eliminated_only_after_the_checks_the_review_and_the_notice(client, db_session, people, app):
    """domain.md 3.13 and 6.2 (elimination_with_open_risk, elimination_without_consent): no case-tier risk in the latest
    visit, income above the line for the county's months, the household's own consent, a review, then the notice."""
    household_id = assisted_household(client, db_session, people)
    refused = move(client, people, household_id, "review_elimination", **ELIMINATION_REVIEW)
    assert refused.status_code == 422
    assert {r["code"] for r in refused.json["error"]["details"]["reasons"]} == {
        "elimination_with_open_risk", "elimination_without_consent", "income_not_stable"}

    # Recovered in spring, consent asked in autumn: the income has held for more than six months.
    visit(client, people, recovered(household_id, 1, "2026-03-01T10:00:00+08:00", elimination_consent="no"))
    refused = move(client, people, household_id, "review_elimination", **ELIMINATION_REVIEW)
    assert [r["code"] for r in refused.json["error"]["details"]["reasons"]] == ["elimination_without_consent"]
    visit(client, people, recovered(household_id, 2, "2026-11-20T10:00:00+08:00"))
    assert move(client, people, household_id, "review_elimination", **ELIMINATION_REVIEW).status_code == 200

    early = move(client, people, household_id, "eliminate")  # the notice runs seven days from today
    assert early.status_code == 409 and early.json["error"]["details"]["notice_ends"] == (
        TODAY + timedelta(days=app.config["ELIMINATION_NOTICE_DAYS"])).isoformat()
    case = db_session.scalars(select(MonitoringCase).where(MonitoringCase.household_id == household_id)).one()
    case.notice_started_on = TODAY - timedelta(days=7)  # a week later
    db_session.commit()
    answer = move(client, people, household_id, "eliminate", step_date=TODAY.isoformat())
    assert answer.status_code == 200 and answer.json["state"] == "risk_eliminated" and answer.json["closed_at"]


def test_income_that_has_not_held_long_enough_keeps_the_case_open(client, db_session, people):
    household_id = assisted_household(client, db_session, people)
    visit(client, people, recovered(household_id, 1, "2026-10-01T10:00:00+08:00"))  # two months above the line
    refused = move(client, people, household_id, "review_elimination", **ELIMINATION_REVIEW)
    assert [r["code"] for r in refused.json["error"]["details"]["reasons"]] == ["income_not_stable"]


def test_a_household_without_labour_goes_to_long_term_follow_up_instead(client, db_session, people):
    """domain.md 3.13 and 6.2 elimination_no_labour: "对无劳动能力的…长期跟踪监测"."""
    household_id = assisted_household(client, db_session, people)
    assert move(client, people, household_id, "follow_up_long_term", comment="有劳动力").status_code == 422
    visit(client, people, recovered(household_id, 1, "2026-03-01T10:00:00+08:00", labour_members=0))
    refused = move(client, people, household_id, "review_elimination", **ELIMINATION_REVIEW)
    assert [r["code"] for r in refused.json["error"]["details"]["reasons"]] == ["elimination_no_labour"]
    answer = move(client, people, household_id, "follow_up_long_term", comment="无劳动能力，低保兜底")
    assert answer.status_code == 200 and answer.json["state"] == "long_term_follow_up" and not answer.json["closed_at"]


def test_an_objection_during_the_notice_returns_the_case_to_assistance(client, db_session, people):
    household_id = assisted_household(client, db_session, people)
    visit(client, people, recovered(household_id, 1, "2026-03-01T10:00:00+08:00"))
    take(client, people, household_id, [("review_elimination", ELIMINATION_REVIEW),
                                        ("withdraw_elimination", {"comment": "公示期间群众提出异议"})])
    case = db_session.scalars(select(MonitoringCase).where(MonitoringCase.household_id == household_id)).one()
    assert (case.state, case.notice_started_on) == ("assisted", None)


def test_the_households_list_filters_by_every_state_and_step_closed_ones_included(client, db_session, people):
    dismissed = visit(client, people, item())
    take(client, people, dismissed, [("dismiss", {"comment": "核实无风险"})])
    assisted = assisted_household(client, db_session, people)

    def listed(query: str) -> set[str]:
        answer = client.get(f"/api/v1/households?{query}", headers=people["sup_a"])
        assert answer.status_code == 200, answer.json
        return {h["id"] for h in answer.json["households"]}

    assert listed("monitoring_state=dismissed") == {str(dismissed)}
    assert listed("monitoring_state=assisted") == {str(assisted)}
    assert listed("step=township_check") == {str(assisted)}
    assert listed("step=opened") == {str(dismissed), str(assisted)}
    assert client.get("/api/v1/households?monitoring_state=unknown", headers=people["sup_a"]).status_code == 422


@pytest.mark.parametrize(("later_income", "flagged"), [(10000, True), (15000, False)], ids=["50% drop", "25% drop"])
def test_a_sharp_income_drop_against_the_last_visit_opens_a_case(client, db_session, people, later_income, flagged):
    """domain.md 3.15 income_drop: income per head fell by more than the form's income_drop_percent (30) against the
    household's previous version, though it stays above both lines: made at reconciliation, a case-tier flag."""
    household_id = visit(client, people, no_risk(item(), 20000))
    assert cases(db_session, household_id) == []
    later = no_risk(item(subject={"type": "household", "id": str(household_id), "area_code": "532922100"},
                         base_version=1, collected_at="2026-11-21T09:00:00+08:00"), later_income)
    visit(client, people, later)
    view = client.get(f"/api/v1/households/{household_id}", headers=people["sup_a"]).json
    assert ("income_drop" in view["risk_flags"]) is flagged
    assert cases(db_session, household_id) == ([("candidate", None)] if flagged else [])


def test_the_years_monitoring_line_of_the_county_replaces_the_forms_default(client, db_session, people):
    """domain.md 3.4: the monitoring line is re-set every year (by prefecture or county), looked up by the visit's
    income year; the form's 6,000 only stands when no line is set for that year."""
    db_session.add(YearlyParameter(year=2026, area_code="532922", monitoring_line=9000, dibao_standard=5000,
                                   watch_line=12000, source="test", set_by="test"))
    db_session.commit()
    household_id = visit(client, people, no_risk(item(), 8000))  # collected in 2026: under this year's 9,000
    view = client.get(f"/api/v1/households/{household_id}", headers=people["sup_a"]).json
    assert (view["risk_flags"], view["watch_flags"]) == (["income_below_monitoring_line"], ["income_below_watch_line"])
    assert cases(db_session, household_id) == [("candidate", None)]

    older = no_risk(item(collected_at="2025-11-20T09:40:00+08:00"), 8000)  # 2025 has no line set: the form's 6,000
    older["started_at"] = "2025-11-20T09:00:00+08:00"
    other = visit(client, people, older)
    assert client.get(f"/api/v1/households/{other}", headers=people["sup_a"]).json["risk_flags"] == []


@pytest.mark.parametrize(("action", "extra", "status"), [
    ("township_check", {"step_date": TODAY.isoformat()}, 422),  # a check records its opinion
    ("withdraw_elimination", {"comment": "异议"}, 409),  # no notice is running
    ("eliminate", {}, 409),  # the notice comes first
    ("review_elimination", ELIMINATION_REVIEW, 422),  # the risk is still there
    ("follow_up_long_term", {}, 422),  # says why
    ("assist", {"measures": [{**ANSWERED, "risk_types": ["disaster"]}]}, 422),  # a risk the case does not have
    ("dismiss", {"comment": "核实无风险"}, 409),  # only before identification
], ids=lambda value: value if isinstance(value, str) else "")
def test_an_assisted_case_refuses_each_step_that_is_out_of_order_or_unjustified(client, db_session, people, action,
                                                                                 extra, status):
    """domain.md 3.13: each refusal is a 409 (out of order) or a 422 (unjustified), and changes nothing."""
    household_id = assisted_household(client, db_session, people)
    if action == "township_check":
        household_id = visit(client, people, item())
        take(client, people, household_id, TO_ASSISTED[:1])
    before = cases(db_session, household_id)
    answer = move(client, people, household_id, action, **extra)
    assert answer.status_code == status, answer.json
    assert cases(db_session, household_id) == before


def test_an_income_year_no_table_can_hold_is_that_items_problem_alone(client, db_session, people):
    """reliability.md S6: the yearly lines are looked up before the form checks the data; a year beyond any column
    must not sink the batch."""
    odd = item()
    odd["data"]["income_year"] = 2**70
    results = client.post(URL, json=batch([odd, item()]), headers=people["enum_a"]).json["results"]
    assert [r["status"] for r in results] == ["invalid", "accepted"]  # the test form has no income_year at all


def test_the_free_text_of_a_case_is_personal_data(client, people, make_user, sign_in):
    """Minutes, comments and the cadre of a measure can name anyone: masked for a reader without the personal-data
    grant (an enumerator, a planner), read in clear by a supervisor (core.masking, one policy on every path)."""
    household_id = visit(client, people, item())
    take(client, people, household_id, TO_ASSISTED)
    make_user("planner_a", Role.planner)
    planner = sign_in("planner_a")["auth"]

    def case_texts(who):
        answer = client.get(f"/api/v1/households/{household_id}", headers=who)
        assert answer.status_code == 200, answer.json
        case = answer.json["monitoring"][0]
        return ({e["step"]: e["details"].get("minutes") or e["comment"] for e in case["events"] if e["step"] != "opened"},
                [m["responsible_person"] for m in case["measures"]])

    steps, cadres = case_texts(people["sup_a"])
    assert steps["village_review"] == REVIEW["minutes"] and steps["township_check"] == "乡镇审核同意"
    assert cadres == ["王文"]
    for masked in (people["enum_a"], planner):
        steps, cadres = case_texts(masked)
        assert steps["village_review"] == steps["township_check"] == "***" and cadres == ["***"]
