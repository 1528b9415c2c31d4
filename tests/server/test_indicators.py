"""Indicator layers (domain.md 6.1): a small county built by hand, its figures counted by hand in the comments, read
back per level, in scope, in the approved and the current state, and as of a day."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import shapely
from geoalchemy2 import WKTElement

from core.clock import CHINA
from core.errors import InvalidInput
from core.masking import ExportView, is_personal
from server.models import (
    Area,
    AreaLevel,
    Household,
    MonitoringCase,
    MonitoringEvent,
    Person,
    Village,
    YearlyParameter,
)
from server.services.exports import indicators
from server.services.exports.datasets import Filters, ReviewFilter
from server.services.exports.files import Format, write
from server.services.exports.indicators import LEVELS, indicator_layers
from server.services.exports.layers import IDENTIFIER, Shape
from survey_forms.catalogue import load_catalogue
from tests.server.history import pending_version

PLANNER = ExportView("planner")
PERIOD = (date(2024, 1, 1), date(2024, 12, 31))
FORMS = Path(__file__).resolve().parents[2] / "survey_forms" / "definitions"

# 临沧市临翔区: two townships, three administrative villages, six natural villages (codes after domain.md 2.2-2.3).
COUNTY, T1, T2 = "530902", "530902100", "530902201"
A1, A2, A3 = "530902100201", "530902100202", "530902201201"
N1, N2, N3, N4, N5, N6 = (A1 + "001", A1 + "002", A2 + "001", A3 + "001", A3 + "002", A3 + "003")
AREAS = [
    ("53", AreaLevel.province, None, "云南省"), ("5309", AreaLevel.prefecture, "53", "临沧市"),
    (COUNTY, AreaLevel.county, "5309", "临翔区"),
    (T1, AreaLevel.township, COUNTY, "博尚镇"), (T2, AreaLevel.township, COUNTY, "南美拉祜族乡"),
    (A1, AreaLevel.admin_village, T1, "勐准村"), (A2, AreaLevel.admin_village, T1, "那招村"),
    (A3, AreaLevel.admin_village, T2, "多依村"),
    (N1, AreaLevel.natural_village, A1, "上寨"), (N2, AreaLevel.natural_village, A1, "下寨"),
    (N3, AreaLevel.natural_village, A2, "中寨"), (N4, AreaLevel.natural_village, A3, "大寨"),
    (N5, AreaLevel.natural_village, A3, "小寨"), (N6, AreaLevel.natural_village, A3, "新寨"),
]
T1_BOUNDARY = "MULTIPOLYGON(((100.0 23.8, 100.2 23.8, 100.2 24.0, 100.0 24.0, 100.0 23.8)))"

# Every one of 两不愁三保障 and safe water met; a household's answers override it, None leaves a property out.
MET = {"food_secure": "yes", "clothing_secure": "yes", "children_out_of_school": 0, "uninsured_members": 0,
       "housing_safe": True, "water_safe": True}
NONE_ANSWERED = dict.fromkeys(MET)
# The county's monitoring line for 2024 is 7000 (its prefecture's, 6000, gives way); 2023 has no row: the form's 6000.
# key: (natural village, household_type, income_per_capita, income_year, answers)
HOUSEHOLDS: dict[str, tuple[str, str, float | None, int | None, dict[str, Any]]] = {
    "H1": (N1, "tuopin", 5000, 2024, MET),
    "H2": (N1, "non_tuopin", 6500, 2024, {**MET, "clothing_secure": "no"}),
    "H3": (N1, "tuopin", 12000, 2024, MET),
    "H4": (N2, "non_tuopin", 20000, 2024, {**MET, "water_safe": False}),
    "H5": (N2, "tuopin", 6500, 2023, NONE_ANSWERED),
    "H6": (N3, "tuopin", 7000, 2024, {**MET, "children_out_of_school": 1, "housing_safe": False}),
    "H7": (N3, "non_tuopin", None, None, {**NONE_ANSWERED, "food_secure": "yes"}),
    "H8": (N4, "non_tuopin", 9000, 2024, MET),
    "H9": (N4, "tuopin", 10000, 2024, {**MET, "uninsured_members": 2}),
    "H10": (N4, "tuopin", 4000, 2024, MET),
    "H11": (N5, "non_tuopin", 30000, 2024, MET),
    # Approved: 5500 and food_secure no; a pending visit (version 2) made them 11000 and yes.
    "H12": (N5, "tuopin", 11000, 2024, MET),
}
# household: (category, [(step, to_state, at)]), the first event opening the case.
CASES = {
    "H1": ("unstable_tuopin", [("opened", "candidate", "2024-03-01"), ("assist", "assisted", "2024-04-01")]),
    "H2": (None, [("opened", "candidate", "2024-06-01")]),
    "H4": ("marginal", [("opened", "candidate", "2023-05-01"), ("assist", "assisted", "2023-06-01"),
                        ("eliminate", "risk_eliminated", "2024-09-01")]),
    "H6": ("sudden_hardship", [("opened", "candidate", "2024-11-01"), ("identify", "identified", "2024-11-20")]),
    "H8": ("marginal", [("opened", "candidate", "2025-01-10"), ("assist", "assisted", "2025-02-01")]),
    "H10": (None, [("opened", "candidate", "2024-02-01"), ("dismiss", "dismissed", "2024-02-20")]),
}
# household: people's member_status (None: not recorded, counted as present)
MEMBERS = {"H1": ["present", "present", "present"], "H3": ["present", "deceased"], "H8": [None, "born"],
           "H12": ["present"]}
SURVEYED = {"households_total": 35, "households_resident": 30, "road_access": "hardened", "water_supply_mode": "centralised",
            "seasonal_shortage": "no", "broadband": "fibre", "ecommerce_delivery_point": "yes",
            "financial_service_point": "yes", "power_380v": "yes", "public_toilet": "sanitary"}
VILLAGES = {  # N3 has no village row and N6 one without answers: neither was surveyed
    N1: {**SURVEYED, "households_total": 45, "households_resident": 40, "tap_households": 40,
         "sanitary_toilet_households": 30},
    N2: {**SURVEYED, "households_total": 120, "households_resident": 110, "road_access": "gravel",
         "water_supply_mode": "partly_centralised", "seasonal_shortage": "yes", "broadband": "none",
         "ecommerce_delivery_point": "no", "power_380v": "no", "public_toilet": "simple", "tap_households": 60,
         "sanitary_toilet_households": 90},
    N4: {**SURVEYED, "households_total": 20, "households_resident": 18, "road_access": "earth",
         "water_supply_mode": "dispersed", "broadband": "other_fixed", "financial_service_point": "no",
         "public_toilet": "none", "tap_households": 10},
    N5: {**SURVEYED, "households_total": 100, "households_resident": 80, "public_toilet": "simple",
         "sanitary_toilet_households": 28},
    N6: {},
    A1: {"collective_operating_income": 30000},
    A2: {"collective_operating_income": 80000},
}


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(hour=12, tzinfo=CHINA)


@pytest.fixture
def county(db_session) -> dict[str, uuid.UUID]:
    """The county above, as the database holds it; returns the households' ids by key."""
    db_session.add_all(Area(code=code, level=level, parent_code=parent, name_zh=name,
                            boundary=WKTElement(T1_BOUNDARY, srid=4326) if code == T1 else None,
                            centroid=WKTElement("POINT(100.1 23.9)", srid=4326) if code == N1 else None)
                       for code, level, parent, name in AREAS)
    db_session.flush()
    # The county's own line for 2024 stands before its prefecture's; 2023 has none, so the form's default applies.
    db_session.add_all(YearlyParameter(year=2024, area_code=code, monitoring_line=line, dibao_standard=4620, watch_line=10000,
                                       source=f"{code} 2024年监测范围", set_by="test")
                       for code, line in ((COUNTY, 7000), ("5309", 6000)))
    ids = {}
    for key, (area, kind, income, year, answers) in HOUSEHOLDS.items():
        properties = {"household_type": kind, "income_per_capita": income, "income_year": year, **answers}
        household = Household(area_code=area, household_no=key, created_at=day("2023-01-01"),
                              properties={k: v for k, v in properties.items() if v is not None})
        db_session.add(household)
        db_session.flush()
        ids[key] = household.id
    for key, statuses in MEMBERS.items():
        db_session.add_all(Person(household_id=ids[key], county_code=COUNTY, name=f"{key}-{i}", person_key=f"{key}-{i}",
                                  properties={} if status is None else {"member_status": status})
                           for i, status in enumerate(statuses))
    for key, (category, events) in CASES.items():
        state, closed = events[-1][1], events[-1][1] in ("risk_eliminated", "dismissed")
        case = MonitoringCase(household_id=ids[key], state=state, category=category, opened_at=day(events[0][2]),
                              closed_at=day(events[-1][2]) if closed else None)
        db_session.add(case)
        db_session.flush()
        db_session.add_all(MonitoringEvent(case_id=case.id, step=step, from_state=None if i == 0 else events[i - 1][1],
                                           to_state=to_state, at=day(at)) for i, (step, to_state, at) in enumerate(events))
    db_session.add_all(Village(area_code=code, properties=properties) for code, properties in VILLAGES.items())
    pending_version(db_session, ids["H12"], N5, {"income_per_capita": (5500, 11000), "food_secure": ("no", "yes")})
    db_session.flush()
    return ids


