"""Automation: the daily partitioned run and a sensor for newly landed (or re-landed) days."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Sequence
from datetime import timedelta
from pathlib import Path

import dagster as dg

from huaxiang.contract import RAW_TABLES
from huaxiang.landing import LandingFolderError, day_of_folder, visible_entries

# Yesterday's partition runs at 02:00 business time, after the day's files have landed.
DAILY_RUN_HOUR = 2
# Late files (a day re-landed after its run) are noticed on the next evaluation.
LANDING_SENSOR_SECONDS = 120
# Marts and model outputs are stale when the daily run has not refreshed them in the 24 hours before 04:00.
FRESHNESS_DEADLINE_CRON = "0 4 * * *"
FRESHNESS_WINDOW = timedelta(hours=24)


# The assets a run of the daily job materializes, decided when it is requested; None: all of them.
RunAssets = Callable[[], Sequence[dg.AssetKey] | None]


def _whole_job() -> None:
    return None


def build_daily_schedule(
    job: dg.UnresolvedAssetJobDefinition,
    partitions: dg.TimeWindowPartitionsDefinition,
    run_assets: RunAssets = _whole_job,
) -> dg.ScheduleDefinition:
    @dg.schedule(
        job=job,
        name="daily_partition_run",
        cron_schedule=f"0 {DAILY_RUN_HOUR} * * *",
        execution_timezone=partitions.timezone,
        description="Materializes yesterday's partition through the whole graph (business timezone); "
        "the propensity training rows only while no model is approved (docs/ml.md).",
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def daily_partition_run(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        day = _latest_day(partitions, context)  # earlier days were earlier ticks'
        if day is None:
            return dg.SkipReason(NO_DAY_YET)
        return dg.RunRequest(partition_key=day, run_key=day, asset_selection=run_assets())

    return daily_partition_run


NO_DAY_YET = "no complete business day in the partition range yet"


def _latest_day(partitions: dg.TimeWindowPartitionsDefinition, context: dg.ScheduleEvaluationContext) -> str | None:
    """The latest complete business day at the tick."""
    with dg.partition_loading_context(effective_dt=context.scheduled_execution_time):
        return partitions.get_last_partition_key()


def landing_signatures(landing_dir: Path, misnamed: list[str] | None = None) -> dict[str, str]:
    """Per landed day, a signature of its files (name, size and mtime of every visible entry: each
    part, and junk the load will refuse), to notice new, added and replaced files.

    A folder not named `date=YYYY-MM-DD` (`date=2026-6-10`) is no day: its one-line error
    (naming the folder and the expected form) is appended to `misnamed` when given, else raised."""
    signatures: dict[str, list[str]] = {}
    for table in RAW_TABLES:
        for folder in sorted((landing_dir / table).glob("date=*")):
            try:
                day = day_of_folder(folder).isoformat()
            except LandingFolderError as error:
                if misnamed is None:
                    raise
                misnamed.append(str(error))
                continue
            for entry in visible_entries(folder):
                stat = entry.stat()
                signatures.setdefault(day, []).append(f"{table}/{entry.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return {day: "|".join(parts) for day, parts in signatures.items()}


def changed_days(previous: dict[str, str], current: dict[str, str]) -> list[str]:
    return sorted(day for day, signature in current.items() if previous.get(day) != signature)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def build_landing_sensor(
    job: dg.UnresolvedAssetJobDefinition,
    partitions: dg.PartitionsDefinition,
    landing_dir: Path,
    run_assets: RunAssets = _whole_job,
) -> dg.SensorDefinition:
    @dg.sensor(
        job=job,
        name="landing_sensor",
        minimum_interval_seconds=LANDING_SENSOR_SECONDS,
        description="Requests a run for each day whose landing files are new or were replaced, "
        "including late-arriving older days.",
        default_status=dg.DefaultSensorStatus.STOPPED,
    )
    def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        previous = json.loads(context.cursor) if context.cursor else {}
        misnamed: list[str] = []
        current = landing_signatures(landing_dir, misnamed)
        for message in misnamed:
            context.log.error(message)
        days = changed_days(previous, current)
        known = set(partitions.get_partition_keys(dynamic_partitions_store=context.instance))
        outside = [day for day in days if day not in known]
        if outside:
            context.log.warning(f"landed days outside the partition range are ignored: {outside}")
        assets = run_assets() if any(day in known for day in days) else None
        requests = [
            dg.RunRequest(partition_key=day, run_key=f"{day}:{_digest(current[day])}", asset_selection=assets)
            for day in days
            if day in known
        ]
        skip_reason = None
        if misnamed and not requests:
            skip_reason = misnamed[0] + (f" (and {len(misnamed) - 1} more)" if len(misnamed) > 1 else "")
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(current), skip_reason=skip_reason)

    return landing_sensor


def build_retrain_schedule(
    job: dg.UnresolvedAssetJobDefinition, partitions: dg.TimeWindowPartitionsDefinition
) -> dg.ScheduleDefinition:
    @dg.schedule(
        job=job,
        name="ml_weekly_retrain_schedule",
        cron_schedule="0 4 * * 1",  # Mondays 04:00, after the daily run
        execution_timezone=partitions.timezone,
        description="Weekly retrain of the purchase-propensity model, as of the latest business day.",
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def ml_weekly_retrain_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        day = _latest_day(partitions, context)
        if day is None:
            return dg.SkipReason(NO_DAY_YET)
        return dg.RunRequest(partition_key=day, run_key=f"retrain:{day}")

    return ml_weekly_retrain_schedule


def with_freshness(
    assets: list[dg.AssetsDefinition], timezone: str, *, exclude: Collection[dg.AssetKey]
) -> list[dg.AssetsDefinition]:
    """One freshness policy for the graph: every asset the daily run rebuilds whole (the unpartitioned
    ones: ML outputs, marts, tag history, snapshot, report) is stale when not refreshed by the deadline.
    The partitioned layers (raw, staging, facts) are judged per day by their checks; `exclude` (the
    weekly assets) is refreshed by the retrain, not the daily run."""
    policy = dg.FreshnessPolicy.cron(
        deadline_cron=FRESHNESS_DEADLINE_CRON, lower_bound_delta=FRESHNESS_WINDOW, timezone=timezone
    )

    def daily(spec: dg.AssetSpec) -> bool:
        return spec.partitions_def is None and spec.key not in exclude

    def mark(spec: dg.AssetSpec) -> dg.AssetSpec:
        return spec.replace_attributes(freshness_policy=policy) if daily(spec) else spec

    # Definitions without a daily asset are left as they are.
    return [
        assets_def.map_asset_specs(mark) if any(daily(spec) for spec in assets_def.specs) else assets_def
        for assets_def in assets
    ]
