"""The Dali demo generator: counts, codes, nested valid geometry, determinism and the demo accounts."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from core.errors import Conflict
from server import demo
from server.demo import loader
from server.demo.areas import generate_areas
from server.demo.dali import COUNTIES
from server.demo.households import generate_households, make_family
from server.models import Area, AreaLevel, Household, Person, User
from server.models.areas import CODE_LENGTH, PARENT_LEVEL
from server.services.passwords import check_strength, verify_password

SEED = 20261123
SMALL = demo.SIZES["small"]
SMALL_COUNTS = {
    AreaLevel.province: 1, AreaLevel.prefecture: 1, AreaLevel.county: 12,
    AreaLevel.township: 24, AreaLevel.admin_village: 48, AreaLevel.natural_village: 96,
}
RELATIONS = {"head", "spouse", "son", "daughter", "son_in_law", "daughter_in_law", "parent", "grandchild", "other"}


@pytest.fixture
def loaded(db_session):
    messages: list[str] = []
    report = loader.load(db_session, seed=SEED, size=SMALL, actor="test", progress=messages.append)
    db_session.flush()
    return report, messages


def _scalar(session, sql: str, **params):
    return session.execute(text(sql), params).scalar_one()


# --- loading "small" -----------------------------------------------------------------------------------


def test_small_gives_the_expected_count_per_level(db_session, loaded):
    report, messages = loaded
    stored = dict(db_session.execute(select(Area.level, func.count()).group_by(Area.level)).all())
    assert stored == SMALL_COUNTS
    assert report.areas == SMALL_COUNTS
    assert db_session.scalar(select(func.count()).select_from(Household)) == report.households == 480
    people = db_session.scalar(select(func.count()).select_from(Person))
    assert people == report.people
    assert 3.4 * 480 <= people <= 4.2 * 480  # domain.md 2.5: 3.6-3.9 people per household
    assert any(message.startswith("natural_village:") for message in messages)
    summary = report.summary()
    assert "natural_village" in summary and "480" in summary and f"{people:,}" in summary
    assert "5 demo accounts" in summary


def test_codes_match_their_level_and_extend_their_parent(db_session, loaded):
    areas = {a.code: a for a in db_session.scalars(select(Area))}
    for area in areas.values():
        assert len(area.code) == CODE_LENGTH[area.level], area.code
        if area.level is AreaLevel.province:
            assert area.parent_code is None
            continue
        parent = areas[area.parent_code]
        assert parent.level is PARENT_LEVEL[area.level]
        assert area.code.startswith(parent.code)
        suffix = int(area.code[len(parent.code):])
        if area.level is AreaLevel.township:
            assert (101 <= suffix <= 199) if area.name_zh.endswith("镇") else (201 <= suffix <= 399), area.code
        elif area.level is AreaLevel.admin_village:
            assert 201 <= suffix <= 399
        elif area.level is AreaLevel.natural_village:
            assert 1 <= suffix <= 999


def test_names_are_unique_within_their_parent(db_session, loaded):
    duplicates = db_session.execute(
        select(Area.parent_code, Area.name_zh).group_by(Area.parent_code, Area.name_zh).having(func.count() > 1)
    ).all()
    assert duplicates == []
    assert db_session.scalar(select(func.count()).where(Area.name_en.is_(None))) == 0


def test_boundaries_are_valid_multipolygons_in_4326(db_session, loaded):
    bad = _scalar(db_session, """
        SELECT count(*) FROM area
        WHERE boundary IS NULL OR NOT ST_IsValid(boundary) OR ST_SRID(boundary) <> 4326
           OR GeometryType(boundary) <> 'MULTIPOLYGON' OR ST_IsEmpty(boundary)
           OR ST_SRID(centroid) <> 4326 OR NOT ST_Intersects(centroid, boundary)""")
    assert bad == 0


def test_children_lie_within_and_tile_their_parent(db_session, loaded):
    outside = _scalar(db_session, """
        SELECT count(*) FROM area child JOIN area parent ON parent.code = child.parent_code
        WHERE NOT ST_CoveredBy(child.boundary, ST_Buffer(parent.boundary, 1e-9))""")
    assert outside == 0
    # The prefecture lies in the province; below it the children cover the whole parent, without overlaps.
    gaps = db_session.execute(text("""
        SELECT parent.code, ST_Area(parent.boundary), sum(ST_Area(child.boundary)),
               ST_Area(ST_Difference(parent.boundary, ST_Union(child.boundary)))
        FROM area child JOIN area parent ON parent.code = child.parent_code
        WHERE parent.level <> 'province' GROUP BY parent.code, parent.boundary""")).all()
    assert len(gaps) == 1 + 12 + 24 + 48
    for code, parent_area, children_area, uncovered in gaps:
        assert children_area == pytest.approx(parent_area, rel=1e-9), code
        assert uncovered < parent_area * 1e-9, code
    overlaps = _scalar(db_session, """
        SELECT count(*) FROM area a JOIN area b ON a.parent_code = b.parent_code AND a.code < b.code
        WHERE ST_Area(ST_Intersection(a.boundary, b.boundary)) > 1e-12""")
    assert overlaps == 0


def test_households_lie_in_their_natural_village(db_session, loaded):
    outside = _scalar(db_session, """
        SELECT count(*) FROM household h JOIN area a ON a.code = h.area_code
        WHERE a.level <> 'natural_village' OR h.location IS NULL OR ST_SRID(h.location) <> 4326
           OR NOT ST_Within(h.location, a.boundary)""")
    assert outside == 0
    numbers = db_session.scalars(select(Household.household_no)).all()
    assert all(len(n) == 4 and n.isdigit() for n in numbers)


def test_every_household_has_one_head_whose_name_it_carries(db_session, loaded):
    households = db_session.scalars(select(Household)).all()
    for household in households:
        members = household.members
        assert 1 <= len(members) <= 7
        heads = [m for m in members if m.relation_to_head == "head"]
        assert len(heads) == 1 and heads[0].name == household.householder_name
        assert len({m.name for m in members}) == len(members)
        for member in members:
            assert member.county_code == household.area_code[:6] == household.county_code
            assert member.sex in {"male", "female"} and member.relation_to_head in RELATIONS
            assert 1900 < member.birth_date.year < 2025


def test_the_real_counties_and_seed_townships_are_there(db_session, loaded):
    counties = dict(db_session.execute(
        select(Area.code, Area.name_zh).where(Area.level == AreaLevel.county)).all())
    assert counties == {c.code: c.name_zh for c in COUNTIES}
    assert counties["532922"] == "漾濞彝族自治县" and counties["532931"] == "剑川县"
    assert db_session.get(Area, "532922").name_en == "Yangbi Yi Autonomous County"
    assert db_session.get(Area, "5329").name_zh == "大理白族自治州"
    jianchuan = set(db_session.execute(
        select(Area.name_zh, Area.name_en).where(Area.parent_code == "532931")).all())
    assert jianchuan == {("沙溪镇", "Shaxi Town"), ("老君山镇", "Laojunshan Town")}
    # 瓦厂乡 is the seed's first Yangbi township, and 瓦厂村 its model village.
    wachang = db_session.scalar(select(Area).where(Area.parent_code == "532922", Area.name_zh == "瓦厂乡"))
    assert wachang.code.startswith("5329222")
    assert "瓦厂村" in db_session.scalars(select(Area.name_zh).where(Area.parent_code == wachang.code)).all()


def test_is_loaded_turns_true_and_a_second_load_is_refused(db_session):
    assert loader.is_loaded(db_session) is False
    loader.load(db_session, seed=SEED, size=SMALL, actor="test", progress=lambda _: None)
    assert loader.is_loaded(db_session) is True
    with pytest.raises(Conflict):
        loader.load(db_session, seed=SEED, size=SMALL, actor="test", progress=lambda _: None)


def test_the_accounts_exist_with_their_role_and_scope(db_session, loaded):
    for account in demo.ACCOUNTS:
        user = db_session.scalar(select(User).where(User.username == account.username))
        assert user.role is account.role
        assert user.scope == sorted(account.areas)
        assert user.display_name == account.display_name
        assert verify_password(user.password_hash, account.password)


# --- pure generation -----------------------------------------------------------------------------------


def test_accounts_cover_every_role_and_their_passwords_are_strong():
    assert {a.role for a in demo.ACCOUNTS} == set(type(demo.ACCOUNTS[0].role))
    assert len({a.username for a in demo.ACCOUNTS}) == len(demo.ACCOUNTS)
    for account in demo.ACCOUNTS:
        check_strength(account.password, [account.username])  # raises WeakPassword


def fingerprint(seed: int, size_name: str = "small") -> str:
    """A hash over every generated area, household and member."""
    size = demo.SIZES[size_name]
    digest = hashlib.sha256()
    for area in generate_areas(seed, size):
        digest.update(json.dumps(area.values(), default=str, ensure_ascii=False).encode())
        if area.level is AreaLevel.natural_village:
            for household in generate_households(seed, area, size.households_per_natural_village):
                digest.update(json.dumps([household.values, household.members], default=str).encode())
    return digest.hexdigest()


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data():
    assert fingerprint(SEED) == fingerprint(SEED)
    assert fingerprint(SEED) != fingerprint(SEED + 1)


def test_generation_does_not_depend_on_hash_randomisation():
    # Iterating a set or dict of str would change with PYTHONHASHSEED; a fresh process shows it.
    code = f"from tests.server.test_demo import fingerprint; print(fingerprint({SEED}))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run([sys.executable, "-c", code], env=env, cwd=Path(__file__).parents[2],
                           capture_output=True, text=True, check=True)
    assert other.stdout.strip() == fingerprint(SEED)


def test_generation_leaves_the_global_random_alone():
    random.seed(7)
    state = random.getstate()
    fingerprint(SEED)
    assert random.getstate() == state


def test_families_are_plausible():
    rng = random.Random(1)
    families = [make_family(rng) for _ in range(5000)]
    mean = sum(len(f) for f in families) / len(families)
    assert 3.6 <= mean <= 3.9
    for family in families:
        head = family[0]
        assert head.relation_to_head == "head" and sum(m.relation_to_head == "head" for m in family) == 1
        for member in family:
            if member.relation_to_head in {"son", "daughter"}:
                assert member.birth_year >= head.birth_year + 20
            elif member.relation_to_head == "parent":
                assert member.birth_year <= head.birth_year - 18
            elif member.relation_to_head == "spouse":
                assert member.sex != head.sex


def test_the_sizes_grow_as_documented():
    def households(size: demo.DemoSize) -> int:
        townships = sum(size.townships_per_county or c.township_count for c in COUNTIES)
        return (townships * size.villages_per_township * size.natural_villages_per_village
                * size.households_per_natural_village)

    assert households(demo.SIZES["small"]) == 480
    assert households(demo.SIZES["medium"]) == 10 * 480
    assert sum(c.township_count for c in COUNTIES) == 110
    assert 400_000 <= households(demo.SIZES["full"]) <= 600_000


def test_demo_accounts_command_prints_every_account_and_password(app):
    result = app.test_cli_runner().invoke(args=["demo", "accounts"])
    assert result.exit_code == 0
    for account in demo.ACCOUNTS:
        assert account.username in result.output and account.password in result.output


def test_demo_is_refused_in_production(database):
    from server.app import create_app

    app = create_app({**database.overrides(), "SURVEY_ENV": "production", "SECRET_KEY": "a-real-secret",
                      "PII_KEY": "cHJpdmF0ZSBrZXkgb2YgdGhpcyBpbnN0YWxsYXRpb24="})
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 1 and "not loaded when SURVEY_ENV=production" in result.output