def read(db_session, filters: Filters, level: str, **options: Any) -> dict[str, dict[str, Any]]:
    """The layer's rows by area code, each as {column: value} (the geometry as a shapely geometry or None)."""
    (layer,) = indicator_layers(filters, PLANNER, (level,), options.pop("period", PERIOD), **options)
    rows = db_session.execute(layer.query.order_by(*layer.order)).all()
    return {row[1]: {"geometry": row[0] and shapely.from_wkb(row[0]), **dict(zip(layer.names, row[1:], strict=True))}
            for row in rows}


COUNTY_SCOPE = Filters(scope=(COUNTY,))


def test_household_figures_per_township_as_counted_by_hand(db_session, county):
    rows = read(db_session, COUNTY_SCOPE, "township")
    assert list(rows) == [T1, T2]
    t1, t2 = rows[T1], rows[T2]
    # T1 holds H1-H7, four of them 脱贫户 (H1, H3, H5, H6); members: H1's three and H3's one living one.
    assert (t1["households"], t1["tuopin_households"], t1["people"]) == (7, 4, 4)
    # Latest cases: H1 assisted (unstable_tuopin), H6 identified (sudden_hardship) are monitored; H2 is a candidate,
    # H4's risk was eliminated.
    assert (t1["monitored_households"], t1["monitored_unstable_tuopin"], t1["monitored_sudden_hardship"],
            t1["monitored_marginal"]) == (2, 1, 1, 0)
    assert (t1["households_candidate"], t1["households_assisted"], t1["households_identified"],
            t1["households_risk_eliminated"]) == (1, 1, 1, 1)
    # In 2024 H1, H2 and H6 were opened (H4 in 2023) and H4 eliminated.
    assert (t1["new_cases"], t1["eliminated_cases"]) == (3, 1)
    # Incomes 5000, 6500, 6500, 7000, 12000, 20000 (H7 none): median (6500 + 7000) / 2. Below the 2024 line of 7000:
    # H1, H2 = 2 of 6; H5's 6500 is of 2023, whose line is the form's 6000: line to watch, with H6's 7000 (on the line).
    assert (t1["income_households"], t1["income_median"]) == (6, 6750)
    assert (t1["income_below_line"], t1["income_below_line_rate"]) == (2, 33.33)
    assert (t1["income_line_to_watch"], t1["income_watch_to_18000"], t1["income_18000_plus"]) == (2, 1, 1)
    # Food: H5 unanswered, the other six yes. Clothing: H2 no, H5 and H7 unanswered: 4 of 5. Education: H6 has a
    # child out of school: 4 of 5 (H5, H7 unanswered). Medical 5 of 5. Housing: H6 not: 4 of 5. Water: H4 not: 4 of 5.
    assert (t1["food_met"], t1["food_answered"], t1["food_rate"]) == (6, 6, 100)
    assert (t1["clothing_met"], t1["clothing_answered"], t1["clothing_rate"]) == (4, 5, 80)
    assert (t1["education_met"], t1["education_answered"], t1["education_rate"]) == (4, 5, 80)
    assert (t1["medical_met"], t1["medical_answered"], t1["medical_rate"]) == (5, 5, 100)
    assert (t1["housing_met"], t1["housing_answered"], t1["housing_rate"]) == (4, 5, 80)
    assert (t1["water_met"], t1["water_answered"], t1["water_rate"]) == (4, 5, 80)
    # All six: H1, H3 meet; H2, H4, H6 fail one (answered: 5); H5 (nothing) and H7 (food only, failing none) are not
    # counted.
    assert (t1["all_six_met"], t1["all_six_answered"], t1["all_six_rate"]) == (2, 5, 40)
    # T2, approved: H8-H12 with H12 at 5500 and food no. H8 assisted (marginal) is monitored, H10 dismissed; H10 was
    # opened in 2024, H8 in 2025. Incomes 4000, 5500, 9000, 10000, 30000: below 7000 H10, H12; H8's 9000 is between the
    # lines, H9's 10000 on the watch line (so above it), H11's 30000 at the top. Members: H8 two, H12 one.
    assert (t2["households"], t2["tuopin_households"], t2["people"], t2["monitored_marginal"]) == (5, 3, 3, 1)
    assert (t2["households_dismissed"], t2["new_cases"], t2["eliminated_cases"]) == (1, 1, 0)
    assert (t2["income_median"], t2["income_below_line"], t2["income_below_line_rate"]) == (9000, 2, 40)
    assert (t2["income_line_to_watch"], t2["income_watch_to_18000"], t2["income_18000_plus"]) == (1, 1, 1)
    # Food 4 of 5 (H12 no); all six: H9 uninsured, H12 hungry: 3 of 5.
    assert (t2["food_rate"], t2["medical_rate"], t2["all_six_met"], t2["all_six_rate"]) == (80, 80, 3, 60)


