"""`huaxiang quality`: why data was held back — the quarantine and the latest result of every gate.

Two read-only sources:

- the warehouse of the active target (DuckDB, or Spark with HUAXIANG_TARGET=spark): every
  `staging.stg_<table>_rejected` view, counted by partition day and reject reason (with a few
  example keys), against `staging.stg_<table>_classified` for the share — one engine call, in
  SQL both engines read;
- the Dagster instance under $HUAXIANG_HOME/dagster: the latest execution of every asset check of
  the code location (GX suites, dbt tests, the contract and PII checks) with its status, whether it
  blocks, and its description — for a failure, the reason in words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from huaxiang.contract import RAW_TABLES
from huaxiang.engines import Engine, is_spark_target, open_engine, spark_conf
from huaxiang.quality.accepted import AcceptedException, load_accepted
from huaxiang.settings import Settings

if TYPE_CHECKING:
    import dagster as dg

STAGING_SCHEMA = "staging"
EXAMPLES_PER_GROUP = 2
# Statuses of a check's latest execution, as shown.
PASSED, FAILED, NOT_RUN, RUNNING, NEVER = "passed", "FAILED", "not run", "running", "never run"
# A failed check of severity WARN (a statistical anomaly): reported, it stopped nothing.
WARNING = "WARNING"
_STATUS_ORDER = (FAILED, WARNING, NOT_RUN, RUNNING, NEVER, PASSED)


@dataclass(frozen=True)
class RejectGroup:
    """Quarantined rows of one table, partition day and reason."""

    table: str
    day: date
    reason: str
    rows: int
    examples: tuple[str, ...]


@dataclass(frozen=True)
class TableQuarantine:
    table: str
    rows: int  # every classified row (clean + rejected)
    rejected: int

    @property
    def share(self) -> float:
        return self.rejected / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class CheckStatus:
    asset: str
    name: str
    blocking: bool
    status: str  # PASSED, FAILED, NOT_RUN, RUNNING or NEVER
    description: str  # the latest evaluation's description, else what the check guards
    partition: str | None = None
    run_id: str | None = None
    evaluated_at: datetime | None = None


@dataclass
class QualityReport:
    warehouse: Path
    tables: list[TableQuarantine] = field(default_factory=list)
    rejects: list[RejectGroup] = field(default_factory=list)
    checks: list[CheckStatus] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    accepted: list[AcceptedException] = field(default_factory=list)

    @property
    def failed_checks(self) -> list[CheckStatus]:
        return [check for check in self.checks if check.status == FAILED]

    @property
    def warnings(self) -> list[CheckStatus]:
        return [check for check in self.checks if check.status == WARNING]

    def rejected_rows(self, table: str) -> dict[str, int]:
        """Rejected rows of one table by reason (all days of the report)."""
        counts: dict[str, int] = {}
        for group in self.rejects:
            if group.table == table:
                counts[group.reason] = counts.get(group.reason, 0) + group.rows
        return counts

    def render(self) -> str:
        lines = [f"Quarantine (rejected rows) in {self.warehouse}"]
        if self.tables:
            lines.append(f"  {'table':<16}{'rows':>12}{'rejected':>10}{'share':>8}")
            lines += [f"  {t.table:<16}{t.rows:>12,}{t.rejected:>10,}{t.share:>8.2%}" for t in self.tables]
        if self.rejects:
            lines.append("Rejected rows by table, partition day and reason:")
            lines.append(f"  {'table':<16}{'day':<12}{'reason':<20}{'rows':>8}  examples")
            lines += [
                f"  {g.table:<16}{g.day.isoformat():<12}{g.reason:<20}{g.rows:>8,}  {'; '.join(g.examples)}"
                for g in self.rejects
            ]
        elif self.tables:
            lines.append("No rejected rows.")
        lines.append("")
        lines.append(self._render_checks())
        if self.accepted:
            lines.append("Accepted exceptions (huaxiang quality accept; the check passes that day):")
            lines += [f"  {a.day}  {a.check:<28} {a.why} ({a.accepted_by}, {a.accepted_at})" for a in self.accepted]
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)

    def _render_checks(self) -> str:
        if all(check.status == NEVER for check in self.checks):
            return "Checks: none has run yet (`huaxiang run` runs them)."
        counts = {status: sum(c.status == status for c in self.checks) for status in _STATUS_ORDER}
        lines = ["Checks, latest result of each: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)]
        # Passed checks are only counted; the rest are listed, failures first with their reason.
        for check in sorted(self.checks, key=lambda c: (_STATUS_ORDER.index(c.status), c.asset, c.name)):
            if check.status == PASSED:
                continue
            kind = "blocking" if check.blocking else "warning"
            where = f" [{check.partition}]" if check.partition else ""
            when = f" at {check.evaluated_at:%Y-%m-%d %H:%M}" if check.evaluated_at else ""
            lines.append(f"  {check.status:<9} {check.asset} :: {check.name} ({kind}){where}{when}")
            if check.status in (FAILED, WARNING) and check.description:
                lines.append(f"            {check.description}")
        return "\n".join(lines)


def quality_report(settings: Settings, *, first_day: date | None = None, last_day: date | None = None) -> QualityReport:
    """The quarantine of the warehouse (optionally for partition days first_day..last_day) and the
    latest result of every asset check. Reads only; never creates a warehouse or runs anything."""
    report = QualityReport(warehouse=_warehouse_location(settings), accepted=load_accepted(settings.home))
    if not is_spark_target(settings.dbt_target) and not settings.warehouse_path.is_file():
        report.notes.append(
            f"no warehouse at {settings.warehouse_path}: nothing has run yet. "
            "Land data (`huaxiang generate` or `huaxiang ingest`) and run `huaxiang run`."
        )
        return report
    with open_engine(settings, read_only=True, isolated=True) as engine:
        tables, rejects, missing = engine.call(read_quarantine, first_day, last_day)
    report.tables, report.rejects = tables, rejects
    report.notes += [f"staging has no quarantine for {table} yet (staging has not run)." for table in missing]
    report.checks = latest_check_statuses(settings)
    return report


def _warehouse_location(settings: Settings) -> Path:
    if is_spark_target(settings.dbt_target):
        return Path(spark_conf(settings.home)["spark.sql.warehouse.dir"])
    return settings.warehouse_path


def read_quarantine(
    engine: Engine, first_day: date | None, last_day: date | None
) -> tuple[list[TableQuarantine], list[RejectGroup], list[str]]:
    """Every table's quarantine: shares, groups by day and reason, and the tables staging has not built."""
    tables, rejects, missing = [], [], []
    for table in RAW_TABLES:
        if not all(engine.relation_exists(relation) for relation in _quarantine_relations(table)):
            missing.append(table)
            continue
        tables.append(_table_quarantine(engine, table, first_day, last_day))
        rejects += _reject_groups(engine, table, first_day, last_day)
    return tables, rejects, missing


