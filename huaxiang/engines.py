"""The warehouse engine behind the active dbt target, for Python code that reads or writes tables.

Long because both engines implement one interface side by side, with the child process that
serves Spark calls; apart, the interface's contract would be scattered over files.

One small interface over both engines, Arrow in and out:

* `read_arrow(sql)` / `read_batches(sql)` — a query's result as an Arrow table / record batches;
* `replace_table(relation, data)` — replace `<schema>.<table>` with an Arrow table;
* `replace_rows(relation, data, key)` — replace the rows of those `key` values;
* `relation_exists(relation)`, `columns_of(relation)`;
* `call(function, *args)` — `function(engine, *args)` next to the engine (a Spark child process:
  several reads for one JVM start).

`open_engine(settings)` gives a `DuckDBEngine` (the warehouse file) on the `duckdb` target and a
`SparkEngine` (a PySpark session configured like the dbt `spark` profile) on `spark`. PySpark is
imported lazily: without the `spark` extra installed, everything but the Spark engine works.

The local Spark catalog is an embedded Derby metastore that one JVM at a time may open, and dbt
runs in a subprocess with a JVM of its own. A Spark engine therefore lives for one block, and
`open_engine(settings, isolated=True)` gives a `SparkProcessEngine` whose every call runs in a
child process (`run_in_engine_process`), so that the orchestrating process never holds the catalog
while dbt builds. By default the child serves one call and exits with its JVM. Inside
`shared_engine_process(settings)` (a whole `huaxiang run`) the child stays up and serves every call
for the home until something else needs the catalog: `release_engine_process(home)` runs before
each dbt invocation and whenever this process opens a Spark session itself, so a run pays one JVM
start per stretch of Python steps between two dbt steps, not one per call. On a cluster with a
shared metastore (docs/scale-out.md) this is unnecessary but harmless.
"""

from __future__ import annotations

import atexit
import importlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from huaxiang.settings import Settings

SPARK_TARGETS = ("spark",)
DEFAULT_SPARK_MASTER = "local[2]"


class Engine(Protocol):
    name: str

    def read_arrow(self, sql: str) -> pa.Table: ...

    def read_batches(self, sql: str, batch_size: int = 65536) -> Iterator[pa.RecordBatch]: ...

    def replace_table(self, relation: str, data: pa.Table) -> int: ...

    def replace_rows(self, relation: str, data: pa.Table, key: str) -> int: ...

    def quote(self, name: str) -> str: ...

    def relation_exists(self, relation: str) -> bool: ...

    def columns_of(self, relation: str) -> list[str]: ...

    def call(self, function: Callable[..., Any], *args: Any) -> Any: ...


def is_spark_target(target: str) -> bool:
    return target in SPARK_TARGETS or target.startswith("spark")


# ── DuckDB ──────────────────────────────────────────────────────────────────────────────────────


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @staticmethod
    def quote(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def read_arrow(self, sql: str) -> pa.Table:
        return self.conn.execute(sql).to_arrow_table()

    def read_batches(self, sql: str, batch_size: int = 65536) -> Iterator[pa.RecordBatch]:
        reader = self.conn.execute(sql).to_arrow_reader(batch_size)
        yield from reader

    def replace_table(self, relation: str, data: pa.Table) -> int:
        schema, _ = relation.split(".")
        self.conn.execute(f"create schema if not exists {schema}")
        self.conn.register("engine_frame", data)
        try:
            self.conn.execute(f"create or replace table {relation} as select * from engine_frame")
        finally:
            self.conn.unregister("engine_frame")
        return data.num_rows

    def replace_rows(self, relation: str, data: pa.Table, key: str) -> int:
        """Replace the rows whose `key` value `data` holds, in one transaction."""
        schema, _ = relation.split(".")
        self.conn.execute(f"create schema if not exists {schema}")
        self.conn.register("engine_frame", data)
        try:
            self.conn.execute("begin transaction")
            self.conn.execute(f"create table if not exists {relation} as select * from engine_frame where false")
            self.conn.execute(f"delete from {relation} where {key} in (select distinct {key} from engine_frame)")
            self.conn.execute(f"insert into {relation} by name select * from engine_frame")
            self.conn.execute("commit")
        except BaseException:
            self.conn.execute("rollback")
            raise
        finally:
            self.conn.unregister("engine_frame")
        return data.num_rows

    def relation_exists(self, relation: str) -> bool:
        schema, table = relation.split(".")
        row = self.conn.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
        ).fetchone()
        return bool(row and row[0])

    def columns_of(self, relation: str) -> list[str]:
        schema, table = relation.split(".")
        rows = self.conn.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position",
            [schema, table],
        ).fetchall()
        return [row[0] for row in rows]

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        return function(self, *args)


