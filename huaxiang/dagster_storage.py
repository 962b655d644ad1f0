"""Dagster's SQLite event log, with connections kept open and WAL commits that do not fsync.

A 60-day run writes ~8,700 events (one materialization per model and day, one check evaluation per
suite and day). Dagster's `SqliteEventLogStorage` builds a new SQLAlchemy engine and connection for
every event and commits with a full fsync; on 2 shared cores that cost 51 ms per event, most of the
orchestration time of a run (docs/benchmarks.md). This subclass keeps one engine per shard (the index
and the most recent run shards) and sets `synchronous=NORMAL`, which SQLite documents as safe from
corruption in WAL mode (Dagster's shards are WAL): after a power cut the last events may be missing,
never a broken file. Measured on the same machine and load: 2.2 ms per event.

A run over a range of days writes one materialization per asset and day, and one planned event per
asset and day when it is created: a two-year backfill (the Olist sample, ~700 days) writes ~40,000.
Dagster hands those to the storage as batches when DAGSTER_EVENT_BATCH_SIZE is set
(`EVENT_BATCH_SIZE`, set for every huaxiang process by `use_batched_events`); `store_event_batch`
writes a batch's asset events in one transaction per shard, where `store_event` takes two
transactions and a schema lookup per event.

Selected in `dagster.yaml` (huaxiang.instance writes it); everything else is Dagster's own class.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData, serialize_value

# Events Dagster buffers before handing them to `store_event_batch` (its DAGSTER_EVENT_BATCH_SIZE).
EVENT_BATCH_SIZE = 2000
EVENT_BATCH_SIZE_ENV = "DAGSTER_EVENT_BATCH_SIZE"


def use_batched_events() -> None:
    """Let Dagster hand batches of events to the storage in this process (unless set otherwise)."""
    os.environ.setdefault(EVENT_BATCH_SIZE_ENV, str(EVENT_BATCH_SIZE))


def _is_asset_event(event: EventLogEntry) -> bool:
    return event.is_dagster_event and event.dagster_event_type in ASSET_EVENTS


def _asset_and_type(event: EventLogEntry) -> tuple[object, object]:
    return event.get_dagster_event().asset_key, event.dagster_event_type


# Run shards whose engine stays open: a run writes to its own shard only, while the webserver reads
# many runs; older engines are disposed so open files do not grow with the run history.
OPEN_RUN_SHARDS = 8


def _relaxed_sync(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, sa.Engine] = OrderedDict()
        self._asset_key_index_cols: bool | None = None
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> sa.Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = sa.create_engine(
            self.conn_string_for_shard(shard), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        )
        sa.event.listen(engine, "connect", _relaxed_sync)
        self._engines[shard] = engine
        run_shards = [name for name in self._engines if name != INDEX_SHARD_NAME]
        if len(run_shards) > OPEN_RUN_SHARDS:
            self._engines.pop(run_shards[0]).dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[sa.Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _has_asset_key_index_cols_on_connection(self, conn: sa.Connection) -> bool:
        # Dagster inspects the index shard's schema for every asset event; the schema is fixed
        # once the storage is created (or migrated), so ask once.
        if self._asset_key_index_cols is None:
            self._asset_key_index_cols = super()._has_asset_key_index_cols_on_connection(conn)
        return self._asset_key_index_cols

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Runs of consecutive asset events of one run in one transaction per shard (the run's, then
        the index); any other event one at a time, as `store_event` does. The order is kept."""
        chunk: list[EventLogEntry] = []
        for event in events:
            if _is_asset_event(event) and (not chunk or chunk[0].run_id == event.run_id):
                chunk.append(event)
                continue
            self._store_asset_events(chunk)
            chunk = [event] if _is_asset_event(event) else []
            if not chunk:
                self.store_event(event)
        self._store_asset_events(chunk)

    def _store_asset_events(self, events: list[EventLogEntry]) -> None:
        if not events:
            return
        rows = [self._event_to_row(event) for event in events]
        # One statement compiled once for all rows (executemany), not one per event.
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        with self.index_transaction() as conn:
            inserted = conn.execute(
                SqlEventLogStorageTable.insert().returning(SqlEventLogStorageTable.c.id, sort_by_parameter_order=True),
                rows,
            )
            event_ids = [row.id for row in inserted]
            self._store_asset_event_tags(conn, events, event_ids)
            # The asset table keeps the latest event of each asset: of a run of events of the same
            # asset and type (a range of days), only the last one's row survives the upserts.
            for index, (event, event_id) in enumerate(zip(events, event_ids, strict=True)):
                following = events[index + 1] if index + 1 < len(events) else None
                if following is None or _asset_and_type(following) != _asset_and_type(event):
                    self._store_asset_event(conn, event, event_id)

    def _store_asset_check_evaluation_planned(self, event: EventLogEntry, event_id: int | None) -> None:
        """Dagster's own, but the event serialized once, not once per planned partition: a check
        planned over a 774-day run was serialized 774 times (12 s of the Olist backfill's run)."""
        planned = event.get_dagster_event().asset_check_planned_data
        partition_keys = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        row = dict(
            asset_key=planned.asset_key.to_string(),
            check_name=planned.check_name,
            run_id=event.run_id,
            execution_status=AssetCheckExecutionRecordStatus.PLANNED.value,
            evaluation_event=serialize_value(event),
            evaluation_event_timestamp=self._event_insert_timestamp(event),
            evaluation_event_storage_id=event_id,
        )
        with self.index_connection() as conn:
            conn.execute(AssetCheckExecutionsTable.insert(), [{**row, "partition": key} for key in partition_keys])

    def _dispose_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._dispose_engines()  # before the run shard files are deleted under them
        super().wipe()

    def delete_events(self, run_id: str) -> None:
        super().delete_events(run_id)
        with self._db_lock:
            if (engine := self._engines.pop(run_id, None)) is not None:
                engine.dispose()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()
