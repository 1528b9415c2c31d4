"""County ledgers: a small county built by hand, each ledger's rows and the monthly table's figures worked out by hand in
the comments, read in the approved and the current state, masked and unmasked, in scope, and written to XLSX."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from core.clock import CHINA
from core.errors import InvalidInput
from core.masking import ExportView
from server.models import (
    Area,
    AreaLevel,
    AssistanceMeasure,
    Household,
    MonitoringCase,
    MonitoringEvent,
    Person,
)
from server.services.exports.datasets import Filters, ReviewFilter
from server.services.exports.files import Format, write
from server.services.exports.layers import IDENTIFIER
from server.services.exports.ledgers import ledger_layers
from server.services.exports.requests import count_rows
from tests.server.history import pending_version

PLANNER = ExportView("planner")
GRANTED = ExportView("supervisor", unmasked=True)
AS_OF = date(2025, 3, 31)
LEDGERS = ["monitored_roster", "dropout_ledger", "uninsured_ledger", "housing_ledger", "water_ledger", "monthly_table"]

# 临沧市临翔区: two townships, three administrative villages, four natural villages; and one village of 凤庆县.
COUNTY, T1, T2 = "530902", "530902100", "530902201"
A1, A2, A3 = "530902100201", "530902100202", "530902201201"
N1, N2, N3, N4 = A1 + "001", A1 + "002", A2 + "001", A3 + "001"
OTHER = "530921100201001"
AREAS = [
    ("53", AreaLevel.province, None, "云南省"), ("5309", AreaLevel.prefecture, "53", "临沧市"),
    (COUNTY, AreaLevel.county, "5309", "临翔区"),
    (T1, AreaLevel.township, COUNTY, "博尚镇"), (T2, AreaLevel.township, COUNTY, "南美拉祜族乡"),
    (A1, AreaLevel.admin_village, T1, "勐准村"), (A2, AreaLevel.admin_village, T1, "那招村"),
    (A3, AreaLevel.admin_village, T2, "多依村"),
    (N1, AreaLevel.natural_village, A1, "上寨"), (N2, AreaLevel.natural_village, A1, "下寨"),
    (N3, AreaLevel.natural_village, A2, "中寨"), (N4, AreaLevel.natural_village, A3, "大寨"),
    ("530921", AreaLevel.county, "5309", "凤庆县"), (OTHER[:9], AreaLevel.township, "530921", "凤山镇"),
    (OTHER[:12], AreaLevel.admin_village, OTHER[:9], "安石村"), (OTHER, AreaLevel.natural_village, OTHER[:12], "新村"),
]

SAFE = {"housing_grade": "A", "housing_safe": True, "water_quantity_ok": "yes", "water_quality_ok": "yes",
        "water_convenience_ok": "yes", "water_reliability_ok": "yes", "water_safe": True}
# key: (natural village, properties); H4's are its current ones: a pending visit made its water safe.
HOUSEHOLDS = {
    "H1": (N1, {**SAFE, "householder_name": "张国华", "household_size": 5, "income_per_capita": 5200, "income_year": 2024,
                "children_out_of_school": 2, "dropout_returned": "in_progress"}),
    "H2": (N1, {**SAFE, "householder_name": "王秀英", "household_size": 2, "income_per_capita": 6100, "income_year": 2024,
                "uninsured_members": 1, "housing_grade": "C", "lives_in_graded_house": "yes",
                "renovation_status": "in_progress", "housing_solution": "repaired", "housing_safe": False}),
    "H3": (N2, {**SAFE, "householder_name": "李春", "household_size": 3, "income_per_capita": 9800, "income_year": 2024,
                "water_source": "well", "water_quality_ok": "no", "water_safe": False}),
    "H4": (N3, {**SAFE, "householder_name": "赵云", "household_size": 1, "housing_grade": "D",
                "lives_in_graded_house": "no", "renovation_status": "not_planned", "housing_solution": "rented"}),
    "H5": (N4, {**SAFE, "householder_name": "刘洋", "household_size": 4}),
    "H6": (N4, {**SAFE, "householder_name": "陈明", "household_size": 2, "income_per_capita": 4800, "income_year": 2024,
                "uninsured_members": 1}),
    "H7": (N4, {**SAFE, "householder_name": "杨丽", "household_size": 1, "income_per_capita": 5500, "income_year": 2024}),
    "H8": (N4, {**SAFE, "householder_name": "孙浩", "household_size": 3}),
    # 凤庆县: every issue there is, out of a 临翔区 reader's scope.
    "X1": (OTHER, {"householder_name": "外县户", "household_size": 2, "housing_grade": "C", "lives_in_graded_house": "yes",
                   "housing_safe": False, "water_quality_ok": "no", "water_safe": False, "children_out_of_school": 1}),
}
# household: (name, relation, sex, birth date, person properties)
PEOPLE = {
    "H1": [("张国华", "head", "male", "1980-03-02", {"member_status": "present", "schooling_status": "not_applicable",
                                                    "medical_insurance": "resident"}),
           # 12 on 1 Sept 2024, dropped out: listed. 16: past compulsory age, not listed.
           ("张小明", "son", "male", "2012-05-01", {"member_status": "present", "schooling_status": "dropped_out",
                                                   "dropout_reason": "study_weariness", "medical_insurance": "resident"}),
           ("张小红", "daughter", "female", "2008-02-01", {"member_status": "present", "schooling_status": "dropped_out",
                                                         "dropout_reason": "work", "medical_insurance": "resident"}),
           # Born on 1 September 2018: 6 that day, not in school: listed. A month younger: 5, not yet of age.
           ("张小兰", "daughter", "female", "2018-09-01", {"member_status": "present", "schooling_status": "not_applicable",
                                                         "medical_insurance": "resident"}),
           ("张小军", "son", "male", "2018-10-01", {"member_status": "present", "schooling_status": "not_applicable",
                                                  "medical_insurance": "resident"})],
    "H2": [("王秀英", "head", "female", "1970-01-01", {"member_status": "present", "medical_insurance": "none"}),
           ("王强", "son", "male", "1995-07-07", {"member_status": "present", "medical_insurance": "resident"}),
           ("王老汉", "parent", "male", "1940-01-01", {"member_status": "deceased", "medical_insurance": "none"})],
    "H3": [("李春", "head", "male", "1985-04-04", {"member_status": "present", "medical_insurance": "resident"})],
    "H4": [("赵云", "head", "male", "1960-02-02", {"member_status": "present", "medical_insurance": "resident"})],
    "H6": [("陈明", "head", "male", "1975-05-05", {"member_status": "present", "medical_insurance": "none"}),
           ("陈芳", "spouse", "female", "1976-06-06", {"member_status": "present", "medical_insurance": "employee"})],
    "H7": [("杨丽", "head", "female", "1990-09-09", {"medical_insurance": "resident"})],  # no status: present
    "X1": [("外县童", "son", "male", "2013-01-01", {"member_status": "present", "schooling_status": "dropped_out",
                                                  "medical_insurance": "none"})],
}
# household (and a year, for an earlier case): (category, risk types, [(step, to_state, at, step_date)]), the first
# event opening the case.
CASES = {
    "H1": ("unstable_tuopin", ["education_unsecured", "illness"],
           [("opened", "candidate", "2024-10-05T12:00", None), ("identify", "identified", "2024-10-22T12:00", "2024-10-20"),
            ("assist", "assisted", "2024-11-01T12:00", "2024-11-01")]),
    # Identified half an hour after midnight, China time, with no date given: 4 December (3 December in UTC).
    "H2": ("marginal", ["housing_unsafe", "medical_unsecured"],
           [("opened", "candidate", "2024-11-20T12:00", None), ("identify", "identified", "2024-12-04T00:30", None)]),
    "H3": ("sudden_hardship", ["water_unsafe"],
           [("opened", "candidate", "2024-05-10T12:00", None), ("identify", "identified", "2024-06-03T12:00", "2024-06-01"),
            ("assist", "assisted", "2024-07-01T12:00", "2024-07-01"),
            ("review_elimination", "elimination_noticed", "2025-02-01T12:00", "2025-02-01"),
            ("eliminate", "risk_eliminated", "2025-02-21T12:00", "2025-02-20")]),
    "H4": (None, [], [("opened", "candidate", "2025-01-15T12:00", None)]),
    # H5, identified in February 2024 and eliminated on 5 August; a flood on the 10th: identified again on the 20th,
    # eliminated in December. The roster dates its latest case.
    "H5 old": ("marginal", ["illness"],
               [("opened", "candidate", "2024-01-10T12:00", None), ("identify", "identified", "2024-02-01T12:00", "2024-02-01"),
                ("eliminate", "risk_eliminated", "2024-08-05T12:00", "2024-08-05")]),
    "H5": ("sudden_hardship", ["disaster"],
           [("opened", "candidate", "2024-08-10T12:00", None), ("identify", "identified", "2024-08-20T12:00", "2024-08-20"),
            ("eliminate", "risk_eliminated", "2024-12-01T12:00", "2024-12-01")]),
    "H8": (None, [], [("opened", "candidate", "2024-08-01T12:00", None), ("dismiss", "dismissed", "2024-08-20T12:00",
                                                                         "2024-08-20")]),
    "H6": ("marginal", ["lack_of_labour", "medical_unsecured"],
           [("opened", "candidate", "2024-08-15T12:00", None), ("identify", "identified", "2024-09-01T12:00", "2024-09-01"),
            ("assist", "assisted", "2024-09-15T12:00", "2024-09-15"),
            ("follow_up_long_term", "long_term_follow_up", "2024-12-01T12:00", "2024-12-01")]),
    "H7": ("marginal", ["illness"],
           [("opened", "candidate", "2025-03-01T12:00", None), ("identify", "identified", "2025-03-12T12:00", "2025-03-10")]),
    "X1": ("marginal", ["education_unsecured"],
           [("opened", "candidate", "2024-09-01T12:00", None), ("identify", "identified", "2024-10-01T12:00", "2024-10-01")]),
}
# household: [(measure_type, risk types, status, measure date (and day recorded), responsible, on the case)]; a visit's
# measures carry no risk types.
MEASURES = {
    "H1": [("education_aid", [], "done", "2024-11-10", "李明", True),
           ("medical_assistance", ["illness"], "in_progress", "2024-11-15", "李明", True),
           ("temporary_aid", ["education_unsecured"], "in_progress", "2024-11-20", "周丽", True)],
    "H2": [("insurance_subsidy", ["medical_unsecured"], "done", "2025-01-15", "王芳", True),
           ("housing", [], "in_progress", "2024-12-10", "王芳", True)],
    "H3": [("water", ["water_unsafe"], "done", "2024-08-01", "李明", True)],
    "H4": [("water", [], "planned", "2025-03-25", "赵刚", False)],
    "H6": [("public_welfare_job", ["lack_of_labour"], "done", "2024-09-15", "陈刚", True),
           ("insurance_subsidy", ["medical_unsecured"], "in_progress", "2025-03-05", "陈刚", True),
           ("dibao", ["lack_of_labour"], "planned", "2025-04-02", "陈刚", True)],  # after AS_OF
    "X1": [("education_aid", [], "done", "2024-10-10", "外县干部", True)],
}
NAMES = {name for people in PEOPLE.values() for name, *_ in people} | {p["householder_name"] for _, p in HOUSEHOLDS.values()}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA)


@pytest.fixture
def county(db_session) -> dict[str, uuid.UUID]:
    """The county above, as the database holds it; returns the households' ids by key."""
    db_session.add_all(Area(code=code, level=level, parent_code=parent, name_zh=name) for code, level, parent, name in AREAS)
    db_session.flush()
    ids = {}
    for key, (area, properties) in HOUSEHOLDS.items():
        household = Household(area_code=area, household_no=key, created_at=at("2023-01-01T12:00"), properties=properties)
        db_session.add(household)
        db_session.flush()
        ids[key] = household.id
    for key, people in PEOPLE.items():
        db_session.add_all(Person(household_id=ids[key], county_code=HOUSEHOLDS[key][0][:6], name=name, sex=sex,
                                  relation_to_head=relation, birth_date=date.fromisoformat(born), person_key=name,
                                  properties=properties) for name, relation, sex, born, properties in people)
    cases = {}
    for key, (category, risks, events) in CASES.items():
        last = events[-1][1]
        case = MonitoringCase(household_id=ids[key.split()[0]], state=last, category=category, risk_types=risks,
                              opened_at=at(events[0][2]),
                              closed_at=at(events[-1][2]) if last in ("risk_eliminated", "dismissed") else None)
        db_session.add(case)
        db_session.flush()
        cases[key] = case.id
        db_session.add_all(MonitoringEvent(case_id=case.id, step=step, from_state=None if i == 0 else events[i - 1][1],
                                           to_state=to_state, at=at(moment),
                                           step_date=date.fromisoformat(day) if day else None)
                           for i, (step, to_state, moment, day) in enumerate(events))
    for key, measures in MEASURES.items():
        db_session.add_all(AssistanceMeasure(household_id=ids[key], case_id=cases[key] if on_case else None,
                                             measure_type=kind, risk_types=risks, status=status,
                                             measure_date=date.fromisoformat(day), recorded_at=at(f"{day}T12:00"),
                                             responsible_person=person)
                           for kind, risks, status, day, person, on_case in measures)
    pending_version(db_session, ids["H4"], N3, {"water_safe": (False, True), "water_quantity_ok": ("no", "yes")},
                    received_at=at("2025-03-20T12:00"))
    db_session.flush()
    return ids


