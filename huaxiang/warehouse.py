"""DuckDB warehouse access: short-lived connections and the idempotent raw loader."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from huaxiang.contract import RAW_TABLES
from huaxiang.landing import LandingFileError, partition_parts

RAW_SCHEMA = "raw"
PARTITION_COLUMN = "_partition_date"


@contextmanager
def connect(
    path: Path, *, read_only: bool = False, memory_limit: str | None = None, threads: int | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse for the duration of a block; DuckDB allows one writer, so never hold it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | int] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    conn = duckdb.connect(str(path), read_only=read_only, config=config)
    try:
        yield conn
    finally:
        conn.close()


# DuckDB errors of the warehouse or the process, not of the Parquet part being read.
_NOT_THE_FILE = (
    duckdb.OutOfMemoryException,
    duckdb.InterruptException,
    duckdb.TransactionException,
    duckdb.FatalException,
    duckdb.ConnectionException,
)


class LandingSchemaError(ValueError):
    """A landed file does not match the raw contract (missing column or changed type)."""


@dataclass(frozen=True)
class LoadResult:
    table: str
    day: date
    rows: int
    file_bytes: int
    replaced_rows: int
    found_file: bool  # at least one Parquet part was landed for the day
    files: int = 0  # Parquet parts loaded


def ensure_raw_table(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    schema = RAW_TABLES[table].schema.append(pa.field(PARTITION_COLUMN, pa.date32()))
    empty = schema.empty_table()  # noqa: F841 - referenced by name from SQL below
    conn.execute(f"create schema if not exists {RAW_SCHEMA}")
    conn.execute(f"create table if not exists {RAW_SCHEMA}.{table} as select * from empty")


def check_file_schema(table: str, file_schema: pa.Schema, path: Path | None = None) -> None:
    contract = RAW_TABLES[table].schema
    problems = []
    for field in contract:
        index = file_schema.get_field_index(field.name)
        if index < 0:
            problems.append(f"missing column '{field.name}'")
            continue
        found = file_schema.field(index).type
        if found != field.type and not (pa.types.is_null(found)):
            problems.append(f"column '{field.name}' is {found}, contract says {field.type}")
    if problems:
        where = f" (in {path})" if path is not None else ""
        raise LandingSchemaError(f"raw.{table}: landed file breaks the contract: " + "; ".join(problems) + where)


def load_partition(conn: duckdb.DuckDBPyConnection, landing_dir: Path, table: str, day: date) -> LoadResult:
    """Replace one business day of `raw.<table>` with its landed parts (`load_partitions` for one day):
    a day that breaks the contract raises its LandingSchemaError."""
    results, refused = load_partitions(conn, landing_dir, table, [day])
    if refused:
        raise refused[day]
    return results[0]


def load_partitions(
    conn: duckdb.DuckDBPyConnection, landing_dir: Path, table: str, days: Iterable[date]
) -> tuple[list[LoadResult], dict[date, LandingSchemaError]]:
    """Replace business days of `raw.<table>` with their landed parts (idempotent): the loaded days'
    results, and the refused days with why.

    Every Parquet part of each day folder is loaded, each checked against the contract first; a day
    with no part becomes an empty partition. Rows are loaded as they are (cleaning is the staging
    layer's job), but a day with a part whose columns break the contract, or anything in its folder
    that is not a Parquet part, is refused (LandingSchemaError naming the file) and keeps its previous
    rows; the other days load. The accepted days are one transaction and one read of all their parts
    (DuckDB's Parquet reader, the day from the folder name); only when that read fails (a damaged
    file) are the days loaded one at a time, part by part, to name the file and keep the rest.
    """
    ensure_raw_table(conn, table)
    parts_by_day: dict[date, list[Path]] = {}
    refused: dict[date, LandingSchemaError] = {}
    for day in sorted(set(days)):
        try:
            parts_by_day[day] = _checked_parts(landing_dir, table, day)
        except LandingSchemaError as error:
            refused[day] = error
    if not parts_by_day:
        return [], refused
    try:
        return _replace_days(conn, table, parts_by_day), refused
    except _NOT_THE_FILE:
        raise
    except duckdb.Error:
        pass  # a file DuckDB cannot read: find it day by day
    results = []
    for day, parts in parts_by_day.items():
        try:
            results += _replace_days(conn, table, {day: parts}, part_by_part=True)
        except LandingSchemaError as error:
            refused[day] = error
    return results, refused


def _replace_days(
    conn: duckdb.DuckDBPyConnection, table: str, parts_by_day: dict[date, list[Path]], *, part_by_part: bool = False
) -> list[LoadResult]:
    """Delete the days from `raw.<table>` and insert their parts, in one transaction."""
    days = sorted(parts_by_day)
    columns = ", ".join(RAW_TABLES[table].schema.names)
    relation = f"{RAW_SCHEMA}.{table}"
    in_days = f"{PARTITION_COLUMN} in (select unnest(?::date[]))"
    count_by_day = f"select {PARTITION_COLUMN}, count(*) from {relation} where {in_days} group by all"
    # The day comes from the folder (landing/<table>/date=YYYY-MM-DD/part-N.parquet); parts are matched
    # to the contract by column name, in the order listed (day, then part name).
    insert = (
        f"insert into {relation} ({columns}, {PARTITION_COLUMN}) "
        f"select {columns}, cast(date as date) "
        "from read_parquet(?, hive_partitioning = true, hive_types = {'date': date}, union_by_name = true)"
    )
    conn.execute("begin transaction")
    try:
        replaced = dict(conn.execute(count_by_day, [days]).fetchall())
        conn.execute(f"delete from {relation} where {in_days}", [days])
        batches = (
            [[part] for day in days for part in parts_by_day[day]]
            if part_by_part
            else [[part for day in days for part in parts_by_day[day]]]
        )
        for batch in batches:
            if not batch:
                continue
            try:
                conn.execute(insert, [[str(part) for part in batch]])
            except _NOT_THE_FILE:
                raise
            except duckdb.Error as error:
                if not part_by_part:
                    raise
                # A readable footer over damaged pages (a truncated copy, a disk error): DuckDB says
                # "don't know what type", "Invalid Input Error", … — about the file, not the warehouse.
                raise _unreadable(table, days[0], batch[0], error) from error
        rows = dict(conn.execute(count_by_day, [days]).fetchall())
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    return [
        LoadResult(
            table=table,
            day=day,
            rows=rows.get(day, 0),
            file_bytes=sum(part.stat().st_size for part in parts_by_day[day]),
            replaced_rows=replaced.get(day, 0),
            found_file=bool(parts_by_day[day]),
            files=len(parts_by_day[day]),
        )
        for day in days
    ]


def _checked_parts(landing_dir: Path, table: str, day: date) -> list[Path]:
    """The day's Parquet parts, each checked against the contract before anything is replaced."""
    import pyarrow.parquet as pq

    try:
        parts = partition_parts(landing_dir, table, day)
    except LandingFileError as error:
        raise LandingSchemaError(f"raw.{table} {day}: {error}") from error
    for part in parts:
        if part.stat().st_size == 0:
            raise LandingSchemaError(
                f"raw.{table} {day}: landing file {part} is empty (0 bytes): re-land the day, or remove the file"
            )
        try:
            schema = pq.read_schema(part)
        except (pa.ArrowException, OSError) as error:
            raise _unreadable(table, day, part, error) from error
        check_file_schema(table, schema, part)
    return parts


def _unreadable(table: str, day: date, part: Path, error: BaseException) -> LandingSchemaError:
    """One line naming the file, what is wrong and what to do (the reader's message: first line only)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reason = lines[0] if lines else type(error).__name__
    return LandingSchemaError(
        f"raw.{table} {day}: landing file {part} is not a readable Parquet file: re-land the day, "
        f"or remove the file ({reason[:160]})"
    )
