"""Yearly monitoring parameters: the lookup's precedence and years, admin-only writes, refusals, audit, CLI and seeds."""

from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from core.errors import Forbidden, InvalidInput, NotFound
from server.demo import parameters as demo_parameters
from server.models import AuditEntry, AuditOutcome, Role, YearlyParameter
from server.services import parameters
from server.services.auth import principal_of

URL = "/api/v1/parameters"
LINCANG_2020 = {"monitoring_line": 6000, "dibao_standard": 4620, "watch_line": 10000}
BODY = {**LINCANG_2020, "source": "州乡村振兴局 2024 年通知 (test)"}


def _set(session, area_code, year, monitoring_line, dibao_standard=4620, watch_line=10000, source="test figures"):
    values = {"monitoring_line": monitoring_line, "dibao_standard": dibao_standard, "watch_line": watch_line}
    row = parameters.set_parameters(session, "cli:test", year, area_code, values, source)
    session.commit()
    return row


def _rows(session):
    return session.execute(select(YearlyParameter.year, YearlyParameter.area_code, YearlyParameter.monitoring_line)
                           .order_by(YearlyParameter.year, YearlyParameter.area_code)).all()


def _audited(session, outcome=AuditOutcome.success):
    return session.execute(select(AuditEntry.actor, AuditEntry.target, AuditEntry.details).where(
        AuditEntry.action == "parameters.set", AuditEntry.outcome == outcome).order_by(AuditEntry.id)).all()


@pytest.fixture
def admin(make_user, sign_in):
    make_user("admin_yn", Role.admin, ("53",))
    return sign_in("admin_yn")["auth"]


# The lookup.


def test_the_county_row_wins_over_the_prefecture_and_the_prefecture_over_the_province(db_session, areas):
    _set(db_session, "53", 2024, 7000)
    _set(db_session, "5329", 2024, 7200)
    _set(db_session, "532922", 2024, 7500.5, source="漾濞县 2024")
    yangbi = parameters.for_area(db_session, "532922100201003", 2024)  # a natural village of 漾濞
    assert yangbi.monitoring_line.value == Decimal("7500.50") and yangbi.monitoring_line.row.source == "漾濞县 2024"
    assert yangbi.values() == {"monitoring_line": 7500.5, "dibao_standard": 4620, "watch_line": 10000}
    jianchuan = parameters.for_area(db_session, "532931101", 2024)  # 剑川 has no row: Dali's applies
    assert (jianchuan.monitoring_line.row.area_code, jianchuan.monitoring_line.row.label) == ("5329", "大理白族自治州 2024")
    assert parameters.for_area(db_session, "5329", 2024).monitoring_line.value == 7200
    _set(db_session, "53", 2023, 6900)
    province = parameters.for_area(db_session, "532922100", 2023)  # only the province set 2023
    assert all(getattr(province, name).row.label == "云南省 2023" for name in parameters.NAMES)
    assert province.values()["monitoring_line"] == 6900


def test_no_row_of_that_year_gives_none_never_another_years(db_session, areas):
    _set(db_session, "5329", 2020, 6000)
    _set(db_session, "53", 2022, 6900)
    assert parameters.for_area(db_session, "532922100", 2020).monitoring_line.row.label == "大理白族自治州 2020"
    assert parameters.for_area(db_session, "532922100", 2021) is None  # neither 2020's nor 2022's
    assert parameters.for_area(db_session, "532922100", 2019) is None
    assert parameters.for_area(db_session, "5309", 2020) is None  # Lincang: Dali's row is not Lincang's


# Writes: admins only, in their areas, audited.


def test_an_admin_sets_and_replaces_figures_and_each_write_is_audited(client, db_session, admin):
    first = client.put(f"{URL}/2024/5329", json=BODY, headers=admin)
    assert first.status_code == 200, first.json
    assert first.json | {"set_at": None} == {"year": 2024, "area_code": "5329", "area_name": {"zh": "大理白族自治州", "en": None},
                                             **LINCANG_2020, "source": BODY["source"], "set_at": None}
    again = client.put(f"{URL}/2024/5329", json={**BODY, "monitoring_line": 7000.456}, headers=admin)
    assert again.status_code == 200 and again.json["monitoring_line"] == 7000.46  # kept to the fen
    assert _rows(db_session) == [(2024, "5329", Decimal("7000.46"))]
    (_, target, created), (actor, _, replaced) = _audited(db_session)
    assert (actor, target, created["replaced"], created["monitoring_line"]) == ("admin_yn", "5329/2024", None, "6000.00")
    assert replaced["monitoring_line"] == "7000.46" and replaced["replaced"]["monitoring_line"] == "6000.00"