def _quarantine_relations(table: str) -> tuple[str, str]:
    return f"{STAGING_SCHEMA}.stg_{table}_rejected", f"{STAGING_SCHEMA}.stg_{table}_classified"


def _day_filter(first_day: date | None, last_day: date | None) -> str:
    """A where clause on the partition day (date literals: the same SQL on DuckDB and Spark)."""
    clauses = []
    if first_day:
        clauses.append(f"_partition_date >= date '{first_day.isoformat()}'")
    if last_day:
        clauses.append(f"_partition_date <= date '{last_day.isoformat()}'")
    return " where " + " and ".join(clauses) if clauses else ""


def _table_quarantine(engine: Engine, table: str, first_day: date | None, last_day: date | None) -> TableQuarantine:
    counts = engine.read_arrow(
        "select count(*) as row_count, count(reject_reason) as rejected "
        f"from {STAGING_SCHEMA}.stg_{table}_classified{_day_filter(first_day, last_day)}"
    ).to_pylist()[0]
    return TableQuarantine(table=table, rows=counts["row_count"], rejected=counts["rejected"])


def _reject_groups(engine: Engine, table: str, first_day: date | None, last_day: date | None) -> list[RejectGroup]:
    """Counts per day × reason and, as examples, the natural keys of the group's first rows."""
    key = RAW_TABLES[table].key
    example = " || ' ' || ".join(f"'{column}=' || coalesce(cast({column} as string), 'null')" for column in key)
    group = "partition by _partition_date, reject_reason"
    first_keys = ", ".join(f"{column} nulls first" for column in key)
    rows = engine.read_arrow(
        f"""
        select _partition_date, reject_reason, group_rows, example
        from (
            select
                _partition_date,
                reject_reason,
                count(*) over ({group}) as group_rows,
                row_number() over ({group} order by {first_keys}) as example_rank,
                {example} as example
            from {STAGING_SCHEMA}.stg_{table}_rejected{_day_filter(first_day, last_day)}
        ) as ranked
        where example_rank <= {EXAMPLES_PER_GROUP}
        order by _partition_date, reject_reason, example_rank
        """
    ).to_pylist()
    groups: dict[tuple[date, str], RejectGroup] = {}
    for row in rows:
        day, reason = row["_partition_date"], row["reject_reason"]
        found = groups.get((day, reason))
        examples = (*found.examples, row["example"]) if found else (row["example"],)
        groups[(day, reason)] = RejectGroup(table, day, reason, row["group_rows"], examples)
    return list(groups.values())