# ── Spark ───────────────────────────────────────────────────────────────────────────────────────


def spark_conf(home: Path) -> dict[str, str]:
    """The local session's configuration: the same as the `spark` output of dbt_project/profiles.yml."""
    spark_dir = Path(home) / "spark"
    return {
        "spark.master": os.environ.get("HUAXIANG_SPARK_MASTER", DEFAULT_SPARK_MASTER),
        "spark.app.name": "huaxiang-python",
        "spark.driver.memory": os.environ.get("HUAXIANG_SPARK_DRIVER_MEMORY", "2g"),
        "spark.sql.shuffle.partitions": os.environ.get("HUAXIANG_SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.legacy.createHiveTableByDefault": "false",
        "spark.sql.sources.default": "parquet",
        "spark.sql.warehouse.dir": f"{spark_dir}/warehouse",
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={spark_dir}/metastore_db;create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={spark_dir}",
        "spark.sql.hive.metastorePartitionPruning": "false",
        "spark.sql.ansi.enabled": "false",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }


@contextmanager
def spark_session(settings: Settings) -> Iterator[Any]:
    """A Hive-enabled local SparkSession on the home's catalog, stopped at the end of the block."""
    from pyspark.sql import SparkSession  # lazy: the `spark` extra is optional

    release_engine_process(settings.home)  # the catalog admits one JVM: ours, from here on
    (settings.home / "spark").mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_conf(settings.home).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()


class SparkEngine:
    name = "spark"

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    @staticmethod
    def quote(name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def read_arrow(self, sql: str) -> pa.Table:
        frame = self.spark.sql(sql)
        if hasattr(frame, "toArrow"):  # Spark >= 4
            return frame.toArrow()
        batches = frame._collect_as_arrow()  # Spark 3.x: the Arrow batches behind toPandas
        schema = _arrow_schema(frame.schema)
        return pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()

    def read_batches(self, sql: str, batch_size: int = 65536) -> Iterator[pa.RecordBatch]:
        yield from self.read_arrow(sql).to_batches(batch_size)

    def replace_table(self, relation: str, data: pa.Table) -> int:
        schema, _ = relation.split(".")
        self.spark.sql(f"create schema if not exists {schema}")
        frame = self.spark.createDataFrame(data.to_pandas(), schema=_spark_schema(data.schema))
        frame.write.mode("overwrite").format("parquet").saveAsTable(relation)
        return data.num_rows

    def replace_rows(self, relation: str, data: pa.Table, key: str) -> int:
        """Replace the rows whose `key` value `data` holds (Parquet tables cannot delete: rewrite)."""
        if self.relation_exists(relation):
            existing = self.read_arrow(f"select * from {relation}")
            keys = pa.array(sorted(set(data.column(key).to_pylist()) - {None}), type=data.schema.field(key).type)
            kept = existing.filter(pc.invert(pc.is_in(existing.column(key), value_set=keys)))
            data = pa.concat_tables([kept.select(data.column_names).cast(data.schema), data])
        return self.replace_table(relation, data)

    def relation_exists(self, relation: str) -> bool:
        return bool(self.spark.catalog.tableExists(relation))

    def columns_of(self, relation: str) -> list[str]:
        return [field.name for field in self.spark.table(relation).schema.fields]

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        return function(self, *args)


def _arrow_schema(spark_schema: Any) -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(spark_schema)


def _spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def _read_arrow(engine: Engine, sql: str) -> pa.Table:
    return engine.read_arrow(sql)


def _replace_table(engine: Engine, relation: str, data: pa.Table) -> int:
    return engine.replace_table(relation, data)


def _replace_rows(engine: Any, relation: str, data: pa.Table, key: str) -> int:
    return engine.replace_rows(relation, data, key)


def _relation_exists(engine: Engine, relation: str) -> bool:
    return engine.relation_exists(relation)


def _columns_of(engine: Engine, relation: str) -> list[str]:
    return engine.columns_of(relation)


class SparkProcessEngine:
    """The Spark engine for a long-lived process: every call runs in a child process (see above)."""

    name = "spark"
    quote = staticmethod(SparkEngine.quote)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def read_arrow(self, sql: str) -> pa.Table:
        return run_in_engine_process(self.settings, _read_arrow, sql)

    def read_batches(self, sql: str, batch_size: int = 65536) -> Iterator[pa.RecordBatch]:
        yield from self.read_arrow(sql).to_batches(batch_size)

    def read_many(self, queries: dict[str, str]) -> dict[str, pa.Table]:
        """Several queries in one child process (one JVM start)."""
        return run_in_engine_process(self.settings, read_queries, queries)

    def replace_table(self, relation: str, data: pa.Table) -> int:
        return run_in_engine_process(self.settings, _replace_table, relation, data)

    def replace_rows(self, relation: str, data: pa.Table, key: str) -> int:
        return run_in_engine_process(self.settings, _replace_rows, relation, data, key)

    def relation_exists(self, relation: str) -> bool:
        return run_in_engine_process(self.settings, _relation_exists, relation)

    def columns_of(self, relation: str) -> list[str]:
        return run_in_engine_process(self.settings, _columns_of, relation)

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """`function(engine, *args)` in one child process (`function` must be module-level)."""
        return run_in_engine_process(self.settings, function, *args)


def register_landing_views(settings: Settings) -> None:
    """Spark's `raw` views over the landing zone and the empty `ml` tables (dbt macro
    register_spark_sources), once per process and home: the raw checks read the views before the
    staging step (which registers them too) has run on a fresh catalog."""
    if settings.home in _REGISTERED_HOMES:
        return
    from huaxiang.dbt_manifest import run_dbt

    release_engine_process(settings.home)  # dbt's JVM opens the catalog
    dbt_files = settings.home / "spark" / "dbt_register"
    run_dbt(
        ["run-operation", "register_spark_sources", "--target-path", str(dbt_files), "--log-path", str(dbt_files)],
        settings,
    )
    _REGISTERED_HOMES.add(settings.home)


_REGISTERED_HOMES: set[Path] = set()


# ── choosing the engine ─────────────────────────────────────────────────────────────────────────


@contextmanager
def open_engine(settings: Settings, *, read_only: bool = False, isolated: bool = False) -> Iterator[Engine]:
    """The engine of the active dbt target (settings.dbt_target) for the duration of a block.

    `isolated`: on Spark, run every call in a child process instead of starting a JVM here (for
    Dagster steps, which must not hold the local catalog while a dbt step runs).
    """
    if is_spark_target(settings.dbt_target) and isolated:
        yield SparkProcessEngine(settings)
        return
    if is_spark_target(settings.dbt_target):
        with spark_session(settings) as spark:
            yield SparkEngine(spark)
        return
    from huaxiang.warehouse import connect

    with connect(
        settings.warehouse_path,
        read_only=read_only,
        memory_limit=settings.duckdb_memory_limit,
        threads=settings.duckdb_threads,
    ) as conn:
        yield DuckDBEngine(conn)


def run_in_engine_process(settings: Settings, function: Callable[..., Any], *args: Any) -> Any:
    """`function(engine, *args)` in a child Python process with its own engine; its (picklable) result.

    Used for Spark from a long-lived process (Dagster, tests) so that the JVM and its hold on the
    local catalog live outside it. `function` must be a module-level function. Inside
    `shared_engine_process` the child is kept for the next call; otherwise it exits after this one.
    """
    with _servers_lock:
        server = _servers.get(settings.home)
        if server is not None and server.target != settings.dbt_target:
            server.close()
            server = None
        if server is None:
            server = _EngineServer(settings)
            if settings.home in _shared_homes:
                _servers[settings.home] = server
        try:
            return server.call(function, *args)
        finally:
            if settings.home not in _shared_homes or not server.alive:
                if _servers.get(settings.home) is server:
                    del _servers[settings.home]
                server.close()


@contextmanager
def shared_engine_process(settings: Settings) -> Iterator[None]:
    """Within the block, engine calls for `settings.home` share one child process (one JVM)."""
    with _servers_lock:
        _shared_homes.add(settings.home)
    try:
        yield
    finally:
        with _servers_lock:
            _shared_homes.discard(settings.home)
        release_engine_process(settings.home)


def release_engine_process(home: Path) -> None:
    """Stop the home's shared engine process, if any, so that another JVM may open its catalog."""
    with _servers_lock:
        server = _servers.pop(home, None)
        if server is not None:
            server.close()


class _EngineServer:
    """A child process (`python -m huaxiang.engines FD`) holding one engine; calls go over a socket."""

    def __init__(self, settings: Settings) -> None:
        self.target = settings.dbt_target
        self._stderr = tempfile.TemporaryFile()
        ours, theirs = socket.socketpair()
        env = {**os.environ, **settings.dbt_env(), "HUAXIANG_TARGET": settings.dbt_target}
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "huaxiang.engines", str(theirs.fileno())],
                env=env,
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=self._stderr,
                stderr=self._stderr,
            )
        finally:
            theirs.close()
        self._connection = Connection(ours.detach())

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        try:
            self._connection.send((function.__module__, function.__qualname__, args))
            status, value = self._connection.recv()
        except (EOFError, OSError) as error:
            log = self._log_tail()
            self.close()
            raise RuntimeError(f"engine process failed ({self.process.returncode}):\n{log}") from error
        if status != "ok":
            raise RuntimeError(f"engine process failed: {value}")
        return value

    @property
    def alive(self) -> bool:
        return not self._connection.closed and self.process.poll() is None

    def close(self) -> None:
        """End the child: closing the socket makes it stop its engine (and JVM) and exit."""
        if self._stderr.closed:
            return
        if not self._connection.closed:
            self._connection.close()
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._stderr.close()

    def _log_tail(self) -> str:
        self._stderr.seek(0, os.SEEK_END)
        self._stderr.seek(max(0, self._stderr.tell() - 4000))
        return self._stderr.read().decode(errors="replace")


