"""The raw submissions of one form as export layers: one row per visit, each repeat a child table (issue 15).

The main layer, named after the form, has one row per accepted submission of any published version, at the fix the
device sent with it (submission.location, from the item's `gps`; a geopoint field of the form, the household's
`location` among them, is a pair of `<name>_lat`/`<name>_lon` columns like any other, since it may differ from the
fix). Its columns are the visit's own (who, when, where, review) and then one per answered field, groups flattened:
the union of the versions' fields, in the newest version's order, then the fields only older versions had. A field
whose type changed between versions reads as the newest type (integer and decimal meet as decimal; other types that
disagree meet as text). Each repeat is a layer `<form>_<repeat>` keyed by `submission_uuid` and `position` (0-based,
as sent); the format lets a repeat hold a repeat (none of our forms does yet), which becomes a layer of its own that
also carries `<outer repeat>_position`. Every child row has a `row_id` ("<uuid>/<position>[/<position>]"), the key
pages are read by.

Which visits (Filters):
- scope and area by the submission's area_code; quarantined submissions never (they do not satisfy their form);
- `review=any`: every accepted submission, corrections and the visits they correct alike (`supersedes` links them);
- `review=approved`: approved ones only, and not one that a correction approved since has replaced (followed along a
  chain of corrections): an approved visit stands until its correction is approved too, so the approved export is
  the last approved word on each visit, never two of them and never none while a correction waits for review;
- `as_of`: received before the end of that day (China time); a correction received later replaces nothing yet.
  The review state is the current one, as in the datasets.

Personal data (core.masking.ExportView decides; a masked export leaves the columns out, it does not mask cells):
- a field that saves to a personal catalogue property (in any version) is a column only for `view.carries`, i.e.
  unmasked; one that saves to an ID-card or phone property is stored sealed ("enc:", randomised and bound to its
  submission by sync.sealing): its Column is `sealed`, and the writer opens it with the row's `submission_uuid`
  (Layer.seal_context);
- free text the form keeps to itself (a text field, or a calculation of text, without save_to: who answered, the
  cadre responsible for a measure, a remark) can name anyone, so it follows RecordView.text: only when
  `view.carries_text`. Text that saves to a catalogue property follows the catalogue's personal mark.
- calculations of numbers or yes/no that save nowhere (a member's age, `out_of_school`) are carried: the catalogue
  marks no derived value personal unless a form saves it to a personal property.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import literal_column, select, text
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from core.masking import ExportView
from server.models import FormVersion
from server.services.exports.datasets import Filters, ReviewFilter
from server.services.exports.layers import IDENTIFIER, PROPERTY_KINDS, Column, Kind, Layer, Shape, property_sql
from survey_forms.catalogue import Property, field_value_type
from sync.evidence import SEALED_ANSWERS

_FILE = frozenset({"photo", "audio"})  # the attachment's file name, as text


def _label(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


# The visit's own columns, before the answers; the entity column is named after the form's subject.
_META = (
    ("submission_uuid", "s.uuid::text", Kind.text, _label("提交标识", "Submission uuid")),
    ("form_version", "s.form_version", Kind.integer, _label("表单版本", "Form version")),
    ("area_code", "s.area_code", Kind.text, _label("区域代码", "Area code")),
    ("{subject}_id", "s.entity_id::text", Kind.text, _label("对象标识", "Subject id")),
    ("review_state", "s.review_state::text", Kind.text, _label("审核状态", "Review state")),
    ("collected_at", "s.collected_at", Kind.datetime, _label("采集时间（设备）", "Collected at (device clock)")),
    ("received_at", "s.received_at", Kind.datetime, _label("接收时间（服务器）", "Received at (server clock)")),
    ("enumerator", "u.username", Kind.text, _label("调查员", "Enumerator")),
    ("gps_accuracy_m", "s.gps_accuracy_m", Kind.decimal, _label("定位精度（米）", "GPS accuracy (m)")),
    ("supersedes", "s.supersedes::text", Kind.text, _label("更正的提交", "Corrects submission")),
)


@dataclass
class _Field:
    """One answer's column(s), merged over the versions that have it (newest first)."""

    spec: dict[str, Any]  # the newest version's definition
    types: list[str] = field(default_factory=list)
    targets: set[str] = field(default_factory=set)  # the save_to of every version
    free_text: bool = False

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def type(self) -> str:
        newest = self.types[0]
        if len(set(self.types)) == 1 or newest == "geopoint":
            return newest
        return "decimal" if set(self.types) <= {"integer", "decimal"} else "text"

    @property
    def sealed(self) -> bool:
        return bool(self.targets & SEALED_ANSWERS)

    def carried(self, view: ExportView) -> bool:
        if self.free_text and not view.carries_text:
            return False
        return all(view.carries(*target.split(".", 1)) for target in self.targets) and (view.unmasked or not self.sealed)


