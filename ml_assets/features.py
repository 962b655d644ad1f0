"""Reading the point-in-time feature tables the dbt facts step builds, and writing ML results.

The feature tables (dbt_project/models/intermediate/ml/) live in schema `facts`; results go to
schema `ml`, which dbt declares as a source. Reads go through Arrow and fetch only the columns
asked for.

Every function takes either a DuckDB connection (the `duckdb` target, unchanged) or an engine of
`huaxiang.engines` (`open_engine(settings, isolated=True)`): then reads and writes go to whichever
engine the dbt target runs on (Spark: `SparkProcessEngine`), Arrow in and out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from huaxiang.engines import read_queries

FEATURES_SCHEMA = "facts"
ML_SCHEMA = "ml"
SCORE_FEATURES = f"{FEATURES_SCHEMA}.ml_features_score"
TRAIN_FEATURES = f"{FEATURES_SCHEMA}.ml_features_train"
TRAIN_LABELS = f"{FEATURES_SCHEMA}.ml_labels_train"
CATEGORY_MIX = f"{FEATURES_SCHEMA}.ml_user_category_mix"
USER_PRODUCT_DAILY = f"{FEATURES_SCHEMA}.int_user_product_daily"
KEY_COLUMNS = ("user_id", "as_of_date")
# Every read that feeds a fit is ordered (docs/operations.md, reproducibility): DuckDB returns rows in
# an arbitrary order with several threads, and sampling, k-means++ seeding, early-stopping splits and
# float sums all depend on the row order. The natural keys come first, then every other column.
ORDER_FIRST = ("user_id", "as_of_date", "activity_date", "category_l1", "product_id")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _engine(conn: Any) -> Any | None:
    """The huaxiang.engines engine passed instead of a DuckDB connection, else None. A DuckDBEngine
    counts as its connection, so DuckDB always takes the same (connection) path."""
    return conn if hasattr(conn, "read_arrow") and not hasattr(conn, "conn") else None


def _duckdb(conn: Any) -> duckdb.DuckDBPyConnection:
    return getattr(conn, "conn", conn)


def relation_exists(conn: duckdb.DuckDBPyConnection, relation: str) -> bool:
    if (engine := _engine(conn)) is not None:
        return engine.relation_exists(relation)
    conn = _duckdb(conn)
    schema, table = relation.split(".")
    found = conn.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchone()
    return bool(found and found[0])


def columns_of(conn: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    if (engine := _engine(conn)) is not None:
        return engine.columns_of(relation)
    conn = _duckdb(conn)
    schema, table = relation.split(".")
    rows = conn.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [row[0] for row in rows]


def feature_columns(conn: duckdb.DuckDBPyConnection, relation: str = SCORE_FEATURES) -> list[str]:
    """Every column of a feature table but its keys: the features, as the dbt macro defines them."""
    return [column for column in columns_of(conn, relation) if column not in KEY_COLUMNS]


def order_columns(columns: Sequence[str]) -> list[str]:
    """The columns a read is ordered by: the natural keys present first, then every other column, so
    the order is complete (the same rows always come back in the same order)."""
    keys = [column for column in ORDER_FIRST if column in columns]
    return keys + [column for column in columns if column not in keys]


def read_frame(conn: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The columns of `relation` (all by default), ordered by its natural key (`order_columns`)."""
    names = list(columns) if columns else columns_of(conn, relation)
    if (engine := _engine(conn)) is not None:
        selected = ", ".join(engine.quote(column) for column in names)
        ordered = ", ".join(engine.quote(column) for column in order_columns(names))
        return engine.read_arrow(f"select {selected} from {relation} order by {ordered}").to_pandas()
    conn = _duckdb(conn)
    selected = ", ".join(_quote(column) for column in names)
    ordered = ", ".join(_quote(column) for column in order_columns(names))
    table: pa.Table = conn.execute(f"select {selected} from {relation} order by {ordered}").to_arrow_table()
    return table.to_pandas()


def read_training_frame(conn: duckdb.DuckDBPyConnection, columns: Sequence[str]) -> pd.DataFrame:
    """Training features joined to their labels (one row per user and as-of day), ordered by that key."""
    engine = _engine(conn)
    conn = _duckdb(conn)
    quote = engine.quote if engine is not None else _quote
    selected = ", ".join(f"features.{quote(column)}" for column in columns)
    query = f"""
        select features.user_id, features.as_of_date, labels.purchased, labels.horizon_days, {selected}
        from {TRAIN_FEATURES} as features
        inner join {TRAIN_LABELS} as labels
            on features.user_id = labels.user_id and features.as_of_date = labels.as_of_date
        order by features.user_id, features.as_of_date
    """
    if engine is not None:
        return engine.read_arrow(query).to_pandas()
    return conn.execute(query).to_arrow_table().to_pandas()


@contextmanager
def local_copy(conn: Any, relations: Sequence[str]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection holding `relations` for code written in DuckDB SQL (recommendations).

    A DuckDB connection is returned as it is; an engine's relations are read once as Arrow (one
    engine call) into an in-memory DuckDB under the same names, for the duration of the block.
    """
    engine = _engine(conn)
    if engine is None:
        yield _duckdb(conn)
        return
    tables = read_queries(engine, {relation: f"select * from {relation}" for relation in relations})
    local = duckdb.connect()
    try:
        for relation, data in tables.items():
            schema, _ = relation.split(".")
            local.execute(f"create schema if not exists {schema}")
            local.register("copied", data)
            local.execute(f"create table {relation} as select * from copied")
            local.unregister("copied")
        yield local
    finally:
        local.close()


def replace_table(conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame | pa.Table) -> int:
    """Replace `ml.<table>` with the frame (or Arrow table), atomically."""
    if (engine := _engine(conn)) is not None:
        data = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
        return engine.replace_table(f"{ML_SCHEMA}.{table}", data)
    conn = _duckdb(conn)
    conn.execute(f"create schema if not exists {ML_SCHEMA}")
    conn.register("ml_frame", frame)
    try:
        conn.execute(f"create or replace table {ML_SCHEMA}.{table} as select * from ml_frame")
    finally:
        conn.unregister("ml_frame")
    return len(frame)


def replace_rows(conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, key: str) -> int:
    """Replace the rows of `ml.<table>` whose `key` value the frame holds (e.g. one as-of day), in one transaction."""
    if (engine := _engine(conn)) is not None:
        data = pa.Table.from_pandas(frame, preserve_index=False)
        return engine.replace_rows(f"{ML_SCHEMA}.{table}", data, key)
    conn = _duckdb(conn)
    conn.execute(f"create schema if not exists {ML_SCHEMA}")
    conn.register("ml_frame", frame)
    try:
        conn.execute("begin transaction")
        conn.execute(f"create table if not exists {ML_SCHEMA}.{table} as select * from ml_frame where false")
        conn.execute(f"delete from {ML_SCHEMA}.{table} where {key} in (select distinct {key} from ml_frame)")
        conn.execute(f"insert into {ML_SCHEMA}.{table} by name select * from ml_frame")
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    finally:
        conn.unregister("ml_frame")
    return len(frame)
