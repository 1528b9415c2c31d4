"""Backup and restore times (P5): `.venv/bin/python bench/backup_restore.py [--size medium --visits 200 --photo-kb 800]`.

Makes a scratch database (migrated, forms published, the demo of --size), pushes --visits household visits through the
API in process with their photos uploaded (about --photo-kb each, incompressible like real JPEGs), then times
`flask backup` and `flask restore` into a second, empty scratch database, both as the commands run: restore includes
checking the whole archive under its key first, and comparing row counts, table checksums and every attachment's
SHA-256 afterwards. Restore time is the RTO of a restore from a nightly dump (plus copying the archive to the machine).
RPO is not measured, but follows from how often backups are made: see the notes printed at the end.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402 - after the path set-up, so the script runs from anywhere

from server.app import create_app  # noqa: E402
from server.demo import ACCOUNTS, SIZES  # noqa: E402
from server.extensions import db  # noqa: E402
from server.models import FormVersion  # noqa: E402
from survey_forms.definition import FormDefinition  # noqa: E402
from tools import live_server  # noqa: E402
from tools.simulate import photos  # noqa: E402
from tools.simulate.make import Subject, make_item  # noqa: E402

ENUMERATOR = next(a for a in ACCOUNTS if a.username == "demo_enumerator")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="medium", help="demo data set of the source database")
    parser.add_argument("--visits", type=int, default=200, help="household visits pushed, with their photos")
    parser.add_argument("--photo-kb", type=int, default=800, help="about this many KB per photo (±25%%)")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def push_visits(app, visits: int, photo_kb: int, rng: random.Random) -> tuple[int, int]:
    """Pushes the visits and uploads their photos through the API in process; returns (files, bytes) uploaded."""
    with app.app_context():
        form = db.session.scalar(select(FormVersion).where(FormVersion.form_id == "household_visit"))
        definition = FormDefinition.from_document(form.definition)
        villages = db.session.scalars(text("SELECT code FROM area WHERE level = 'natural_village' AND code LIKE :scope "
                                           "ORDER BY code"), {"scope": ENUMERATOR.areas[0] + "%"}).all()
        db.session.remove()
    client = app.test_client()
    token = client.post("/api/v1/auth/device-tokens", json={"username": ENUMERATOR.username, "password": ENUMERATOR.password,
                                                            "device_id": "bench"}).json["token"]
    auth = {"Authorization": f"Bearer {token}"}
    size = photo_kb * 1024
    files = total = 0
    for _ in range(visits):
        item = make_item(definition, Subject("household", rng.choice(villages)), rng, members=4,
                         photo_bytes=(size * 3 // 4, size * 5 // 4)).item
        answer = client.post("/api/v1/sync/submissions", headers=auth, json={
            "device_id": "bench", "sent_at": "2026-11-22T09:30:00+08:00", "submissions": [item]})
        if answer.status_code != 200 or answer.json["results"][0]["status"] != "accepted":
            raise SystemExit(f"push not accepted: {answer.json}")
        for declared in item["attachments"]:
            body = photos.file_bytes(item["uuid"], declared["name"], declared["size"])
            answer = client.put(f"/api/v1/submissions/{item['uuid']}/attachments/{declared['name']}", data=body, headers={
                **auth, "X-Content-SHA256": declared["sha256"], "Content-Type": declared["content_type"]})
            if answer.status_code != 201:
                raise SystemExit(f"upload refused: {answer.json}")
            files, total = files + 1, total + len(body)
    return files, total


def timed(app, args: list[str]) -> float:
    started = time.monotonic()
    result = app.test_cli_runner().invoke(args=args)
    elapsed = time.monotonic() - started
    if result.exit_code != 0:
        raise SystemExit(f"flask {' '.join(args)} failed ({result.exit_code}):\n{result.output}")
    print(result.output.strip().splitlines()[-1])
    return elapsed


def main() -> int:
    args = parse()
    server = live_server.server()
    with tempfile.TemporaryDirectory(prefix="backup-bench-") as work, \
            live_server.scratch_database(server, "survey_backup_bench") as source, \
            live_server.scratch_database(server, "survey_restore_bench") as target:
        work_dir = Path(work)
        print(f"preparing: demo {args.size}, {args.visits} visits with photos of ~{args.photo_kb} KB…", file=sys.stderr)
        live_server.prepare(source, args.size)
        source_app = create_app({**source.overrides(), "ATTACHMENT_DIR": str(work_dir / "source-files")})
        files, total = push_visits(source_app, args.visits, args.photo_kb, random.Random(args.seed))  # noqa: S311
        with source_app.app_context():
            database_mb = db.session.scalar(text("SELECT pg_database_size(current_database())")) / 1e6
            db.engine.dispose()
        backup_seconds = timed(source_app, ["backup", str(work_dir / "survey.backup")])
        archive_mb = (work_dir / "survey.backup").stat().st_size / 1e6
        target_app = create_app({**target.overrides(), "ATTACHMENT_DIR": str(work_dir / "restored-files")})
        restore_seconds = timed(target_app, ["restore", str(work_dir / "survey.backup")])
        with target_app.app_context():
            db.engine.dispose()
    print(f"source: demo {args.size}, database {database_mb:,.1f} MB on disk, {files} attachments {total / 1e6:,.1f} MB")
    print(f"backup seconds: {backup_seconds:.1f}")
    print(f"archive MB: {archive_mb:,.1f}")
    print(f"restore seconds (RTO, verification included): {restore_seconds:.1f}")
    print("RPO, nightly `flask backup` alone: up to 24 h (what was committed since the last archive)")
    print("RPO, WAL archiving (archive_mode=on, archive_timeout=60): at most 60 s; "
          "with pg_receivewal --synchronous: the last commit (docs/operations.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
