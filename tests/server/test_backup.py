"""Backup and restore (P5 of reliability.md): back up a real database with photos, restore into an empty PostGIS, compare.

The source is a scratch database migrated, with the forms and the small demo (tools.live_server.prepare), and a
household visit pushed through the API with its photos uploaded (the canary). Nothing is mocked: pg_dump, pg_restore
and the attachment store are the real ones. The checks here compute their own per-table checksums (an ordered MD5 of
every row, not the restore's own sum) so the restore's verification is not marking its own work.
"""

from __future__ import annotations

import base64
import hashlib
import random
import secrets
import shutil
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, make_url, select, text
from sqlalchemy.exc import DBAPIError

from server import config
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


@dataclass(frozen=True)
class Source:
    database: Database
    attachments: Path
    archive: Path
    canary: dict[str, bytes]  # sha256 -> bytes of the photos uploaded


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


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    """A database with the demo and a visit with photos, and its backup (made once for the module)."""
    tmp = tmp_path_factory.mktemp("backup")
    with scratch_database("survey_backup_source") as database:
        live_server.prepare(database)
        app = _app(database, tmp / "source-files")
        canary = _visit_with_photos(app)
        result = app.test_cli_runner().invoke(args=["backup", str(tmp)])
        _dispose(app)
        assert result.exit_code == 0, result.output
        (archive,) = tmp.glob("survey-*.backup")
        yield Source(database, tmp / "source-files", archive, canary)


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
    """Each of our tables' rows and an MD5 of its rows' MD5s in order: computed here, independently of the restore."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SET TimeZone = 'UTC'"))
            names = [name for name, kind, _ in connection.execute(RELATIONS) if kind == "r"]
            return {name: tuple(connection.execute(text(
                f'SELECT count(*), md5(coalesce(string_agg(md5(t::text), \'\' ORDER BY md5(t::text)), \'\')) FROM "{name}" t'
            )).one()) for name in names}
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
