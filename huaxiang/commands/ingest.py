"""`huaxiang ingest`: land files described by a mapping into the raw contract, or say why not.

Order matters: everything about the mapping is checked (YAML, contract names, columns, formats on
a sample, every expression bound) before a source is read in full, and every table is computed
before the first file is written; a mapping error therefore leaves the landing zone untouched.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb

from huaxiang.contract import RAW_TABLES
from huaxiang.errors import UserFacingError
from huaxiang.ingest.duplicates import DuplicateRows, collapse_loaded
from huaxiang.ingest.mapping import Mapping, load_mapping, mapping_error
from huaxiang.ingest.output import landed_day_list, write_landing, write_rejects
from huaxiang.ingest.profile import build_source_profile
from huaxiang.ingest.report import IngestReport, SourceCounts, TableCounts
from huaxiang.ingest.sources import LoadedSource, PreparedSource, check_timezone, load_source, prepare_source
from huaxiang.ingest.sql import first_line, ident
from huaxiang.ingest.tables import BuiltTable, TablePlan, build_table, plan_table
from huaxiang.landing import landed_days
from huaxiang.settings import Settings
from huaxiang.source_profile import write_source_profile

REJECTS_FOLDER = "_rejects"


def add_ingest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mapping",
        required=True,
        type=Path,
        help="mapping file describing the source (examples: mappings/; guide: docs/bring-your-own-data.md)",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="folder holding the source files (default: the mapping's source_dir)",
    )


def run_ingest_command(args: argparse.Namespace, settings: Settings) -> int:
    """The CLI handler: print the reconciliation; exit 1 when the data was not landed."""
    report = ingest(args.mapping, args.source, settings, progress=not getattr(args, "quiet", False))
    print(report.render())
    return 0 if report.success else 1


def ingest(mapping_path: Path, source_dir: Path | None, settings: Settings, progress: bool = True) -> IngestReport:
    started = time.monotonic()
    mapping = load_mapping(mapping_path)
    folder = _source_folder(mapping, mapping_path, source_dir)
    source_timezone = mapping.timezone or settings.timezone
    landing_dir = settings.landing_dir
    with _connection(settings) as con:
        _check_timezones(con, mapping_path, source_timezone, settings.timezone)
        _say(progress, f"checking {mapping_path} against the sources in {folder}")
        prepared = [
            prepare_source(con, mapping_path, name, spec, folder, source_timezone)
            for name, spec in mapping.sources.items()
        ]
        _create_views(con, mapping, mapping_path)
        plans = [plan_table(con, mapping_path, table, spec, source_timezone) for table, spec in mapping.tables.items()]
        loaded: dict[str, LoadedSource] = {}
        duplicates: dict[str, DuplicateRows] = {}
        for source in prepared:
            _say(progress, f"reading {source.name} ({len(source.files)} file(s))")
            loaded[source.name], duplicates[source.name] = _load_once(con, mapping_path, source)
        built = _build_tables(con, mapping_path, mapping, plans, loaded, settings.timezone, progress)
        built = _count_collapsed_duplicates(built, duplicates)
        days = landed_day_list(con, built)
        report = IngestReport(
            mapping_name=mapping.name,
            mapping_path=mapping_path,
            source_dir=folder,
            landing_dir=landing_dir,
            business_timezone=settings.timezone,
            source_timezone=source_timezone,
            sources=[
                _with_duplicates(_source_counts(con, loaded[source.name]), source, duplicates[source.name])
                for source in prepared
            ],
            tables=[built[t].counts if t in built else TableCounts(t, None) for t in RAW_TABLES],
            days=days,
            rejects_dir=landing_dir / REJECTS_FOLDER,
        )
        report.problems = _reject_problems(report, mapping.max_rejected_fraction)
        other_days = sorted(set(landed_days(landing_dir)) - set(days))
        write_rejects(con, built, report.rejects_dir)
        if not report.problems and days:
            write_landing(con, built, days, landing_dir, progress)
            # What the source is and what it landed, for the gates (docs/quality.md, "Source profile").
            report.profile = build_source_profile(con, mapping, built, days)
            write_source_profile(landing_dir, report.profile)
            report.written = True
        elif not days:
            report.problems.append("no row could be landed")
    report.notes = _notes(report, settings, other_days)
    report.seconds = time.monotonic() - started
    return report


def _source_folder(mapping: Mapping, mapping_path: Path, source_dir: Path | None) -> Path:
    if source_dir is None and mapping.source_dir is None:
        raise UserFacingError(f"mapping {mapping_path} names no source_dir; pass --source DIR")
    folder = source_dir if source_dir is not None else mapping_path.parent / str(mapping.source_dir)
    if not folder.is_dir():
        raise UserFacingError(f"source folder {folder} not found")
    return folder.resolve()


@contextmanager
def _connection(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB that spills to a private temporary folder; UTC so instants stay instants."""
    with tempfile.TemporaryDirectory(prefix="huaxiang-ingest-") as spill:
        con = duckdb.connect(
            config={
                "threads": settings.duckdb_threads,
                "memory_limit": settings.duckdb_memory_limit,
                "temp_directory": spill,
            }
        )
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET enable_progress_bar = false")  # the report and our own lines say enough
            yield con
        finally:
            con.close()