def test_the_county_adds_up_its_townships(db_session, county):
    (row,) = read(db_session, COUNTY_SCOPE, "county").values()
    # 12 households, 11 incomes: 4000 5000 5500 6500 6500 [7000] 9000 10000 12000 20000 30000; 4 below the line.
    assert (row["area_code"], row["name_zh"], row["level"]) == (COUNTY, "临翔区", "county")
    assert (row["households"], row["people"], row["monitored_households"], row["new_cases"]) == (12, 7, 3, 4)
    assert (row["income_households"], row["income_median"], row["income_below_line"]) == (11, 7000, 4)
    assert row["income_below_line_rate"] == 36.36  # 4 / 11


def test_a_pending_visit_counts_only_when_every_visit_is_asked_for(db_session, county):
    approved = read(db_session, COUNTY_SCOPE, "natural_village")[N5]
    current = read(db_session, Filters(scope=(COUNTY,), review=ReviewFilter.any), "natural_village")[N5]
    # N5 holds H11 (30000, all met) and H12: 5500 and food no when approved, 11000 and yes with its pending visit.
    assert (approved["income_below_line"], approved["income_watch_to_18000"], approved["income_median"]) == (1, 0, 17750)
    assert (current["income_below_line"], current["income_watch_to_18000"], current["income_median"]) == (0, 1, 20500)
    assert (approved["food_met"], approved["all_six_rate"]) == (1, 50)
    assert (current["food_met"], current["all_six_rate"]) == (2, 100)


