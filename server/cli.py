"""The flask CLI: areas, forms, users, assignments, entities rebuild, PII key rotation, demo data, yearly monitoring
parameters, exports, backup and restore."""

from __future__ import annotations

import getpass
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.pool import NullPool

from core.errors import AreaImportFailed, DomainError
from schemas.form_definition import form_definition_schema
from server import config, demo
from server.extensions import db
from server.models import AuditOutcome, Role, User
from server.services import assignments, audit, forms, parameters, pull, users
from server.services.auth import Principal, normalize_username, principal_of
from server.services.backup import make, restore
from server.services.backup.sealed import BackupError
from server.services.exports import requests as export_requests
from server.services.exports.datasets import ReviewFilter
from server.services.exports.files import Format
from server.services.exports.layers import Shape
from server.services.push import COMPILED_FORMS
from survey_forms import loader
from sync import reconcile, rekey

areas_cli = AppGroup("areas", help="Administrative areas.")
forms_cli = AppGroup("forms", help="Survey form definitions.")
users_cli = AppGroup("users", help="User accounts.")
assignments_cli = AppGroup("assignments", help="Work handed to enumerators; devices get it by pull.")
entities_cli = AppGroup("entities", help="Households and villages as reconciliation makes them.")
pii_cli = AppGroup("pii", help="Personal data sealed at rest (PII_KEY, PII_OLD_KEYS).")
demo_cli = AppGroup("demo", help="Demonstration data.")
feed_cli = AppGroup("feed", help="The pull feed devices read (protocol.md).")
parameters_cli = AppGroup("parameters", help="Yearly monitoring thresholds of the province, prefectures and counties.")
exports_cli = AppGroup("exports", help="Files for planners: households, villages, cases, indicators, submissions.")


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _fail(*lines: str) -> NoReturn:
    """Undo the command's work, say why, and exit 1."""
    db.session.rollback()
    for line in lines:
        click.echo(line, err=True)
    sys.exit(1)


def _error(error: DomainError) -> str:
    return f"Error ({error.code}): {error.message}"


@areas_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=True, path_type=Path))
@click.option("--layer", default=None, help="Layer name inside a GeoPackage.")
@click.option("--encoding", default=None,
              help="Text encoding of a Shapefile or CSV that does not say its own, e.g. GBK.")
@click.option("--trim-padded", is_flag=True,
              help="Trim codes padded with zeros to 12 (or 6) digits, as NBS tables write them: 532922100000 -> 532922100.")
@click.option("--retire-missing", is_flag=True,
              help="The file is complete: retire the stored areas under its top codes that it no longer has "
                   "(kept with their households and history, no longer offered for new ones).")
def import_areas(path: Path, layer: str | None, encoding: str | None, trim_padded: bool, retire_missing: bool) -> None:
    """Import areas from GeoJSON, GeoPackage, Shapefile or an NBS list as CSV (columns: code or 统计用区划代码;
    name_zh, name or 名称; level, which the code's length gives when there is none)."""
    from server.services import area_import  # GDAL and GEOS, needed here only, not in web workers

    try:
        report = area_import.import_areas(db.session, path, layer=layer, encoding=encoding, trim_padded=trim_padded,
                                          retire_missing=retire_missing, actor=_actor())
    except AreaImportFailed as error:
        _fail(f"Nothing was imported: {len(error.problems)} problem(s) in {path}", *(f"  {p}" for p in error.problems))
    except DomainError as error:
        _fail(_error(error))
    db.session.commit()
    click.echo(report.summary())


@forms_cli.command("publish")
def publish_forms() -> None:
    """Check every definition in survey_forms/definitions and publish the versions not yet published."""
    try:
        definitions = loader.load_all(form_definition_schema())
        report = forms.publish(db.session, definitions, actor=_actor())
    except loader.FormDefinitionError as error:
        _fail(f"Nothing was published. {error}")
    except DomainError as error:
        _fail(_error(error))
    db.session.commit()
    click.echo(report.summary())


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--area", "areas", multiple=True, required=True, help="Area code of the scope; repeat for more.")
@click.option("--display-name", default=None)
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from standard input.")
def create_user(username: str, role: str, areas: tuple[str, ...], display_name: str | None, password_stdin: bool) -> None:
    """Create a user; the password is read from standard input so it stays out of shell history."""
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = users.create_user(
            db.session, username, Role(role), list(areas), password, actor=_actor(), display_name=display_name
        )
    except DomainError as error:
        _fail(_error(error))
    db.session.commit()
    click.echo(f"Created {user.role.value} '{user.username}' with scope {', '.join(user.scope)}.")


