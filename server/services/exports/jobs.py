"""Export jobs: asked for by a request, made by a worker thread of any app process, polled, then downloaded.

A job is claimed with FOR UPDATE SKIP LOCKED, so one process makes it; it writes its progress and a heartbeat as it
goes, in its own short transactions beside the long read. A job whose heartbeat stopped (its process was killed) is
claimed again and made from the start. Files are kept EXPORT_KEEP_HOURS, then removed and the job marked expired.

Each job is made as its asker is now: role and areas are read again when it runs, so a change applies to a job
still waiting (reliability C4).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.errors import Conflict, DomainError, Forbidden, NotFound
from core.masking import ExportView
from server.models import Action, AuditOutcome, ExportJob, ExportState, User, may
from server.services import audit
from server.services.auth import Principal, principal_of
from server.services.exports.requests import ExportRequest, count_rows, layers_for, make

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5
LOST_AFTER = timedelta(seconds=60)  # a running job without a heartbeat this long lost its worker


def submit(session: Session, viewer: Principal, request: ExportRequest) -> ExportJob:
    """Checks the request as the viewer (scope, grant, dataset) and queues it; the caller commits.

    Raises what layers_for raises, before anything is stored.
    """
    layers = layers_for(session, viewer, request)
    job = ExportJob(id=uuid.uuid4(), user_id=viewer.user_id, request=request.stored(), rows_total=count_rows(session, layers))
    session.add(job)
    session.flush()
    return job


def job_of(session: Session, viewer: Principal, job_id: uuid.UUID) -> ExportJob:
    """The viewer's own job. Raises NotFound for anyone else's: a job's file holds its asker's scope."""
    job = session.scalar(select(ExportJob).where(ExportJob.id == job_id, ExportJob.user_id == viewer.user_id))
    if job is None:
        raise NotFound(f"No export {job_id} of yours. 没有您的导出任务 {job_id}。")
    return job


def file_of(session: Session, viewer: Principal, job_id: uuid.UUID, directory: Path) -> tuple[ExportJob, Path]:
    """The finished job's file, for its asker as the asker is now; each download of an unmasked file is audited in the
    caller's transaction.

    Raises:
        NotFound: not the viewer's job.
        Conflict: not finished, failed or expired.
        Forbidden: an unmasked file, and the viewer no longer holds the grant that made it.
    """
    job = job_of(session, viewer, job_id)
    if job.state is not ExportState.done or job.file_name is None:
        raise Conflict(f"Export {job_id} is {job.state.value}, not ready to download. 导出任务尚未完成，无法下载。",
                       code="export_not_ready", details={"state": job.state.value})
    if job.request.get("unmasked"):
        ExportView(viewer.role, unmasked=True)  # refuses a reader who lost the grant since the file was made
        audit.record(session, "export.download", AuditOutcome.success, actor_id=viewer.user_id, actor=viewer.username,
                     target=str(job.id), area_code=job.request.get("area_code"))
    return job, directory / str(job.id) / job.file_name


def claim(session: Session) -> ExportJob | None:
    """The oldest waiting job (or one whose worker was lost), marked running; the caller commits."""
    lost = func.clock_timestamp() - LOST_AFTER
    job = session.scalar(select(ExportJob)
                         .where((ExportJob.state == ExportState.queued)
                                | ((ExportJob.state == ExportState.running) & (ExportJob.heartbeat_at < lost)))
                         .order_by(ExportJob.created_at).limit(1).with_for_update(skip_locked=True))
    if job is not None:
        job.state, job.rows_done = ExportState.running, 0
        job.started_at = job.heartbeat_at = func.clock_timestamp()
    return job


def run(app: Flask, job_id: uuid.UUID, directory: Path) -> None:
    """Makes one claimed job's file. Progress goes through a session of its own, committed as it goes, while the
    export reads in one long transaction."""
    from server.extensions import db  # noqa: PLC0415 (the app's engine, from inside its worker thread)

    with app.app_context(), Session(db.engine) as progress_session:
        session = db.session
        job = session.get(ExportJob, job_id)
        if job is None:
            return
        target = directory / str(job.id)
        target.mkdir(parents=True, exist_ok=True)
        done = _Progress(progress_session, job.id)
        try:
            user = session.get(User, job.user_id)
            if user is None or user.disabled_at is not None:
                raise NotFound("The user who asked for this export no longer exists or is disabled. "
                               "提出此导出的用户已不存在或已停用。")
            if not may(user.role, Action.export_data):  # the role changed while the job waited
                raise Forbidden()
            path, written = make(session, principal_of(user), ExportRequest.of(job.request), target,
                                 app.extensions["pii"], done)
            session.execute(update(ExportJob).where(ExportJob.id == job.id).values(
                state=ExportState.done, rows_done=sum(written.rows.values()), layers=written.rows,
                file_name=path.name, media_type=written.media_type, size_bytes=path.stat().st_size,
                sha256=_sha256(path), finished_at=func.clock_timestamp(),
                expires_at=func.clock_timestamp() + timedelta(hours=app.config["EXPORT_KEEP_HOURS"])))
            session.commit()
        except DomainError as error:
            session.rollback()
            _failed(session, job.id, {"code": error.code, "message": error.message, "details": error.details})
        except Exception:
            session.rollback()
            log.exception("export %s failed", job_id)
            _failed(session, job.id, {"code": "export_failed", "message": "The export failed; ask again. 导出失败，请重新提交。"})
        finally:
            db.session.remove()


def _failed(session: Session, job_id: uuid.UUID, error: dict[str, Any]) -> None:
    session.execute(update(ExportJob).where(ExportJob.id == job_id)
                    .values(state=ExportState.failed, error=error, finished_at=func.clock_timestamp()))
    session.commit()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Progress:
    """Rows written so far, saved with a heartbeat at most every HEARTBEAT_SECONDS."""

    def __init__(self, session: Session, job_id: uuid.UUID):
        self.session, self.job_id, self.rows, self.saved_at = session, job_id, 0, 0.0

    def __call__(self, rows: int) -> None:
        self.rows += rows
        if time.monotonic() - self.saved_at >= HEARTBEAT_SECONDS:
            self.session.execute(update(ExportJob).where(ExportJob.id == self.job_id)
                                 .values(rows_done=self.rows, heartbeat_at=func.clock_timestamp()))
            self.session.commit()
            self.saved_at = time.monotonic()


def expire(session: Session, directory: Path) -> int:
    """Removes the files of jobs past their time; the caller commits. Returns how many."""
    jobs = session.scalars(select(ExportJob).where(ExportJob.state == ExportState.done,
                                                  ExportJob.expires_at < func.clock_timestamp())).all()
    for job in jobs:
        shutil.rmtree(directory / str(job.id), ignore_errors=True)
        job.state = ExportState.expired
    return len(jobs)


class Worker:
    """The process's export worker: one thread, started when a job is asked for or polled here. It makes jobs until
    none waits, then stops after IDLE_SECONDS without one; a job asked in another process, or lost by it, is made by
    whichever process is asked about it next."""

    IDLE_SECONDS = 30

    def __init__(self, app: Flask, directory: Path):
        self.app, self.directory = app, directory
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def nudge(self) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name="export-worker", daemon=True)
                self.thread.start()
        self.wake.set()

    def _loop(self) -> None:
        from server.extensions import db  # noqa: PLC0415

        while True:
            self.wake.clear()
            try:
                with self.app.app_context():
                    job = claim(db.session)
                    job_id = job.id if job else None
                    expire(db.session, self.directory)
                    db.session.commit()
                    db.session.remove()
            except Exception:
                log.exception("export worker stopped")  # the next request that asks about a job starts it again
                return
            if job_id is not None:
                run(self.app, job_id, self.directory)
            elif not self.wake.wait(timeout=self.IDLE_SECONDS):
                return