def test_village_infrastructure_counts_each_gap_and_the_villages_not_surveyed_apart(db_session, county):
    rows = read(db_session, COUNTY_SCOPE, "township")
    t1, t2 = rows[T1], rows[T2]
    # T1: N1 (45 households, everything), N2 (120: gravel, partly centralised, seasonal shortage, no broadband, no
    # e-commerce point, no 380 V, 110 resident and a simple toilet) and N3, never surveyed.
    assert (t1["natural_villages"], t1["not_surveyed"], t1["no_hardened_road"], t1["no_hardened_road_priority"]) == (3, 1, 1, 1)
    assert (t1["partly_centralised_water"], t1["dispersed_water"], t1["seasonal_shortage"], t1["no_broadband"]) == (1, 0, 1, 1)
    assert (t1["no_ecommerce_point"], t1["no_financial_point"], t1["no_power_380v"], t1["needs_public_toilet"]) == (1, 0, 1, 1)
    # 30+ households: N1 hardened, N2 not: 1 of 2. Tap water (40 + 60) / (45 + 120); toilets (30 + 90) / 165.
    assert (t1["road_30_hardened"], t1["road_30_villages"], t1["road_30_hardened_rate"]) == (1, 2, 50)
    assert (t1["tap_households"], t1["tap_base_households"], t1["tap_water_rate"]) == (100, 165, 60.61)
    assert (t1["sanitary_toilet_households"], t1["toilet_base_households"], t1["sanitary_toilet_rate"]) == (120, 165, 72.73)
    # T2: N4 (20 households: earth road, dispersed water, no financial point, 18 resident and no toilet), N5 (100
    # households but 80 resident, so a simple toilet is no gap; hardened road) and N6, whose row holds no answer. N4 is
    # under 30 households: only N5 counts for the road rate.
    assert (t2["natural_villages"], t2["not_surveyed"], t2["no_hardened_road"], t2["no_hardened_road_priority"]) == (3, 1, 1, 0)
    assert (t2["dispersed_water"], t2["no_financial_point"], t2["needs_public_toilet"]) == (1, 1, 0)
    assert t2["road_30_hardened_rate"] == 100
    # Tap: N5 did not answer, so 10 / 20; toilets: N4 did not answer, so 28 / 100.
    assert (t2["tap_households"], t2["tap_base_households"], t2["tap_water_rate"]) == (10, 20, 50)
    assert (t2["sanitary_toilet_households"], t2["toilet_base_households"], t2["sanitary_toilet_rate"]) == (28, 100, 28)
    # Collective income: A1 30000 (weak, under target), A2 80000 (under target); A3 unanswered.
    assert (t1["admin_villages"], t1["collective_income_answered"], t1["weak_collective_economy"],
            t1["collective_income_below_target"]) == (2, 2, 1, 2)
    assert (t2["admin_villages"], t2["collective_income_answered"], t2["weak_collective_economy"]) == (1, 0, 0)
    natural = read(db_session, COUNTY_SCOPE, "natural_village")
    assert (natural[N3]["not_surveyed"], natural[N3]["no_hardened_road"], natural[N3]["households"]) == (1, 0, 2)
    assert natural[N3]["road_30_hardened_rate"] is None and natural[N3]["tap_water_rate"] is None
    assert "admin_villages" not in natural[N1]  # the collective economy is an administrative village's