def _check_timezones(con: duckdb.DuckDBPyConnection, mapping_path: Path, source: str, business: str) -> None:
    check_timezone(con, mapping_path, "timezone", source)
    try:
        check_timezone(con, mapping_path, "timezone", business)
    except UserFacingError as error:
        raise UserFacingError(f"HUAXIANG_TIMEZONE: unknown timezone {business!r}") from error


def _create_views(con: duckdb.DuckDBPyConnection, mapping: Mapping, mapping_path: Path) -> None:
    for name, sql in mapping.views.items():
        try:
            con.execute(f"CREATE VIEW {ident(name)} AS {sql}")
        except duckdb.Error as error:
            raise mapping_error(mapping_path, f"views.{name}", first_line(error)) from error


def _build_tables(
    con: duckdb.DuckDBPyConnection,
    mapping_path: Path,
    mapping: Mapping,
    plans: list[TablePlan],
    loaded: dict[str, LoadedSource],
    business_timezone: str,
    progress: bool,
) -> dict[str, BuiltTable]:
    built = {}
    for plan in plans:
        _say(progress, f"mapping {plan.name} from {plan.spec.from_}")
        built[plan.name] = build_table(
            con, mapping_path, plan, loaded[plan.spec.from_], business_timezone, mapping.id_prefix
        )
    return built


def _load_once(
    con: duckdb.DuckDBPyConnection, mapping_path: Path, source: PreparedSource
) -> tuple[LoadedSource, DuplicateRows]:
    """Read a source (identical files were left out when it was prepared) and collapse its exact
    duplicate rows before any table is mapped, unless the source keeps them (docs: "Duplicates")."""
    return collapse_loaded(con, load_source(con, mapping_path, source), source.spec.duplicate_rows)


def _count_collapsed_duplicates(
    built: dict[str, BuiltTable], duplicates: dict[str, DuplicateRows]
) -> dict[str, BuiltTable]:
    """Collapsed exact duplicates were read but never mapped: each table built from the source
    counts them as read and merged, so read = filtered + rejected + merged + landed still holds."""
    counted = {}
    for name, table in built.items():
        collapsed = duplicates[table.plan.spec.from_].collapsed
        counts = table.counts
        if collapsed:
            counts = replace(
                counts, read=counts.read + collapsed, merged=counts.merged + collapsed, duplicates=collapsed
            )
        counted[name] = replace(table, counts=counts)
    return counted


def _with_duplicates(counts: SourceCounts, source: PreparedSource, duplicates: DuplicateRows) -> SourceCounts:
    """The source's counts with its duplicates; `rows` is what was read, duplicates included."""
    return replace(
        counts,
        rows=counts.rows + duplicates.collapsed,
        identical_files=source.identical_files,
        duplicates=duplicates,
    )


def _source_counts(con: duckdb.DuckDBPyConnection, source: LoadedSource) -> SourceCounts:
    unusable = con.execute(f"SELECT count(*) FROM {ident(source.name)} WHERE _reject IS NOT NULL").fetchone()[0]
    return SourceCounts(source.name, len(source.files), source.rows, source.malformed, unusable)


def _reject_problems(report: IngestReport, max_fraction: float) -> list[str]:
    problems = []
    for counts in report.tables:
        if counts.read and counts.rejected_fraction > max_fraction:
            reason = next(iter(counts.reasons), "?")
            problems.append(
                f"{counts.table}: {counts.rejected:,} of {counts.read:,} rows rejected (mostly {reason}), "
                f"more than max_rejected_fraction {max_fraction:g} allows; nothing landed. "
                f"See {report.rejects_dir / (counts.table + '.csv')}"
            )
    return problems


def _notes(report: IngestReport, settings: Settings, other_days: list[date]) -> list[str]:
    notes = []
    empty = [counts.table for counts in report.tables if counts.source is None]
    if empty and report.written:
        notes.append(
            f"{', '.join(empty)}: not in this source, landed as empty files; what is built on them stays empty"
        )
    # Without HUAXIANG_PARTITION_START the partitions start at the earliest landed day by themselves.
    if report.days and "HUAXIANG_PARTITION_START" in os.environ and report.days[0] < settings.partition_start:
        notes.append(
            f"the data starts on {report.days[0]}, before the pipeline's first partition "
            f"{settings.partition_start} (HUAXIANG_PARTITION_START); set it to {report.days[0]} or unset it"
        )
    if other_days:
        notes.append(
            f"the landing zone also holds {len(other_days)} other day(s) "
            f"({other_days[0]} .. {other_days[-1]}) this ingest did not write; "
            "remove them if they belong to another source"
        )
    return notes


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr)
