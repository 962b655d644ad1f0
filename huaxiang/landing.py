"""The landing zone: Parquet parts per raw table per business day, written atomically.

A day of a table is the folder `landing/<table>/date=YYYY-MM-DD/`. It holds one or more Parquet
parts (`part-0.parquet`, `part-1.parquet`, … — any `*.parquet` name), read in name order. The
writers here write one part, `part-0.parquet`; other tools may drop more parts beside it.

Names starting with `.` or `_` are hidden (the Hadoop/Spark convention: `.DS_Store`, `_SUCCESS`,
half-written `.part-0.parquet.tmp`) and ignored everywhere. Anything else in a day folder that is
not a `*.parquet` file is refused by the loader with a one-line error naming it
(`LandingFileError`): a stray `part-0.csv` must not be skipped silently.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from huaxiang.contract import RAW_TABLES
from huaxiang.errors import UserFacingError

PART_FILE = "part-0.parquet"  # the part the writers below write
PART_SUFFIX = ".parquet"
HIDDEN_PREFIXES = (".", "_")
DAY_FOLDER_PREFIX = "date="
# The only day folder name the loader reads: `date=` and a zero-padded ISO day.
DAY_FOLDER_NAME = re.compile(r"date=(\d{4}-\d{2}-\d{2})")


class LandingFileError(ValueError):
    """A day folder holds something that is not a Parquet part (named in the message)."""


class LandingFolderError(UserFacingError, ValueError):
    """A `date=` folder whose name is not `date=YYYY-MM-DD` (named in the message)."""


def day_of_folder(folder: Path) -> date:
    """The business day of a `date=YYYY-MM-DD` folder; `LandingFolderError` naming it otherwise.

    Strict on purpose: `date=2026-6-10` or `date=20260610` would parse (or not) differently from
    the folder the loader reads for that day (`partition_dir`), so its files would be silently
    skipped."""
    match = DAY_FOLDER_NAME.fullmatch(folder.name)
    day = None
    if match:
        try:
            day = date.fromisoformat(match.group(1))
        except ValueError:
            day = None
    if day is None:
        raise LandingFolderError(
            f"landing folder {folder} is not named date=YYYY-MM-DD (a zero-padded day, e.g. date=2026-06-10); "
            "rename it, or move it out of the landing zone"
        )
    return day


def is_hidden(name: str) -> bool:
    return name.startswith(HIDDEN_PREFIXES)


def partition_dir(landing_dir: Path, table: str, day: date) -> Path:
    return landing_dir / table / f"{DAY_FOLDER_PREFIX}{day.isoformat()}"


def partition_path(landing_dir: Path, table: str, day: date) -> Path:
    """The part the writers write (`part-0.parquet`); a day may hold more, see `day_parts`."""
    return partition_dir(landing_dir, table, day) / PART_FILE


def visible_entries(folder: Path) -> list[Path]:
    """Everything in a day folder that is not hidden, sorted by name (empty when there is no folder)."""
    if not folder.is_dir():
        return []
    return sorted((entry for entry in folder.iterdir() if not is_hidden(entry.name)), key=lambda p: p.name)


def is_landed_folder(folder: Path) -> bool:
    """A day counts as landed when its folder holds any visible entry: a Parquet part, or junk the
    loader will then refuse loudly (a day holding only `part-0.csv` is not silently absent)."""
    return bool(visible_entries(folder))


def day_parts(folder: Path) -> list[Path]:
    """The Parquet parts of one day folder, sorted by name; raises `LandingFileError` on anything else."""
    parts = []
    for entry in visible_entries(folder):
        if not entry.name.endswith(PART_SUFFIX) or not entry.is_file():
            kind = "a folder" if entry.is_dir() else "not a *.parquet file"
            raise LandingFileError(
                f"landing file {entry} is {kind}: a day folder holds only Parquet parts (*.parquet); "
                "remove or move it (names starting with . or _ are ignored)"
            )
        parts.append(entry)
    return parts


def partition_parts(landing_dir: Path, table: str, day: date) -> list[Path]:
    """The Parquet parts landed for one table and day, in the order they are read."""
    return day_parts(partition_dir(landing_dir, table, day))


def write_partition(landing_dir: Path, table: str, day: date, data: pa.Table) -> Path:
    """Write one day of one table, replacing what was there (idempotent re-landing).

    The file is written aside (a hidden name) and renamed into place so a reader never sees half a
    file; other Parquet parts of the day are removed first, so the day is exactly `data`.
    Columns are cast to the contract schema; a missing column is an error, not a silent null.
    """
    contract = RAW_TABLES[table].schema
    missing = [name for name in contract.names if name not in data.column_names]
    if missing:
        raise ValueError(f"landing {table} {day}: missing contract columns {missing}")
    data = data.select(contract.names).cast(contract)
    target = partition_path(landing_dir, table, day)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    pq.write_table(data, tmp, compression="zstd")
    for entry in visible_entries(target.parent):
        if entry != target and entry.name.endswith(PART_SUFFIX) and entry.is_file():
            entry.unlink()
    os.replace(tmp, target)
    return target


def landed_days(landing_dir: Path, table: str | None = None) -> list[date]:
    """Business days for which any (or the given) table has a landed part, sorted.

    A `date=` folder not named `date=YYYY-MM-DD` raises `LandingFolderError` (a UserFacingError)."""
    tables = [table] if table else list(RAW_TABLES)
    days: set[date] = set()
    for name in tables:
        root = landing_dir / name
        if not root.is_dir():
            continue
        for folder in sorted(root.glob(f"{DAY_FOLDER_PREFIX}*")):
            day = day_of_folder(folder)  # a misnamed folder is an error, not a day silently skipped
            if is_landed_folder(folder):
                days.add(day)
    return sorted(days)