def test_a_caller_scoped_to_one_township_sees_its_rows_only(db_session, county):
    scoped = Filters(scope=(T1,))
    assert read(db_session, scoped, "county") == {}  # a county row would show one township as the whole county
    townships = read(db_session, scoped, "township")
    assert list(townships) == [T1]
    assert townships[T1] == read(db_session, COUNTY_SCOPE, "township")[T1]
    assert list(read(db_session, scoped, "natural_village")) == [N1, N2, N3]
    assert list(read(db_session, Filters(scope=(COUNTY,), area_code=A3), "admin_village")) == [A3]


def test_as_of_a_day_counts_what_had_happened_by_its_end(db_session, county):
    (row,) = read(db_session, Filters(scope=(COUNTY,), as_of=date(2024, 8, 31)), "county").values()
    # By 31 August 2024 H10 (February), H1 (March) and H2 (June) were opened; H4 was still assisted, H6 not yet opened.
    assert (row["new_cases"], row["eliminated_cases"]) == (3, 0)
    assert (row["households_assisted"], row["households_risk_eliminated"], row["monitored_households"]) == (2, 0, 2)


def test_places_are_the_areas_boundaries_or_points(db_session, county):
    townships = read(db_session, COUNTY_SCOPE, "township")
    assert townships[T1]["geometry"].geom_type == "MultiPolygon" and townships[T2]["geometry"] is None
    natural = read(db_session, COUNTY_SCOPE, "natural_village", shape=Shape.point)
    assert (natural[N1]["geometry"].x, natural[N1]["geometry"].y) == (100.1, 23.9)


