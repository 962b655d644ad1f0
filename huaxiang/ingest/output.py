"""Writing what an ingest computed: landing partitions (through huaxiang.landing) and rejects files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from huaxiang.contract import RAW_TABLES
from huaxiang.ingest.sql import literal
from huaxiang.ingest.tables import DAY, BuiltTable
from huaxiang.landing import write_partition

BATCH_ROWS = 200_000


def landed_day_list(con: duckdb.DuckDBPyConnection, built: dict[str, BuiltTable]) -> list[date]:
    """Every business day any table has a row on: each contract table gets a file for each of them."""
    if not built:
        return []
    union = " UNION ".join(f"SELECT DISTINCT {DAY} FROM {table.plan.output}" for table in built.values())
    return [row[0] for row in con.execute(f"SELECT * FROM ({union}) ORDER BY 1").fetchall()]


def write_rejects(con: duckdb.DuckDBPyConnection, built: dict[str, BuiltTable], rejects_dir: Path) -> None:
    """`<table>.csv` per mapped table (header only when nothing was rejected); stale ones removed."""
    rejects_dir.mkdir(parents=True, exist_ok=True)
    for table in RAW_TABLES:
        target = rejects_dir / f"{table}.csv"
        if table not in built:
            target.unlink(missing_ok=True)
            continue
        partial = target.with_suffix(".csv.tmp")
        con.execute(
            f"COPY (SELECT * FROM ({built[table].rejects_sql}) ORDER BY source_file, line, reason) "
            f"TO {literal(str(partial))} (HEADER, DELIMITER ',')"
        )
        os.replace(partial, target)


def write_landing(
    con: duckdb.DuckDBPyConnection,
    built: dict[str, BuiltTable],
    days: list[date],
    landing_dir: Path,
    progress: bool,
) -> None:
    """One file per contract table per day, empty where the table has nothing that day."""
    with tqdm(total=len(RAW_TABLES) * len(days), desc="landing", unit="file", disable=not progress) as bar:
        for table, spec in RAW_TABLES.items():
            written: set[date] = set()
            if table in built:
                for day, data in _rows_by_day(con, built[table]):
                    write_partition(landing_dir, table, day, data)
                    written.add(day)
                    bar.update()
            empty = spec.schema.empty_table()
            for day in days:
                if day not in written:
                    write_partition(landing_dir, table, day, empty)
                    bar.update()


def _rows_by_day(con: duckdb.DuckDBPyConnection, table: BuiltTable) -> Iterator[tuple[date, pa.Table]]:
    """Stream the table sorted by day and key, one day at a time, so memory holds a day, not the table."""
    reader = con.execute(f"SELECT * FROM {table.plan.output} ORDER BY {table.order_by}").fetch_record_batch(
        BATCH_ROWS
    )
    current: date | None = None
    parts: list[pa.RecordBatch] = []
    for batch in reader:
        days = batch.column(DAY)
        for day in pc.unique(days).to_pylist():
            if current is not None and day != current:
                yield current, pa.Table.from_batches(parts)
                parts = []
            current = day
            parts.append(batch.filter(pc.equal(days, pa.scalar(day, days.type))))
    if current is not None:
        yield current, pa.Table.from_batches(parts)
