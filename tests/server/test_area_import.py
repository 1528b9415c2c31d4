"""Area import: all-or-nothing checks, the upsert, the three file formats and the CLI command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pyogrio.raw
import pytest
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import AreaImportFailed
from server.models import Area, AreaLevel, AuditEntry
from server.services.area_import import import_areas

DATA = Path(__file__).resolve().parent.parent / "data" / "areas"
GOOD = DATA / "good_dali.geojson"

DALI_PARENTS = {
    "53": (AreaLevel.province, None),
    "5329": (AreaLevel.prefecture, "53"),
    "532922": (AreaLevel.county, "5329"),
    "532931": (AreaLevel.county, "5329"),
    "532922100": (AreaLevel.township, "532922"),
    "532922100201": (AreaLevel.admin_village, "532922100"),
    "532922100201003": (AreaLevel.natural_village, "532922100201"),
}
DALI_LEVELS = {
    AreaLevel.province: 1, AreaLevel.prefecture: 1, AreaLevel.county: 2, AreaLevel.township: 1,
    AreaLevel.admin_village: 1, AreaLevel.natural_village: 1,
}
DALI_COUNTS = ("1 province, 1 prefecture, 2 counties, 1 township, 1 administrative village, 1 natural village")


def _import(session: Session, path: Path, **kwargs: Any):
    return import_areas(session, path, actor="test:importer", **kwargs)


def _counts(session: Session) -> tuple[int, int]:
    areas = session.scalar(select(func.count()).select_from(Area))
    audits = session.scalar(select(func.count()).select_from(AuditEntry))
    return areas, audits


def _rewrite(destination: Path, driver: str, *, layer: str | None = None, crs: str | None = "EPSG:4326",
             rename: dict[str, str] | None = None, numeric_codes: bool = False, points: bool = True) -> Path:
    """Writes the good Dali file again in another format, with other column names or types."""
    _meta, _fids, geometry, fields = pyogrio.raw.read(GOOD)
    names = [str(name) for name in _meta["fields"]]
    if numeric_codes:
        fields[names.index("code")] = np.array([int(code) for code in fields[names.index("code")]], dtype=np.int64)
    if not points:
        # A Shapefile holds one geometry type; the point-only natural village goes without one.
        geometry = np.array([None if shapely.from_wkb(wkb).geom_type == "Point" else wkb for wkb in geometry])
    names = [(rename or {}).get(name, name) for name in names]
    pyogrio.raw.write(destination, geometry=geometry, field_data=fields, fields=names, crs=crs, driver=driver,
                      layer=layer, geometry_type="Unknown" if points else "MultiPolygon")
    return destination


def _write_geojson(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def _feature(code: Any, level: str, name: str, geometry: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"code": code, "level": level, "name": name}, "geometry": geometry}


def _assert_dali_imported(session: Session, *, file_name: str, point: bool = True) -> None:
    rows = session.execute(select(Area.code, Area.level, Area.parent_code)).all()
    assert {code: (level, parent) for code, level, parent in rows} == DALI_PARENTS
    geometry = session.execute(
        select(Area.code, func.ST_SRID(Area.boundary), func.ST_GeometryType(Area.boundary),
               func.ST_IsValid(Area.boundary), func.ST_SRID(Area.centroid), func.ST_Within(Area.centroid, Area.boundary))
        .where(Area.boundary.is_not(None))
    ).all()
    assert sorted(row[0] for row in geometry) == sorted(set(DALI_PARENTS) - {"532922100201003"})
    assert all(row[1:] == (4326, "ST_MultiPolygon", True, 4326, True) for row in geometry), geometry
    # The U-shaped county's centroid lies in its notch: the stored point must not.
    yangbi_centroid_inside = session.scalar(
        select(func.ST_Within(func.ST_Centroid(Area.boundary), Area.boundary)).where(Area.code == "532922")
    )
    assert yangbi_centroid_inside is False
    village = session.get(Area, "532922100201003")
    assert village.boundary is None
    if point:
        assert to_shape(village.centroid).equals(shapely.Point(99.645, 25.52))
    else:
        assert village.centroid is None
    audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "areas.import")).all()
    assert [(a.target, a.actor, a.details["created"]) for a in audits] == [(file_name, "test:importer", 7)]


def test_good_geojson_imports_every_level(db_session):
    report = _import(db_session, GOOD)

    assert report.levels == DALI_LEVELS
    assert (report.created, report.updated) == (7, 0)
    assert report.summary() == (f"Imported 7 areas from good_dali.geojson: {DALI_COUNTS} "
                                "(created 7, updated 0, unchanged 0).")
    _assert_dali_imported(db_session, file_name="good_dali.geojson")
    assert db_session.get(Area, "532922").name_en == "Yangbi"
    assert db_session.get(Area, "532922").name_zh == "漾濞彝族自治县"


def test_import_does_not_commit(db_session):
    _import(db_session, GOOD)
    db_session.rollback()

    assert _counts(db_session) == (0, 0)


def test_geopackage_with_numeric_codes_and_other_column_names_imports_the_same(db_session, tmp_path):
    path = _rewrite(tmp_path / "dali.gpkg", "GPKG", numeric_codes=True, rename={"name_zh": "NAME", "level": "Level"})

    report = _import(db_session, path)

    assert (report.levels, report.created) == (DALI_LEVELS, 7)
    _assert_dali_imported(db_session, file_name="dali.gpkg")


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
def test_shapefile_with_truncated_parent_code_column_imports_the_same(db_session, tmp_path):
    path = tmp_path / "dali.shp"
    _rewrite(path, "ESRI Shapefile", points=False, rename={"code": "CODE", "name_zh": "NAME_ZH"})
    # Add an explicit parent code column: Shapefile cuts its name to PARENT_COD.
    meta, _fids, geometry, fields = pyogrio.raw.read(path)
    parents = np.array([DALI_PARENTS[code][1] for code in fields[0]], dtype=object)
    pyogrio.raw.write(path, geometry=geometry, field_data=[*fields, parents], fields=[*meta["fields"], "PARENT_CODE"],
                      crs="EPSG:4326", driver="ESRI Shapefile", geometry_type="MultiPolygon")
    assert "PARENT_COD" in pyogrio.read_info(path)["fields"]

    report = _import(db_session, path)

    assert (report.levels, report.created) == (DALI_LEVELS, 7)
    _assert_dali_imported(db_session, file_name="dali.shp", point=False)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_shapefile_without_crs_is_taken_as_wgs84_when_coordinates_fit(db_session, tmp_path):
    path = _rewrite(tmp_path / "nocrs.shp", "ESRI Shapefile", crs=None, points=False)

    report = _import(db_session, path)

    assert report.created == 7
    assert "no CRS" in report.summary()


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_file_without_crs_and_projected_coordinates_is_refused(db_session, tmp_path):
    path = tmp_path / "metres.shp"
    box = shapely.to_wkb(shapely.MultiPolygon([shapely.box(10853000, 2405000, 11822000, 3400000)]))
    pyogrio.raw.write(path, geometry=np.array([box], dtype=object), crs=None, driver="ESRI Shapefile",
                      field_data=[np.array(["53"], dtype=object), np.array(["province"], dtype=object),
                                  np.array(["云南省"], dtype=object)],
                      fields=["code", "level", "name"], geometry_type="MultiPolygon")

    with pytest.raises(AreaImportFailed) as failed:
        _import(db_session, path)

    assert [(p.row, "no CRS" in p.reason) for p in failed.value.problems] == [(0, True)]


def test_reimport_updates_rather_than_duplicates(db_session, tmp_path):
    _import(db_session, GOOD)
    again = _import(db_session, GOOD)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 7)
    assert again.summary().endswith("(created 0, updated 0, unchanged 7).")
    assert _counts(db_session) == (7, 2)

    document = json.loads(GOOD.read_text(encoding="utf-8"))
    jianchuan = next(f for f in document["features"] if f["properties"]["code"] == "532931")
    jianchuan["properties"]["name_zh"] = "剑川县（新）"
    jianchuan["geometry"] = None
    changed = _write_geojson(tmp_path / "renamed.geojson", document["features"])
    report = _import(db_session, changed)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 6)

    area = db_session.get(Area, "532931")
    db_session.refresh(area)
    assert area.name_zh == "剑川县（新）"
    # A row without geometry keeps the stored boundary.
    assert area.boundary is not None
    assert db_session.scalar(select(func.count()).select_from(Area)) == 7


BAD_FILES = [
    ("bad_unknown_parent.geojson", [
        (5, "532999100", "unknown parent 532999"),
        (6, "532922100202", "does not start with its parent code 532931100"),
        (8, "532932", "parent 53 is not a prefecture"),
    ]),
    ("bad_code.geojson", [
        (2, "53A9", "code '53A9' must contain digits only"),
        (3, "5329.5", "code '5329.5' must contain digits only"),
        (4, None, "missing code"),
    ]),
    ("bad_level.geojson", [
        (3, "532922", "unknown level 'village'"),
        (4, "53292210", "has 8 digits but a township code has 9"),
    ]),
    ("bad_invalid_geometry.geojson", [(4, "532931", "invalid geometry: Self-intersection")]),
    ("bad_wrong_crs.geojson", [(0, None, "wrong CRS: EPSG:3857; export the layer in EPSG:4326 (WGS 84)")]),
    ("bad_duplicate_code.geojson", [(4, "5329", "duplicate code: also on row 2")]),
    ("bad_missing_name.geojson", [(2, "5329", "missing name"), (3, "532931", "missing name")]),
]


@pytest.mark.parametrize(("file_name", "expected"), BAD_FILES, ids=[name for name, _ in BAD_FILES])
def test_bad_file_reports_every_problem_and_writes_nothing(db_session, file_name, expected):
    before = _counts(db_session)

    with pytest.raises(AreaImportFailed) as failed:
        _import(db_session, DATA / file_name)

    problems = failed.value.problems
    assert [(p.row, p.code) for p in problems] == [(row, code) for row, code, _ in expected]
    for problem, (row, _code, words) in zip(problems, expected, strict=True):
        assert words in problem.reason
        assert str(problem).startswith("file: " if row == 0 else f"row {row}")
    assert failed.value.code == "area_import_failed"
    assert _counts(db_session) == before


def test_missing_code_or_name_column_is_a_file_problem(db_session, tmp_path):
    path = _write_geojson(tmp_path / "no_name.geojson", [
        {"type": "Feature", "properties": {"code": "53", "level": "province"}, "geometry": None},
    ])

    with pytest.raises(AreaImportFailed) as failed:
        _import(db_session, path)

    assert [(p.row, p.code) for p in failed.value.problems] == [(0, None)]
    assert failed.value.problems[0].reason.startswith("missing column(s): name_zh or name or 名称")


def test_without_a_level_column_the_code_length_gives_the_level(db_session):
    # bad_missing_column.geojson was refused while the level column was required; an NBS list has none.
    report = _import(db_session, DATA / "bad_missing_column.geojson")

    assert report.levels[AreaLevel.province] == 1
    assert db_session.get(Area, "53").level is AreaLevel.province


def test_problem_sentence_names_row_code_and_reason(db_session):
    with pytest.raises(AreaImportFailed) as failed:
        _import(db_session, DATA / "bad_unknown_parent.geojson")

    assert str(failed.value.problems[0]) == (
        "row 5 (code 532999100): unknown parent 532999: it is neither in this file nor in the database (上级区划不存在)"
    )


def test_whole_numbers_in_a_numeric_code_column_are_codes(db_session, tmp_path):
    path = _write_geojson(tmp_path / "numeric.geojson", [
        _feature(53, "province", "云南省"), _feature(5329.0, "prefecture", "大理"), _feature(5330.5, "prefecture", "x"),
    ])
    assert pyogrio.read_info(path)["dtypes"][0] == "float64"

    with pytest.raises(AreaImportFailed) as failed:
        _import(db_session, path)

    assert [(p.row, p.code, "not a whole number" in p.reason) for p in failed.value.problems] == [(3, "5330.5", True)]


@pytest.mark.parametrize(("geometry", "words"), [
    ({"type": "LineString", "coordinates": [[99, 25], [100, 26]]}, "not LineString"),
    ({"type": "Polygon", "coordinates": [[[99, 25], [100, 25], [100, 26], [99, 26]]]}, "unreadable geometry"),
    ({"type": "Polygon", "coordinates": [[[99, 25], [100, 25], [100, 26]]]}, "unreadable geometry"),
])
@pytest.mark.filterwarnings("ignore:Non closed ring detected")
def test_unusable_geometry_is_a_row_problem(db_session, tmp_path, geometry, words):
    path = _write_geojson(tmp_path / "odd.geojson", [_feature("53", "province", "云南省", geometry)])

    with pytest.raises(AreaImportFailed) as failed:
        _import(db_session, path)

    assert [(p.row, words in p.reason) for p in failed.value.problems] == [(1, True)]


def test_three_dimensional_polygon_is_stored_flat(db_session, tmp_path):
    ring = [[99, 25, 1500], [100, 25, 1500], [100, 26, 1600], [99, 26, 1600], [99, 25, 1500]]
    path = _write_geojson(tmp_path / "z.geojson", [_feature("53", "province", "云南省", {"type": "Polygon",
                                                                                        "coordinates": [ring]})])
    _import(db_session, path)

    assert db_session.scalar(select(func.ST_NDims(Area.boundary))) == 2


def test_parent_already_in_the_database_is_accepted(db_session):
    with pytest.raises(AreaImportFailed) as failed:
        _import(db_session, DATA / "good_new_natural_village.geojson")
    assert [(p.row, "unknown parent 532922100201" in p.reason) for p in failed.value.problems] == [(1, True)]

    _import(db_session, GOOD)
    report = _import(db_session, DATA / "good_new_natural_village.geojson")

    assert (report.created, report.updated) == (1, 0)
    assert db_session.get(Area, "532922100201004").parent_code == "532922100201"


def test_geopackage_with_two_layers_needs_a_layer_name(db_session, tmp_path):
    path = _rewrite(tmp_path / "yunnan.gpkg", "GPKG", layer="dali")
    _rewrite(path, "GPKG", layer="copy")

    with pytest.raises(AreaImportFailed) as failed:
        _import(db_session, path)
    assert "2 layers (dali, copy); choose one with --layer" in failed.value.problems[0].reason
    with pytest.raises(AreaImportFailed) as failed:
        _import(db_session, path, layer="lincang")
    assert "no layer 'lincang'" in failed.value.problems[0].reason

    report = _import(db_session, path, layer="dali")
    assert report.summary().startswith("Imported 7 areas from yunnan.gpkg (layer dali):")


def test_missing_or_unreadable_file_is_a_plain_problem(db_session, tmp_path):
    junk = tmp_path / "junk.geojson"
    junk.write_text("not a geojson file", encoding="utf-8")

    for path, words in [(tmp_path / "absent.geojson", "file not found"), (junk, "cannot read junk.geojson")]:
        with pytest.raises(AreaImportFailed) as failed:
            _import(db_session, path)
        assert [(p.row, words in p.reason) for p in failed.value.problems] == [(0, True)]
    assert _counts(db_session) == (0, 0)


def test_cli_imports_a_good_file(app, db_session):
    result = app.test_cli_runner().invoke(args=["areas", "import", str(GOOD)])

    assert result.exit_code == 0, result.output
    assert f"Imported 7 areas from good_dali.geojson: {DALI_COUNTS} (created 7, updated 0, unchanged 0)." in result.output
    assert _counts(db_session) == (7, 1)


def test_cli_lists_every_problem_and_exits_1(app, db_session):
    path = DATA / "bad_level.geojson"

    result = app.test_cli_runner().invoke(args=["areas", "import", str(path)])

    assert result.exit_code == 1
    assert f"Nothing was imported: 2 problem(s) in {path}" in result.output
    assert "row 3 (code 532922): unknown level 'village'" in result.output
    assert "row 4 (code 53292210): code 53292210 has 8 digits but a township code has 9" in result.output
    assert "Traceback" not in result.output
    assert _counts(db_session) == (0, 0)
