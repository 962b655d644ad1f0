"""Turning a mapping's table entry into contract rows, rejects and counts, all in DuckDB SQL.

For one table the rows go through these steps (each a SELECT over the one before):

1. the primary source joined as declared: the mapping's expressions (value maps applied), the
   `where` flag, the `reject` rules and the source's own reject reason;
2. each expression cast to its contract type (naive timestamps read in the mapping's zone);
3. contract columns the mapping leaves out filled from the same row (`DERIVED_DEFAULTS`);
4. the first reason the row cannot be landed, if any;
5. rows sharing the key merged when the table asks for it;
6. ids prefixed and the landing day computed in the business timezone.

Everything that can be checked without the data (expressions bind, types fit) is checked by
`plan_table` before any source is read in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from huaxiang.contract import RAW_TABLES, RawTable
from huaxiang.ingest.mapping import DERIVED_DEFAULTS, ColumnSpec, TableSpec, mapping_error, required_columns
from huaxiang.ingest.report import TableCounts
from huaxiang.ingest.sources import LoadedSource
from huaxiang.ingest.sql import INTERNAL, duckdb_type, first_line, ident, literal

FILE, LINE, DAY = f"{INTERNAL}file", f"{INTERNAL}line", f"{INTERNAL}day"
SOURCE_REASON, RULE_REASON, KEPT, REASON = (
    f"{INTERNAL}source_reason",
    f"{INTERNAL}rule_reason",
    f"{INTERNAL}kept",
    f"{INTERNAL}reason",
)


def _value(column: str) -> str:
    return ident(f"{INTERNAL}value_{column}")


def _unmapped(column: str) -> str:
    return ident(f"{INTERNAL}unmapped_{column}")


@dataclass(frozen=True)
class ColumnPlan:
    name: str
    value_sql: str  # the mapping's expression, value map applied
    raw_sql: str | None  # the expression before a rejecting value map, to tell unmapped values apart
    typed_sql: str  # the value cast to the contract type, over the value column
    rejects_bad_values: bool


@dataclass(frozen=True)
class TablePlan:
    name: str
    spec: TableSpec
    contract: RawTable
    columns: list[ColumnPlan]

    @property
    def from_clause(self) -> str:
        return from_clause(self.spec)

    @property
    def rows(self) -> str:
        return ident(f"{INTERNAL}rows_{self.name}")

    @property
    def output(self) -> str:
        return ident(f"{INTERNAL}out_{self.name}")


def from_clause(spec: TableSpec) -> str:
    return ident(spec.from_) + (f" {spec.join}" if spec.join else "")


def plan_table(
    con: duckdb.DuckDBPyConnection, mapping_path: Path, table: str, spec: TableSpec, timezone: str
) -> TablePlan:
    """Bind every expression of a table entry against the source views; errors name the field."""
    where, rows = f"tables.{table}", from_clause(spec)
    _bind(con, mapping_path, f"{where}.join", "1", rows)
    if spec.where:
        _bind(con, mapping_path, f"{where}.where", spec.where, rows)
    for reason, condition in spec.reject.items():
        _bind(con, mapping_path, f"{where}.reject.{reason}", condition, rows)
    contract = RAW_TABLES[table]
    columns = [
        _plan_column(
            con,
            mapping_path,
            f"{where}.columns.{column}",
            column,
            column_spec,
            contract.schema.field(column).type,
            rows,
            timezone,
        )
        for column, column_spec in spec.columns.items()
    ]
    plan = TablePlan(table, spec, contract, columns)
    _check_aggregates(con, mapping_path, plan)
    return plan


def _bind(con: duckdb.DuckDBPyConnection, mapping_path: Path, where: str, sql: str, from_clause: str) -> str:
    """The DuckDB type of an expression over the table's rows, or the binder's complaint."""
    try:
        return con.execute(f"DESCRIBE SELECT ({sql}) AS x FROM {from_clause}").fetchone()[1]
    except duckdb.Error as error:
        raise mapping_error(mapping_path, where, first_line(error)) from error


def _plan_column(
    con: duckdb.DuckDBPyConnection,
    mapping_path: Path,
    where: str,
    column: str,
    spec: ColumnSpec,
    target: pa.DataType,
    from_clause: str,
    timezone: str,
) -> ColumnPlan:
    raw = f"({spec.expr})" if spec.expr is not None else literal(spec.value)
    if spec.default is not None:
        raw = f"coalesce({raw}, {literal(spec.default)})"
    value = raw
    if spec.map is not None:
        cases = " ".join(
            f"WHEN {literal(key)} THEN {literal(target_value)}" for key, target_value in spec.map.items()
        )
        otherwise = raw if spec.unmapped == "keep" else "NULL"
        value = f"CASE CAST({raw} AS VARCHAR) {cases} ELSE {otherwise} END"
    source_type = _bind(con, mapping_path, where, value, from_clause)
    typed = _cast_to_contract(_value(column), source_type, target, timezone)
    if typed is None:
        raise mapping_error(
            mapping_path,
            where,
            f"is {source_type} and cannot become a timestamp; declare the source column under "
            "sources.<name>.parse as type timestamp (format: epoch for epoch seconds)",
        )
    return ColumnPlan(
        name=column,
        value_sql=value,
        raw_sql=raw if spec.map is not None and spec.unmapped == "reject" else None,
        typed_sql=typed,
        rejects_bad_values=spec.on_error == "reject",
    )


def _cast_to_contract(ref: str, source_type: str, target: pa.DataType, timezone: str) -> str | None:
    """SQL casting a value to its contract type: NULL where it does not fit (counted as a reject)."""
    duck = duckdb_type(target)
    if duck == "VARCHAR":
        return f"CAST({ref} AS VARCHAR)"
    if source_type == "VARCHAR":
        ref = f"nullif(trim({ref}), '')"  # an empty text is a missing value, not a bad one
    if duck != "TIMESTAMPTZ":
        return f"TRY_CAST({ref} AS {duck})"
    if source_type == "TIMESTAMP WITH TIME ZONE":
        return ref
    # Naive values are wall-clock times of the source's zone; timezone() makes them instants.
    if source_type.startswith("TIMESTAMP") or source_type == "DATE":
        return f"timezone({literal(timezone)}, CAST({ref} AS TIMESTAMP))"
    if source_type in ("VARCHAR", '"NULL"'):
        return f"timezone({literal(timezone)}, TRY_CAST({ref} AS TIMESTAMP))"
    return None


def _typed_columns_relation(contract: RawTable) -> str:
    """An empty relation shaped like the contract rows, to bind aggregate expressions against."""
    columns = [f"CAST(NULL AS {duckdb_type(f.type)}) AS {ident(f.name)}" for f in contract.schema]
    return f"(SELECT {', '.join(columns)}, NULL::VARCHAR AS {FILE}, NULL::BIGINT AS {LINE} LIMIT 0)"


def _check_aggregates(con: duckdb.DuckDBPyConnection, mapping_path: Path, plan: TablePlan) -> None:
    relation = _typed_columns_relation(plan.contract)
    keys = ", ".join(ident(k) for k in plan.contract.key)
    for column, expression in plan.spec.aggregate.items():
        try:
            con.execute(f"DESCRIBE SELECT ({expression}) FROM {relation} GROUP BY {keys}")
        except duckdb.Error as error:
            raise mapping_error(
                mapping_path, f"tables.{plan.name}.aggregate.{column}", first_line(error)
            ) from error


# --- building --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltTable:
    plan: TablePlan
    counts: TableCounts
    rejects_sql: str

    @property
    def order_by(self) -> str:
        """Landing order: by day, then source position (unique: a merged row keeps its earliest row's)."""
        return f"{DAY}, {FILE}, {LINE}"


def build_table(
    con: duckdb.DuckDBPyConnection,
    mapping_path: Path,
    plan: TablePlan,
    source: LoadedSource,
    business_timezone: str,
    id_prefix: str,
) -> BuiltTable:
    """Materialize a table's classified rows and its landing rows; count what happened to each."""
    con.execute(f"CREATE TABLE {plan.rows} AS {_classified_sql(plan)}")
    joined = con.execute(f"SELECT count(*) FROM {plan.rows}").fetchone()[0]
    if joined != source.rows:
        raise mapping_error(
            mapping_path,
            f"tables.{plan.name}.join",
            f"turns {source.rows:,} rows of {source.name} into {joined:,}; "
            "join views that have one row per join key",
        )
    # Rows the table's `where` leaves out are only counted; a source-rejected row stays a reject.
    con.execute(f"DELETE FROM {plan.rows} WHERE NOT {KEPT} AND {SOURCE_REASON} IS NULL")
    con.execute(f"CREATE TABLE {plan.output} AS {_output_sql(plan, business_timezone, id_prefix)}")
    kept, rejected = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {REASON} IS NOT NULL) FROM {plan.rows}"
    ).fetchone()
    landed = con.execute(f"SELECT count(*) FROM {plan.output}").fetchone()[0]
    reasons = dict(
        con.execute(f"""
            SELECT reason, count(*) FROM (
                SELECT {REASON} AS reason FROM {plan.rows} WHERE {REASON} IS NOT NULL
                UNION ALL SELECT split_part(reason, ':', 1) FROM {source.malformed_lines}
            ) GROUP BY reason ORDER BY count(*) DESC, reason
        """).fetchall()
    )
    counts = TableCounts(
        table=plan.name,
        source=source.name,
        read=source.rows + source.malformed,
        filtered=joined - kept,
        rejected=rejected + source.malformed,
        merged=kept - rejected - landed,
        landed=landed,
        reasons=reasons,
    )
    return BuiltTable(plan, counts, _rejects_sql(plan, source))


