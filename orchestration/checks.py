"""Blocking Dagster asset checks built from the GX suites in `expectations/` (wiring only).

One check per suite file, named after the file (`expectations/raw__events.yml` → check
`raw__events` on asset `raw/events`). The check computes the suite's frames on the target's engine
(DuckDB read-only, or Spark through huaxiang.engines: one child process per layer, see
BATCHED_LAYERS) for the run's business-day window, validates them with GX (imported on first use),
and reports every expectation in its metadata. The logic lives in `huaxiang.quality`.

No `from __future__ import annotations` here: Dagster inspects the check's `context` annotation.
"""

import threading
import time
import warnings
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import dagster as dg

from huaxiang.engines import register_landing_views
from huaxiang.quality.accepted import accepted_days
from huaxiang.quality.frames import FrameResult, Window, suite_frames, suites_frames
from huaxiang.quality.suites import Suite, SuiteError, discover_suites
from huaxiang.settings import EXPECTATIONS_DIR, LONG_RANGE_DAYS, REPO_ROOT, Settings
from huaxiang.source_profile import SourceProfile, load_source_profile
from orchestration.resources import WAREHOUSE_WRITER_POOL, WarehouseResource

if TYPE_CHECKING:
    from huaxiang.quality.validate import SuiteResult

WINDOW_FROM_RUN = "run partitions"
RAW_LAYER = "raw"
# On Spark every engine call starts a JVM (10-30 s), so the first check of a layer computes the
# frames of all the layer's suites in one call and its other checks in the same run take theirs
# from `_layer_frames`. Only layers whose data is complete before their first check runs: one dbt
# step builds each dbt layer, and Spark's raw tables are views over landing/. Not `ml`: its assets
# are separate steps, so a batch could predate an asset's write.
BATCHED_LAYERS = (RAW_LAYER, "staging", "facts", "marts")
_layer_frames: dict[tuple[str, str, Window | None], dict[str, tuple[Window, dict[str, FrameResult]] | str]] = {}
_layer_frames_lock = threading.Lock()


def partitions_by_key(
    assets: Iterable[dg.AssetsDefinition],
) -> dict[dg.AssetKey, dg.PartitionsDefinition | None]:
    """The `assets` argument of `build_suite_checks` for a list of asset definitions."""
    return {key: asset.partitions_def for asset in assets for key in asset.keys}


def build_suite_checks(
    assets: Mapping[dg.AssetKey, dg.PartitionsDefinition | None],
    *,
    suites_dir: Path = EXPECTATIONS_DIR,
    timezone: str | None = None,
) -> list[dg.AssetChecksDefinition]:
    """One asset check per suite file in `suites_dir` and asset it gates, for assets of the graph.

    A suite naming an asset that is not in `assets` is an error, so a typo cannot silently
    disable a gate. `timezone` (default: the partitions' timezone, else the settings) decides which
    business day a timestamp belongs to.
    """
    checks = []
    suites = discover_suites(suites_dir)
    for suite in suites:
        layer_suites = [other for other in suites if other.asset[0] == suite.asset[0]]
        for index, path in enumerate(suite.gated_assets):
            key = dg.AssetKey(list(path))
            if key not in assets:
                raise SuiteError(
                    suite.path,
                    "asset" if index == 0 else f"also_gates[{index - 1}]",
                    f"{key.to_user_string()!r} is not an asset of this code location "
                    f"(known: {', '.join(sorted(k.to_user_string() for k in assets))})",
                )
            checks.append(_suite_check(suite, layer_suites, key, assets[key], timezone))
    return checks


