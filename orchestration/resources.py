"""Dagster resources, configured from the environment (see huaxiang.settings) with local defaults."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from huaxiang.engines import DuckDBEngine, Engine, SparkProcessEngine, is_spark_target
from huaxiang.settings import Settings
from huaxiang.warehouse import connect


class DbtCli(DbtCliResource):
    """dagster-dbt's dbt CLI resource without the dbt adapter it builds in this process before each
    invocation. That adapter only serves `fetch_row_counts` / `fetch_column_metadata`, which huaxiang
    does not call, and building it parses every dbt macro again: 1.8 s per dbt step, 7 of the 44 s
    of `huaxiang run` at 300 users (tests/test_pipeline.py guards the pinned method name)."""

    def _initialize_dbt_core_adapter(self, args):  # noqa: ANN001, ANN202 - dagster-dbt's signature
        return None


# Every step that writes the DuckDB warehouse claims this pool; the instance limits it to one slot.
WAREHOUSE_WRITER_POOL = "duckdb_writer"


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse under $HUAXIANG_HOME. Connections live for one block, never across steps."""

    home: str
    memory_limit: str = "8GB"
    threads: int = 2
    target: str = "duckdb"

    @classmethod
    def from_settings(cls, settings: Settings) -> WarehouseResource:
        return cls(
            home=str(settings.home),
            memory_limit=settings.duckdb_memory_limit,
            threads=settings.duckdb_threads,
            target=settings.dbt_target,
        )

    @property
    def path(self) -> Path:
        return Path(self.home) / "warehouse.duckdb"

    @property
    def landing_dir(self) -> Path:
        return Path(self.home) / "landing"

    @property
    def published_dir(self) -> Path:
        return Path(self.home) / "published"

    @contextmanager
    def connection(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.path, read_only=read_only, memory_limit=self.memory_limit, threads=self.threads) as conn:
            yield conn

    @property
    def on_spark(self) -> bool:
        return is_spark_target(self.target)

    def settings(self) -> Settings:
        """The environment's settings with this resource's home and target."""
        return dataclasses.replace(Settings.from_env(), home=Path(self.home), dbt_target=self.target)

    @contextmanager
    def engine(self, *, read_only: bool = False) -> Iterator[Engine]:
        """The engine the dbt target runs on (huaxiang.engines), for one block: DuckDB on this
        warehouse, or Spark with every call in a child process (never a JVM in the step's process)."""
        if self.on_spark:
            yield SparkProcessEngine(self.settings())
            return
        with self.connection(read_only=read_only) as conn:
            yield DuckDBEngine(conn)