def _classified_sql(plan: TablePlan) -> str:
    primary = ident(plan.spec.from_)
    rules = " ".join(
        f"WHEN ({condition}) THEN {literal(reason)}" for reason, condition in plan.spec.reject.items()
    )
    selected = [
        f"{primary}._file AS {FILE}",
        f"{primary}._line AS {LINE}",
        f"{primary}._reject AS {SOURCE_REASON}",
        f"coalesce(({plan.spec.where}), FALSE) AS {KEPT}" if plan.spec.where else f"TRUE AS {KEPT}",
        f"CASE {rules} END AS {RULE_REASON}" if rules else f"NULL AS {RULE_REASON}",
    ]
    for column in plan.columns:
        selected.append(f"{column.value_sql} AS {_value(column.name)}")
        if column.raw_sql is not None:
            selected.append(f"{column.raw_sql} AS {_unmapped(column.name)}")
    mapped = {column.name: column for column in plan.columns}
    typed = [
        f"{mapped[f.name].typed_sql} AS {ident(f.name)}"
        if f.name in mapped
        else f"CAST(NULL AS {duckdb_type(f.type)}) AS {ident(f.name)}"
        for f in plan.contract.schema
    ]
    defaults = [
        f"CAST({sql} AS {duckdb_type(plan.contract.schema.field(column).type)}) AS {ident(column)}"
        for column, sql in DERIVED_DEFAULTS.get(plan.name, {}).items()
        if column not in mapped
    ]
    defaulted = f"SELECT * REPLACE ({', '.join(defaults)})" if defaults else "SELECT *"
    return f"""
        SELECT *, {_reason_sql(plan)} AS {REASON}
        FROM ({defaulted} FROM (
            SELECT *, {", ".join(typed)} FROM (SELECT {", ".join(selected)} FROM {plan.from_clause})
        ))
    """


