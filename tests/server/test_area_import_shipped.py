"""Area files as officials ship them (issue 15): CGCS2000, GBK Shapefiles without a code page, NBS lists as CSV,
codes padded to 12 digits, re-imports that change nothing, --retire-missing, and the demo kept away from real areas.

Where the files come from: `nbs_yangbi_townships.csv` is Yangbi's township table as NBS prints it (UTF-8 with a BOM,
CRLF, 统计用区划代码 padded to 12 digits, 名称), with the codes and names of server/demo/dali.py (NBS 2022). The rest
are written here from good_dali.geojson with pyogrio: a GBK Shapefile whose .cpg is deleted, Shapefiles with the
.prj files ArcGIS writes for CGCS2000, a GeoJSON in EPSG:4490, a GeoPackage attribute table, village lists as CSV.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pyogrio.raw
import pytest
import shapely
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.errors import AreaImportFailed, Conflict
from server import demo
from server.demo import loader as demo_loader
from server.models import Area, AreaLevel, AuditEntry
from server.services.area_import import import_areas, unpadded

DATA = Path(__file__).resolve().parent.parent / "data" / "areas"
GOOD = DATA / "good_dali.geojson"
NBS_TOWNSHIPS = DATA / "nbs_yangbi_townships.csv"
YANGBI_TOWNSHIPS = {
    "532922101": "苍山西镇", "532922102": "漾江镇", "532922103": "平坡镇", "532922104": "顺濞镇", "532922201": "富恒乡",
    "532922202": "太平乡", "532922204": "瓦厂乡", "532922205": "龙潭乡", "532922206": "鸡街乡",
}
DALI_NAMES = {
    "53": "云南省", "5329": "大理白族自治州", "532922": "漾濞彝族自治县", "532931": "剑川县", "532922100": "苍山西镇",
    "532922100201": "光明村", "532922100201003": "光明一组",
}

# What ArcGIS writes into the .prj of a layer in CGCS2000 longitude/latitude, and in its 3-degree Gauss-Kruger zone
# with central meridian 99°E (EPSG:4542), the zone of western Dali.
ARCGIS_CGCS2000 = ('GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",'
                   'SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
                   'UNIT["Degree",0.0174532925199433]]')
ARCGIS_CGCS2000_GK_99E = (f'PROJCS["CGCS2000_3_Degree_GK_CM_99E",{ARCGIS_CGCS2000},PROJECTION["Gauss_Kruger"],'
                          'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
                          'PARAMETER["Central_Meridian",99.0],PARAMETER["Scale_Factor",1.0],'
                          'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]')


def _import(session: Session, path: Path, **options: Any):
    return import_areas(session, path, actor="test:importer", **options)


def _refused(session: Session, path: Path, **options: Any) -> list[Any]:
    with pytest.raises(AreaImportFailed) as failed:
        _import(session, path, **options)
    return failed.value.problems


def _area_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Area))


def _names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Area.code, Area.name_zh)).all())


def _write_dali(path: Path, driver: str, *, crs: str | None = "EPSG:4326", encoding: str | None = None,
                geometry: bool = True) -> Path:
    """good_dali.geojson written again as a Shapefile, GeoPackage or GeoJSON; a Shapefile without the point row."""
    meta, _fids, geometries, fields = pyogrio.raw.read(GOOD)
    keep = np.array([not (driver == "ESRI Shapefile" and shapely.from_wkb(wkb).geom_type == "Point")
                     for wkb in geometries])
    pyogrio.raw.write(path, geometry=geometries[keep] if geometry else None,
                      field_data=[column[keep] for column in fields], fields=list(meta["fields"]),
                      crs=crs if geometry else None, driver=driver, encoding=encoding,
                      geometry_type=("MultiPolygon" if driver == "ESRI Shapefile" else "Unknown") if geometry else None)
    return path


def _write_geojson(path: Path, rows: list[tuple[Any, str | None, str]]) -> Path:
    features = [{"type": "Feature", "geometry": None,
                 "properties": {"code": code, "name": name} | ({"level": level} if level else {})}
                for code, level, name in rows]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def _feed(session: Session) -> dict[str, int]:
    """The area rows of the pull feed: object id -> position; a change moves its object to the end."""
    return dict(session.execute(text("SELECT object_id, seq FROM sync_change WHERE kind = 'area'")).all())


# --- 1. CGCS2000 --------------------------------------------------------------------------------------------------


def test_geojson_in_cgcs2000_is_taken_as_wgs84_and_the_summary_says_so(db_session, tmp_path):
    path = _write_dali(tmp_path / "dali_cgcs2000.geojson", "GeoJSON", crs="EPSG:4490")
    assert pyogrio.read_info(path)["crs"] == "EPSG:4490"

    report = _import(db_session, path)

    assert report.created == 7
    assert report.summary().endswith(
        "The file is in CGCS2000 (EPSG:4490); its coordinates were taken as WGS 84 (EPSG:4326), from which CGCS2000 "
        "differs by centimetres.")
    assert db_session.scalar(select(func.ST_SRID(Area.boundary)).where(Area.code == "532922")) == 4326
    audit = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "areas.import")).one()
    assert audit.details["crs"] == "EPSG:4490"


def test_shapefile_with_the_cgcs2000_prj_arcgis_writes_is_accepted(db_session, tmp_path):
    path = _write_dali(tmp_path / "dali.shp", "ESRI Shapefile")
    path.with_suffix(".prj").write_text(ARCGIS_CGCS2000, encoding="ascii")

    report = _import(db_session, path)

    assert (report.created, report.taken_as_wgs84, report.crs) == (6, "CGCS2000", "EPSG:4490")


@pytest.mark.parametrize("driver", ["ESRI Shapefile", "GPKG"])
def test_projected_cgcs2000_is_refused_with_a_hint_to_reproject(db_session, tmp_path, driver):
    _import(db_session, GOOD)
    # Dali's Yangbi county in CGCS2000 / 3-degree Gauss-Kruger CM 99E: metres east of the false easting and north.
    path = tmp_path / ("yangbi_gk.shp" if driver == "ESRI Shapefile" else "yangbi_gk.gpkg")
    box = shapely.to_wkb(shapely.MultiPolygon([shapely.box(560000, 2790000, 620000, 2865000)]))
    pyogrio.raw.write(path, geometry=np.array([box], dtype=object), driver=driver, geometry_type="MultiPolygon",
                      crs="EPSG:4542", field_data=[np.array(["532922"], dtype=object),
                                                   np.array(["county"], dtype=object),
                                                   np.array(["漾濞彝族自治县"], dtype=object)],
                      fields=["code", "level", "name"], encoding="UTF-8" if driver == "ESRI Shapefile" else None)
    if driver == "ESRI Shapefile":
        path.with_suffix(".prj").write_text(ARCGIS_CGCS2000_GK_99E, encoding="ascii")

    problems = _refused(db_session, path)

    assert [(p.row, p.code) for p in problems] == [(0, None)]
    reason = problems[0].reason
    assert reason.startswith("wrong CRS: EPSG:4542; export the layer in EPSG:4326 (WGS 84) longitude/latitude; "
                             "EPSG:4542 is CGCS2000 / Gauss-Kruger, projected in metres")
    assert f"reproject it, e.g. ogr2ogr -t_srs EPSG:4326 out.gpkg {path.name}" in reason
    assert _names(db_session) == DALI_NAMES
    assert db_session.scalar(select(func.ST_XMax(Area.boundary)).where(Area.code == "532922")) == 100.2


# --- 2. Encoding --------------------------------------------------------------------------------------------------


def _gbk_shapefile_without_cpg(tmp_path: Path) -> Path:
    path = _write_dali(tmp_path / "dali_gbk.shp", "ESRI Shapefile", encoding="GBK")
    path.with_suffix(".cpg").unlink()
    # No code page byte either: what GDAL wrote is what many Chinese GIS exports look like.
    assert path.with_suffix(".dbf").read_bytes()[29] == 0
    return path


def test_gbk_shapefile_without_code_page_is_refused_naming_the_fix(db_session, tmp_path):
    path = _gbk_shapefile_without_cpg(tmp_path)

    problems = _refused(db_session, path)

    assert [(p.row, p.code) for p in problems] == [(0, None)]
    reason = problems[0].reason
    assert reason.startswith("6 name(s) look garbled (row 1: '")
    assert ("the Shapefile has no .cpg file and no code page in its .dbf, so its text was read as Latin-1. Files made "
            "in China are usually GBK: run again with --encoding GBK, or put a file dali_gbk.cpg containing GBK next "
            "to it") in reason
    assert _area_count(db_session) == 0


def test_garbled_names_are_refused_whatever_the_file_or_the_option_says(db_session, tmp_path):
    path = _gbk_shapefile_without_cpg(tmp_path)
    dbf = bytearray(path.with_suffix(".dbf").read_bytes())
    dbf[29] = 0x57  # ANSI (Windows-1252): a code page byte that is there and wrong
    path.with_suffix(".dbf").write_bytes(bytes(dbf))

    assert "in the encoding the file declares; if its text is GBK, run again with --encoding GBK" in \
        _refused(db_session, path)[0].reason
    assert "when read as ISO-8859-1; run again with the encoding the file was saved in" in \
        _refused(db_session, path, encoding="ISO-8859-1")[0].reason
    # Python knows this name, GDAL does not: said so, rather than blaming the file.
    assert "GDAL does not know the encoding name 'latin-1'" in _refused(db_session, path, encoding="latin-1")[0].reason
    assert _import(db_session, path, encoding="GBK").created == 6


def test_gbk_shapefile_imports_correctly_with_encoding_gbk(db_session, tmp_path):
    path = _gbk_shapefile_without_cpg(tmp_path)

    report = _import(db_session, path, encoding="GBK")

    assert report.created == 6
    assert report.summary().endswith("Text was read as GBK.")
    assert _names(db_session) == {code: name for code, name in DALI_NAMES.items() if code != "532922100201003"}


def test_gbk_shapefile_with_its_cpg_imports_without_an_option(db_session, tmp_path):
    path = _write_dali(tmp_path / "dali_gbk.shp", "ESRI Shapefile", encoding="GBK")

    assert _import(db_session, path).created == 6
    assert _names(db_session)["532922"] == "漾濞彝族自治县"


def test_cli_encoding_option(app, db_session, tmp_path):
    path = _gbk_shapefile_without_cpg(tmp_path)
    runner = app.test_cli_runner()

    refused = runner.invoke(args=["areas", "import", str(path)])
    assert refused.exit_code == 1
    assert "run again with --encoding GBK" in refused.output
    done = runner.invoke(args=["areas", "import", str(path), "--encoding", "GBK"])
    assert done.exit_code == 0, done.output
    assert "(created 6, updated 0, unchanged 0). Text was read as GBK." in done.output


def test_encoding_of_a_utf8_format_or_unknown_is_refused(db_session, tmp_path):
    assert "--encoding is for Shapefiles and CSV files only" in _refused(db_session, GOOD, encoding="GBK")[0].reason
    assert "unknown encoding 'klingon'" in _refused(db_session, GOOD, encoding="klingon")[0].reason
    assert _import(db_session, GOOD, encoding="UTF-8").created == 7


def test_gbk_csv_without_encoding_is_refused_and_imports_with_it(db_session, tmp_path):
    _import(db_session, GOOD)
    path = tmp_path / "villages_gbk.csv"
    path.write_bytes("统计用区划代码,城乡分类代码,名称\r\n532922100202,220,石坪村\r\n".encode("gbk"))

    reason = _refused(db_session, path)[0].reason
    assert reason.startswith("the text of villages_gbk.csv is not UTF-8")
    assert "run again with --encoding GBK" in reason

    assert _import(db_session, path, encoding="GBK").created == 1
    assert db_session.get(Area, "532922100202").name_zh == "石坪村"


# --- 3. Attribute-only layers -------------------------------------------------------------------------------------


def test_nbs_township_csv_with_bom_and_chinese_headers_imports_without_geometry(db_session):
    _import(db_session, GOOD)

    report = _import(db_session, NBS_TOWNSHIPS, trim_padded=True)

    assert (report.created, report.levels[AreaLevel.township]) == (9, 9)
    townships = db_session.execute(select(Area.code, Area.name_zh, Area.level, Area.parent_code, Area.boundary,
                                          Area.centroid).where(Area.code.in_(YANGBI_TOWNSHIPS))).all()
    assert {code: name for code, name, *_ in townships} == YANGBI_TOWNSHIPS
    assert {(level, parent, boundary, centroid) for _c, _n, level, parent, boundary, centroid in townships} == {
        (AreaLevel.township, "532922", None, None)}
    summary = report.summary()
    assert summary.startswith("Imported 9 areas from nbs_yangbi_townships.csv: 9 townships "
                              "(created 9, updated 0, unchanged 0). The layer has no geometry")
    assert "no CRS" not in summary


def test_nbs_village_csv_updates_names_and_keeps_stored_boundaries(db_session, tmp_path):
    _import(db_session, GOOD)
    path = tmp_path / "villages.csv"
    path.write_text("\ufeff统计用区划代码,城乡分类代码,名称\n532922100201,220,光明村委会\n532922100202,220,石坪村\n",
                    encoding="utf-8")

    report = _import(db_session, path)

    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    village = db_session.get(Area, "532922100201")
    db_session.refresh(village)
    assert (village.name_zh, village.boundary is not None) == ("光明村委会", True)
    assert db_session.get(Area, "532922100202").parent_code == "532922100"


def test_geopackage_attribute_table_imports(db_session, tmp_path):
    path = _write_dali(tmp_path / "dali_table.gpkg", "GPKG", geometry=False)
    assert pyogrio.list_layers(path)[0][1] is None

    report = _import(db_session, path)

    assert (report.created, report.without_geometry) == (7, True)
    assert db_session.scalar(select(func.count()).select_from(Area).where(Area.boundary.is_not(None))) == 0


def test_cli_imports_an_nbs_list(app, db_session):
    _import(db_session, GOOD)

    result = app.test_cli_runner().invoke(args=["areas", "import", str(NBS_TOWNSHIPS), "--trim-padded"])

    assert result.exit_code == 0, result.output
    assert "Trimmed the zero padding of 9 code(s), e.g. 532922101000 to 532922101." in result.output
    assert "Traceback" not in result.output


# --- 4. Codes padded to 12 digits ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("written", "trimmed"), [
    ("532922100000", "532922100"), ("532922000000", "532922"), ("532900000000", "5329"), ("530000000000", "53"),
    ("532900", "5329"), ("532922", None), ("532922100201", None), ("53292210", None), ("532922100201003", None),
    ("53", None),
])
def test_unpadded_trims_only_whole_zero_segments(written, trimmed):
    assert unpadded(written) == trimmed


def test_padded_codes_are_refused_with_the_trimmed_code(db_session):
    _import(db_session, GOOD)

    problems = _refused(db_session, NBS_TOWNSHIPS)

    assert [(p.row, p.code) for p in problems] == [(n, f"{code}000") for n, code in enumerate(YANGBI_TOWNSHIPS, 1)]
    assert problems[0].reason == (
        "code 532922101000 looks padded with zeros to 12 digits: the township's code is 532922101 (9 digits); write "
        "it so, or run again with --trim-padded (编码疑似补零，应为 532922101)")
    assert _area_count(db_session) == 7


def test_padded_codes_with_a_level_column_are_trimmed_and_counted(db_session, tmp_path):
    path = _write_geojson(tmp_path / "padded.geojson", [
        ("530000000000", "province", "云南省"), ("532900000000", "prefecture", "大理白族自治州"),
        ("532922000000", "county", "漾濞彝族自治县"), ("532922101000", "township", "苍山西镇"),
        ("532922101201", "admin_village", "某村"),
    ])
    problems = _refused(db_session, path)
    assert "the county's code is 532922 (6 digits)" in problems[2].reason
    # The village is refused for nothing: its parent is in the file, padded.
    assert [p.row for p in problems] == [1, 2, 3, 4]

    report = _import(db_session, path, trim_padded=True)

    assert (report.created, len(report.trimmed)) == (5, 4)
    assert report.summary().endswith("Trimmed the zero padding of 4 code(s), e.g. 530000000000 to 53.")
    assert db_session.get(Area, "532922101201").parent_code == "532922101"


def test_a_padded_code_trimmed_to_the_wrong_level_or_onto_another_row_is_refused(db_session, tmp_path):
    path = _write_geojson(tmp_path / "padded.geojson", [
        ("53", "province", "云南省"), ("530000000000", None, "云南"), ("5329", "prefecture", "大理"),
        ("532922000000", "township", "漾濞"),
    ])

    problems = _refused(db_session, path, trim_padded=True)

    assert [(p.row, p.code) for p in problems] == [(2, "530000000000"), (2, "530000000000"), (4, "532922000000")]
    assert _area_count(db_session) == 0
    assert "missing level" in problems[0].reason
    assert "duplicate code: also on row 1" in problems[1].reason
    assert "code 532922 has 6 digits but a township code has 9" in problems[2].reason


# --- 5. Re-importing what is stored -------------------------------------------------------------------------------


def test_reimporting_an_unchanged_file_leaves_the_feed_alone(db_session):
    _import(db_session, GOOD)
    _import(db_session, NBS_TOWNSHIPS, trim_padded=True)
    feed = _feed(db_session)
    assert len(feed) == 16

    again = _import(db_session, GOOD)
    again_list = _import(db_session, NBS_TOWNSHIPS, trim_padded=True)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 7)
    assert (again_list.created, again_list.updated, again_list.unchanged) == (0, 0, 9)
    assert again.summary().endswith("(created 0, updated 0, unchanged 7).")
    assert _feed(db_session) == feed


def test_a_changed_area_alone_moves_in_the_feed(db_session, tmp_path):
    _import(db_session, GOOD)
    before = _feed(db_session)
    document = json.loads(GOOD.read_text(encoding="utf-8"))
    for feature in document["features"]:
        if feature["properties"]["code"] == "532931":
            feature["properties"]["name_en"] = "Jianchuan County"
    changed = tmp_path / "renamed.geojson"
    changed.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    report = _import(db_session, changed)

    after = _feed(db_session)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 6)
    assert {code for code in after if after[code] != before[code]} == {"532931"}
    audit = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "areas.import")
                               .order_by(AuditEntry.id.desc())).first()
    assert (audit.details["updated"], audit.details["unchanged"]) == (1, 6)


# --- 6. --retire-missing ------------------------------------------------------------------------------------------


def test_retire_missing_with_nothing_missing_imports_and_says_so(db_session):
    _import(db_session, GOOD)

    report = _import(db_session, GOOD, retire_missing=True)

    assert report.summary().endswith("--retire-missing: every stored area under 53 is in the file; none to retire.")


# Yangbi as a county file: the county and two townships, each with an administrative and a natural village.
YANGBI_FILE = [
    ("532922", "county", "漾濞彝族自治县"),
    ("532922100", "township", "苍山西镇"), ("532922100201", "admin_village", "光明村"),
    ("532922100201003", "natural_village", "光明一组"),
    ("532922102", "township", "漾江镇"), ("532922102201", "admin_village", "双涧村"),
    ("532922102201001", "natural_village", "双涧一组"),
]
YANGJIANG = ("532922102", "532922102201", "532922102201001")  # a township and its villages


def _retired(session: Session) -> set[str]:
    return set(session.scalars(select(Area.code).where(Area.retired_at.is_not(None))))


def test_retire_missing_retires_a_township_the_county_file_lacks_and_its_villages_and_a_later_file_brings_them_back(
        db_session, tmp_path):
    _import(db_session, GOOD)
    whole = _write_geojson(tmp_path / "yangbi.geojson", YANGBI_FILE)
    without = _write_geojson(tmp_path / "yangbi_2027.geojson", [r for r in YANGBI_FILE if r[0] not in YANGJIANG])
    assert _import(db_session, whole).created == 3
    before = _feed(db_session)

    report = _import(db_session, without, retire_missing=True)

    # Only Yangjiang and its villages: not the township the file keeps, nor Jianchuan, outside the file's county.
    assert _retired(db_session) == set(YANGJIANG)
    assert (report.created, report.updated, report.unchanged, len(report.retired)) == (0, 0, 4, 3)
    assert report.summary().endswith(
        "--retire-missing: retired 3 area(s) under 532922 that the file no longer has (532922102 漾江镇, 532922102201 "
        "双涧村, 532922102201001 双涧一组); their households, villages and history keep their codes.")
    after = _feed(db_session)  # the retirement reaches the phones, and nothing else moves in the feed
    assert {code for code in after if after[code] != before[code]} == set(YANGJIANG)
    assert _area_count(db_session) == 10  # nothing deleted
    audit = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "areas.import")
                               .order_by(AuditEntry.id.desc())).first()
    assert (audit.details["retired"], audit.details["unretired"]) == (3, 0)

    again = _import(db_session, without, retire_missing=True)
    assert again.summary().endswith("--retire-missing: none to retire; the 3 stored area(s) under 532922 that the "
                                    "file lacks were retired before.")

    back = _import(db_session, whole)

    assert _retired(db_session) == set()
    assert (back.updated, back.unchanged, len(back.unretired)) == (3, 4, 3)
    assert back.summary().endswith("Un-retired 3 area(s) that the file has again (532922102 漾江镇, 532922102201 双涧村, "
                                   "532922102201001 双涧一组).")
    assert {code for code, seq in _feed(db_session).items() if seq != after[code]} == set(YANGJIANG)


def test_retire_missing_refuses_a_file_whose_row_would_lie_under_an_area_it_retires(db_session, tmp_path):
    _import(db_session, GOOD)
    document = json.loads(GOOD.read_text(encoding="utf-8"))
    document["features"] = [f for f in document["features"] if f["properties"]["code"] != "532922100"]
    without_township = tmp_path / "without_township.geojson"
    without_township.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    # The village's parent is stored, so the file alone is good; as a complete file it would retire that parent.
    assert _import(db_session, without_township).unchanged == 6

    problems = _refused(db_session, without_township, retire_missing=True)

    assert [(p.row, p.code) for p in problems] == [(6, "532922100201")]
    assert problems[0].reason.startswith("its parent 532922100 is not in this file, so --retire-missing would retire it")
    assert _retired(db_session) == set()


def test_retire_missing_takes_what_lies_under_a_missing_area_and_only_at_the_files_levels(db_session, tmp_path):
    _import(db_session, GOOD)
    _import(db_session, _write_geojson(tmp_path / "shaxi.geojson", [("532931101", "township", "沙溪镇")]))
    counties = _write_geojson(tmp_path / "counties.geojson", [
        ("53", "province", "云南省"), ("5329", "prefecture", "大理白族自治州"), ("532931", "county", "剑川县"),
    ])

    report = _import(db_session, counties, retire_missing=True)

    # Yangbi is gone, and with it its township and villages; a file of counties says nothing of Jianchuan's townships.
    assert "retired 4 area(s) under 53 that the file no longer has (532922 漾濞彝族自治县, 532922100 苍山西镇, " \
           "532922100201 光明村, 532922100201003 光明一组)" in report.summary()
    assert _retired(db_session) == {"532922", "532922100", "532922100201", "532922100201003"}
    # A row under a retired area is refused until its parent is imported again.
    problems = _refused(db_session, DATA / "good_new_natural_village.geojson")
    assert [(p.row, p.code) for p in problems] == [(1, "532922100201004")]
    assert problems[0].reason.startswith("parent 532922100201 is retired")


def test_cli_retire_missing_says_what_it_retired(app, db_session, tmp_path):
    _import(db_session, GOOD)
    counties = _write_geojson(tmp_path / "counties.geojson", [("5329", "prefecture", "大理白族自治州"),
                                                              ("532931", "county", "剑川县")])

    result = app.test_cli_runner().invoke(args=["areas", "import", str(counties), "--retire-missing"])

    assert result.exit_code == 0, result.output
    assert "--retire-missing: retired 4 area(s) under 5329 that the file no longer has" in result.output
    assert _retired(db_session) == {"532922", "532922100", "532922100201", "532922100201003"}


# --- 7. The demo stays out of a database with real areas ---------------------------------------------------------


def test_demo_refuses_a_database_holding_real_areas(db_session, tmp_path):
    kunming = _write_geojson(tmp_path / "kunming.geojson", [("53", "province", "云南省"), ("5301", "prefecture", "昆明市")])
    _import(db_session, kunming)
    assert demo_loader.is_loaded(db_session) is False

    with pytest.raises(Conflict) as refused:
        demo_loader.load(db_session, seed=1, size=demo.SIZES["small"], actor="test", progress=lambda _: None)

    assert "The database already holds 2 areas that are not the demo's (53 云南省, 5301 昆明市)" in refused.value.message
    assert "数据库已有 2 个真实区划" in refused.value.message
    assert _area_count(db_session) == 2


def test_demo_tells_real_dali_from_a_loaded_demo(db_session):
    _import(db_session, GOOD)
    assert demo_loader.is_loaded(db_session) is True

    with pytest.raises(Conflict) as refused:
        demo_loader.load(db_session, seed=1, size=demo.SIZES["small"], actor="test", progress=lambda _: None)

    assert "already exists without the demo accounts: Dali's real areas were imported" in refused.value.message
    assert _area_count(db_session) == 7
