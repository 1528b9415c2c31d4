"""The records the workbench links to: a household (its case steps and conflicts worked there), a village, and the
lists of open conflicts and monitoring cases."""

from __future__ import annotations

import re
import uuid

from flask import current_app, flash, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError

from core.errors import InvalidInput
from schemas.conflicts import ResolutionSchema
from schemas.households import CaseListArgsSchema, WorklistArgsSchema
from schemas.monitoring import ACTIONS, CATEGORIES, CHANNELS, STATES, MonitoringMoveSchema
from server.extensions import db
from server.models import Action, CaseStep
from server.paging import WORKLIST
from server.services import conflicts, elimination, households, monitoring
from server.uow import unit_of_work
from server.web import blueprint
from server.web.guard import page, reader
from server.web.i18n import t

_MEASURE_FIELDS = ("measure_type", "measure_scope", "measure_date", "amount_yuan", "responsible_person")


@blueprint.get("/households/<uuid:household_id>")
@page(Action.read_households)
def household_page(household_id: uuid.UUID):
    with unit_of_work():  # a read of unmasked ID numbers leaves an audit row
        household = households.household_view(db.session, reader(), household_id, current_app.extensions["pii"])
    return render_template("household.html", principal=reader(), h=household, actions=ACTIONS, categories=CATEGORIES,
                           channels=CHANNELS)


@blueprint.get("/villages/<area_code>")
@page(Action.read_households)
def village_page(area_code: str):
    village = households.village_view(db.session, reader(), area_code, current_app.extensions["pii"])
    return render_template("village.html", principal=reader(), v=village)


@blueprint.post("/households/<uuid:household_id>/monitoring")
@page(Action.move_monitoring_case)
def move_case(household_id: uuid.UUID):
    """One step of the household's case from the form on its page (the API's MonitoringMoveSchema checks it)."""
    form = request.form
    measure = {name: value for name in _MEASURE_FIELDS if (value := form.get(name, "").strip())}
    given = {name: value for name in ("action", "step_date", "minutes", "comment", "category", "channel")
             if (value := form.get(name, "").strip())}
    try:
        risk_types = [code for text in form.getlist("risk_types") for code in re.split(r"[\s,，、]+", text) if code]
        args = MonitoringMoveSchema().load({**given, "risk_types": risk_types,
                                            "measures": [measure] if measure else []})
    except ValidationError as error:
        raise InvalidInput(t("表单有误：", "Some fields are not valid: ") + ", ".join(error.messages)) from None
    step = monitoring.StepRequest(CaseStep(args.pop("action")), **args)
    config = current_app.config
    with unit_of_work():
        monitoring.move(db.session, reader(), household_id, step,
                        elimination.Settings(config["ELIMINATION_NOTICE_DAYS"], config["ELIMINATION_MONTHS_ABOVE_LINE"]))
    flash(t("已记录此步骤", "The step is recorded"))
    return redirect(url_for("web.household_page", household_id=household_id))


@blueprint.post("/conflicts/resolve")
@page(Action.resolve_conflicts)
def resolve_conflict():
    form = request.form
    try:
        args = ResolutionSchema().load({name: form[name] for name in ("property", "base_version", "choice", "comment")
                                        if form.get(name)})
    except ValidationError as error:
        raise InvalidInput(t("表单有误：", "Some fields are not valid: ") + ", ".join(error.messages)) from None
    entity_type, key = form.get("entity_type"), form.get("entity_id", "")
    if entity_type not in ("household", "village"):
        raise InvalidInput(t("未知的记录类型", "Unknown kind of record"))
    with unit_of_work():
        conflicts.resolve(db.session, reader(), entity_type, key, args["property"], args["base_version"],
                          args["choice"], args["comment"], current_app.extensions["pii"])
    flash(t("冲突已解决", "The conflict is resolved"))
    if entity_type == "household":
        return redirect(url_for("web.household_page", household_id=uuid.UUID(key)))
    return redirect(url_for("web.village_page", area_code=key))


@blueprint.get("/conflicts")
@page(Action.resolve_conflicts)
def conflict_list():
    args = _args(WorklistArgsSchema())
    rows = conflicts.open_in_scope(db.session, reader(), args["area_code"], WORKLIST)
    return render_template("conflicts.html", principal=reader(), rows=rows, area_code=args["area_code"],
                           limit=WORKLIST)


@blueprint.get("/cases")
@page(Action.move_monitoring_case)
def case_list():
    args = _args(CaseListArgsSchema())
    rows = monitoring.cases_in_scope(db.session, reader(), args["state"], args["area_code"], WORKLIST)
    return render_template("cases.html", principal=reader(), rows=rows, state=args["state"], states=STATES,
                           area_code=args["area_code"], limit=WORKLIST)


def _args(schema: Schema) -> dict:
    """A list page's query string read by the API's schema (empty fields dropped)."""
    try:
        return schema.load({name: value for name, value in request.args.items() if value and name in schema.fields})
    except ValidationError as error:
        raise InvalidInput(t("筛选条件无效：", "A filter is not valid: ") + ", ".join(error.messages)) from None