def _reason_sql(plan: TablePlan) -> str:
    """The first reason a row cannot be landed, most fundamental first; NULL when it can."""
    cases = [
        f"WHEN {SOURCE_REASON} IS NOT NULL THEN {SOURCE_REASON}",
        f"WHEN {RULE_REASON} IS NOT NULL THEN {RULE_REASON}",
    ]
    for column in plan.columns:
        if column.raw_sql is not None:
            cases.append(
                f"WHEN {_unmapped(column.name)} IS NOT NULL AND {_value(column.name)} IS NULL "
                f"THEN {literal('unmapped_' + column.name)}"
            )
    for column in plan.columns:
        if column.rejects_bad_values:
            present = f"nullif(trim(CAST({_value(column.name)} AS VARCHAR)), '') IS NOT NULL"
            cases.append(
                f"WHEN {present} AND {ident(column.name)} IS NULL THEN {literal('bad_' + column.name)}"
            )
    for name in required_columns(plan.name):
        missing = f"{ident(name)} IS NULL"
        if plan.contract.schema.field(name).type == pa.string():
            missing += f" OR trim({ident(name)}) = ''"
        cases.append(f"WHEN {missing} THEN {literal('missing_' + name)}")
    return f"CASE {' '.join(cases)} END"


def _output_sql(plan: TablePlan, business_timezone: str, id_prefix: str) -> str:
    clean = f"(SELECT * FROM {plan.rows} WHERE {REASON} IS NULL)"
    rows = _merged_sql(plan, clean) if plan.spec.merges else clean
    columns = []
    for f in plan.contract.schema:
        column = ident(f.name)
        if id_prefix and f.name.endswith("_id") and f.type == pa.string():
            column = f"{literal(id_prefix)} || {column}"
        columns.append(f"{column} AS {ident(f.name)}")
    day = f"CAST(timezone({literal(business_timezone)}, {ident(plan.contract.partition_column)}) AS DATE)"
    return f"SELECT {', '.join(columns)}, {day} AS {DAY}, {FILE}, {LINE} FROM {rows}"


