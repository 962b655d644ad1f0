"""Small SQL text helpers shared by the ingest modules (DuckDB dialect)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pyarrow as pa

# Internal relations and columns carry this prefix so they never collide with a mapping's names.
INTERNAL = "__hx_"


def ident(name: str) -> str:
    """Quote an identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A Python scalar from the mapping file as a SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"TIMESTAMP {literal(value.isoformat(sep=' '))}"
    if isinstance(value, date):
        return f"DATE {literal(value.isoformat())}"
    return "'" + str(value).replace("'", "''") + "'"


_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.date32(): "DATE",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
}


def duckdb_type(arrow_type: pa.DataType) -> str:
    """The DuckDB type a contract column is computed in."""
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ"
    return _DUCKDB_TYPES[arrow_type]


def first_line(error: Exception) -> str:
    """DuckDB messages carry a multi-line context; the first line (plus a candidate hint) is the story."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    hint = next((line for line in lines[1:] if line.startswith(("Candidate", "Did you mean"))), "")
    return f"{lines[0]} {hint}".strip()
