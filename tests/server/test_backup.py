"""Backup and restore (P5 of reliability.md): back up a real database with photos, restore into an empty PostGIS, compare.

The source is a scratch database migrated, with the forms and the small demo (tools.live_server.prepare), and a
household visit pushed through the API with its photos uploaded (the canary). Nothing is mocked: pg_dump, pg_restore
and the attachment store are the real ones. The checks here compute their own per-table checksums (an ordered MD5 of
every row, not the restore's own sum) so the restore's verification is not marking its own work.

Source and target share one cluster, so one transaction id space. To stand for a backup made on a cluster that had run
far longer than the fresh one it is restored into (docs/scaling.md, "Restores and failovers": feed txids up to 130,068,
a new cluster's near 725), the source's feed rows are moved far above this cluster's transaction ids before the backup.
"""

from __future__ import annotations

import base64
import hashlib
import random
import secrets
import shutil
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, make_url, select, text
from sqlalchemy.exc import DBAPIError

from server import config, paging
from server.app import create_app
from server.extensions import db
from server.models import FormVersion
from server.services.app_role import RELATIONS
from server.services.backup import sealed
from server.services.backup.sealed import ArchiveUnreadable, SealedReader, SealedWriter
from survey_forms.definition import FormDefinition
from tests.conftest import scratch_database
from tools import live_server
from tools.live_server import Database
from tools.simulate import photos
from tools.simulate.make import Subject, make_item

ENUMERATOR = ("demo_enumerator", "yangbi-walnut-survey-47")
OTHER_KEY = base64.b64encode(b"another installation's backupkey").decode()
# How far the source's feed txids are moved above this cluster's before the backup (see the module's docstring).
XID_JUMP = 1_000_000_000
# Columns a restore rewrites by design (restore.py: _renumber): the feed's txids, and its epoch's one row.
RENUMBERED = {"sync_change": ("txid",), "sync_feed": ("epoch", "started_at", "reason")}


@dataclass(frozen=True)
class Source:
    database: Database
    attachments: Path
    archive: Path
    canary: dict[str, bytes]  # sha256 -> bytes of the photos uploaded
    pulled: frozenset[tuple[str, str]]  # (kind, id) of every change the demo enumerator's device pulled before the backup
    cursor: str  # the cursor that device kept
    # A cursor at the backed-up feed's last position, in its epoch: what a device holds that pulled everything from the
    # source, had the source's cluster given out those transaction ids (here they are above every pull's horizon).
    newest: str
    newest_position: tuple[int, int]
    hidden: dict[str, Any]  # the answer to a first pull on the source once its feed was moved far ahead


def _app(database: Database, attachments: Path, **overrides: str) -> Flask:
    return create_app({**database.overrides(), "TESTING": True, "ATTACHMENT_DIR": str(attachments), **overrides})


def _dispose(app: Flask) -> None:
    with app.app_context():
        db.engine.dispose()


def _visit_with_photos(app: Flask) -> dict[str, bytes]:
    """A household visit pushed by the demo enumerator, its photos uploaded; returns the photos by SHA-256."""
    with app.app_context():
        form = db.session.scalar(select(FormVersion).where(FormVersion.form_id == "household_visit"))
        definition = FormDefinition.from_document(form.definition)
        villages = db.session.scalars(text("SELECT code FROM area WHERE level = 'natural_village' "
                                           "AND code LIKE '532922%' ORDER BY code")).all()
        db.session.remove()
    rng = random.Random(5)  # noqa: S311 - test data
    # Photos the size of a phone's (incompressible bytes), so the archive spans several sealed chunks.
    item = next(made.item for made in (make_item(definition, Subject("household", villages[0]), rng, members=3,
                                                 photo_bytes=(700_000, 900_000)) for _ in range(20))
                if len(made.item["attachments"]) >= 2)
    client = app.test_client()
    token = client.post("/api/v1/auth/device-tokens", json={"username": ENUMERATOR[0], "password": ENUMERATOR[1],
                                                            "device_id": "backup-test"}).json["token"]
    auth = {"Authorization": f"Bearer {token}"}
    pushed = client.post("/api/v1/sync/submissions", headers=auth, json={
        "device_id": "backup-test", "sent_at": "2026-11-22T09:30:00+08:00", "submissions": [item]})
    assert pushed.status_code == 200 and pushed.json["results"][0]["status"] == "accepted", pushed.json
    uploaded = {}
    for declared in item["attachments"]:
        body = photos.file_bytes(item["uuid"], declared["name"], declared["size"])
        answer = client.put(f"/api/v1/submissions/{item['uuid']}/attachments/{declared['name']}", data=body,
                            headers={**auth, "X-Content-SHA256": declared["sha256"], "Content-Type": declared["content_type"]})
        assert answer.status_code == 201, answer.json
        uploaded[declared["sha256"]] = body
    return uploaded