def read(db_session, filters: Filters, view: ExportView, month: date | None = None) -> dict[str, list[dict]]:
    """Every ledger's rows in the layer's order, each as {column: value}."""
    return {layer.name: [dict(zip(layer.names, row, strict=True))
                         for row in db_session.execute(layer.query.order_by(*layer.order)).all()]
            for layer in ledger_layers(filters, view, month)}


def by_area(rows: list[dict]) -> dict[str, dict]:
    return {row["area_code"]: row for row in rows}


SCOPED = Filters(scope=(COUNTY,), as_of=AS_OF)


def test_the_roster_lists_households_identified_or_later_and_not_dismissed(db_session, county):
    rows = read(db_session, SCOPED, GRANTED)["monitored_roster"]
    # H4 is a candidate and H8 dismissed; X1 is of another county. By area, then number: N1 H1 H2, N2 H3, N4 H5 H6 H7.
    assert [row["household_no"] for row in rows] == ["H1", "H2", "H3", "H5", "H6", "H7"]
    h1, h2, h3, h5, h6, h7 = rows
    assert (h1["county"], h1["township"], h1["admin_village"], h1["natural_village"]) == ("临翔区", "博尚镇", "勐准村", "上寨")
    assert (h1["householder_name"], h1["household_size"], h1["category"], h1["state"]) == ("张国华", 5, "unstable_tuopin",
                                                                                          "assisted")
    # Entered on the identify step's own date (20 October), not the day it was recorded (22 October).
    assert (h1["entered_on"], h1["risk_types"], h1["income_per_capita"], h1["income_year"]) == (
        date(2024, 10, 20), "education_unsecured;illness", 5200, 2024)
    assert (h1["measures"], h1["measure_count"], h1["eliminated_on"]) == (
        "education_aid;medical_assistance;temporary_aid", 3, None)
    assert set(h1["responsible_person"].split(";")) == {"李明", "周丽"}
    assert h1["household_id"] == str(county["H1"])
    # No step date: the day it was recorded, in China time.
    assert (h2["entered_on"], h2["measures"], h2["measure_count"], h2["responsible_person"]) == (
        date(2024, 12, 4), "housing;insurance_subsidy", 2, "王芳")
    assert (h3["state"], h3["entered_on"], h3["eliminated_on"], h3["measures"]) == (
        "risk_eliminated", date(2024, 6, 1), date(2025, 2, 20), "water")
    assert (h5["category"], h5["entered_on"], h5["eliminated_on"], h5["risk_types"]) == (
        "sudden_hardship", date(2024, 8, 20), date(2024, 12, 1), "disaster")
    # H6's dibao of 2 April was recorded after AS_OF.
    assert (h6["state"], h6["risk_types"], h6["measures"], h6["measure_count"]) == (
        "long_term_follow_up", "lack_of_labour;medical_unsecured", "insurance_subsidy;public_welfare_job", 2)
    assert (h7["entered_on"], h7["measures"], h7["measure_count"]) == (date(2025, 3, 10), None, 0)


