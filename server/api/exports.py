"""Exports: GET /exports/{dataset} for a small file at once, and export jobs for any size, polled then downloaded."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from flask import current_app, send_file, url_for
from flask_smorest import Blueprint

from schemas.exports import ExportDatasetSchema, ExportFiltersSchema, ExportJobIdSchema, ExportJobSchema, ExportRequestSchema
from server.api.guard import current_principal, requires
from server.extensions import db
from server.models import Action, ExportJob
from server.services.exports import jobs
from server.services.exports.requests import ExportRequest, make_now
from server.uow import unit_of_work

blp = Blueprint("exports", __name__, url_prefix="/api/v1", description="Exports for planners: GIS and office files")


def _worker() -> jobs.Worker:
    return current_app.extensions["export_worker"]


def _sent(path: Path, name: str, media_type: str, etag: str | None = None) -> Any:
    # conditional: Range requests are answered 206, so an interrupted download resumes where it stopped.
    response = send_file(path, mimetype=media_type, as_attachment=True, download_name=name, etag=etag or True,
                         conditional=True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.route("/exports/<dataset>")
@requires(Action.export_data)
@blp.arguments(ExportDatasetSchema, location="path", as_kwargs=True)
@blp.arguments(ExportFiltersSchema, location="query")
@blp.response(200, description="The file (a zip where the format holds one layer per file)")
@blp.alt_response(422, description="export_too_large: more rows than EXPORT_DIRECT_MAX_ROWS; ask a job instead")
def export_now(args, dataset: str):
    """A small export at once, made while you wait; larger ones are jobs (POST /export-jobs)."""
    _worker().directory.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=_worker().directory, prefix="now-"))
    try:
        with unit_of_work():  # its audit row
            path, written = make_now(db.session, current_principal(), ExportRequest.of({**args, "dataset": dataset}),
                                     work, current_app.extensions["pii"], current_app.config["EXPORT_DIRECT_MAX_ROWS"])
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    response = _sent(path, written.filename, written.media_type)
    response.call_on_close(lambda: shutil.rmtree(work, ignore_errors=True))
    return response


def _described(job: ExportJob) -> dict[str, Any]:
    progress = None
    if job.rows_total:
        progress = round(min(100.0, 100.0 * job.rows_done / job.rows_total), 1)
    elif job.state.value == "done":
        progress = 100.0
    download = url_for("exports.download_export", job_id=job.id) if job.state.value == "done" else None
    return {**{c: getattr(job, c) for c in ("id", "state", "request", "rows_total", "rows_done", "layers", "file_name",
                                            "media_type", "size_bytes", "sha256", "error", "created_at", "finished_at",
                                            "expires_at")},
            "progress": progress, "download": download}


@blp.route("/export-jobs", methods=["POST"])
@requires(Action.export_data)
@blp.arguments(ExportRequestSchema)
@blp.response(202, ExportJobSchema, headers={"Location": {"description": "where to poll it",
                                                          "schema": {"type": "string"}}})
def submit_export(args):
    """Ask for an export of any size: it is checked now (areas, grant, dataset) and made in the background."""
    with unit_of_work():
        job = jobs.submit(db.session, current_principal(), ExportRequest.of(args))
    _worker().nudge()
    return _described(job), 202, {"Location": url_for("exports.get_export", job_id=job.id)}


@blp.route("/export-jobs/<uuid:job_id>")
@requires(Action.export_data)
@blp.arguments(ExportJobIdSchema, location="path", as_kwargs=True)
@blp.response(200, ExportJobSchema)
@blp.alt_response(404, description="No such export of yours")
def get_export(job_id: uuid.UUID):
    """An export job's state and progress; `download` is set once it is done."""
    _worker().nudge()  # a job asked of a process that has since stopped is made by this one
    return _described(jobs.job_of(db.session, current_principal(), job_id))


@blp.route("/export-jobs/<uuid:job_id>/file")
@requires(Action.export_data)
@blp.arguments(ExportJobIdSchema, location="path", as_kwargs=True)
@blp.response(200, description="The file; Range is accepted, so an interrupted download resumes")
@blp.alt_response(404, description="No such export of yours")
@blp.alt_response(403, description="An unmasked file, and you no longer hold the grant that made it")
@blp.alt_response(409, description="export_not_ready: still being made, failed or expired")
def download_export(job_id: uuid.UUID):
    with unit_of_work():  # the audit row of an unmasked file's download
        job, path = jobs.file_of(db.session, current_principal(), job_id, _worker().directory)
    return _sent(path, job.file_name or path.name, job.media_type or "application/octet-stream", etag=job.sha256)