@pytest.mark.parametrize("role", [Role.supervisor, Role.planner, Role.enumerator])
def test_only_admins_write(client, db_session, make_user, sign_in, role):
    make_user("someone", role, ("5329",))
    answer = client.put(f"{URL}/2024/5329", json=BODY, headers=sign_in("someone")["auth"])
    assert answer.status_code == 403 and answer.json["error"]["code"] == "forbidden"
    assert _rows(db_session) == []


def test_an_admin_of_one_county_cannot_set_another_areas_figures_and_the_refusal_is_kept(client, db_session, make_user,
                                                                                      sign_in):
    make_user("admin_yangbi", Role.admin, ("532922",))
    auth = sign_in("admin_yangbi")["auth"]
    for code in ("532931", "5329"):  # another county; the prefecture above
        answer = client.put(f"{URL}/2024/{code}", json=BODY, headers=auth)
        assert answer.status_code == 403 and set(answer.json) == {"error"}, answer.json
    assert client.put(f"{URL}/2024/532922", json=BODY, headers=auth).status_code == 200
    assert [target for _, target, _ in _audited(db_session, AuditOutcome.denied)] == ["532931/2024", "5329/2024"]
    assert _rows(db_session) == [(2024, "532922", Decimal("6000.00"))]


def test_the_service_refuses_a_non_admin_principal(db_session, make_user):
    supervisor = principal_of(make_user("sup_dali", Role.supervisor, ("5329",)))
    with pytest.raises(Forbidden):
        parameters.set_parameters(db_session, supervisor, 2024, "5329", LINCANG_2020, "x")


# Refusals change nothing.


@pytest.mark.parametrize(("path", "body", "status", "code", "field"), [
    ("2024/5329", {**BODY, "monitoring_line": -6000}, 422, "validation_failed", "monitoring_line"),
    ("2024/5329", {**BODY, "dibao_standard": 0}, 422, "validation_failed", "dibao_standard"),
    ("2024/5329", {**BODY, "watch_line": 0.004}, 422, "validation_failed", "watch_line"),
    ("2024/5329", {**BODY, "source": "   "}, 422, "validation_failed", "source"),
    ("2024/5329", {k: v for k, v in BODY.items() if k != "watch_line"}, 422, "validation_failed", "watch_line"),
    ("2013/5329", BODY, 422, "validation_failed", "year"),
    ("2101/5329", BODY, 422, "validation_failed", "year"),
    ("2024/532922100", BODY, 422, "validation_failed", "area_code"),  # a township takes its county's figures
    ("2024/5399", BODY, 404, "not_found", None),  # no such prefecture
], ids=["negative", "zero", "under-a-fen", "blank-source", "missing", "year-2013", "year-2101", "township", "unknown-area"])
def test_a_refused_write_answers_in_the_error_shape_and_changes_nothing(client, db_session, admin, path, body, status,
                                                                        code, field):
    answer = client.put(f"{URL}/{path}", json=body, headers=admin)
    assert answer.status_code == status, answer.json
    assert set(answer.json) == {"error"} and answer.json["error"]["code"] == code and answer.json["error"]["message"]
    if field is not None:
        assert [f["field"] for f in answer.json["error"]["details"]["fields"]] == [field]
    assert _rows(db_session) == [] and _audited(db_session) == []


@pytest.mark.parametrize(("year", "area_code", "values", "fields"), [
    (2024, "5329", {**LINCANG_2020, "monitoring_line": 0}, ["monitoring_line"]),
    (2024, "5329", {**LINCANG_2020, "dibao_standard": -1, "watch_line": float("nan")}, ["dibao_standard", "watch_line"]),
    (2024, "5329", {**LINCANG_2020, "poverty_line": 4000}, ["poverty_line"]),
    (1999, "532922100", LINCANG_2020, ["year", "area_code"]),
])
def test_the_service_names_every_invalid_field(db_session, areas, year, area_code, values, fields):
    with pytest.raises(InvalidInput) as refused:
        parameters.set_parameters(db_session, "cli:test", year, area_code, values, "x")
    assert [f["field"] for f in refused.value.details["fields"]] == fields
    with pytest.raises(NotFound):
        parameters.set_parameters(db_session, "cli:test", 2024, "5399", LINCANG_2020, "x")
    with pytest.raises(InvalidInput):  # the API's bound, for the CLI too
        parameters.set_parameters(db_session, "cli:test", 2024, "5329", LINCANG_2020, "x" * 501)
    assert _rows(db_session) == []


@pytest.mark.parametrize("bad", [{"monitoring_line": 0}, {"dibao_standard": -1}, {"year": 2013}, {"area_code": "532922100"},
                                 {"source": " "}])
