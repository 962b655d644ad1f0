"""The pooled SQLite event log (huaxiang/dagster_storage.py) behind every huaxiang home."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry

from huaxiang.dagster_storage import OPEN_RUN_SHARDS, PooledSqliteEventLogStorage
from huaxiang.instance import ensure_instance_config
from tests.conftest import huaxiang_home


def _materialization(run_id: str, day: int) -> EventLogEntry:
    materialization = dg.AssetMaterialization(
        asset_key=dg.AssetKey(["staging", "stg_events"]), partition=f"2026-06-{day:02d}"
    )
    event = DagsterEvent(
        DagsterEventType.ASSET_MATERIALIZATION.value,
        "huaxiang_all",
        step_key="dbt_staging",
        event_specific_data=StepMaterializationData(materialization),
    )
    return EventLogEntry(
        error_info=None,
        level=20,
        user_message="",
        run_id=run_id,
        timestamp=time.time(),
        dagster_event=event,
        job_name="huaxiang_all",
    )


def test_events_of_many_runs_are_stored_with_a_bounded_set_of_open_shards(tmp_path: Path) -> None:
    storage = PooledSqliteEventLogStorage(str(tmp_path))
    runs = [f"run{index}" for index in range(OPEN_RUN_SHARDS + 3)]
    for run_id in runs:
        for day in (1, 2, 3):
            storage.store_event(_materialization(run_id, day))

    assert sorted(storage.get_all_run_ids()) == sorted(runs)
    assert all(len(storage.get_records_for_run(run_id).records) == 3 for run_id in runs)
    # The index shard mirrors every asset event: one materialization per run and day.
    partitions = storage.get_materialized_partitions(dg.AssetKey(["staging", "stg_events"]))
    assert partitions == {"2026-06-01", "2026-06-02", "2026-06-03"}
    run_shards = [shard for shard in storage._engines if shard != "index"]
    assert len(run_shards) == OPEN_RUN_SHARDS and runs[-1] in run_shards and runs[0] not in run_shards
    with storage.index_connection() as conn:
        assert conn.exec_driver_sql("pragma synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("pragma journal_mode").scalar() == "wal"

    storage.delete_events(runs[-1])
    assert runs[-1] not in storage._engines
    assert storage.get_records_for_run(runs[-1]).records == []
    storage.dispose()


def test_a_new_home_runs_dagster_on_the_pooled_event_log(tmp_path: Path) -> None:
    with huaxiang_home(tmp_path) as settings:
        ensure_instance_config(settings)
        with dg.DagsterInstance.get() as instance:
            assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)


def test_a_batch_is_stored_as_the_same_events_one_at_a_time(tmp_path: Path) -> None:
    """Dagster's batches (a partition range's materializations) land as the same rows, in the same
    order, with the same latest materialization and partitions, as one event at a time."""
    one_by_one = PooledSqliteEventLogStorage(str(tmp_path / "one"))
    batched = PooledSqliteEventLogStorage(str(tmp_path / "batch"))
    events = [_materialization("run", day) for day in range(1, 21)]
    log_message = EventLogEntry(
        error_info=None,
        level=20,
        user_message="a log line",
        run_id="run",
        timestamp=time.time(),
        job_name="huaxiang_all",
    )
    events.insert(10, log_message)  # not an asset event: stored on its own, in its place
    for event in events:
        one_by_one.store_event(event)
    batched.store_event_batch(events)

    key = dg.AssetKey(["staging", "stg_events"])
    for storage in (one_by_one, batched):
        records = storage.get_records_for_run("run").records
        assert [record.event_log_entry for record in records] == events
        assert storage.get_materialized_partitions(key) == {f"2026-06-{day:02d}" for day in range(1, 21)}
        latest = storage.get_latest_materialization_events([key])[key]
        assert latest.dagster_event.partition == "2026-06-20"
    entries = [storage.get_asset_records([key])[0].asset_entry for storage in (one_by_one, batched)]
    assert entries[0].last_materialization_record == entries[1].last_materialization_record
    assert entries[0].last_run_id == entries[1].last_run_id == "run"
    one_by_one.dispose()
    batched.dispose()


def test_planned_check_rows_are_dagster_s_own(tmp_path: Path) -> None:
    """A check planned over a range of days gets one planned row per day, as Dagster writes them."""
    from dagster._core.events import AssetCheckEvaluationPlanned
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    days = dg.TimeWindowPartitionsDefinition(
        start="2026-06-01", end="2026-06-08", cron_schedule="0 0 * * *", fmt="%Y-%m-%d"
    )
    planned = AssetCheckEvaluationPlanned(
        asset_key=dg.AssetKey(["raw", "events"]),
        check_name="raw__events",
        partitions_subset=days.subset_with_partition_keys(days.get_partition_keys()),
    )
    event = EventLogEntry(
        error_info=None,
        level=20,
        user_message="",
        run_id="run",
        timestamp=time.time(),
        dagster_event=DagsterEvent(
            DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED.value,
            "huaxiang_all",
            step_key="raw__events",
            event_specific_data=planned,
        ),
        job_name="huaxiang_all",
    )
    rows = []
    for storage in (
        SqliteEventLogStorage(str(tmp_path / "dagster")),
        PooledSqliteEventLogStorage(str(tmp_path / "ours")),
    ):
        storage.store_event(event)
        with storage.index_connection() as conn:
            table = AssetCheckExecutionsTable
            rows.append(
                conn.execute(
                    sa.select(
                        table.c.asset_key,
                        table.c.check_name,
                        table.c.partition,
                        table.c.run_id,
                        table.c.execution_status,
                        table.c.evaluation_event,
                        table.c.evaluation_event_storage_id,
                    ).order_by(table.c.partition)
                ).all()
            )
        storage.dispose()
    assert len(rows[0]) == 7 and rows[0] == rows[1]
