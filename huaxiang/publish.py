"""Publishing marts for BI tools as an atomic snapshot.

Readers never open the working warehouse. A snapshot is written aside (a new DuckDB file and
Parquet folder) and swapped in by rename, so a BI tool holding the previous file open keeps a
consistent view and a new connection sees the new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

SNAPSHOT_FILE = "marts.duckdb"
PARQUET_DIR = "parquet"
MANIFEST_FILE = "manifest.json"
SCHEMA_VERSION = 1
MARTS_SCHEMA = "marts"


@dataclass(frozen=True)
class PublishedSnapshot:
    path: Path
    row_counts: dict[str, int]
    manifest: dict


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def publish_marts(
    warehouse: Path, published_dir: Path, tables: list[str], *, run_id: str, as_of: str | None
) -> PublishedSnapshot:
    """Copy `marts.<table>` for each table into a fresh snapshot, then swap it in atomically."""
    published_dir.mkdir(parents=True, exist_ok=True)
    staging = published_dir / f".staging-{run_id}"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / PARQUET_DIR).mkdir(parents=True)
    snapshot = staging / SNAPSHOT_FILE

    row_counts: dict[str, int] = {}
    conn = duckdb.connect(str(snapshot))
    try:
        conn.execute(f"attach '{warehouse}' as warehouse (read_only)")
        for table in tables:
            conn.execute(f"create table main.{table} as select * from warehouse.{MARTS_SCHEMA}.{table}")
            row_counts[table] = conn.execute(f"select count(*) from main.{table}").fetchone()[0]
            parquet = staging / PARQUET_DIR / f"{table}.parquet"
            conn.execute(f"copy main.{table} to '{parquet}' (format parquet, compression zstd)")
        conn.execute("detach warehouse")
        conn.execute("checkpoint")
    finally:
        conn.close()

    manifest = {
        "run_id": run_id,
        "as_of": as_of,
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "schema_version": SCHEMA_VERSION,
        "row_counts": row_counts,
        "checksums": {
            SNAPSHOT_FILE: _sha256(snapshot),
            **{f"{PARQUET_DIR}/{t}.parquet": _sha256(staging / PARQUET_DIR / f"{t}.parquet") for t in tables},
        },
    }
    (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    _swap_in(staging, published_dir)
    return PublishedSnapshot(path=published_dir / SNAPSHOT_FILE, row_counts=row_counts, manifest=manifest)


def _swap_in(staging: Path, published_dir: Path) -> None:
    """Rename the new Parquet folder, then the DuckDB file, then the manifest into place.

    Each rename is atomic. The manifest goes last, so it only ever names a complete snapshot.
    """
    target_parquet = published_dir / PARQUET_DIR
    if target_parquet.exists():
        retired = published_dir / f".retired-{staging.name}"
        os.replace(target_parquet, retired)
        os.replace(staging / PARQUET_DIR, target_parquet)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging / PARQUET_DIR, target_parquet)
    os.replace(staging / SNAPSHOT_FILE, published_dir / SNAPSHOT_FILE)
    os.replace(staging / MANIFEST_FILE, published_dir / MANIFEST_FILE)
    shutil.rmtree(staging, ignore_errors=True)
