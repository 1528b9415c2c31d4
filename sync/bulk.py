"""Many rows into one table in one statement: INSERT ... SELECT FROM unnest of one typed array per column.

Why not executemany: it sends, plans and runs one INSERT per row (a batch's six hundred people are six hundred
executions), and a multi-row VALUES compiles a parameter per value. Here a column is one array parameter, whatever the
number of rows, and PostgreSQL plans one statement.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import Enum
from functools import cache
from typing import Any

import orjson
from geoalchemy2 import Geometry, WKTElement
from sqlalchemy import ARRAY, Float, Table, TextClause, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB

_DIALECT = postgresql.dialect()


def insert(table: Table, rows: Sequence[dict[str, Any]], suffix: str = "") -> tuple[TextClause, dict[str, Any]]:
    """The statement and its parameters that insert `rows` (dicts with the same keys) into `table`.

    suffix: what follows the SELECT, such as ON CONFLICT ... or RETURNING ...
    """
    names = tuple(rows[0])
    parameters: dict[str, Any] = {f"p_{name}": _column(table.c[name].type, [row[name] for row in rows])
                                  for name in names if not _is_json(table.c[name].type)}
    documents = [name for name in names if _is_json(table.c[name].type)]
    if documents:
        parameters["p_json"] = json_text([[row[name] for name in documents] for row in rows])
    return _statement(table, names, suffix), parameters


def json_text(value: Any) -> str:
    """JSON text for a JSONB value; the standard encoder takes over for what orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False)


@cache
def _statement(table: Table, names: tuple[str, ...], suffix: str) -> TextClause:
    """INSERT ... SELECT FROM ROWS FROM (unnest(...), ...): the arrays side by side, a row per index.

    JSONB and array columns come in one JSON document, an array of rows: a text array of JSON would be quoted and
    escaped character by character on the way, and an array parameter cannot hold arrays of different lengths.
    """
    documents = [name for name in names if _is_json(table.c[name].type)]
    sources = [f"unnest(CAST(:p_{name} AS {_array_type(table.c[name].type)}))" for name in names if name not in documents]
    aliases = [f'"{name}"' for name in names if name not in documents]
    if documents:
        sources.append("jsonb_array_elements(CAST(:p_json AS jsonb))")
        aliases.append("document")
    values = ", ".join(_value(table.c[name].type, f'r."{name}"') if name not in documents
                       else _from_document(table.c[name].type, f"r.document -> {documents.index(name)}")
                       for name in names)
    columns = ", ".join(f'"{name}"' for name in names)
    # Names and types from the table's metadata, the suffix from the caller's constants: no value is in the text.
    return text(f"INSERT INTO {table.name} ({columns}) SELECT {values} "  # nosec B608  # noqa: S608 (names from metadata)
                f"FROM ROWS FROM ({', '.join(sources)}) AS r({', '.join(aliases)}) {suffix}")


def _is_json(kind: Any) -> bool:
    return isinstance(kind, JSONB | ARRAY)


def _array_type(kind: Any) -> str:
    return "text[]" if isinstance(kind, Geometry) else f"{kind.compile(dialect=_DIALECT)}[]"  # geometry as EWKT


def _value(kind: Any, column: str) -> str:
    return f"ST_GeomFromEWKT({column})" if isinstance(kind, Geometry) else column


def _from_document(kind: Any, element: str) -> str:
    if isinstance(kind, JSONB):
        return element  # a None is JSON null, as SQLAlchemy's JSONB writes it (none_as_null is off)
    item = kind.item_type.compile(dialect=_DIALECT)
    return (f"CASE WHEN jsonb_typeof({element}) = 'array' THEN "
            f"CAST(ARRAY(SELECT jsonb_array_elements_text({element})) AS {item}[]) END")


def _column(kind: Any, values: list[Any]) -> list[Any]:
    if isinstance(kind, Geometry):
        return [_ewkt(value) for value in values]
    if isinstance(kind, Float):  # a JSON number may arrive as an int: one array holds one type
        return [None if value is None else float(value) for value in values]
    return [value.value if isinstance(value, Enum) else value for value in values]


def _ewkt(value: WKTElement | None) -> str | None:
    return None if value is None else f"SRID={value.srid};{value.desc}"