def test_dropouts_are_members_of_compulsory_age_out_of_school(db_session, county):
    rows = sorted(read(db_session, SCOPED, GRANTED)["dropout_ledger"], key=lambda row: row["school_age"])
    # 张小明 (12 on 1 Sept 2024, dropped out) and 张小兰 (6 that very day, not in school); 张小红 is 16, 张小军 5, the head
    # 44; X1's child is of another county.
    assert [(row["name"], row["school_age"], row["schooling_status"]) for row in rows] == [
        ("张小兰", 6, "not_applicable"), ("张小明", 12, "dropped_out")]
    row = rows[1]
    assert (row["household_no"], row["relation_to_head"], row["birth_date"], row["dropout_reason"]) == (
        "H1", "son", date(2012, 5, 1), "study_weariness")
    # H1's education_aid answers by its type (a visit's, no risk types), temporary_aid by naming education_unsecured;
    # medical_assistance answers illness only. One still in progress: not closed, and the child is not back yet.
    assert (row["dropout_returned"], row["measures"], row["measure_status"], row["closed_on"], row["open_issue"]) == (
        "in_progress", "education_aid;temporary_aid", "in_progress", None, True)
    assert set(row["responsible_person"].split(";")) == {"李明", "周丽"}


def test_uninsured_members_with_their_measures(db_session, county):
    rows = read(db_session, SCOPED, GRANTED)["uninsured_ledger"]
    # 王老汉 died, so is no member to insure; 陈芳 has employee insurance.
    assert [(row["household_no"], row["name"], row["medical_insurance"]) for row in rows] == [
        ("H2", "王秀英", "none"), ("H6", "陈明", "none")]
    h2, h6 = rows
    # H2: its insurance_subsidy, done on 15 January, closes it. H6: public_welfare_job answers lack_of_labour only;
    # its insurance_subsidy is in progress.
    assert (h2["measures"], h2["measure_status"], h2["closed_on"], h2["open_issue"]) == (
        "insurance_subsidy", "done", date(2025, 1, 15), False)
    assert (h6["measures"], h6["measure_status"], h6["closed_on"], h6["open_issue"]) == (
        "insurance_subsidy", "in_progress", None, True)


