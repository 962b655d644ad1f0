"""The landing zone: one Parquet file per raw table per business day, written atomically."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from huaxiang.contract import RAW_TABLES

PART_FILE = "part-0.parquet"


def partition_path(landing_dir: Path, table: str, day: date) -> Path:
    return landing_dir / table / f"date={day.isoformat()}" / PART_FILE


def write_partition(landing_dir: Path, table: str, day: date, data: pa.Table) -> Path:
    """Write one day of one table, replacing what was there (idempotent re-landing).

    The file is written aside and renamed into place so a reader never sees half a file.
    Columns are cast to the contract schema; a missing column is an error, not a silent null.
    """
    contract = RAW_TABLES[table].schema
    missing = [name for name in contract.names if name not in data.column_names]
    if missing:
        raise ValueError(f"landing {table} {day}: missing contract columns {missing}")
    data = data.select(contract.names).cast(contract)
    target = partition_path(landing_dir, table, day)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".parquet.tmp")
    pq.write_table(data, tmp, compression="zstd")
    os.replace(tmp, target)
    return target


def landed_days(landing_dir: Path, table: str | None = None) -> list[date]:
    """Business days for which any (or the given) table has a landed file, sorted."""
    tables = [table] if table else list(RAW_TABLES)
    days: set[date] = set()
    for name in tables:
        root = landing_dir / name
        if not root.is_dir():
            continue
        for folder in root.glob("date=*"):
            if (folder / PART_FILE).is_file():
                days.add(date.fromisoformat(folder.name.removeprefix("date=")))
    return sorted(days)