@users_cli.command("disable")
@click.option("--username", required=True)
def disable_user(username: str) -> None:
    """Disable a user: sign-in, device tokens and web sessions stop working at once."""
    try:
        users.disable_user(db.session, username, actor=_actor())
    except DomainError as error:
        _fail(_error(error))
    db.session.commit()
    click.echo(f"Disabled '{username}'.")


def _acting_as(username: str) -> Principal:
    """The supervisor or admin a command acts for: their scope limits it, as it would in the API."""
    user = db.session.scalar(select(User).where(User.username == username, User.disabled_at.is_(None)))
    if user is None:
        _fail(f"Error (not_found): no active user '{username}' to act as (--by).")
    return principal_of(user)


@assignments_cli.command("create")
@click.option("--by", "by", required=True, help="Username of the supervisor or admin who assigns.")
@click.option("--assignee", required=True, help="Username of the enumerator.")
@click.option("--area", "area_code", default=None, help="Area code to visit (or give --household).")
@click.option("--household", "household_id", type=click.UUID, default=None, help="One household to visit.")
@click.option("--form", "form_id", required=True, help="Form id, e.g. household_visit.")
@click.option("--round", "round_", required=True, help="Survey round, e.g. 2026-Q4.")
@click.option("--due", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Due date, YYYY-MM-DD.")
def create_assignment(by: str, assignee: str, area_code: str | None, household_id: uuid.UUID | None, form_id: str,
                      round_: str, due: date | None) -> None:
    """Assign an area or a household and a form to an enumerator for a round."""
    new = assignments.NewAssignment(assignee, area_code, household_id, form_id, round_, due.date() if due else None)
    try:
        assignment = assignments.create(db.session, _acting_as(by), new)
    except DomainError as error:
        db.session.commit()  # keeps the audit row of a refusal
        click.echo(_error(error), err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Assigned {form_id} in {assignment.area_code} to {assignee} for {round_}: {assignment.id}")


@assignments_cli.command("cancel")
@click.option("--by", "by", required=True, help="Username of the supervisor or admin who cancels.")
@click.argument("assignment_id", type=click.UUID)
def cancel_assignment(by: str, assignment_id: uuid.UUID) -> None:
    """Cancel an assignment; the device learns of it on its next pull."""
    try:
        assignments.cancel(db.session, _acting_as(by), assignment_id)
    except DomainError as error:
        _fail(_error(error))
    db.session.commit()
    click.echo(f"Cancelled {assignment_id}.")


@entities_cli.command("rebuild")
@click.option("--batch", default=500, show_default=True, help="Entities rebuilt and committed at a time.")
@click.option("--after", type=click.UUID, help="Go on after this entity id: the last one a stopped rebuild reported.")
def rebuild_entities(batch: int, after: uuid.UUID | None) -> None:
    """Replay every accepted submission into its household or village (the same code as each push runs).

    Committed a batch at a time, so pushes and pulls go on meanwhile; stopped, it goes on with --after.
    """

    def report(done: int, total: int, last: uuid.UUID) -> None:
        click.echo(f"{done:,} of {total:,} entities rebuilt and committed (to go on from here: --after {last})", err=True)

    count = reconcile.rebuild_all(db.session, COMPILED_FORMS, current_app.extensions["pii"], batch, report, after,
                                  db.session.commit)
    db.session.commit()
    click.echo(f"Rebuilt {count:,} entities from their submissions.")


@pii_cli.command("rotate")
@click.option("--batch", default=500, show_default=True, help="Rows read and written at a time.")
def rotate_pii(batch: int) -> None:
    """Re-seal all personal data under PII_KEY, opening what older keys sealed with PII_OLD_KEYS; all or nothing."""
    try:
        rotation = rekey.rotate(db.session, COMPILED_FORMS, current_app.extensions["pii"], batch,
                                progress=lambda message: click.echo(message, err=True))
    except DomainError as error:
        _fail(_error(error))
    audit.record(db.session, "pii.rotate", AuditOutcome.success, actor=_actor(),
                 details={"key_id": rotation.key_id, "resealed": dict(rotation.resealed)})
    db.session.commit()
    click.echo(rotation.summary())
    if any(rotation.remaining.values()):
        sys.exit(1)


@demo_cli.command("load")
@click.option("--seed", default=20261123, show_default=True)
@click.option("--size", type=click.Choice(sorted(demo.SIZES)), default="small", show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when demo data is already loaded.")
def load_demo(seed: int, size: str, if_empty: bool) -> None:
    """Load the Dali demo: areas (the real townships), households and members in the seeds' proportions, monitoring
    cases in every state, villages with their flags, the yearly lines, and one account per role; prints the counts."""
    if current_app.config["SURVEY_ENV"] == "production":
        _fail("The demo data has published passwords; it is not loaded when SURVEY_ENV=production.")
    from server.demo import loader as demo_loader  # geometry libraries, needed here only

    if if_empty and demo_loader.is_loaded(db.session):
        click.echo("Demo data is already loaded; leaving it as it is.")
        return
    try:
        report = demo_loader.load(db.session, seed=seed, size=demo.SIZES[size], actor=_actor(),
                                  progress=lambda message: click.echo(message, err=True))
    except DomainError as error:  # real areas are there: the demo is not mixed in among them
        _fail(_error(error))
    db.session.commit()
    click.echo(report.summary())


@demo_cli.command("accounts")
def demo_accounts() -> None:
    """Print the demo accounts and their passwords."""
    click.echo("    demo accounts (username / password / role / scope):")
    for account in demo.ACCOUNTS:
        click.echo(f"      {account.username:<19} {account.password:<28} {account.role.value:<11} {' '.join(account.areas)}")


@feed_cli.command("new-epoch")
def new_feed_epoch() -> None:
    """After a point-in-time recovery or a failover that lost commits: renumber the feed, start every device over.

    Every feed row gets this transaction's id (its order kept), so none sorts after changes the recovered cluster
    writes from now on, and a new epoch makes each device's next pull start from the beginning (docs/operations.md).
    """
    done = pull.new_epoch(db.session, reason="flask feed new-epoch")
    audit.record(db.session, "feed.new_epoch", AuditOutcome.success, actor=_actor(),
                 details={"epoch": done.epoch, "txid": str(done.txid), "changes": done.changes})
    db.session.commit()
    click.echo(f"同步变更已重新编号，各设备下次同步将从头开始 · Renumbered the pull feed's {done.changes:,} changes into "
               f"transaction {done.txid}, in the new epoch {done.epoch}: each device's next pull starts over.")


@parameters_cli.command("set")
@click.option("--year", required=True, type=int, help="The year the figures are for.")
@click.option("--area", "area_code", required=True, help="53 (the province), a prefecture's 4-digit or a county's 6-digit code.")
@click.option("--monitoring-line", required=True, type=float, help="防返贫动态监测底线, yuan per person per year.")
@click.option("--dibao-standard", required=True, type=float, help="农村低保标准, yuan per person per year.")
@click.option("--watch-line", required=True, type=float, help="收入关注线, yuan per person per year.")
@click.option("--source", required=True, help="Where the figures come from: the document and its number.")
def set_yearly_parameters(year: int, area_code: str, monitoring_line: float, dibao_standard: float, watch_line: float,
                          source: str) -> None:
    """Set (or replace) an area's monitoring line, dibao standard and watch line for a year, as an admin; audited."""
    values = {"monitoring_line": monitoring_line, "dibao_standard": dibao_standard, "watch_line": watch_line}
    try:
        row = parameters.set_parameters(db.session, _actor(), year, area_code, values, source)
    except DomainError as error:
        _fail(_error(error))
    db.session.commit()
    click.echo(f"已设置 · Set {row.label} ({row.area_code}): {_figures(row)}")


@parameters_cli.command("list")
@click.option("--year", type=int, default=None, help="Only this year.")
@click.option("--area", "area_code", default=None, help="Only the rows that bear on this area: its own, above and under it.")
def list_yearly_parameters(year: int | None, area_code: str | None) -> None:
    """List the figures set, latest year first: a household takes its county's, else its prefecture's, else its
    province's, for its income year only."""
    rows = parameters.list_parameters(db.session, year=year, area_code=area_code)
    for row in rows:
        click.echo(f"{row.year}  {row.area_code:<6}  {row.area_name['zh']}  {_figures(row)}  source: {row.source}  "
                   f"(set by {row.set_by}, {row.set_at:%Y-%m-%d %H:%M})")
    if not rows:
        click.echo("未设置 · No figures set." if year is None and area_code is None else "无匹配 · No figures match.")


def _figures(row: parameters.ParameterRow) -> str:
    return (f"monitoring line {row.monitoring_line}, dibao standard {row.dibao_standard}, watch line {row.watch_line} "
            "yuan/person/year")


def _backup_setup() -> tuple[Engine, bytes]:
    """The owner's connection (DATABASE_OWNER_URL, else DATABASE_URL's) and BACKUP_KEY; exits 1 on a bad key."""
    try:
        key = config.backup_key(current_app.config)
    except config.ConfigError as error:
        _fail(str(error))
    url = current_app.config["MIGRATIONS_DATABASE_URI"] or current_app.config["SQLALCHEMY_DATABASE_URI"]
    return create_engine(url, poolclass=NullPool, hide_parameters=True), key


def _backup_failed(error: BackupError) -> NoReturn:
    click.echo(str(error), err=True)
    sys.exit(error.exit_code)  # 100: wrong key, or an altered or cut archive; 1: anything else


@click.command("backup")
@with_appcontext
@click.argument("destination", type=click.Path(path_type=Path))
def backup_command(destination: Path) -> None:
    """Write an encrypted backup (one database snapshot and the attachments it names) to DESTINATION, a file or a folder."""
    engine, key = _backup_setup()
    try:
        report = make.backup(engine, current_app.extensions["blob_store"], destination, key,
                             progress=lambda message: click.echo(message, err=True))
    except BackupError as error:
        _backup_failed(error)
    finally:
        engine.dispose()
    click.echo(report.summary())


@click.command("restore")
@with_appcontext
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(archive: Path) -> None:
    """Restore a `flask backup` archive into this empty database (as its owner) and ATTACHMENT_DIR, then compare them."""
    engine, key = _backup_setup()
    roles = restore.Roles(current_app.config["SQLALCHEMY_DATABASE_URI"], current_app.config["MIGRATIONS_DATABASE_URI"])
    try:
        report = restore.restore(engine, roles, current_app.extensions["blob_store"], archive, key,
                                 progress=lambda message: click.echo(message, err=True))
    except BackupError as error:
        _backup_failed(error)
    finally:
        engine.dispose()
    for warning in report.warnings:
        click.echo(warning, err=True)
    click.echo(report.summary())


@exports_cli.command("make")
@click.argument("dataset", type=click.Choice(export_requests.DATASET_NAMES))
@click.option("--format", "fmt", type=click.Choice([f.value for f in Format]), default="gpkg", show_default=True)
@click.option("--as", "username", required=True,
              help="The user the export is made as: their areas and role decide what it holds.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="The folder the file is written to.")
@click.option("--area", "area_code", help="This area code and below.")
@click.option("--review", type=click.Choice([r.value for r in ReviewFilter]), default="approved", show_default=True)
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), help="The state at the end of this day.")
@click.option("--form", "form_id", help="For `submissions`: the form.")
@click.option("--shape", type=click.Choice([s.value for s in Shape]), default="Point", show_default=True,
              help="For `villages`: points or boundaries.")
@click.option("--unmasked", is_flag=True, help="Personal columns included (supervisor or admin only; audited).")
def make_export(dataset: str, fmt: str, username: str, out_dir: Path, area_code: str | None, review: str,
                as_of: Any, form_id: str | None, shape: str, unmasked: bool) -> None:
    """Write one export to a file, with a progress bar; prints the file and the rows of each layer."""
    user = db.session.scalar(select(User).where(User.username == normalize_username(username)))
    if user is None or user.disabled_at is not None:
        _fail(f"No active user {username!r}.")
    request = export_requests.ExportRequest.of({"dataset": dataset, "format": fmt, "area_code": area_code, "review": review,
                                "as_of": as_of.date() if as_of else None, "form_id": form_id, "shape": shape,
                                "unmasked": unmasked})
    viewer = principal_of(user)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        layers = export_requests.layers_for(db.session, viewer, request)
        total = export_requests.count_rows(db.session, layers)
        with click.progressbar(length=total, label=f"{dataset} → {fmt}", file=sys.stderr, show_pos=True,
                               show_percent=True, show_eta=True) as bar:
            path, written = export_requests.make(db.session, viewer, request, out_dir, current_app.extensions["pii"], bar.update,
                                 layers=layers)
    except DomainError as error:
        _fail(_error(error))
    db.session.commit()  # the audit row
    click.echo(f"{path}  " + ", ".join(f"{layer}: {rows}" for layer, rows in written.rows.items()))


def register(app: Flask) -> None:
    for group in (areas_cli, forms_cli, users_cli, assignments_cli, entities_cli, pii_cli, demo_cli, feed_cli,
                  parameters_cli, exports_cli):
        app.cli.add_command(group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