def test_housing_and_water_ledgers(db_session, county):
    ledgers = read(db_session, SCOPED, GRANTED)
    housing = ledgers["housing_ledger"]
    # H2 lives in a C house, its repair under way; H4's D house stands empty (housing_safe): listed, not open.
    assert [(row["household_no"], row["housing_grade"], row["lives_in_graded_house"], row["housing_safe"])
            for row in housing] == [("H2", "C", "yes", False), ("H4", "D", "no", True)]
    assert [(row["measures"], row["measure_status"], row["closed_on"], row["open_issue"]) for row in housing] == [
        ("housing", "in_progress", None, True), (None, None, None, False)]
    water = ledgers["water_ledger"]
    # Approved: H3's water quality fails (its water measure done 1 August), H4's quantity (a measure planned, on no case).
    assert [(row["household_no"], row["water_quality_ok"], row["water_quantity_ok"], row["water_safe"]) for row in water] == [
        ("H3", "no", "yes", False), ("H4", "yes", "no", False)]
    assert [(row["measures"], row["measure_status"], row["closed_on"], row["open_issue"]) for row in water] == [
        ("water", "done", date(2024, 8, 1), False), ("water", "planned", None, True)]
    # H4's pending visit made its water safe: only when every visit is asked for.
    current = read(db_session, Filters(scope=(COUNTY,), review=ReviewFilter.any, as_of=AS_OF), GRANTED)["water_ledger"]
    assert [row["household_no"] for row in current] == ["H3"]


