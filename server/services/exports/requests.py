"""One export as a reader asks for it: which layers, in which format, filtered how; made into a file, audited if unmasked.

The API, the background jobs and the CLI all come through `make`, so scope, masking and the audit row are decided in
one place whatever the path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.masking import ExportView
from core.pii import Protector
from server.models import AuditOutcome
from server.services import audit
from server.services.auth import Principal
from server.services.exports.datasets import DATASETS, Filters, ReviewFilter, villages
from server.services.exports.files import Format, Progress, Written, write
from server.services.exports.indicators import indicator_layers
from server.services.exports.layers import Layer, Shape
from server.services.exports.ledgers import ledger_layers
from server.services.exports.submissions import submission_layers

INDICATORS = "indicators"
LEDGERS = "ledgers"
SUBMISSIONS = "submissions"
DATASET_NAMES = (*DATASETS, INDICATORS, LEDGERS, SUBMISSIONS)


@dataclass(frozen=True)
class ExportRequest:
    dataset: str
    format: Format
    area_code: str | None = None
    review: ReviewFilter = ReviewFilter.approved
    as_of: date | None = None
    form_id: str | None = None  # the form whose submissions are exported (dataset `submissions`)
    shape: Shape = Shape.point  # villages as points or boundaries
    unmasked: bool = False

    @classmethod
    def of(cls, values: dict[str, Any]) -> ExportRequest:
        """From the API schema's loaded values (or a job's stored request)."""
        return cls(dataset=values["dataset"], format=Format(values["format"]), area_code=values.get("area_code"),
                   review=ReviewFilter(values.get("review") or ReviewFilter.approved), as_of=_date(values.get("as_of")),
                   form_id=values.get("form_id"), shape=Shape(values.get("shape") or Shape.point),
                   unmasked=bool(values.get("unmasked")))

    def stored(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "format": self.format.value, "area_code": self.area_code,
                "review": self.review.value, "as_of": self.as_of.isoformat() if self.as_of else None,
                "form_id": self.form_id, "shape": self.shape.value, "unmasked": self.unmasked}

    @property
    def stem(self) -> str:
        """The file's name before its extension: what it holds, where, in which state."""
        parts = [self.form_id if self.dataset == SUBMISSIONS and self.form_id else self.dataset, self.area_code or "all",
                 self.review.value]
        if self.as_of:
            parts.append(self.as_of.isoformat())
        return "_".join(parts)


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def layers_for(session: Session, viewer: Principal, request: ExportRequest) -> list[Layer]:
    """The request's layers as this reader may read them.

    Raises:
        NotFound: the area is not in the reader's scope, or no such form.
        Forbidden: an unmasked export asked below the grant.
        InvalidInput: an unknown dataset, or a form missing for `submissions`.
    """
    view = ExportView(viewer.role, request.unmasked)
    filters = Filters(scope=viewer.scope, area_code=request.area_code, review=request.review, as_of=request.as_of)
    if request.dataset == "villages":
        return villages(filters, view, request.shape)
    if request.dataset in DATASETS:
        return DATASETS[request.dataset](filters, view)
    if request.dataset == INDICATORS:
        return indicator_layers(filters, view)
    if request.dataset == LEDGERS:  # the month of as_of (else this month) for the monthly table
        return ledger_layers(filters, view)
    if request.dataset == SUBMISSIONS:
        if not request.form_id:
            raise InvalidInput("Name the form whose submissions to export (form_id). 请指定要导出其提交记录的表单（form_id）。",
                               code="form_required")
        return submission_layers(session, filters, view, request.form_id)
    raise InvalidInput(f"No dataset {request.dataset!r}. 没有名为 {request.dataset!r} 的数据集。", code="unknown_dataset")


def count_rows(session: Session, layers: list[Layer]) -> int:
    """Rows the export will hold (the progress bar's end), counted by the same queries in the same scope."""
    return sum(session.scalar(select(func.count()).select_from(layer.query.subquery())) or 0 for layer in layers)


def make(session: Session, viewer: Principal, request: ExportRequest, directory: Path, protector: Protector,
         progress: Progress | None = None, layers: list[Layer] | None = None) -> tuple[Path, Written]:
    """Writes the export into `directory`, with its audit row in the caller's transaction (reliability P3: every
    export is a security event; an unmasked one is named apart, as a read of personal data)."""
    layers = layers if layers is not None else layers_for(session, viewer, request)
    audit.record(session, "export.personal_data" if request.unmasked else "export", AuditOutcome.success,
                 actor_id=viewer.user_id, actor=viewer.username, area_code=request.area_code, target=request.dataset,
                 details=request.stored())
    opened = protector.open_stored if request.unmasked else None
    return write(session, layers, request.format, directory, request.stem, progress, opened)


def make_now(session: Session, viewer: Principal, request: ExportRequest, directory: Path, protector: Protector,
             limit: int) -> tuple[Path, Written]:
    """An export made while the reader waits, into `directory`; the caller removes it once sent.

    Raises:
        InvalidInput: export_too_large, more than `limit` rows: a job is the way (and what layers_for raises).
    """
    layers = layers_for(session, viewer, request)
    rows = count_rows(session, layers)
    if rows > limit:
        raise InvalidInput(f"This export holds {rows} rows, more than {limit} made while you wait: ask for it with "
                           f"POST /api/v1/export-jobs and download it when it is done. "
                           f"此导出共 {rows} 行，超过即时导出上限 {limit} 行，"
                           "请通过 POST /api/v1/export-jobs 提交导出任务，完成后下载。",
                           code="export_too_large", details={"rows": rows, "limit": limit})
    return make(session, viewer, request, directory, protector, layers=layers)