def test_the_layers_write_to_a_geopackage(db_session, county, tmp_path):
    layers = indicator_layers(COUNTY_SCOPE, PLANNER, period=PERIOD)
    path, written = write(db_session, layers, Format.gpkg, tmp_path, "indicators")
    assert written.rows == {"indicators_natural_village": 6, "indicators_admin_village": 3, "indicators_township": 2,
                            "indicators_county": 1}


def test_layers_are_named_and_labelled_for_every_format():
    for layer in indicator_layers(COUNTY_SCOPE, PLANNER, period=PERIOD):
        names = layer.names
        assert len(names) == len(set(names)) and all(IDENTIFIER.match(name) for name in names)
        assert names[:4] == ["area_code", "name_zh", "name_en", "level"] and layer.key_name == "area_code"
        assert all(column.label.get("zh") and column.label.get("en") for column in layer.columns)
    (layer,) = indicator_layers(COUNTY_SCOPE, PLANNER, ("county",), PERIOD)
    new_cases = layer.columns[layer.names.index("new_cases")]
    assert layer.name == "indicators_county" and "2024-01-01–2024-12-31" in new_cases.label["zh"]


def test_unknown_levels_and_backward_periods_are_refused():
    with pytest.raises(InvalidInput):
        indicator_layers(COUNTY_SCOPE, PLANNER, ("prefecture",))
    with pytest.raises(InvalidInput):
        indicator_layers(COUNTY_SCOPE, PLANNER, period=(date(2024, 12, 31), date(2024, 1, 1)))
    assert [layer.name for layer in indicator_layers(COUNTY_SCOPE, PLANNER)] == [f"indicators_{level}" for level in LEVELS]


def test_every_property_read_is_in_the_catalogue_and_not_personal():
    catalogue = load_catalogue()
    household = {"household_type", "income_per_capita", "income_year"} | {
        name for _, _, _, answer in indicators.GUARANTEES for name in re.findall(r"[a-z_]+", answer)
        if name not in {"case", "when", "then", "end", "yes", "no", "true", "false"}}
    read_by_entity = {"household": household, "person": {"member_status"},
                      "village": set(indicators.VILLAGE_PROPERTIES) | {"collective_operating_income"}}
    for entity, names in read_by_entity.items():
        known = {p.name for p in catalogue.of(entity)}
        assert names <= known, names - known
        assert not [name for name in names if is_personal(entity, name)]


def test_thresholds_are_the_forms_parameters():
    def parameter(form: str, version: int, name: str) -> int:
        return json.loads((FORMS / form / f"v{version}.json").read_text(encoding="utf-8"))["parameters"][name]["value"]

    assert indicators.DEFAULT_MONITORING_LINE == parameter("household_visit", 2, "monitoring_line")
    assert indicators.DEFAULT_WATCH_LINE == parameter("household_visit", 2, "watch_line")
    assert indicators.ROAD_TARGET_MIN_HOUSEHOLDS == parameter("village_infrastructure", 1, "road_target_min_households")
    assert indicators.PUBLIC_TOILET_MIN_RESIDENT_HOUSEHOLDS == parameter("village_infrastructure", 1,
                                                                         "public_toilet_min_resident_households")
    assert indicators.WEAK_COLLECTIVE_INCOME_LINE == parameter("village_collective", 1, "weak_collective_income_line")
    assert indicators.COLLECTIVE_INCOME_TARGET == parameter("village_collective", 1, "collective_income_target")
