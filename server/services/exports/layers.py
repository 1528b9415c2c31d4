"""What an export is made of: layers of typed columns, each read by one SQL statement in the reader's scope.

A layer is what GDAL calls a layer and Excel a sheet. Every path out (a file, an OGC API page, a JSON table) reads
the same Layer, so the columns a reader gets are decided once, by core.masking.ExportView when the layer is built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Select

from core.errors import InvalidInput
from survey_forms.catalogue import Property


class Kind(StrEnum):
    """A column's type, as every format can hold it."""

    text = "text"
    integer = "integer"
    decimal = "decimal"
    date = "date"
    boolean = "boolean"
    datetime = "datetime"


class Shape(StrEnum):
    point = "Point"
    multipolygon = "MultiPolygon"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    label: Mapping[str, str] = field(default_factory=dict)  # {"zh": ..., "en": ...}, for sheet headers and the name table
    sealed: bool = False  # may hold values sealed by core.pii: opened on the way out (unmasked exports only)


@dataclass(frozen=True)
class Layer:
    """One table of an export.

    `query` selects, in this order: the geometry as WKB labelled `geometry` when `shape` is set, then one column per
    entry of `columns`, labelled by its name. Files read it in `order` (an index's order where one serves); OGC API
    pages read it by keyset on `key`, an expression unique within the layer whose value is the column `key_name`.
    """

    name: str
    title: Mapping[str, str]
    shape: Shape | None
    columns: tuple[Column, ...]
    query: Select[Any]
    order: tuple[Any, ...]
    key: Any
    key_name: str
    # The column whose value (a submission's uuid) the layer's randomised seals are bound to; None: only deterministic
    # seals (core.pii), which open by themselves.
    seal_context: str | None = None
    # A register a county office prints and reports upward: its XLSX sheet is titled, headed by the Chinese labels and
    # numbered; other formats keep the column names, for the tools that read them.
    ledger: bool = False

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


# Names of properties come from the catalogue and of layers from this package; both end up inside SQL text, so they
# are held to this shape once here.
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

PROPERTY_KINDS = {
    "text": Kind.text, "select_one": Kind.text, "select_multiple": Kind.text, "integer": Kind.integer,
    "decimal": Kind.decimal, "boolean": Kind.boolean, "date": Kind.date, "datetime": Kind.datetime,
}  # geopoint is the layer's geometry; photo is a file name that leaves with the submission, not here


def property_sql(source: str, prop: Property) -> str:
    """The SQL that reads one catalogue property out of a JSONB column `source`, typed, NULL for a value of any other
    JSON type: a value a form let through is never the reason a whole export fails."""
    name = prop.name
    if not IDENTIFIER.match(name):
        raise InvalidInput(f"Property name {name!r} cannot be exported.")
    value = f"{source}->'{name}'"
    text = f"{source}->>'{name}'"
    match prop.type:
        case "integer":
            return f"CASE WHEN {_number(value, text)} THEN trunc(({text})::numeric)::bigint END"
        case "decimal":
            return f"CASE WHEN {_number(value, text)} THEN ({text})::float8 END"
        case "boolean":
            return f"CASE WHEN jsonb_typeof({value}) = 'boolean' THEN ({text})::boolean END"
        case "date":
            return f"CASE WHEN ({text}) ~ '^\\d{{4}}-\\d{{2}}-\\d{{2}}$' THEN ({text})::date END"
        case "datetime":
            return f"CASE WHEN jsonb_typeof({value}) = 'string' THEN left({text}, 40) END"
        case "select_multiple":
            return (f"CASE WHEN jsonb_typeof({value}) = 'array' "
                    f"THEN array_to_string(ARRAY(SELECT jsonb_array_elements_text({value})), ';') END")
        case _:
            return f"CASE WHEN jsonb_typeof({value}) IN ('string', 'number') THEN {text} END"


def _number(value: str, text: str) -> str:
    # JSON numbers are unbounded; one past bigint or float8 would stop the whole statement.
    return f"jsonb_typeof({value}) = 'number' AND abs(({text})::numeric) < 1e15"


def property_column(prop: Property, sealed: bool = False) -> Column:
    return Column(prop.name, PROPERTY_KINDS[prop.type], prop.label, sealed)


def exported(prop: Property) -> bool:
    """Whether a property can be a column at all (personal or not: that is ExportView's question)."""
    return prop.type in PROPERTY_KINDS
