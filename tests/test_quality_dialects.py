"""Frame SQL for engines other than DuckDB (huaxiang.quality.kinds.SparkDialect, frames.engine_sql).

Spark itself runs these frames in tests/test_spark_parity.py (slow); here: every suite expands for
Spark with no DuckDB-only SQL left, and literal rendering gives DuckDB the same frames as binding.
"""

from __future__ import annotations

import re
from datetime import date

import duckdb
import pyarrow as pa
import pytest

from huaxiang.quality import discover_suites
from huaxiang.quality.frames import engine_sql, render_literals, schema_frame
from huaxiang.quality.kinds import KINDS, SPARK

VALUES = {
    "start": date(2026, 6, 1),
    "end": date(2026, 6, 3),
    "tz": "Asia/Shanghai",
    "recorded_days": [date(2026, 6, 1), date(2026, 6, 2)],
    "recorded_rows": [10, 12],
}
DUCKDB_ONLY = {
    "range() table function": r"\bfrom range\(",
    "DuckDB UNPIVOT ... ON": r"\bunpivot \w+ on\b",
    "reservoir sample": r"using sample",
    "information_schema": r"information_schema",
    "timezone()": r"\btimezone\(",
    "date_diff('unit', ...)": r"date_diff\('",
    "ordered first()": r"\bfirst\([^)]*order by",
    "a parameter": r"\$\w",
    'a "quoted" identifier': r'"\w+"',
}


@pytest.mark.parametrize("suite", discover_suites(), ids=lambda suite: suite.name)
def test_every_frame_has_spark_sql_without_duckdb_only_syntax(suite) -> None:
    for frame in suite.frames:
        query = KINDS[frame.kind].expand(frame.options, SPARK)
        sql = engine_sql(query, SPARK.name, {**VALUES, **query.params})
        found = [name for name, pattern in DUCKDB_ONLY.items() if re.search(pattern, sql, re.IGNORECASE)]
        assert not found, f"{suite.name}.{frame.name}: {found}\n{sql}"


def test_scalar_literals_give_duckdb_the_same_result_as_bound_parameters() -> None:
    sql = (
        "select $tz as tz, day from range($start::date, $end::date + 1, interval 1 day) as days(day) "
        "where day between $start::date and $end::date order by day"
    )
    with duckdb.connect() as conn:
        bound = conn.execute(sql, {"start": VALUES["start"], "end": VALUES["end"], "tz": VALUES["tz"]}).fetchall()
        assert conn.execute(render_literals(sql, VALUES)).fetchall() == bound
    assert len(bound) == 3


def test_list_literals_are_typed_spark_arrays() -> None:
    assert render_literals("select $recorded_rows::bigint[]", VALUES) == "select cast(array(10, 12) as array<bigint>)"
    assert render_literals("select $days::date[]", {"days": []}) == "select cast(array() as array<date>)"


def test_literals_refuse_quotes_and_missing_parameters() -> None:
    with pytest.raises(ValueError):
        render_literals("select $tz", {"tz": "Asia/Shang'hai"})
    with pytest.raises(KeyError):
        render_literals("select $start::date", {})


def test_schema_frame_names_arrow_types_as_duckdb_does() -> None:
    schema = pa.schema(
        [("id", pa.string()), ("at", pa.timestamp("us", tz="UTC")), ("n", pa.int16()), ("p", pa.decimal128(12, 2))]
    )
    frame = schema_frame(schema)
    declarations = ["id VARCHAR", "at TIMESTAMP WITH TIME ZONE", "n SMALLINT", "p DECIMAL(12,2)"]
    assert frame["declaration"].tolist() == declarations
    assert frame["ordinal_position"].tolist() == [1, 2, 3, 4]
