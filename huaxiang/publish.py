"""Publishing marts for BI tools as an atomic snapshot.

Readers never open the working warehouse. A snapshot is built aside (a new DuckDB file and
Parquet folder), scanned for personal data, and only then swapped in by rename, so a BI tool
holding the previous file open keeps a consistent view and a new connection sees the new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

SNAPSHOT_FILE = "marts.duckdb"
PARQUET_DIR = "parquet"
MANIFEST_FILE = "manifest.json"
SCHEMA_VERSION = 1
MARTS_SCHEMA = "marts"

# Contact data never leaves the warehouse unless explicitly configured (hashes only, then).
CONTACT_COLUMN = re.compile(r"^(phone|email|mobile)(_hash)?$|_hash$")
# Patterns of raw personal data: mainland mobile numbers and e-mail addresses. A mobile number is
# an 11-digit run not glued to other letters or digits: inside a hex hash (Olist's customer ids,
# `olist_19488640175c43…`) it is not one; after a separator (`shop_13812345678`, `手机13812345678`) it is.
PII_PATTERNS = {
    "phone": r"(^|[^0-9A-Za-z])1[3-9][0-9]{9}([^0-9A-Za-z]|$)",
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
}


@dataclass(frozen=True)
class PiiFinding:
    table: str
    column: str
    pattern: str
    rows: int
    example: str


@dataclass(frozen=True)
class StagedSnapshot:
    folder: Path
    row_counts: dict[str, int]
    dropped_columns: dict[str, list[str]]
    as_of: str | None

    @property
    def database(self) -> Path:
        return self.folder / SNAPSHOT_FILE


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _published_columns(columns: list[str], keep_contact_hashes: bool) -> tuple[list, list]:
    """The columns to publish and the contact columns left out."""
    dropped = [c for c in columns if CONTACT_COLUMN.search(c) and not (keep_contact_hashes and c.endswith("_hash"))]
    return [c for c in columns if c not in dropped], dropped


def build_snapshot(
    warehouse: Path,
    published_dir: Path,
    tables: list[str],
    *,
    run_id: str,
    keep_contact_hashes: bool = False,
    source: Any | None = None,
) -> StagedSnapshot:
    """Copy `marts.<table>` for each table into a new snapshot folder beside the published one.

    `source`: a huaxiang.engines engine to read the marts from instead of the DuckDB `warehouse`
    (the Spark target: the marts come over as Arrow tables, all in one engine call).
    """
    folder = published_dir / f".staging-{run_id}"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / PARQUET_DIR).mkdir(parents=True)
    row_counts: dict[str, int] = {}
    dropped_columns: dict[str, list[str]] = {}
    as_of_values: list[str] = []
    conn = duckdb.connect(str(folder / SNAPSHOT_FILE))
    try:
        if source is None:
            quoted = str(warehouse).replace("'", "''")
            conn.execute(f"attach '{quoted}' as warehouse (read_only)")
        else:
            from huaxiang.engines import read_queries

            fetched = read_queries(source, {table: f"select * from {MARTS_SCHEMA}.{table}" for table in tables})
        for table in tables:
            if source is None:
                names = [row[0] for row in conn.execute(f"describe warehouse.{MARTS_SCHEMA}.{table}").fetchall()]
            else:
                names = fetched[table].column_names
            columns, dropped = _published_columns(names, keep_contact_hashes)
            if dropped:
                dropped_columns[table] = dropped
            select = ", ".join(f'"{c}"' for c in columns)
            if source is None:
                conn.execute(f"create table main.{table} as select {select} from warehouse.{MARTS_SCHEMA}.{table}")
            else:
                conn.register("source_table", fetched[table])
                conn.execute(f"create table main.{table} as select {select} from source_table")
                conn.unregister("source_table")
            row_counts[table] = conn.execute(f"select count(*) from main.{table}").fetchone()[0]
            if "as_of" in columns:
                latest = conn.execute(f"select max(as_of)::varchar from main.{table}").fetchone()[0]
                as_of_values += [latest] if latest else []
            conn.execute(
                f"copy main.{table} to ? (format parquet, compression zstd)",
                [str(folder / PARQUET_DIR / f"{table}.parquet")],
            )
        if source is None:
            conn.execute("detach warehouse")
        conn.execute("checkpoint")
    finally:
        conn.close()
    return StagedSnapshot(
        folder=folder,
        row_counts=row_counts,
        dropped_columns=dropped_columns,
        as_of=max(as_of_values) if as_of_values else None,
    )


def scan_for_pii(snapshot: StagedSnapshot) -> list[PiiFinding]:
    """Every text column of every published table, searched for phone numbers and e-mail addresses."""
    findings = []
    with duckdb.connect(str(snapshot.database), read_only=True) as conn:
        text_columns = conn.execute(
            "select table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR' order by table_name, column_name"
        ).fetchall()
        for table, column in text_columns:
            for name, pattern in PII_PATTERNS.items():
                rows, example = conn.execute(
                    f'select count(*), any_value("{column}") from main.{table} where regexp_matches("{column}", ?)',
                    [pattern],
                ).fetchone()
                if rows:
                    findings.append(PiiFinding(table, column, name, rows, str(example)[:3] + "…"))
    return findings


def discard(snapshot: StagedSnapshot) -> None:
    shutil.rmtree(snapshot.folder, ignore_errors=True)


def swap_in(
    snapshot: StagedSnapshot,
    published_dir: Path,
    *,
    run_id: str,
    source: dict | None = None,
    quality: dict | None = None,
) -> dict:
    """Write the manifest, then rename the Parquet folder, the DuckDB file and the manifest into place.

    Each rename is atomic; the manifest goes last, so it only ever names a complete snapshot.
    `source` says what the data came from and which signals it lacks (why some tags are 'unknown'
    and some marts empty), from the landing zone's source profile; `quality` lists the run's
    warnings and the reviewed exceptions in force (`huaxiang quality accept`).
    """
    tables = list(snapshot.row_counts)
    manifest = {
        "run_id": run_id,
        "as_of": snapshot.as_of,
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "schema_version": SCHEMA_VERSION,
        "source": source or {},
        "quality": quality or {"warnings": [], "accepted_exceptions": []},
        "row_counts": snapshot.row_counts,
        "dropped_columns": snapshot.dropped_columns,
        "checksums": {
            SNAPSHOT_FILE: _sha256(snapshot.database),
            **{f"{PARQUET_DIR}/{t}.parquet": _sha256(snapshot.folder / PARQUET_DIR / f"{t}.parquet") for t in tables},
        },
    }
    (snapshot.folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))

    target_parquet = published_dir / PARQUET_DIR
    retired = published_dir / f".retired-{run_id}"
    if target_parquet.exists():
        os.replace(target_parquet, retired)
    os.replace(snapshot.folder / PARQUET_DIR, target_parquet)
    os.replace(snapshot.database, published_dir / SNAPSHOT_FILE)
    os.replace(snapshot.folder / MANIFEST_FILE, published_dir / MANIFEST_FILE)
    shutil.rmtree(retired, ignore_errors=True)
    discard(snapshot)
    return manifest


def clean_leftovers(published_dir: Path) -> None:
    """Remove half-built snapshots of runs that were killed before their swap."""
    for leftover in list(published_dir.glob(".staging-*")) + list(published_dir.glob(".retired-*")):
        shutil.rmtree(leftover, ignore_errors=True)
