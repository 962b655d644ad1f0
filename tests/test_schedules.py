"""The daily schedule and the landing sensor, evaluated with build contexts at fixed states; the freshness policy."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from huaxiang.contract import RAW_TABLES
from huaxiang.landing import write_partition
from orchestration.schedules import build_daily_schedule, build_landing_sensor, build_retrain_schedule
from tests.conftest import huaxiang_home

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="Asia/Shanghai")


@dg.asset(partitions_def=PARTITIONS)
def _probe() -> None:
    return None


JOB = dg.define_asset_job("probe_job", selection=[_probe], partitions_def=PARTITIONS)


def _land(landing: Path, table: str, day: date) -> None:
    write_partition(landing, table, day, RAW_TABLES[table].schema.empty_table())


def _evaluate(sensor: dg.SensorDefinition, cursor: str | None) -> dg.SensorResult:
    # The contexts are closed: `context.instance` enters a Dagster instance that would otherwise stay
    # the process's current one after it is gone (later code then fails to resolve it).
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(
            instance=instance, cursor=cursor, definitions=dg.Definitions(assets=[_probe], jobs=[JOB], sensors=[sensor])
        ) as context,
    ):
        return sensor(context)


def test_sensor_requests_new_late_and_replaced_days(tmp_path: Path) -> None:
    sensor = build_landing_sensor(JOB, PARTITIONS, tmp_path)
    _land(tmp_path, "events", date(2026, 3, 1))
    _land(tmp_path, "orders", date(2026, 3, 2))

    first = _evaluate(sensor, None)
    assert sorted(r.partition_key for r in first.run_requests) == ["2026-03-01", "2026-03-02"]

    nothing_new = _evaluate(sensor, first.cursor)
    assert nothing_new.run_requests == []

    # A late-arriving older day and a re-landed day are both requested, nothing else.
    _land(tmp_path, "events", date(2026, 2, 20))
    replaced = tmp_path / "orders" / "date=2026-03-02" / "part-0.parquet"
    os.utime(replaced, ns=(replaced.stat().st_atime_ns, replaced.stat().st_mtime_ns + 1_000_000_000))
    later = _evaluate(sensor, first.cursor)
    assert sorted(r.partition_key for r in later.run_requests) == ["2026-02-20", "2026-03-02"]
    assert len({r.run_key for r in later.run_requests}) == 2


def test_sensor_ignores_days_outside_the_partitions(tmp_path: Path) -> None:
    sensor = build_landing_sensor(JOB, PARTITIONS, tmp_path)
    _land(tmp_path, "events", date(2025, 12, 31))
    assert _evaluate(sensor, None).run_requests == []


def _tick(schedule: dg.ScheduleDefinition, tick: datetime) -> list[dg.RunRequest]:
    resolved = dg.Definitions(assets=[_probe], jobs=[JOB], schedules=[schedule])
    with (
        dg.instance_for_test() as instance,
        dg.build_schedule_context(
            instance=instance, scheduled_execution_time=tick, repository_def=resolved.get_repository_def()
        ) as context,
    ):
        return list(resolved.resolve_schedule_def(schedule.name).evaluate_tick(context).run_requests or [])


def test_daily_schedule_runs_yesterday_in_business_time() -> None:
    schedule = build_daily_schedule(JOB, PARTITIONS)
    assert schedule.execution_timezone == "Asia/Shanghai" and schedule.cron_schedule == "0 2 * * *"
    requests = _tick(schedule, datetime(2026, 3, 5, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert [(r.partition_key, r.asset_selection) for r in requests] == [("2026-03-04", None)]
    # 01:59 business time on 1 January is still 2025 there: no complete day of the range yet.
    assert _tick(schedule, datetime(2026, 1, 1, 1, 59, tzinfo=ZoneInfo("Asia/Shanghai"))) == []


def test_the_weekly_retrain_runs_for_the_latest_business_day() -> None:
    schedule = build_retrain_schedule(JOB, PARTITIONS)
    assert schedule.execution_timezone == "Asia/Shanghai" and schedule.cron_schedule == "0 4 * * 1"
    requests = _tick(schedule, datetime(2026, 3, 9, 4, 0, tzinfo=ZoneInfo("Asia/Shanghai")))  # a Monday
    assert [(r.partition_key, r.asset_selection) for r in requests] == [("2026-03-08", None)]


def test_daily_requests_carry_the_run_s_assets_decided_when_requested(tmp_path: Path) -> None:
    """The schedule and the sensor ask `run_assets` at each request (the daily run leaves the training
    rows out once a propensity model is approved: orchestration.assets.ml.daily_run_assets)."""
    chosen: list[list[dg.AssetKey] | None] = [None]
    schedule = build_daily_schedule(JOB, PARTITIONS, lambda: chosen[0])
    sensor = build_landing_sensor(JOB, PARTITIONS, tmp_path, lambda: chosen[0])
    tick = datetime(2026, 3, 5, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert [r.asset_selection for r in _tick(schedule, tick)] == [None]
    chosen[0] = [_probe.key]
    assert [r.asset_selection for r in _tick(schedule, tick)] == [[_probe.key]]
    _land(tmp_path, "events", date(2026, 3, 1))
    assert [r.asset_selection for r in _evaluate(sensor, None).run_requests] == [[_probe.key]]


def test_the_daily_run_leaves_the_training_rows_out_once_a_model_is_approved(tmp_path: Path) -> None:
    from ml_assets import propensity
    from ml_assets.registry import ModelRecord, ModelRegistry, new_version
    from orchestration.assets.ml import PURCHASE_PROPENSITY, TRAINING_ASSETS, daily_run_assets

    job_assets = [*TRAINING_ASSETS, PURCHASE_PROPENSITY]
    assert daily_run_assets(tmp_path, job_assets) is None
    registry = ModelRegistry(tmp_path, propensity.FAMILY)

    def record(status: str) -> ModelRecord:
        return ModelRecord(propensity.FAMILY, new_version(), status, "logistic_regression", "2026-03-01T00:00:00Z")

    registry.save({"a": "model"}, record("rejected"))
    assert daily_run_assets(tmp_path, job_assets) is None  # a rejected model: the next run trains again
    registry.save({"a": "model"}, record("approved"))
    assert daily_run_assets(tmp_path, job_assets) == [PURCHASE_PROPENSITY]


# What the daily run must have refreshed by 04:00: every unpartitioned asset but the weekly ones.
FRESH_BY_THE_DEADLINE = {
    *(f"marts/{name}" for name in (
        "audience_members", "campaign_performance", "cohort_retention", "dim_tag", "dim_tag_value",
        "mkt_audience_candidates", "mkt_campaign_assignments", "segment_summary", "tag_cut_points", "user_profile",
        "user_recommendations", "user_tag_changes", "user_tag_history", "user_tags",
    )),
    "ml/purchase_propensity", "ml/user_clusters", "ml/user_recommendations",
    "published/insight_report", "published/marts_snapshot",
}  # fmt: skip


def test_one_freshness_policy_covers_what_the_daily_run_rebuilds(tmp_path: Path, dbt_manifest: Path) -> None:
    """Raw, staging and facts (partitioned) and the weekly ML assets carry no freshness policy."""
    from orchestration.definitions import build_definitions

    with huaxiang_home(tmp_path / "home") as settings:
        graph = build_definitions(settings).resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    fresh = {key.to_user_string() for key in keys if graph.get(key).freshness_policy is not None}
    assert fresh == FRESH_BY_THE_DEADLINE
    assert {"ml/propensity_model", "ml/recommendation_evaluation"} <= {key.to_user_string() for key in keys}