def _device(app: Flask) -> dict[str, str]:
    """A new token of the demo enumerator's phone."""
    answer = app.test_client().post("/api/v1/auth/device-tokens", json={
        "username": ENUMERATOR[0], "password": ENUMERATOR[1], "device_id": "backup-test"})
    assert answer.status_code == 201, answer.json
    return {"Authorization": f"Bearer {answer.json['token']}"}


def _pull(app: Flask, auth: dict[str, str], cursor: str | None = None) -> dict[str, Any]:
    query = {"limit": 500} | ({"cursor": cursor} if cursor else {})
    answer = app.test_client().get("/api/v1/sync/changes", query_string=query, headers=auth)
    assert answer.status_code == 200, answer.json
    return answer.json


def _settle(app: Flask, seconds: float = 120) -> None:
    """Waits until no transaction older than the newest feed row is open anywhere in the cluster.

    A pull gives only rows below pg_snapshot_xmin (guarantee 1 of protocol.md), so a transaction open elsewhere on the
    shared server (another test, a benchmark) holds every pull back until it ends.
    """
    deadline = time.monotonic() + seconds
    with app.app_context():
        while db.session.scalar(text("SELECT coalesce(max(txid), '0'::xid8) >= pg_snapshot_xmin(pg_current_snapshot()) "
                                     "FROM sync_change")):
            db.session.rollback()
            if time.monotonic() > deadline:
                holders = db.session.execute(text(
                    "SELECT pid, datname, state, backend_xid::text, now() - xact_start FROM pg_stat_activity "
                    "WHERE backend_xid IS NOT NULL ORDER BY xact_start")).all()
                pytest.fail(f"the feed is held back for {seconds} s by transactions open in the cluster: {holders}")
            time.sleep(0.1)
        db.session.rollback()


def _pull_all(app: Flask, auth: dict[str, str], cursor: str | None = None) -> tuple[list[dict[str, Any]], str]:
    """Every change from the cursor on, page by page, and the cursor to keep."""
    _settle(app)
    changes: list[dict[str, Any]] = []
    while True:
        page = _pull(app, auth, cursor)
        changes += page["changes"]
        cursor = page["cursor"]
        if not page["has_more"]:
            return changes, cursor


def _keys(changes: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(change["kind"], change["id"]) for change in changes}


def _feed_far_ahead(database: Database) -> tuple[tuple[int, int], str]:
    """Moves the feed's txids XID_JUMP above, keeping their order; the last position and the epoch after it."""
    engine = create_engine(database.admin_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE sync_change SET txid = "
                                    "CAST(CAST(CAST(CAST(txid AS text) AS bigint) + :jump AS text) AS xid8)"),
                               {"jump": XID_JUMP})
            txid, seq = connection.execute(text("SELECT CAST(CAST(txid AS text) AS bigint), seq FROM sync_change "
                                                "ORDER BY txid DESC, seq DESC LIMIT 1")).one()
            epoch = connection.scalar(text("SELECT epoch FROM sync_feed"))
    finally:
        engine.dispose()
    return (txid, seq), epoch.hex


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    """A database with the demo and a visit with photos, and its backup (made once for the module)."""
    tmp = tmp_path_factory.mktemp("backup")
    with scratch_database("survey_backup_source") as database:
        live_server.prepare(database)
        app = _app(database, tmp / "source-files")
        canary = _visit_with_photos(app)
        auth = _device(app)
        pulled, cursor = _pull_all(app, auth)
        newest_position, epoch = _feed_far_ahead(database)
        hidden = _pull(app, auth)  # before the backup: what the tests compare with it is not touched after
        result = app.test_cli_runner().invoke(args=["backup", str(tmp)])
        _dispose(app)
        assert result.exit_code == 0, result.output
        (archive,) = tmp.glob("survey-*.backup")
        yield Source(database, tmp / "source-files", archive, canary, frozenset(_keys(pulled)), cursor,
                     paging.encode([epoch, *newest_position]), newest_position, hidden)


@pytest.fixture
def target(tmp_path: Path) -> Iterator[tuple[Database, Path]]:
    """An empty database (no PostGIS yet, as CREATE DATABASE makes it) and an empty attachment folder."""
    with scratch_database("survey_restore_target") as database:
        yield database, tmp_path / "restored-files"


