"""`huaxiang run`: materialize the whole asset graph for the landed days as one in-process run.

It is the same single-run backfill the UI launches over a partition range: one run, the range in
its tags, every step sized to the range (raw loaders loop over days, dbt gets the window as vars).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date

from huaxiang.engines import shared_engine_process
from huaxiang.errors import UserFacingError
from huaxiang.landing import landed_days
from huaxiang.report import INDEX, REPORT_DIR, REPORT_INFO
from huaxiang.settings import LONG_RANGE_DAYS, Settings

QUIET_LOGGERS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# Above LONG_RANGE_DAYS a run plans each asset once for the whole range instead of once per
# partition (Dagster's DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS): on Olist's 774 days the
# per-partition planning alone is ~40,000 events before the first step starts. The price: if such a
# run fails, its partitions are not marked failed in the UI (the checks still say what failed).
PLANNED_SUBSET_ENV = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
# In-process runs carry their process id so a later run can tell a killed one from a live one.
PID_TAG = "huaxiang/pid"
HOST_TAG = "huaxiang/host"


@dataclass
class CheckOutcome:
    asset: str
    name: str
    passed: bool
    blocking: bool
    description: str = ""
    # ERROR: a failure stops what is downstream (when blocking); WARN: reported, never stops.
    severity: str = "ERROR"

    @property
    def warned(self) -> bool:
        return not self.passed and (self.severity == "WARN" or not self.blocking)


@dataclass
class RunSummary:
    run_id: str
    first_day: date
    last_day: date
    success: bool
    seconds: float
    checks: list[CheckOutcome] = field(default_factory=list)
    failed_steps: dict[str, str] = field(default_factory=dict)
    skipped_steps: list[str] = field(default_factory=list)
    mart_rows: dict[str, int] = field(default_factory=dict)
    published: str | None = None
    report: str | None = None  # the insight report's index page, when this run built it
    log: str | None = None

    @property
    def failed_checks(self) -> list[CheckOutcome]:
        """Failed checks that stop the run (blocking, severity ERROR)."""
        return [check for check in self.checks if not check.passed and not check.warned]

    @property
    def warnings(self) -> list[CheckOutcome]:
        """Failed checks that only warn: statistical anomalies (a promotion spike, a true drop)."""
        return [check for check in self.checks if check.warned]

    def render(self) -> str:
        status = "succeeded" if self.success else "FAILED"
        lines = [
            f"Run {self.run_id} {status} in {self.seconds:.1f}s for {self.first_day} .. {self.last_day}",
        ]
        if self.mart_rows:
            lines.append("Marts (rows):")
            lines += [f"  {name:<28}{rows:>12,}" for name, rows in sorted(self.mart_rows.items())]
        passed = sum(check.passed for check in self.checks)
        lines.append(f"Checks: {passed} passed, {len(self.failed_checks)} failed, {len(self.warnings)} warnings")
        # A range run reports each check once for the range and once per failed day, with the same
        # words: each is listed once.
        for mark, kind, checks in (("✗", "blocking", self.failed_checks), ("⚠", "warning", self.warnings)):
            for asset, name, description in dict.fromkeys((c.asset, c.name, c.description) for c in checks):
                detail = f" — {description}" if description else ""
                lines.append(f"  {mark} {asset} :: {name} ({kind}){detail}")
        if self.warnings:
            lines.append(
                "  (warnings do not stop the run; `huaxiang quality` lists them, "
                "`huaxiang quality accept` records a reviewed exception)"
            )
        for step, message in self.failed_steps.items():
            lines.append(f"  ✗ step {step} failed: {message}")
        if self.skipped_steps:
            lines.append(f"  skipped (upstream failed): {', '.join(sorted(self.skipped_steps))}")
        lines.append(f"Published snapshot: {self.published}" if self.published else "Nothing published.")
        if self.report:
            lines.append(f"Insight report: {self.report}")
        if self.log:
            lines.append(f"Run log (dbt output): {self.log}")
        return "\n".join(lines)


def select_days(settings: Settings, first_day: date | None, last_day: date | None) -> list[date]:
    days = landed_days(settings.landing_dir)
    if not days:
        raise UserFacingError(
            f"nothing is landed in {settings.landing_dir}. "
            "Land data first with `huaxiang generate` (synthetic) or `huaxiang ingest` (your data)."
        )
    selected = [d for d in days if (first_day is None or d >= first_day) and (last_day is None or d <= last_day)]
    if not selected:
        raise UserFacingError(f"no landed day between {first_day} and {last_day}; landed: {days[0]} .. {days[-1]}")
    if selected[0] < settings.partition_start:
        raise UserFacingError(
            f"landed data starts {selected[0]}, before the first partition {settings.partition_start}; "
            "set HUAXIANG_PARTITION_START to an earlier day."
        )
    return selected


class _StepProgress(threading.Thread):
    """Prints one line per finished step by polling the run's event log (the run itself is in-process)."""

    def __init__(self, instance, run_id: str) -> None:
        super().__init__(daemon=True)
        self.instance = instance
        self.run_id = run_id
        self.done = threading.Event()
        self.seen: set[int] = set()

    def run(self) -> None:
        while not self.done.wait(1.0):
            self.poll()
        self.poll()

    def poll(self) -> None:
        from dagster import DagsterEventType

        wanted = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}
        try:
            records = self.instance.all_logs(self.run_id, of_type=wanted)
        except Exception:  # the run may not be stored yet
            return
        for record in records:
            key = (record.timestamp, record.step_key, record.dagster_event.event_type_value)
            if hash(key) in self.seen:
                continue
            self.seen.add(hash(key))
            marker = {"STEP_START": "…", "STEP_SUCCESS": "✓", "STEP_FAILURE": "✗"}[
                record.dagster_event.event_type_value
            ]
            stamp = time.strftime("%H:%M:%S", time.localtime(record.timestamp))
            # The real stdout: the run's own output (dbt's log lines) is redirected to the run log.
            print(f"  {stamp} {marker} {record.step_key}", file=sys.__stdout__, flush=True)


