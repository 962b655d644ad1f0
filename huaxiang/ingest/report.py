"""What an ingest did: rows read, left out, rejected, merged and landed per table, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from huaxiang.ingest.duplicates import DuplicateRows, IdenticalFile
    from huaxiang.source_profile import SourceProfile


@dataclass(frozen=True)
class TableCounts:
    """read = filtered + rejected + merged + landed, per contract table.

    `read` counts the primary source's rows as read (exact duplicate rows and malformed lines
    included); an exact duplicate row collapsed before mapping is counted in `merged` (folded into
    its identical first occurrence) and, separately, in `duplicates`.
    """

    table: str
    source: str | None  # the primary source; None for a table the mapping leaves empty
    read: int = 0
    filtered: int = 0  # left out by the table's `where` (e.g. non-purchase events for orders)
    rejected: int = 0  # cannot be represented in the contract; see the rejects file
    merged: int = 0  # folded into another row with the same key (`merge` / `aggregate`) or identical
    landed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0  # of `merged`: exact duplicate source rows collapsed before mapping

    @property
    def rejected_fraction(self) -> float:
        return self.rejected / self.read if self.read else 0.0


@dataclass(frozen=True)
class SourceCounts:
    source: str
    files: int
    rows: int
    malformed: int  # lines that are not rows (wrong field count, broken quoting or encoding)
    unusable: int  # rows with a parse failure or matching a `reject` rule
    # Data exported twice (huaxiang.ingest.duplicates): copies not read, and rows equal in every
    # column to an earlier one — collapsed before mapping unless the source keeps them. `rows`
    # counts the rows read, duplicates included; the tables see `rows - duplicate_rows_collapsed`.
    identical_files: tuple[IdenticalFile, ...] = ()
    duplicates: DuplicateRows | None = None

    @property
    def duplicate_rows(self) -> int:
        return self.duplicates.rows if self.duplicates else 0

    @property
    def duplicate_rows_collapsed(self) -> int:
        return self.duplicates.collapsed if self.duplicates else 0

    @property
    def skipped_files(self) -> list[str]:
        return [copy.skipped for copy in self.identical_files]


@dataclass
class IngestReport:
    mapping_name: str
    mapping_path: Path
    source_dir: Path
    landing_dir: Path
    business_timezone: str
    source_timezone: str
    sources: list[SourceCounts]
    tables: list[TableCounts]
    days: list[date]
    rejects_dir: Path
    written: bool = False
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    profile: SourceProfile | None = None  # written to landing/_source.json with the data

    @property
    def success(self) -> bool:
        return self.written and not self.problems

    def counts(self, table: str) -> TableCounts:
        return next(counts for counts in self.tables if counts.table == table)

    def render(self) -> str:
        lines = [
            f"Ingest '{self.mapping_name}' ({self.mapping_path}) from {self.source_dir} "
            f"in {self.seconds:.1f}s",
            self._days_line(),
            "",
            f"{'table':<16}{'from':<14}{'read':>12}{'filtered':>10}{'rejected':>10}{'merged':>10}{'landed':>12}",
        ]
        for counts in self.tables:
            if counts.source is None:
                lines.append(
                    f"{counts.table:<16}{'-':<14}{'-':>12}{'-':>10}{'-':>10}{'-':>10}{0:>12,}"
                    "  (not in source)"
                )
                continue
            lines.append(
                f"{counts.table:<16}{counts.source:<14}{counts.read:>12,}{counts.filtered:>10,}"
                f"{counts.rejected:>10,}{counts.merged:>10,}{counts.landed:>12,}"
            )
        reasons = [
            f"  {counts.table}: " + ", ".join(f"{reason} {n:,}" for reason, n in counts.reasons.items())
            for counts in self.tables
            if counts.reasons
        ]
        if reasons:
            lines += [
                "",
                f"Rejected rows by reason (files with line numbers in {self.rejects_dir}):",
                *reasons,
            ]
        lines += ["", "Sources: " + "; ".join(self._source_text(source) for source in self.sources)]
        lines += self._duplicate_lines()
        if self.profile is not None:
            lines += [f"Source profile (landing/_source.json): {note}" for note in self.profile.notes]
            lines += [f"Missing signal: {text}" for text in self.profile.explanations().values()]
        lines += [f"Note: {note}" for note in self.notes]
        lines += [f"PROBLEM: {problem}" for problem in self.problems]
        return "\n".join(lines)

    def _days_line(self) -> str:
        where = f"into {self.landing_dir}" if self.written else "— nothing landed"
        zones = (
            f"business timezone {self.business_timezone}; naive source times read as {self.source_timezone}"
        )
        if not self.days:
            return f"No day to land ({zones}) {where}"
        return f"{len(self.days)} day(s) {self.days[0]} .. {self.days[-1]} ({zones}) {where}"

    def _duplicate_lines(self) -> list[str]:
        from huaxiang.ingest.duplicates import DuplicateRows, describe

        found = [
            line
            for source in self.sources
            for line in describe(source.source, list(source.identical_files), source.duplicates or DuplicateRows())
        ]
        if not found:
            return []
        return ["Duplicates (an export read twice would double every count and amount):", *(f"  {x}" for x in found)]

    @staticmethod
    def _source_text(source: SourceCounts) -> str:
        text = f"{source.source} {source.rows:,} rows in {source.files} file(s)"
        if source.identical_files:
            text += f", {len(source.identical_files)} identical file(s) skipped"
        if source.duplicate_rows_collapsed:
            text += f", {source.duplicate_rows_collapsed:,} exact duplicate row(s) collapsed"
        elif source.duplicate_rows:
            text += f", {source.duplicate_rows:,} exact duplicate row(s) kept"
        if source.malformed:
            text += f", {source.malformed:,} malformed line(s)"
        if source.unusable:
            text += f", {source.unusable:,} unusable row(s)"
        return text