def _restore(database: Database, attachments: Path, archive: Path, **overrides: str):
    app = _app(database, attachments, **overrides)
    try:
        return app.test_cli_runner().invoke(args=["restore", str(archive)])
    finally:
        _dispose(app)


def _tables(url: str) -> dict[str, tuple[int, str]]:
    """Each of our tables' rows and an MD5 of its rows' MD5s in order: computed here, independently of the restore.

    The columns in RENUMBERED are left out: a restore rewrites them by design (test_a_restore_renumbers_the_feed...).
    """
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SET TimeZone = 'UTC'"))
            names = [name for name, kind, _ in connection.execute(RELATIONS) if kind == "r"]
            rows = {name: "md5((to_jsonb(t) - CAST(ARRAY[{}] AS text[]))::text)".format(
                ", ".join(f"'{column}'" for column in RENUMBERED[name])) if name in RENUMBERED else "md5(t::text)"
                for name in names}
            return {name: tuple(connection.execute(text(
                f'SELECT count(*), md5(coalesce(string_agg({rows[name]}, \'\' ORDER BY {rows[name]}), \'\')) FROM "{name}" t'
            )).one()) for name in names}
    finally:
        engine.dispose()


def _feed(url: str) -> tuple[list[tuple[int, int]], str, str]:
    """The feed's positions (txid, seq) in feed order, and its epoch and what started it."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            positions = connection.execute(text("SELECT CAST(CAST(txid AS text) AS bigint), seq FROM sync_change "
                                                "ORDER BY txid, seq")).tuples().all()
            epoch, reason = connection.execute(text("SELECT epoch, reason FROM sync_feed")).one()
            return positions, epoch.hex, reason
    finally:
        engine.dispose()


def _files(root: Path) -> dict[str, str]:
    """Every stored attachment file: its name and the SHA-256 of its bytes."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in root.glob("??/*")}


def _untouched(database: Database, attachments: Path) -> None:
    engine = create_engine(database.admin_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(RELATIONS).all() == []
            assert connection.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'postgis'")) == 0
    finally:
        engine.dispose()
    assert _files(attachments) == {}


def test_restore_into_an_empty_postgis_gives_equal_rows_checksums_and_files(source, target):
    database, attachments = target
    result = _restore(database, attachments, source.archive)
    assert result.exit_code == 0, result.output
    assert "match the backup" in result.output
    before, after = _tables(source.database.admin_url), _tables(database.admin_url)
    assert after == before
    assert before["submission"][0] >= 1 and before["household"][0] > 0 and before["audit_log"][0] > 0
    assert after["attachment"][0] == len(source.canary) > 0
    stored = _files(attachments)
    assert stored == _files(source.attachments) and all(name == sha for name, sha in stored.items())
    for sha256, body in source.canary.items():
        assert (attachments / sha256[:2] / sha256).read_bytes() == body


def test_a_restore_renumbers_the_feed_into_this_clusters_transactions_in_a_new_epoch(source, target):
    """Each restored feed row carries the restoring transaction's id, in the same order, and the epoch is new; the
    restore's own comparison with the manifest still passes (restore.py: _renumbering_checked)."""
    database, attachments = target
    result = _restore(database, attachments, source.archive)
    assert result.exit_code == 0, result.output
    assert "match the backup" in result.output and "starts over from the beginning" in result.output
    (before, source_epoch, _), (after, epoch, reason) = _feed(source.database.admin_url), _feed(database.admin_url)
    assert len(after) == len(before) > 0
    assert [seq for _, seq in after] == [seq for _, seq in before]  # the same order
    (txid,) = {txid for txid, _ in after}  # one transaction's, the restore's: below the source's, far ahead
    assert txid < min(txid for txid, _ in before) - XID_JUMP // 2
    assert epoch != source_epoch and reason == "flask restore"


def test_after_a_restore_devices_start_over_and_get_what_was_restored_and_every_later_change(source, target):
    """A device's cursor from before the restore starts it over: it gets everything, then what comes after.

    The source's feed rows, far above this cluster's transaction ids, are what a restore without renumbering would
    leave: no pull sees them. Restored and renumbered, they are there for a first pull.
    """
    assert source.hidden["changes"] == [] and source.hidden["held_back"] is True
    database, attachments = target
    assert _restore(database, attachments, source.archive).exit_code == 0
    app = _app(database, attachments)
    try:
        auth = _device(app)
        first, cursor = _pull_all(app, auth)
        assert _keys(first) == source.pulled and len(first) == len(source.pulled)
        assert any(kind == "household" for kind, _ in source.pulled)
        # The cursor the device kept from the source, and one at the source feed's far end: both start over.
        for before in (source.cursor, source.newest):
            again, _ = _pull_all(app, auth, before)
            assert _keys(again) == source.pulled, before
        with app.app_context():
            household = db.session.scalar(text(
                "INSERT INTO household (area_code, household_no) SELECT code, 'after-restore' FROM area "
                "WHERE level = 'natural_village' AND code LIKE '532922%' ORDER BY code LIMIT 1 RETURNING id"))
            db.session.commit()
            # What the epoch saves that device from: at its old position, it would never see the new household.
            assert db.session.scalar(text(
                "SELECT count(*) FROM sync_change WHERE (txid, seq) > (CAST(CAST(:txid AS text) AS xid8), :seq)"),
                dict(zip(("txid", "seq"), source.newest_position, strict=True))) == 0
            db.session.rollback()
        new = ("household", str(household))
        later, _ = _pull_all(app, auth, cursor)
        assert _keys(later) == {new}
        again, _ = _pull_all(app, auth, source.newest)
        assert _keys(again) == source.pulled | {new}
    finally:
        _dispose(app)


def _privileges(url: str) -> list[tuple[str, str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            ours = {name for name, _, _ in connection.execute(RELATIONS)}  # PostGIS's own keep the extension's grants
            return [row for row in connection.execute(text(
                "SELECT relname, relkind::text, coalesce(relacl::text, '') FROM pg_class "
                "WHERE relnamespace = current_schema()::regnamespace ORDER BY relname")) if row[0] in ours]
    finally:
        engine.dispose()


def test_the_app_role_gets_its_privileges_back_and_still_cannot_rewrite_the_audit_log(source, target):
    database, attachments = target
    assert _restore(database, attachments, source.archive).exit_code == 0
    restored = _privileges(database.admin_url)
    assert restored == _privileges(source.database.admin_url)
    if database.owner_url:  # two roles: the app's is named in the grants (one role owns everything and needs none)
        role = make_url(database.url).username
        assert all(f"{role}=" in acl for _, _, acl in restored), restored
    engine = create_engine(database.url)  # as the app connects: survey_app, which owns nothing
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM household")) > 0
            with pytest.raises(DBAPIError, match="permission denied"):
                connection.execute(text("UPDATE audit_log SET action = 'x'"))
    finally:
        engine.dispose()


def test_a_wrong_key_exits_100_and_changes_nothing(source, target):
    database, attachments = target
    result = _restore(database, attachments, source.archive, BACKUP_KEY=OTHER_KEY)
    assert result.exit_code == 100
    assert "备份密钥不对" in result.output and "Wrong key" in result.output
    _untouched(database, attachments)


def test_an_altered_archive_exits_100_and_changes_nothing(source, target, tmp_path):
    database, attachments = target
    altered = tmp_path / "altered.backup"
    shutil.copyfile(source.archive, altered)
    assert source.archive.stat().st_size > 2 * sealed.CHUNK  # so the chunks before the damage open, and hold files
    with altered.open("r+b") as file:  # one bit near the end, in the last photo: found only after the rest was read
        file.seek(altered.stat().st_size - 100)
        byte = file.read(1)
        file.seek(-1, 1)
        file.write(bytes([byte[0] ^ 1]))
    result = _restore(database, attachments, altered)
    assert result.exit_code == 100 and "The backup is damaged or was altered" in result.output, result.output
    _untouched(database, attachments)


def test_a_database_that_has_tables_is_refused(source, tmp_path):
    before = _tables(source.database.admin_url)
    result = _restore(source.database, tmp_path / "files", source.archive)
    assert result.exit_code == 1
    assert "目标数据库不是空的" in result.output and "The target database is not empty" in result.output
    assert _tables(source.database.admin_url) == before


@pytest.fixture
def ordinary_owner(target) -> Iterator[tuple[Database, Path, Engine]]:
    """The target owned by a role that is not a superuser, as on a managed server; and the administrator's engine."""
    database, attachments = target
    admin = create_engine(database.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        may = connection.scalar(text("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"))
    if not may:
        admin.dispose()
        pytest.skip("the test server's role cannot make a role to own the target")
    role, password = f"survey_backup_owner_{secrets.token_hex(4)}", secrets.token_hex(16)
    with admin.connect() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER PASSWORD '{password}'"))
        connection.execute(text(f'ALTER DATABASE "{make_url(database.url).database}" OWNER TO {role}'))
    owner_url = make_url(database.url).set(username=role, password=password).render_as_string(hide_password=False)
    try:
        yield Database(database.url, owner_url), attachments, admin
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{make_url(database.url).database}" OWNER TO CURRENT_USER'))
            connection.execute(text(f"DROP OWNED BY {role} CASCADE"))
            connection.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


def test_an_owner_that_is_not_a_superuser_is_told_to_have_postgis_created_then_restores(source, ordinary_owner):
    database, attachments, admin = ordinary_owner
    refused = _restore(database, attachments, source.archive)
    assert refused.exit_code == 1 and "CREATE EXTENSION postgis" in refused.output, refused.output
    _untouched(Database(database.url, admin.url.render_as_string(hide_password=False)), attachments)
    with admin.connect() as connection:  # the server's administrator, once, as for any new database (README)
        connection.execute(text("CREATE EXTENSION postgis"))
    result = _restore(database, attachments, source.archive)
    assert result.exit_code == 0, result.output
    assert _tables(database.owner_url) == _tables(source.database.admin_url)


def test_a_backup_refuses_a_damaged_attachment_and_leaves_no_archive(source, tmp_path):
    files = tmp_path / "files"
    shutil.copytree(source.attachments, files)
    victim = files / next(iter(source.canary))[:2] / next(iter(source.canary))
    victim.write_bytes(victim.read_bytes()[:-1])
    out = tmp_path / "out"
    out.mkdir()
    app = _app(source.database, files)
    result = app.test_cli_runner().invoke(args=["backup", str(out)])
    _dispose(app)
    assert result.exit_code == 1 and "missing or damaged" in result.output and victim.name in result.output
    assert list(out.iterdir()) == []


def test_production_refuses_the_development_backup_key():
    with pytest.raises(config.ConfigError, match="BACKUP_KEY"):
        config.backup_key({"SURVEY_ENV": "production", "BACKUP_KEY": config.DEV_BACKUP_KEY})
    assert config.backup_key({"SURVEY_ENV": "production", "BACKUP_KEY": OTHER_KEY}) == base64.b64decode(OTHER_KEY)
    with pytest.raises(config.ConfigError, match="32 bytes"):
        config.backup_key({"SURVEY_ENV": "development", "BACKUP_KEY": base64.b64encode(b"short").decode()})


# The sealed stream alone: chunks cannot be reordered, dropped, cut or extended unseen.

KEY = bytes(range(32))
PLAIN = random.Random(1).randbytes(3 * sealed.CHUNK + 12345)  # noqa: S311 - test bytes: four chunks


def _sealed(tmp_path: Path) -> tuple[bytes, list[tuple[int, int]]]:
    """A sealed file of PLAIN, and the (start, end) of each chunk record in it."""
    path = tmp_path / "stream"
    with path.open("wb") as file:
        writer = SealedWriter(file, KEY)
        for start in range(0, len(PLAIN), 100_000):
            writer.write(PLAIN[start:start + 100_000])
        writer.close()
    data, records, offset = path.read_bytes(), [], sealed.HEADER_BYTES
    while offset < len(data):
        (size,) = struct.unpack(">I", data[offset:offset + 4])
        records.append((offset, offset + 4 + size))
        offset += 4 + size
    return data, records


def _open(tmp_path: Path, data: bytes, key: bytes = KEY) -> bytes:
    path = tmp_path / "opened"
    path.write_bytes(data)
    with path.open("rb") as file:
        reader = SealedReader(file, key)
        plain = reader.read()
        reader.drain()
        return plain


def test_a_sealed_stream_opens_whole_and_only_whole(tmp_path):
    data, records = _sealed(tmp_path)
    assert len(records) == 4 and _open(tmp_path, data) == PLAIN
    (a, b), (c, d) = records[1], records[2]
    damaged = {
        "reordered": data[:a] + data[c:d] + data[a:b] + data[d:],
        "chunk dropped": data[:a] + data[b:],
        "cut after a chunk": data[:records[-1][0]],
        "cut inside a chunk": data[:-10],
        "bytes added": data + b"\0",
        "last chunk repeated": data + data[records[-1][0]:],
        "bit flipped": data[:a + 50] + bytes([data[a + 50] ^ 0x80]) + data[a + 51:],
    }
    for what, bytes_ in damaged.items():
        with pytest.raises(ArchiveUnreadable, match="damaged or was altered"):
            _open(tmp_path, bytes_)
            pytest.fail(what)
    with pytest.raises(ArchiveUnreadable, match="Wrong key"):
        _open(tmp_path, data, key=bytes(32))