def run_pipeline(
    settings: Settings, *, first_day: date | None = None, last_day: date | None = None, progress: bool = True
) -> RunSummary:
    from dagster import DagsterInstance
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from huaxiang.dbt_manifest import prepare_manifest
    from huaxiang.instance import ensure_instance_config

    days = select_days(settings, first_day, last_day)
    ensure_instance_config(settings)
    if prepare_manifest(settings) and progress:
        print("Prepared the dbt manifest.")

    from orchestration.assets.ml import daily_run_assets
    from orchestration.definitions import ALL_ASSETS_JOB, build_definitions

    run_id = str(uuid.uuid4())
    tags = {
        ASSET_PARTITION_RANGE_START_TAG: days[0].isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: days[-1].isoformat(),
        PID_TAG: str(os.getpid()),
        HOST_TAG: socket.gethostname(),
    }
    started = time.monotonic()
    with DagsterInstance.get() as instance:
        # Resolved inside the instance's context: Dagster reads the current instance's state storage
        # while it builds the repository (outside, it may find a storage whose instance is gone).
        job = build_definitions(settings).resolve_job_def(ALL_ASSETS_JOB)
        # Not the propensity training rows once a model is approved (docs/ml.md): only a fit reads them.
        run_assets = daily_run_assets(settings.models_dir, job.asset_layer.executable_asset_keys)
        abandoned_runs = recover_abandoned_runs(instance)
        for abandoned in abandoned_runs:
            print(f"Marked run {abandoned[:8]} failed: its process is gone (killed?); released its writer slot.")
        if abandoned_runs:
            wait_for_warehouse(settings)
        reporter = _StepProgress(instance, run_id) if progress else None
        if reporter:
            print(f"Running {len(days)} day(s) {days[0]} .. {days[-1]} (run {run_id[:8]}) …", flush=True)
            reporter.start()
        log_path = settings.home / "logs" / f"run-{run_id}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        long_range = (days[-1] - days[0]).days + 1 > LONG_RANGE_DAYS
        saved_env = os.environ.get(PLANNED_SUBSET_ENV)
        try:
            if long_range:
                os.environ[PLANNED_SUBSET_ENV] = "true"
            # Spark: the run's Python steps share one engine process between dbt steps (huaxiang.engines).
            with log_path.open("w") as log, contextlib.redirect_stdout(log), shared_engine_process(settings):
                result = job.execute_in_process(
                    instance=instance,
                    tags=tags,
                    run_id=run_id,
                    raise_on_error=False,
                    run_config=QUIET_LOGGERS,
                    asset_selection=run_assets,
                )
        finally:
            if long_range and saved_env is None:
                os.environ.pop(PLANNED_SUBSET_ENV, None)
            elif long_range:
                os.environ[PLANNED_SUBSET_ENV] = saved_env
            if reporter:
                reporter.done.set()
                reporter.join()
        summary = RunSummary(
            run_id=run_id,
            first_day=days[0],
            last_day=days[-1],
            success=result.success,
            seconds=time.monotonic() - started,
            log=str(log_path),
        )
        _collect(result, summary)
    _collect_published(settings, run_id, summary)
    summary.success = summary.success and not summary.failed_checks
    return summary


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_for_warehouse(settings: Settings, timeout_seconds: float = 900.0, poll_seconds: float = 2.0) -> None:
    """Wait until no other process holds the warehouse's DuckDB lock.

    A killed run's dbt child is not killed with it: it finishes the build it was running and holds
    the lock until then. Opening the warehouse before would fail every step of the next run.
    """
    import duckdb

    deadline = time.monotonic() + timeout_seconds
    announced = False
    while True:
        try:
            duckdb.connect(str(settings.warehouse_path)).close()
            return
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            if time.monotonic() > deadline:
                raise UserFacingError(f"the warehouse is still locked after {timeout_seconds:.0f}s: {error}") from error
            if not announced:
                print("Waiting for the killed run's dbt process to release the warehouse …", flush=True)
                announced = True
            time.sleep(poll_seconds)