def test_the_monthly_table_by_township_and_village(db_session, county):
    rows = read(db_session, Filters(scope=(COUNTY,)), PLANNER, month=date(2025, 3, 15))["monthly_table"]
    assert [(row["area_code"], row["level"]) for row in rows] == [
        (T1, "township"), (A1, "admin_village"), (A2, "admin_village"), (T2, "township"), (A3, "admin_village")]
    t1, a1, a2, t2, a3 = rows
    assert (t1["county"], t1["township"], t1["admin_village"], a1["admin_village"], t1["month"]) == (
        "临翔区", "博尚镇", None, "勐准村", "2025-03")

    def figures(row: dict) -> tuple:
        return (row["monitored_households"], row["monitored_people"], row["new_households"], row["eliminated_households"],
                row["dropout_open_households"], row["uninsured_open_households"], row["housing_open_households"],
                row["water_open_households"], row["measures_recorded"])

    # 31 March. Monitored: H1 (assisted, 5 members) and H2 (identified, 2 living) in A1; H6 (long-term, 2) and H7
    # (identified, 1) in A3. H3 eliminated in February, H5 in December, H4 a candidate, H8 dismissed. New: H7 (10 March).
    # Open: H1's dropouts, H2's house, H4's water (approved state), H6's uninsured member; H2's insurance and H3's
    # water are closed. Recorded in March: H4's water (25th, A2) and H6's insurance subsidy (5th, A3).
    assert figures(a1) == (2, 7, 0, 0, 1, 0, 1, 0, 0)
    assert figures(a2) == (0, 0, 0, 0, 0, 0, 0, 1, 1)
    assert figures(t1) == (2, 7, 0, 0, 1, 0, 1, 1, 1)
    assert figures(a3) == figures(t2) == (2, 3, 1, 0, 0, 1, 0, 0, 1)


