"""Data exported twice: identical source files and exact duplicate rows, found before mapping.

A shop export copied twice into the source folder, or appended to itself, would otherwise land
every order twice and double the revenue without any check noticing (every row is valid).

* **Identical files** — two files of one source with the same content (same size, same SHA-256)
  are the same export: the first in sorted order is read, the others are skipped and named in
  the report. Always on: reading the same bytes twice is never new data.
* **Exact duplicate rows** — rows of one source equal in every column (as read, across all its
  files) are collapsed into their first occurrence (by file, then line) before any table is
  mapped, and counted in the report. A source whose rows may legitimately repeat (an event log
  without ids and with second-resolution times) says `duplicate_rows: keep`; its duplicates are
  then only counted.

Rows equal only on a table's key but different elsewhere are not touched here: staging
quarantines them (`duplicate`), or a table's `merge` folds them as the mapping says.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from huaxiang.ingest.sql import ident

if TYPE_CHECKING:
    from huaxiang.ingest.sources import LoadedSource

EXAMPLES = 3
COLLAPSE, KEEP = "collapse", "keep"


@dataclass(frozen=True)
class IdenticalFile:
    skipped: str  # shown relative to the source folder
    identical_to: str  # the file read instead
    sha256: str


@dataclass(frozen=True)
class DuplicateRows:
    """Rows equal in every column to an earlier row of the same source."""

    rows: int = 0  # beyond each first occurrence
    policy: str = COLLAPSE
    # (file, line, first file, first line) of a few duplicates, earliest first
    examples: tuple[tuple[str, int, str, int], ...] = field(default_factory=tuple)

    @property
    def collapsed(self) -> int:
        return self.rows if self.policy == COLLAPSE else 0


def shown_path(path: Path, source_dir: Path) -> str:
    folder = source_dir.resolve()
    return str(path.relative_to(folder)) if path.is_relative_to(folder) else str(path)


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def drop_identical_files(files: list[Path], source_dir: Path) -> tuple[list[Path], list[IdenticalFile]]:
    """The files to read (sorted order kept) and the identical copies left out.

    Only files sharing a size are hashed, so a folder of distinct exports costs a stat per file.
    """
    by_size: dict[int, list[Path]] = defaultdict(list)
    for path in files:
        by_size[path.stat().st_size].append(path)
    first_of: dict[str, Path] = {}
    skipped: dict[Path, IdenticalFile] = {}
    for same_size in by_size.values():
        if len(same_size) < 2:
            continue
        for path in same_size:  # sorted, so the first of a content is the one read
            digest = _sha256(path)
            if digest in first_of:
                skipped[path] = IdenticalFile(
                    shown_path(path, source_dir), shown_path(first_of[digest], source_dir), digest
                )
            else:
                first_of[digest] = path
    kept = [path for path in files if path not in skipped]
    return kept, [skipped[path] for path in files if path in skipped]


def handle_duplicate_rows(
    con: duckdb.DuckDBPyConnection, relation: str, columns: list[str], policy: str
) -> DuplicateRows:
    """Count rows of `relation` equal in every source column to an earlier one; delete them unless
    `policy` is keep. `relation` has the source columns plus `_file` and `_line`."""
    if not columns:
        return DuplicateRows(policy=policy)
    keys = ", ".join(ident(column) for column in columns)
    total = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
    distinct = con.execute(f"SELECT count(*) FROM (SELECT DISTINCT {keys} FROM {relation})").fetchone()[0]
    if total == distinct:
        return DuplicateRows(policy=policy)
    window = f"(PARTITION BY {keys} ORDER BY _file, _line)"
    ranked = f"""
        SELECT rowid AS row_id, _file, _line,
               first_value(_file) OVER {window} AS first_file,
               first_value(_line) OVER {window} AS first_line,
               row_number() OVER {window} AS occurrence
        FROM {relation}
    """
    examples = con.execute(
        f"SELECT _file, _line, first_file, first_line FROM ({ranked}) WHERE occurrence > 1 "
        f"ORDER BY _file, _line LIMIT {EXAMPLES}"
    ).fetchall()
    if policy == COLLAPSE:
        con.execute(f"DELETE FROM {relation} WHERE rowid IN (SELECT row_id FROM ({ranked}) WHERE occurrence > 1)")
    return DuplicateRows(
        rows=total - distinct,
        policy=policy,
        examples=tuple((str(f), int(line), str(ff), int(fl)) for f, line, ff, fl in examples),
    )


def collapse_loaded(
    con: duckdb.DuckDBPyConnection, source: LoadedSource, policy: str
) -> tuple[LoadedSource, DuplicateRows]:
    """`handle_duplicate_rows` over a LoadedSource; returns it with its row count after collapsing."""
    duplicates = handle_duplicate_rows(con, source.raw, source.columns, policy)
    return replace(source, rows=source.rows - duplicates.collapsed), duplicates


def describe(source: str, identical: list[IdenticalFile], duplicates: DuplicateRows) -> list[str]:
    """Report lines about one source's duplicates (empty when there are none)."""
    lines = [
        f"{source}: {copy.skipped} skipped, identical to {copy.identical_to} (sha256 {copy.sha256[:12]})"
        for copy in identical
    ]
    if duplicates.rows:
        examples = "; ".join(
            f"{f}:{line} = {ff}:{fl}" if f != ff else f"{f} line {line} = line {fl}"
            for f, line, ff, fl in duplicates.examples
        )
        if duplicates.policy == COLLAPSE:
            what = "collapsed into their first occurrence (landed once)"
        else:
            what = "kept: the mapping declares them legitimate (duplicate_rows: keep)"
        lines.append(
            f"{source}: {duplicates.rows:,} exact duplicate row(s) (every column equal) {what}; e.g. {examples}"
        )
    return lines