_servers: dict[Path, _EngineServer] = {}
_shared_homes: set[Path] = set()
_servers_lock = threading.RLock()


@atexit.register
def _close_servers() -> None:
    for home in list(_servers):
        release_engine_process(home)


def _serve(fd: int) -> None:
    """The child's loop: one engine for its life, a call per request, until the parent hangs up."""
    connection = Connection(fd)
    with open_engine(Settings.from_env()) as engine:
        while True:
            try:
                module, qualname, args = connection.recv()
            except EOFError:
                return
            try:
                function = getattr(importlib.import_module(module), qualname)
                result = ("ok", function(engine, *args))
            except Exception as error:  # handed back to the parent
                result = ("error", f"{type(error).__name__}: {error}")
            connection.send(result)


def read_queries(engine: Engine, queries: dict[str, str]) -> dict[str, pa.Table]:
    """Several queries' results at once (one engine process for all of them)."""
    if hasattr(engine, "read_many"):
        return engine.read_many(queries)
    return {name: engine.read_arrow(sql) for name, sql in queries.items()}


def replace_tables(engine: Engine, tables: dict[str, pa.Table]) -> dict[str, int]:
    """Several relations replaced at once (one engine process for all of them); rows written per relation."""
    return {relation: engine.replace_table(relation, data) for relation, data in tables.items()}


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