@dataclass
class _Level:
    """The top of the form (name None) or one repeat, with the repeats around it, outermost first."""

    name: str | None
    outer: tuple[str, ...]
    label: Mapping[str, str]
    fields: dict[str, _Field] = field(default_factory=dict)


def submission_layers(session: Session, filters: Filters, view: ExportView, form_id: str) -> list[Layer]:
    """The form's submissions in the reader's scope as a main layer and one layer per repeat, read as `filters` say.

    Raises:
        NotFound: no such form is published, or the reader's areas hold no accepted submission of it.
        InvalidInput: a form or field name that cannot be a layer or column name.
    """
    versions = session.execute(select(FormVersion.definition, FormVersion.title_zh, FormVersion.title_en)
                               .where(FormVersion.form_id == form_id).order_by(FormVersion.version.desc())).all()
    if not versions:
        raise NotFound(f"No form {form_id!r} is published. 没有已发布的表单 {form_id}。", code="form_not_found")
    if session.scalar(select(literal_column("1")).select_from(text("submission s"))
                      .where(*_submissions(form_id, filters.where("s.area_code"))).limit(1)) is None:
        raise NotFound(f"No submission of the form {form_id} in your areas. 您的工作范围内没有表单 {form_id} 的提交。",
                       code="no_submissions")
    newest = versions[0].definition
    title = _label(versions[0].title_zh, versions[0].title_en)
    levels = _levels([row.definition for row in versions])
    where = _submissions(form_id, _chosen(filters))
    return [_layer(level, form_id, newest["subject"], title, view, where) for level in levels.values()]


def _levels(definitions: list[dict[str, Any]]) -> dict[str | None, _Level]:
    """The levels of every version, newest first, so its order leads and older versions' own fields follow."""
    levels: dict[str | None, _Level] = {None: _Level(None, (), {})}
    for definition in definitions:
        _visit(definition["fields"], levels[None], levels)
    return levels


def _visit(specs: list[dict[str, Any]], level: _Level, levels: dict[str | None, _Level]) -> None:
    for spec in specs:
        kind = spec["type"]
        if kind == "group":  # display only: its fields are values of the level around it
            _visit(spec["fields"], level, levels)
        elif kind == "repeat":
            outer = level.outer if level.name is None else (*level.outer, level.name)
            inner = levels.setdefault(spec["name"], _Level(spec["name"], outer, spec.get("label", {})))
            _visit(spec["fields"], inner, levels)
        elif kind != "note":  # display only
            answer = level.fields.setdefault(spec["name"], _Field(spec))
            value_type = field_value_type(spec)
            answer.types.append("text" if value_type in _FILE else value_type)
            if "save_to" in spec:
                answer.targets.add(spec["save_to"])
            else:
                answer.free_text |= value_type == "text"


def _submissions(form_id: str, chosen: list[Any]) -> list[Any]:
    """The clauses that pick the form's accepted submissions: quarantined ones do not satisfy their form."""
    return [literal_column("s.form_id") == form_id, literal_column("s.state = 'accepted'"), *chosen]


def _chosen(filters: Filters) -> list[Any]:
    """The filter's clauses over `s`: scope and area, review, as_of."""
    clauses = filters.where("s.area_code")
    until = f"AND c.received_at < {filters.until_sql}" if filters.as_of is not None else ""
    if filters.as_of is not None:
        clauses.append(literal_column(f"s.received_at < {filters.until_sql}"))
    if filters.review is ReviewFilter.approved:
        # Corrections of corrections: the chain is followed to any approved one (UNION stops at a loop).
        replaced = ("NOT EXISTS (WITH RECURSIVE later(uuid) AS (SELECT c.uuid FROM submission c WHERE c.supersedes = s.uuid "
                    "UNION SELECT c.uuid FROM submission c JOIN later l ON c.supersedes = l.uuid) "
                    "SELECT 1 FROM later l JOIN submission c ON c.uuid = l.uuid "
                    f"WHERE c.state = 'accepted' AND c.review_state = 'approved' {until})")  # nosec B608
        clauses += [literal_column("s.review_state = 'approved'"), literal_column(replaced)]
    return clauses