def test_a_month_is_read_at_its_end_and_defaults_to_the_month_of_as_of(db_session, county):
    (layer,) = [layer for layer in ledger_layers(Filters(scope=(COUNTY,), as_of=date(2025, 2, 28)), PLANNER)
                if layer.name == "monthly_table"]
    rows = by_area(dict(zip(layer.names, row, strict=True)) for row in db_session.execute(layer.query).all())
    # 28 February: H7's case had not begun and H6's insurance subsidy was not recorded (its member still open); H3 was
    # eliminated on 20 February; no measure was recorded in February.
    assert rows[T1]["month"] == "2025-02"
    assert (rows[T1]["monitored_households"], rows[T1]["eliminated_households"], rows[A1]["eliminated_households"]) == (2, 1, 1)
    assert (rows[T2]["monitored_households"], rows[T2]["monitored_people"], rows[T2]["new_households"]) == (1, 2, 0)
    assert (rows[T2]["uninsured_open_households"], rows[T1]["water_open_households"]) == (1, 1)
    assert sum(row["measures_recorded"] for row in rows.values()) == 0
    # August 2024: H5's first case eliminated on the 5th, its second identified on the 20th (its first was identified
    # in February: one of its cases is enough). H6 was opened on the 15th, identified on 1 September.
    august = by_area(read(db_session, Filters(scope=(COUNTY,)), PLANNER, month=date(2024, 8, 1))["monthly_table"])
    assert (august[T2]["eliminated_households"], august[T2]["new_households"], august[T2]["monitored_households"]) == (1, 1, 1)
    assert (august[T1]["eliminated_households"], august[T1]["new_households"]) == (0, 0)
    with pytest.raises(InvalidInput):
        ledger_layers(Filters(scope=(COUNTY,), as_of=date(2025, 2, 28)), PLANNER, month=date(2025, 3, 1))