def _merged_sql(plan: TablePlan, clean: str) -> str:
    """One row per key: the mapping's aggregates, else the earliest row's non-null value."""
    keys = [ident(k) for k in plan.contract.key]
    partition = ident(plan.contract.partition_column)
    order = f"{INTERNAL}order"
    # A rank instead of ORDER BY inside each aggregate: one sort for the table, not one per column.
    ranked = f"(SELECT *, row_number() OVER (ORDER BY {partition}, {FILE}, {LINE}) AS {order} FROM {clean})"
    columns = []
    for f in plan.contract.schema:
        if f.name in plan.contract.key:
            continue
        column = ident(f.name)
        if f.name in plan.spec.aggregate:
            expression = plan.spec.aggregate[f.name]
        elif f.name == plan.contract.partition_column:
            expression = f"min({column})"
        else:
            expression = f"arg_min({column}, {order})"  # arg_min skips NULL values
        columns.append(f"TRY_CAST(({expression}) AS {duckdb_type(f.type)}) AS {column}")
    return f"""(
        SELECT {", ".join(keys)}, {", ".join(columns)},
               arg_min({FILE}, {order}) AS {FILE}, arg_min({LINE}, {order}) AS {LINE}
        FROM {ranked} GROUP BY {", ".join(keys)}
    )"""


def _rejects_sql(plan: TablePlan, source: LoadedSource) -> str:
    """Rejected rows with where they came from, why, and the source values as they were read."""
    values = ", ".join(f"{ident(c)} := r.{ident(c)}" for c in source.columns)
    return f"""
        SELECT x.{FILE} AS source_file, x.{LINE} AS line, x.{REASON} AS reason,
               CAST(to_json(struct_pack({values})) AS VARCHAR) AS raw
        FROM {plan.rows} x JOIN {source.raw} r ON r._file = x.{FILE} AND r._line = x.{LINE}
        WHERE x.{REASON} IS NOT NULL
        UNION ALL
        SELECT _file, _line, reason, raw FROM {source.malformed_lines}
    """