def test_the_database_refuses_what_the_service_would(db_session, areas, bad):
    row = {"year": 2024, "area_code": "5329", **LINCANG_2020, "source": "x", "set_by": "test", **bad}
    with pytest.raises(IntegrityError):
        db_session.execute(insert(YearlyParameter).values(row))
    db_session.rollback()


# Reading: any signed-in user, every area.


def test_any_signed_in_user_reads_the_figures_of_every_area(client, db_session, make_user, sign_in):
    _set(db_session, "53", 2024, 7000)
    _set(db_session, "532922", 2024, 7500)
    _set(db_session, "532931", 2024, 7400)
    _set(db_session, "5329", 2023, 6900)
    make_user("enum_jc", Role.enumerator, ("532931",))
    auth = sign_in("enum_jc")["auth"]
    listed = client.get(URL, headers=auth)
    assert listed.status_code == 200
    assert [(p["year"], p["area_code"]) for p in listed.json["parameters"]] == [
        (2024, "53"), (2024, "532922"), (2024, "532931"), (2023, "5329")]
    yangbi = client.get(URL, query_string={"year": 2024, "area_code": "532922100"}, headers=auth).json["parameters"]
    assert [p["area_code"] for p in yangbi] == ["53", "532922"]  # above it and its own; not 剑川's
    dali = client.get(URL, query_string={"area_code": "5329"}, headers=auth).json["parameters"]
    assert [p["area_code"] for p in dali] == ["53", "532922", "532931", "5329"]  # above it and under it
    assert client.get(URL).status_code == 401
    assert client.get(URL, query_string={"year": 1990}, headers=auth).json["error"]["code"] == "validation_failed"


def test_the_openapi_document_carries_the_operations_and_schemas(client):
    spec = client.get("/api/v1/openapi.json").json
    assert "get" in spec["paths"]["/api/v1/parameters"] and "put" in spec["paths"]["/api/v1/parameters/{year}/{area_code}"]
    body = spec["components"]["schemas"]["ParameterSet"]
    assert set(body["required"]) == {"monitoring_line", "dibao_standard", "watch_line", "source"}
    assert body["properties"]["monitoring_line"]["minimum"] == 0.01


# The CLI acts as an admin of every area, audited as cli:<login>.


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["parameters", *args])


def test_cli_sets_and_lists_figures(app, db_session, areas):
    result = _cli(app, "set", "--year", "2024", "--area", "5329", "--monitoring-line", "7200", "--dibao-standard", "5280",
                  "--watch-line", "10000", "--source", "大理州 2024 (test)")
    assert result.exit_code == 0, result.output
    assert "大理白族自治州 2024" in result.output and "monitoring line 7200.00" in result.output
    listed = _cli(app, "list", "--year", "2024", "--area", "532922")
    assert listed.exit_code == 0 and "5329" in listed.output and "5280.00" in listed.output
    assert "大理州 2024 (test)" in listed.output
    assert "No figures match" in _cli(app, "list", "--year", "2023").output
    (actor, target, details), = _audited(db_session)
    assert actor.startswith("cli:") and target == "5329/2024" and details["dibao_standard"] == "5280.00"
    assert db_session.scalar(select(YearlyParameter.set_by)) == actor


def test_cli_refusals_exit_1_and_change_nothing(app, db_session, areas):
    figures = ["--monitoring-line", "7200", "--dibao-standard", "5280", "--watch-line", "10000", "--source", "x"]
    unknown = _cli(app, "set", "--year", "2024", "--area", "5399", *figures)
    assert unknown.exit_code == 1 and "not_found" in unknown.output
    zero = _cli(app, "set", "--year", "2024", "--area", "5329", *figures[:1], "0", *figures[2:])
    assert zero.exit_code == 1 and "invalid_input" in zero.output and "monitoring_line" in zero.output
    assert _rows(db_session) == [] and _audited(db_session) == []


# The seeds' figures for the demo.


def test_the_seed_figures_give_lincang_2020_and_dali_none(db_session, areas):
    rows = demo_parameters.load(db_session, actor="demo")
    db_session.commit()
    assert [(row.label, row.monitoring_line, row.dibao_standard, row.watch_line) for row in rows] == [
        ("临沧市 2020", 6000, 4620, 10000)]
    lincang = parameters.for_area(db_session, "530902", 2020)  # 临翔区, a county of Lincang
    assert lincang.values() == LINCANG_2020 and "临乡振发〔2022〕37号" in lincang.monitoring_line.row.source
    assert parameters.for_area(db_session, "532922", 2020) is None  # the seeds give Dali no figures
    demo_parameters.load(db_session, actor="demo")  # again: the same row, no second area
    assert db_session.scalar(select(func.count()).select_from(YearlyParameter)) == 1