def test_a_masked_view_has_no_names_birth_dates_or_cadres(db_session, county):
    ledgers = read(db_session, SCOPED, PLANNER)
    for layer in ledger_layers(SCOPED, ExportView("supervisor")):
        assert not {"name", "householder_name", "birth_date", "school_age", "responsible_person"} & set(layer.names)
    for name, rows in ledgers.items():
        assert not {"name", "householder_name", "birth_date", "school_age", "responsible_person"} & set(rows[0]), name
        assert not NAMES & {value for row in rows for value in row.values() if isinstance(value, str)}, name
    # The rows are the same: a masked reader loses columns, not members.
    assert [row["person_id"] for row in ledgers["dropout_ledger"]] == [
        row["person_id"] for row in read(db_session, SCOPED, GRANTED)["dropout_ledger"]]


def test_a_reader_sees_the_households_of_their_scope_only(db_session, county):
    ledgers = read(db_session, Filters(scope=(T1,), as_of=AS_OF), PLANNER)
    assert [row["household_no"] for row in ledgers["monitored_roster"]] == ["H1", "H2", "H3"]
    assert [row["household_no"] for row in ledgers["uninsured_ledger"]] == ["H2"]
    assert [row["area_code"] for row in ledgers["monthly_table"]] == [T1, A1, A2]
    everywhere = read(db_session, SCOPED, PLANNER)
    assert not [row for rows in everywhere.values() for row in rows if row.get("household_no") == "X1"]


def test_the_ledgers_write_to_one_workbook(db_session, county, tmp_path):
    layers = ledger_layers(SCOPED, PLANNER)
    path, written = write(db_session, layers, Format.xlsx, tmp_path, "ledgers")
    assert written.rows == {"monitored_roster": 6, "dropout_ledger": 2, "uninsured_ledger": 2, "housing_ledger": 2,
                            "water_ledger": 2, "monthly_table": 5}
    assert count_rows(db_session, layers) == sum(written.rows.values())  # the progress bar's end, counted by the same queries
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == ["字段说明 Columns", *LEDGERS]
    # A ledger as the county prints it: a title, the Chinese labels, then rows numbered from 1 (序号).
    title, header, first = list(book["monitored_roster"].iter_rows(min_row=1, max_row=3, values_only=True))
    assert title[0] == "监测对象台账"
    assert list(header) == ["序号", *(c.label["zh"] for c in layers[0].columns)]
    assert list(first) == [1, "H1", "临翔区", "博尚镇", "勐准村", "上寨", 5, "unstable_tuopin", datetime(2024, 10, 20),
                           "education_unsecured;illness", 5200, 2024, "education_aid;medical_assistance;temporary_aid", 3,
                           "assisted", None, str(county["H1"])]
    labels = {(sheet, column): zh for sheet, column, zh, _ in book["字段说明 Columns"].iter_rows(min_row=2, values_only=True)}
    assert (labels["monitored_roster", "household_no"], labels["monitored_roster", "entered_on"]) == ("户编号", "纳入时间")


def test_layers_are_named_and_labelled_for_every_format():
    for view in (PLANNER, GRANTED):
        layers = ledger_layers(SCOPED, view)
        assert [layer.name for layer in layers] == LEDGERS
        for layer in layers:
            names = layer.names
            assert len(names) == len(set(names)) and all(IDENTIFIER.match(name) for name in names)
            assert all(column.label.get("zh") and column.label.get("en") for column in layer.columns)
            assert layer.shape is None and layer.key_name in names
            if layer.name != "monthly_table":
                assert names[:5] == ["household_no", "county", "township", "admin_village", "natural_village"]