def latest_check_statuses(settings: Settings) -> list[CheckStatus]:
    """The latest execution of every asset check of the code location, from the Dagster instance."""
    from dagster import DagsterInstance

    from huaxiang.dbt_manifest import prepare_manifest
    from huaxiang.instance import ensure_instance_config

    ensure_instance_config(settings)
    prepare_manifest(settings)  # the code location's checks come from the dbt manifest too
    from orchestration.definitions import build_definitions

    graph = build_definitions(settings).resolve_asset_graph()
    specs = [graph.get_check_spec(key) for key in graph.asset_check_keys]
    with DagsterInstance.get() as instance:
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key([s.key for s in specs])
        runs = {record.run_id for record in latest.values()}
        finished = {run_id for run_id in runs if (run := instance.get_run_by_id(run_id)) and run.is_finished}
    return [_status(spec, latest.get(spec.key), finished) for spec in _sorted(specs)]


def _sorted(specs: Iterable[dg.AssetCheckSpec]) -> list[dg.AssetCheckSpec]:
    return sorted(specs, key=lambda spec: (spec.asset_key.to_user_string(), spec.name))


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else ""


def _status(spec: dg.AssetCheckSpec, record: Any, finished_runs: set[str]) -> CheckStatus:
    """A check's latest execution in words. A record that is still PLANNED belongs to a run that is
    either going on or ended without executing the check (an upstream gate failed)."""
    asset, guards = spec.asset_key.to_user_string(), _first_line(spec.description)
    if record is None:
        return CheckStatus(asset, spec.name, spec.blocking, NEVER, guards)
    evaluation = None if record.status.value == "PLANNED" else record.evaluation
    if evaluation is None:
        status, description = (NOT_RUN if record.run_id in finished_runs else RUNNING), guards
    else:
        if evaluation.passed:
            status = PASSED
        else:
            warned = evaluation.severity.value == "WARN" or not spec.blocking
            status = WARNING if warned else FAILED
        description = _first_line(evaluation.description) or guards
    return CheckStatus(
        asset,
        spec.name,
        spec.blocking,
        status,
        description,
        partition=record.partition,
        run_id=record.run_id,
        evaluated_at=datetime.fromtimestamp(record.create_timestamp),
    )
