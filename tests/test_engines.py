"""huaxiang.engines on DuckDB: the engine path of ml_assets.features reads and writes exactly what
the connection path does (the Spark engine is exercised by tests/test_spark_parity.py)."""

from __future__ import annotations

import dataclasses
import os

import pandas as pd
import pyarrow as pa
import pytest

from huaxiang.engines import (
    DuckDBEngine,
    is_spark_target,
    release_engine_process,
    run_in_engine_process,
    shared_engine_process,
    spark_conf,
)
from huaxiang.settings import Settings
from huaxiang.warehouse import connect
from ml_assets import features


def test_features_read_and_write_the_same_through_an_engine(tmp_path) -> None:
    with connect(tmp_path / "w.duckdb") as conn:
        conn.execute("create schema facts")
        conn.execute(
            "create table facts.f as select 'u' || i as user_id, date '2026-06-01' as as_of_date, i * 1.5 as x "
            "from range(5) t(i)"
        )
        engine = DuckDBEngine(conn)
        columns = ["user_id", "x"]
        pd.testing.assert_frame_equal(
            features.read_frame(conn, "facts.f", columns), features.read_frame(engine, "facts.f", columns)
        )
        assert features.feature_columns(engine, "facts.f") == features.feature_columns(conn, "facts.f") == ["x"]
        assert features.relation_exists(engine, "facts.f") and not features.relation_exists(engine, "ml.nothing")

        frame = pd.DataFrame({"user_id": ["a", "b"], "score": [0.1, 0.2], "as_of": ["d1", "d1"]})
        assert features.replace_table(engine, "scores", frame) == 2
        features.replace_rows(engine, "scores", frame.assign(as_of="d2", score=[0.3, 0.4]), key="as_of")
        features.replace_rows(engine, "scores", frame.assign(score=[0.5, 0.6]), key="as_of")
        rows = conn.execute("select as_of, user_id, score from ml.scores order by as_of, user_id").fetchall()
        assert rows == [("d1", "a", 0.5), ("d1", "b", 0.6), ("d2", "a", 0.3), ("d2", "b", 0.4)]
        batches = list(engine.read_batches("select * from ml.scores", batch_size=3))
        assert sum(batch.num_rows for batch in batches) == 4 and isinstance(batches[0], pa.RecordBatch)


def test_spark_settings_stay_local_and_small(tmp_path) -> None:
    conf = spark_conf(tmp_path)
    assert conf["spark.master"].startswith("local[")
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert str(tmp_path) in conf["spark.sql.warehouse.dir"]
    assert not any(key in conf for key in ("spark.jars.packages", "spark.jars.repositories"))
    assert is_spark_target("spark") and is_spark_target("spark_thrift") and not is_spark_target("duckdb")


class ArrowOnlyEngine:
    """An engine that only hands out Arrow (as Spark's does), backed by a DuckDB connection."""

    def __init__(self, conn) -> None:
        self._conn = conn

    def read_arrow(self, sql: str) -> pa.Table:
        return self._conn.execute(sql).to_arrow_table()


def test_local_copy_gives_duckdb_sql_the_engine_relations(tmp_path) -> None:
    with connect(tmp_path / "w.duckdb") as conn:
        conn.execute("create schema facts")
        conn.execute("create table facts.rollup as select i % 3 as user_id, i as units from range(9) t(i)")
        with features.local_copy(ArrowOnlyEngine(conn), ["facts.rollup"]) as local:
            assert local is not conn
            assert local.execute("select sum(units) from facts.rollup where user_id = 1").fetchone()[0] == 12
        with features.local_copy(conn, ["facts.rollup"]) as same:
            assert same is conn


def engine_pid(engine, table: str) -> tuple[int, int]:
    """Runs in the engine process: its pid, and a read through its engine."""
    return os.getpid(), engine.read_arrow(f"select count(*) as n from {table}").column("n")[0].as_py()


def failing_call(engine) -> None:
    raise ValueError("no such tag")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_engine_calls_share_one_process_only_inside_the_shared_block(tmp_path) -> None:
    """One child per call by default (its JVM exits with it); inside `shared_engine_process` the
    calls share one child until it is released (before dbt opens the catalog) or the block ends."""
    settings = dataclasses.replace(Settings.from_env(), home=tmp_path, dbt_target="duckdb")
    with connect(tmp_path / "warehouse.duckdb") as conn:
        conn.execute("create table t as select * from range(3)")

    first, second = (run_in_engine_process(settings, engine_pid, "t") for _ in range(2))
    assert first[1] == second[1] == 3 and first[0] != second[0] and first[0] != os.getpid()

    with shared_engine_process(settings):
        (one, _), (two, _) = (run_in_engine_process(settings, engine_pid, "t") for _ in range(2))
        assert one == two
        with pytest.raises(RuntimeError, match="ValueError: no such tag"):
            run_in_engine_process(settings, failing_call)  # an error is handed back, the child lives on
        assert run_in_engine_process(settings, engine_pid, "t")[0] == one
        release_engine_process(tmp_path)
        assert not _pid_alive(one)
        three, _ = run_in_engine_process(settings, engine_pid, "t")
        assert three != one
    assert not _pid_alive(three)


def dying_call(engine) -> None:
    os._exit(3)  # the engine process dies (a JVM crash, the OOM killer)


def test_a_dead_engine_process_is_a_clear_error_and_is_replaced(tmp_path) -> None:
    settings = dataclasses.replace(Settings.from_env(), home=tmp_path, dbt_target="duckdb")
    with connect(tmp_path / "warehouse.duckdb") as conn:
        conn.execute("create table t as select * from range(2)")
    with shared_engine_process(settings):
        first, _ = run_in_engine_process(settings, engine_pid, "t")
        with pytest.raises(RuntimeError, match=r"engine process failed \(3\)"):
            run_in_engine_process(settings, dying_call)
        second, rows = run_in_engine_process(settings, engine_pid, "t")
        assert second != first and rows == 2