def _business_timezone(partitions_def: dg.PartitionsDefinition | None, timezone: str | None) -> str:
    if timezone:
        return timezone
    if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition) and partitions_def.timezone:
        return partitions_def.timezone
    return Settings.from_env().timezone


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def run_window(context: dg.AssetCheckExecutionContext) -> Window | None:
    """The business days of the run (all of them for a range run), or None without time partitions."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    try:
        time_window = context.partition_time_window
    except dg.DagsterInvariantViolationError:  # partitioned, but not by time
        return None
    # The window end is the exclusive midnight after the last day.
    return Window(time_window.start.date(), time_window.end.date() - timedelta(days=1), WINDOW_FROM_RUN)


def _frames(
    warehouse: WarehouseResource,
    suite: Suite,
    layer_suites: list[Suite],
    run_id: str,
    window: Window | None,
    tz: str,
    profile: SourceProfile,
    today: date,
) -> tuple[Window, dict[str, FrameResult]]:
    """The suite's window and frames, on the target's engine (see BATCHED_LAYERS for Spark)."""
    if not warehouse.on_spark or suite.asset[0] not in BATCHED_LAYERS:
        with warehouse.engine(read_only=True) as engine:
            return engine.call(suite_frames, suite, window, tz, profile, today)
    key = (run_id, suite.asset[0], window)
    with _layer_frames_lock:
        for stale in [other for other in _layer_frames if other[0] != run_id]:
            del _layer_frames[stale]
        if key not in _layer_frames:
            with warehouse.engine(read_only=True) as engine:
                _layer_frames[key] = engine.call(suites_frames, layer_suites, window, tz, profile, today)
        outcome = _layer_frames[key][suite.name]
    if isinstance(outcome, str):
        raise RuntimeError(f"the frames of suite {suite.name} failed on {warehouse.target}: {outcome}")
    return outcome


def _suite_check(
    suite: Suite,
    layer_suites: list[Suite],
    asset_key: dg.AssetKey,
    partitions_def: dg.PartitionsDefinition | None,
    timezone: str | None,
) -> dg.AssetChecksDefinition:
    tz = _business_timezone(partitions_def, timezone)
    severity = dg.AssetCheckSeverity.ERROR if suite.blocking else dg.AssetCheckSeverity.WARN
    suite_file = _relative(suite.path)

    with warnings.catch_warnings():
        # Partitioned asset checks are a Dagster preview feature; we rely on it knowingly so each
        # day's check status lands on that day's partition.
        warnings.simplefilter("ignore", dg.PreviewWarning)

        @dg.asset_check(
            asset=asset_key,
            name=suite.name,
            description=f"{suite.description} (GX suite {suite_file})",
            blocking=suite.blocking,
            pool=WAREHOUSE_WRITER_POOL,
            partitions_def=partitions_def,
            compute_kind="great_expectations",
            metadata={
                "suite_file": suite_file,
                "frames": ", ".join(f"{frame.name} ({frame.kind})" for frame in suite.frames),
                "expectations": suite.expectation_count,
            },
        )
        def gx_suite(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
            from huaxiang.quality.report import expectations_markdown, summary
            from huaxiang.quality.validate import validate_suite

            # What the landed source is (landing/_source.json): expectations assuming a property it
            # lacks (`when:`) are reported as not applicable, with the reason.
            profile = load_source_profile(Path(warehouse.landing_dir))
            if warehouse.on_spark and suite.asset[0] == RAW_LAYER:
                register_landing_views(warehouse.settings())  # Spark's raw tables are views over landing/
            today = datetime.now(ZoneInfo(tz)).date()
            started = time.perf_counter()
            run_id = context.op_execution_context.run_id
            window, frames = _frames(warehouse, suite, layer_suites, run_id, run_window(context), tz, profile, today)
            frame_seconds = time.perf_counter() - started
            # Reviewed exceptions (`huaxiang quality accept`) for this check's days.
            accepted = accepted_days(Path(warehouse.home), suite.name)
            result = validate_suite(suite, {name: frame.data for name, frame in frames.items()}, profile, accepted)
            for outcome in result.not_applicable:
                context.log.info(f"{suite.name}: {outcome.frame}.{outcome.column or ''} {outcome.not_applicable}")
            for outcome in result.accepted:
                context.log.warning(f"{suite.name}: {outcome.sentence()} — {outcome.accepted}")
            for outcome in result.warnings:
                context.log.warning(f"{suite.name}: warning: {outcome.sentence()}")
            verdicts = result.day_passed(window.days)
            failed_days = [day.isoformat() for day, ok in verdicts.items() if not ok]
            # Statistical anomalies (severity warn) are reported without stopping anything: Dagster
            # blocks downstream only on a failed check of severity ERROR.
            check_severity = severity if result.blocking_failures else dg.AssetCheckSeverity.WARN
            if result.gx_setup_seconds:
                context.log.info(f"Great Expectations loaded in {result.gx_setup_seconds:.1f}s")
            _report_days_of_range(context, asset_key, suite, partitions_def, window, result, severity)
            return dg.AssetCheckResult(
                passed=result.passed,
                severity=check_severity,
                description=summary(result),
                metadata={
                    "expectations": dg.MetadataValue.md(expectations_markdown(result)),
                    "window": window.describe(),
                    "failed_days": ", ".join(failed_days) or "none",
                    "expectations_failed": len(result.blocking_failures),
                    "expectations_warned": len(result.warnings),
                    "expectations_accepted": len(result.accepted),
                    "expectations_evaluated": len(result.outcomes) - len(result.not_applicable),
                    "expectations_not_applicable": len(result.not_applicable),
                    "source_profile": result.source,
                    "validation_seconds": dg.MetadataValue.float(round(result.validation_seconds, 3)),
                    "frame_seconds": dg.MetadataValue.float(round(frame_seconds, 3)),
                    "gx_setup_seconds": dg.MetadataValue.float(round(result.gx_setup_seconds, 3)),
                    "rows_validated": result.rows_validated,
                    "frame_rows": dg.MetadataValue.json(dict(result.frame_rows)),
                    "suite_file": suite_file,
                },
            )

    return gx_suite


def _report_days_of_range(
    context: dg.AssetCheckExecutionContext,
    asset_key: dg.AssetKey,
    suite: Suite,
    partitions_def: dg.PartitionsDefinition | None,
    window: Window,
    result: "SuiteResult",
    severity: dg.AssetCheckSeverity,
) -> None:
    """A range run plans the check for every partition of the range but Dagster records the
    returned result without a partition; log one evaluation per partition (its day's verdict and,
    for a failed day, that day's first failure in words) so each day of a backfill gets its own
    status — on a range longer than LONG_RANGE_DAYS, the failed days only. The returned result
    still does the gating."""
    from huaxiang.quality.report import day_summary

    if not isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        return
    if window.source != WINDOW_FROM_RUN or context.has_partition_key or not context.has_partition_key_range:
        return
    keys = partitions_def.get_partition_keys_in_range(context.partition_key_range)
    for key in keys:
        day = partitions_def.time_window_for_partition_key(key).start.date()
        failure = day_summary(result, day)
        if failure is None and len(keys) > LONG_RANGE_DAYS:
            continue  # long ranges log failed days only (Olist, 774 days: 15,759 per-day results otherwise)
        context.op_execution_context.log_event(
            dg.AssetCheckEvaluation(
                asset_key=asset_key,
                check_name=suite.name,
                passed=failure is None,
                severity=severity if result.day_blocked(day) else dg.AssetCheckSeverity.WARN,
                blocking=suite.blocking,
                partition=key,
                description=failure,
                metadata={"window": window.describe()},
            )
        )
