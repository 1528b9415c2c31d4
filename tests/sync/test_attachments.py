"""Attachments (S9, S10 of reliability.md): declared, hash-checked, idempotent, never overwritten, complete."""

import hashlib
import io
import os
import time

import pytest
from sqlalchemy import select

from server.models import Attachment
from sync.blobs import FileBlobStore
from tests.sync.conftest import batch, item

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 400  # a small JPEG-like body
SHA = hashlib.sha256(PHOTO).hexdigest()


@pytest.fixture
def auth(published, make_user, sign_in):
    make_user("enum_a")
    return sign_in("enum_a")["auth"]


@pytest.fixture
def submission(client, auth):
    sent = item(attachments=[{"name": "house_front.jpg", "sha256": SHA, "size": len(PHOTO), "content_type": "image/jpeg"},
                             {"name": "door.jpg", "sha256": "b" * 64, "size": 10, "content_type": "image/jpeg"}])
    assert client.post("/api/v1/sync/submissions", json=batch([sent]), headers=auth).status_code == 200
    return sent["uuid"]


def _put(client, auth, uuid, name="house_front.jpg", body=PHOTO, sha=SHA, content_type="image/jpeg"):
    return client.put(f"/api/v1/submissions/{uuid}/attachments/{name}", data=body,
                      headers={**auth, "X-Content-SHA256": sha, "Content-Type": content_type})


def test_first_upload_is_201_the_same_again_200_and_the_bytes_are_kept(app, client, db_session, auth, submission):
    first = _put(client, auth, submission)
    assert first.status_code == 201 and first.json == {"name": "house_front.jpg", "sha256": SHA, "size": len(PHOTO),
                                                       "complete": False}
    assert _put(client, auth, submission).status_code == 200
    assert app.extensions["blob_store"].read(SHA) == PHOTO
    assert db_session.scalars(select(Attachment.sha256)).all() == [SHA]


def test_a_body_that_is_not_the_declared_file_is_refused_and_nothing_is_kept(client, db_session, auth, submission):
    cut = PHOTO[: len(PHOTO) // 3]  # an upload cut off part way, as a proxy would leave it
    answer = _put(client, auth, submission, body=cut)
    assert answer.status_code == 400 and answer.json["error"]["code"] == "hash_mismatch"
    assert db_session.scalars(select(Attachment)).all() == []
    assert _put(client, auth, submission).status_code == 201  # resending the whole file works


def test_a_hash_other_than_the_declared_one_is_refused(client, auth, submission):
    other = hashlib.sha256(b"other").hexdigest()
    answer = _put(client, auth, submission, body=b"other", sha=other)
    assert answer.status_code == 400 and answer.json["error"]["code"] == "hash_mismatch"


def test_only_declared_names_and_allowed_types_are_accepted(client, auth, submission):
    assert _put(client, auth, submission, name="extra.jpg").json["error"]["code"] == "attachment_not_declared"
    answer = _put(client, auth, submission, content_type="application/x-sh")
    assert answer.status_code == 415


def test_completeness_counts_every_declared_file(client, auth, submission):
    assert _put(client, auth, submission).json["complete"] is False
    door = b"0123456789"
    sent = item(attachments=[{"name": "door.jpg", "sha256": hashlib.sha256(door).hexdigest(), "size": 10,
                              "content_type": "image/jpeg"}])
    client.post("/api/v1/sync/submissions", json=batch([sent]), headers=auth)
    answer = _put(client, auth, sent["uuid"], name="door.jpg", body=door, sha=hashlib.sha256(door).hexdigest())
    assert answer.status_code == 201 and answer.json["complete"] is True


def test_another_countys_submission_is_not_found(client, auth, submission, make_user, sign_in):
    make_user("enum_b", scope=("532931",))
    answer = _put(client, sign_in("enum_b")["auth"], submission)
    assert answer.status_code == 404


def test_a_file_over_20_mb_is_413(client, auth, submission):
    big = io.BytesIO(b"\0" * (20 * 1024 * 1024 + 10))
    answer = _put(client, auth, submission, body=big)
    assert answer.status_code == 413


def test_temporary_files_abandoned_by_a_killed_worker_are_swept_and_fresh_ones_kept(tmp_path):
    """S7 leaves a temporary file per upload a SIGKILL cut short; the next worker to start removes the old ones."""
    store = FileBlobStore(tmp_path)
    (tmp_path / "tmp").mkdir()
    abandoned, in_progress = tmp_path / "tmp" / "abandoned", tmp_path / "tmp" / "in-progress"
    abandoned.write_bytes(b"half a photo")
    in_progress.write_bytes(b"a photo on its way")
    old = time.time() - FileBlobStore.ABANDONED_SECONDS - 60
    os.utime(abandoned, (old, old))
    assert store.sweep_abandoned() == 1
    assert not abandoned.exists() and in_progress.exists()


def test_a_stored_file_is_durable_in_its_folder_before_put_returns(tmp_path, monkeypatch):
    """The rename of the whole file into place reaches the disk (its folder, and the store's root for a new folder)."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(descriptor: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    stored = FileBlobStore(tmp_path).put([PHOTO], SHA, 1 << 20)
    final = tmp_path / SHA[:2] / SHA
    assert final.read_bytes() == PHOTO and stored.size == len(PHOTO)
    # The file's bytes first, then the folder holding its new name, then the root holding the new folder.
    assert synced[1:] == [str(final.parent), str(tmp_path)]