def _layer(level: _Level, form_id: str, subject: str, title: Mapping[str, str], view: ExportView,
           where: list[Any]) -> Layer:
    taken: set[str] = set()
    if level.name is None:
        name, source, joins = form_id, "(s.payload->'data')", "JOIN app_user u ON u.id = s.user_id"
        keys = [(n.format(subject=subject), sql, kind, label) for n, sql, kind, label in _META]
        order = [literal_column("s.received_at"), literal_column("s.uuid")]
        key = "s.uuid::text"
    else:
        name = f"{form_id}_{level.name}"
        title = _label(f"{title['zh']}：{level.label.get('zh', level.name)}",
                       f"{title['en']}: {level.label.get('en', level.name)}")
        source, joins, keys, key = _rows(level)
        order = [literal_column("s.received_at"), literal_column("s.uuid"),
                 *(literal_column(f"r{depth}.n") for depth in range(1, len(level.outer) + 2))]
    if not IDENTIFIER.match(name):
        raise InvalidInput(f"The layer name {name!r} is too long or not snake_case. 图层名 {name} 不可用。")
    columns = [Column(_free(n, taken), kind, label) for n, _sql, kind, label in keys]
    values = [literal_column(sql).label(column.name) for column, (_n, sql, _k, _l) in zip(columns, keys, strict=True)]
    for answer in level.fields.values():
        if answer.carried(view):
            for column, sql in _answer(answer, source, taken):
                columns.append(column)
                values.append(literal_column(sql).label(column.name))
    geometry = [literal_column("ST_AsBinary(s.location)").label("geometry")] if level.name is None else []
    query = select(*geometry, *values).select_from(text(f"submission s {joins}")).where(*where)
    return Layer(name, title, Shape.point if level.name is None else None, tuple(columns), query, order=tuple(order),
                 key=literal_column(key), key_name=columns[0].name, seal_context="submission_uuid")


def _rows(level: _Level) -> tuple[str, str, list[tuple[str, str, Kind, Mapping[str, str]]], str]:
    """A repeat's rows as LATERAL joins r1 (outermost) .. rN (this one): its JSON source, joins, key columns and key."""
    path = [*level.outer, level.name]
    joins, parent = [], "(s.payload->'data')"
    for depth, repeat in enumerate(path, start=1):
        rows = f"{parent}->'{_checked(repeat)}'"
        # A repeat sent as something else than a list has no rows (jsonb_array_elements would stop the statement).
        joins.append(f"CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof({rows}) = 'array' THEN {rows} END) "
                     f"WITH ORDINALITY r{depth}(v, n)")
        parent = f"r{depth}.v"
    row_id = " || '/' || ".join(["s.uuid::text", *(f"(r{depth}.n - 1)::text" for depth in range(1, len(path) + 1))])
    keys = [("row_id", row_id, Kind.text, _label("行标识", "Row id")),
            ("submission_uuid", "s.uuid::text", Kind.text, _label("提交标识", "Submission uuid")),
            *((f"{outer}_position", f"r{depth}.n - 1", Kind.integer,
               _label(f"{outer} 序号（从0起）", f"{outer} position (from 0)"))
              for depth, outer in enumerate(level.outer, start=1)),
            ("position", f"r{len(path)}.n - 1", Kind.integer, _label("序号（从0起）", "Position (from 0)"))]
    return parent, " ".join(joins), keys, row_id


def _answer(answer: _Field, source: str, taken: set[str]) -> Iterator[tuple[Column, str]]:
    """An answer's column and SQL; a geopoint's as two, latitude and longitude."""
    label = answer.spec.get("label", {})
    if answer.type == "geopoint":
        point = f"({source}->'{_checked(answer.name)}')"
        for part, zh, en in (("lat", "纬度", "latitude"), ("lon", "经度", "longitude")):
            column = Column(_free(f"{answer.name}_{part}", taken), Kind.decimal,
                            _label(f"{label.get('zh', answer.name)}（{zh}）", f"{label.get('en', answer.name)} ({en})"))
            yield column, property_sql(point, Property("geopoint", part, "decimal", False))
        return
    # The form's own typed value is read the way a catalogue property of that type is.
    value_type = answer.type if answer.type in PROPERTY_KINDS else "text"
    yield (Column(_free(answer.name, taken), PROPERTY_KINDS[value_type], label, sealed=answer.sealed),
           property_sql(source, Property("form", answer.name, value_type, False)))


def _checked(name: str) -> str:
    """A name that goes inside SQL text."""
    if not IDENTIFIER.match(name):
        raise InvalidInput(f"The field name {name!r} cannot be exported. 字段名 {name} 无法导出。")
    return name


def _free(name: str, taken: set[str]) -> str:
    """The column name, or with a number added when a visit column or another answer already has it (names are
    unique only within a level, and `location_lat` may be a field of its own)."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    taken.add(candidate)
    return candidate
