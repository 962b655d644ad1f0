"""huaxiang.engines on DuckDB: the engine path of ml_assets.features reads and writes exactly what
the connection path does (the Spark engine is exercised by tests/test_spark_parity.py)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from huaxiang.engines import DuckDBEngine, is_spark_target, spark_conf
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