def recover_abandoned_runs(instance) -> list[str]:
    """Fail in-process runs of this host whose process died, and free the pool slots they held.

    A SIGKILLed `huaxiang run` cannot report its own end; without this its writer slot would stay
    claimed and every later run would wait for it forever.
    """
    from dagster import DagsterRunStatus, RunsFilter

    recovered = []
    live = RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING])
    for run in instance.get_runs(filters=live):
        pid = run.tags.get(PID_TAG)
        if not pid or run.tags.get(HOST_TAG) != socket.gethostname() or _process_alive(int(pid)):
            continue
        instance.report_run_failed(run, "The run's process ended without reporting (killed); recovered by huaxiang.")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        recovered.append(run.run_id)
    return recovered


def _collect(result, summary: RunSummary) -> None:
    for evaluation in result.get_asset_check_evaluations():
        description = ""
        if evaluation.description:
            # One line, long enough for a landing file's full path and what to do about it.
            description = evaluation.description.splitlines()[0][:DETAIL_CHARS]
        summary.checks.append(
            CheckOutcome(
                asset=evaluation.asset_key.to_user_string(),
                name=evaluation.check_name,
                passed=evaluation.passed,
                blocking=bool(evaluation.blocking),
                description=description,
                severity=evaluation.severity.value,
            )
        )
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            summary.failed_steps[event.step_key] = step_error_line(error) if error else "unknown error"
        elif event.is_step_skipped:
            summary.skipped_steps.append(event.step_key)


# The longest detail a summary line shows (a check's description, a failed step's cause).
DETAIL_CHARS = 500

# Dagster wraps an exception raised in a step in these; the first line worth showing is the cause's.
_WRAPPERS = ("DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError")


def step_error_line(error) -> str:
    """One line for a failed step: the innermost cause's message, without Dagster's wrapper ("Error
    occurred while executing op …") and without the module path of a `dagster.Failure`, whose
    description is already written for people."""
    while error.cause is not None and error.cls_name in _WRAPPERS:
        error = error.cause
    lines = [line.strip() for line in error.message.strip().splitlines() if line.strip()]
    line = lines[0] if lines else error.cls_name or "unknown error"
    if error.cls_name == "Failure":
        line = line.split(": ", 1)[-1]
    return line[:DETAIL_CHARS]


def _collect_published(settings: Settings, run_id: str, summary: RunSummary) -> None:
    manifest_file = settings.published_dir / "manifest.json"
    if not manifest_file.is_file():
        return
    manifest = json.loads(manifest_file.read_text())
    if manifest.get("run_id") == run_id:
        summary.mart_rows = manifest["row_counts"]
        summary.published = str(settings.published_dir)
    report_info = settings.published_dir / REPORT_DIR / REPORT_INFO
    if report_info.is_file() and json.loads(report_info.read_text()).get("run_id") == run_id:
        summary.report = str(report_info.parent / INDEX)
