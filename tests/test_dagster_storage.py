"""The pooled SQLite event log (huaxiang/dagster_storage.py) behind every huaxiang home."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
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
