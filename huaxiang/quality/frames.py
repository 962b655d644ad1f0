"""Run a suite's frames on the warehouse engine: push the work down, bring back small DataFrames.

On DuckDB the frames run on the connection with bound parameters. On Spark (huaxiang.engines) the
frames are the kinds' Spark SQL (`kinds.SparkDialect`) with the parameters written as literals,
and the `sql` kind's reviewed DuckDB text translated by sqlglot; results come back as Arrow.
`suite_frames` is what a check calls through `engine.call`, so that on Spark the fallback window
and every frame of a suite cost one engine process (`suites_frames`: a whole layer's suites).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd
import pyarrow as pa

from huaxiang.engines import DuckDBEngine, Engine
from huaxiang.quality.kinds import DIALECTS, KINDS, FrameQuery
from huaxiang.quality.suites import FrameSpec, Suite
from huaxiang.source_profile import SourceProfile

# A frame is an aggregate, a profile or a bounded sample; anything bigger is a suite bug that would
# drag a table into pandas, so it fails loudly instead.
MAX_FRAME_ROWS = 50_000

_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
# A parameter with its DuckDB cast, e.g. $start::date or $recorded_rows::bigint[].
_TYPED_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)(?:::([a-z]+)(\[\])?)?")


class FrameTooLargeError(RuntimeError):
    pass


@dataclass(frozen=True)
class Window:
    """Inclusive business-day window a check validates, and where it came from."""

    start: date
    end: date
    source: str  # "run partitions", "latest landed day", "today"

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def describe(self) -> str:
        span = self.start.isoformat() if self.start == self.end else f"{self.start} … {self.end}"
        count = len(self.days)
        return f"{span} ({count} day{'s' if count != 1 else ''}, {self.source})"


@dataclass(frozen=True)
class FrameResult:
    name: str
    data: pd.DataFrame
    seconds: float


def as_engine(conn: Engine | duckdb.DuckDBPyConnection) -> Engine:
    """An engine of huaxiang.engines; a bare DuckDB connection is wrapped."""
    return DuckDBEngine(conn) if isinstance(conn, duckdb.DuckDBPyConnection) else conn


def bound_parameters(sql: str, values: dict[str, object]) -> dict[str, object]:
    """Only the parameters the SQL uses (DuckDB refuses extra named parameters)."""
    used = set(_PARAMETER.findall(sql))
    missing = used - set(values)
    if missing:
        raise KeyError(f"query uses unbound parameter(s): {', '.join(sorted(missing))}")
    return {name: values[name] for name in used}


def _sql_literal(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, date, int)):
        raise TypeError(f"no SQL literal for {value!r}")
    if isinstance(value, int):
        return str(value)
    text = value.isoformat() if isinstance(value, date) else value
    if "'" in text or "\\" in text:  # the engines escape these differently; no frame value needs them
        raise ValueError(f"refusing to write {text!r} as a SQL literal")
    return f"'{text}'"


def render_literals(sql: str, values: dict[str, object]) -> str:
    """The SQL with its $parameters (and their DuckDB casts) written as literals, for engines
    without parameter binding: `$start::date` → `cast('2026-06-01' as date)`, `$days::date[]` →
    `cast(array(…) as array<date>)`. The same text is valid DuckDB and Spark SQL."""

    def literal(match: re.Match[str]) -> str:
        name, cast, is_list = match.groups()
        if name not in values:
            raise KeyError(f"query uses unbound parameter(s): {name}")
        value = values[name]
        if is_list:
            return f"cast(array({', '.join(_sql_literal(v) for v in value)}) as array<{cast}>)"  # type: ignore[attr-defined]
        return f"cast({_sql_literal(value)} as {cast})" if cast else _sql_literal(value)

    return _TYPED_PARAMETER.sub(literal, sql)


def _values(frame: FrameSpec, window: Window, timezone: str, profile: SourceProfile | None) -> dict[str, object]:
    recorded_days, recorded_rows = (profile or SourceProfile.strict()).recorded_rows(frame.query.table or "")
    return {
        "start": window.start,
        "end": window.end,
        "tz": timezone,
        # What the source profile says was landed per day of this frame's table (volume frames).
        "recorded_days": [day for day in recorded_days if window.start <= day <= window.end],
        "recorded_rows": [rows for day, rows in zip(recorded_days, recorded_rows, strict=True)
                          if window.start <= day <= window.end],
        **frame.query.params,
    }


def _bounded(name: str, data: pd.DataFrame) -> pd.DataFrame:
    if len(data) > MAX_FRAME_ROWS:
        raise FrameTooLargeError(
            f"frame '{name}' returned more than {MAX_FRAME_ROWS} rows; a frame must be an "
            "aggregate, a profile or a bounded sample"
        )
    return data


def run_frame(
    conn: duckdb.DuckDBPyConnection,
    frame: FrameSpec,
    window: Window,
    timezone: str,
    profile: SourceProfile | None = None,
) -> FrameResult:
    """One frame on a DuckDB connection, parameters bound."""
    values = _values(frame, window, timezone, profile)
    sql = f"select * from ({frame.query.sql}) as frame limit {MAX_FRAME_ROWS + 1}"
    started = time.perf_counter()
    data = _bounded(frame.name, conn.execute(sql, bound_parameters(sql, values)).df())
    if frame.query.post is not None:
        data = frame.query.post(data)
    return FrameResult(name=frame.name, data=data, seconds=time.perf_counter() - started)


def engine_sql(query: FrameQuery, engine_name: str, values: dict[str, object]) -> str:
    """A frame query (expanded for the engine's dialect) as the engine's SQL, parameters as literals."""
    sql = render_literals(query.sql, values)
    if query.translate_from:
        import sqlglot  # lazy: only engines other than DuckDB need it (installed with dagster-dbt)

        sql = sqlglot.transpile(sql, read=query.translate_from, write=engine_name)[0]
    return f"select * from ({sql}) as frame limit {MAX_FRAME_ROWS + 1}"


# Arrow types as DuckDB names them (the raw contract's declarations in the suites).
_TYPE_NAMES = {
    pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.int8(): "TINYINT",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float32(): "FLOAT",
    pa.float64(): "DOUBLE",
    pa.date32(): "DATE",
}


def type_name(data_type: pa.DataType) -> str:
    if pa.types.is_timestamp(data_type):
        return "TIMESTAMP WITH TIME ZONE" if data_type.tz else "TIMESTAMP"
    if pa.types.is_decimal(data_type):
        return f"DECIMAL({data_type.precision},{data_type.scale})"
    return _TYPE_NAMES.get(data_type, str(data_type).upper())


def schema_frame(schema: pa.Schema) -> pd.DataFrame:
    """The schema kind's frame from a result's Arrow schema."""
    rows = [(f.name, type_name(f.type), f"{f.name} {type_name(f.type)}", i + 1) for i, f in enumerate(schema)]
    return pd.DataFrame(rows, columns=["column_name", "data_type", "declaration", "ordinal_position"])


def run_engine_frame(
    engine: Engine, frame: FrameSpec, window: Window, timezone: str, profile: SourceProfile | None = None
) -> FrameResult:
    """One frame on an engine without parameter binding (Spark), in the engine's dialect."""
    query = KINDS[frame.kind].expand(frame.options, DIALECTS[engine.name])
    sql = engine_sql(query, engine.name, _values(frame, window, timezone, profile))
    started = time.perf_counter()
    table = engine.read_arrow(sql)
    data = schema_frame(table.schema) if query.from_result_schema else table.to_pandas(date_as_object=False)
    data = _bounded(frame.name, data)
    if query.post is not None:
        data = query.post(data)
    return FrameResult(name=frame.name, data=data, seconds=time.perf_counter() - started)


def run_frames(
    conn: Engine | duckdb.DuckDBPyConnection,
    suite: Suite,
    window: Window,
    timezone: str,
    profile: SourceProfile | None = None,
) -> dict[str, FrameResult]:
    engine = as_engine(conn)
    if isinstance(engine, DuckDBEngine):
        return {frame.name: run_frame(engine.conn, frame, window, timezone, profile) for frame in suite.frames}
    return {frame.name: run_engine_frame(engine, frame, window, timezone, profile) for frame in suite.frames}


def latest_day(conn: Engine | duckdb.DuckDBPyConnection, table: str, partition_column: str) -> date | None:
    """The latest partition day holding rows, or None if the table or column is missing or empty."""
    engine = as_engine(conn)
    if not engine.relation_exists(table) or partition_column not in engine.columns_of(table):
        return None
    quoted = ".".join(engine.quote(part) for part in table.split("."))
    value = engine.read_arrow(f"select max({engine.quote(partition_column)}) from {quoted}").column(0)[0].as_py()
    return value if isinstance(value, date) else None


def fallback_window(conn: Engine | duckdb.DuckDBPyConnection, suite: Suite, today: date) -> Window:
    """Without run partitions: the latest landed day of the suite's table (or today)."""
    if suite.day_source is not None:
        day = latest_day(conn, *suite.day_source)
        if day is not None:
            return Window(day, day, "latest landed day")
    return Window(today, today, "today")


def suite_frames(
    engine: Engine,
    suite: Suite,
    window: Window | None,
    timezone: str,
    profile: SourceProfile | None,
    today: date,
) -> tuple[Window, dict[str, FrameResult]]:
    """A check's whole warehouse work: its window (the run's, else the fallback) and its frames.
    Meant for `engine.call`, so that on Spark it runs next to the engine in one process."""
    window = window or fallback_window(engine, suite, today)
    return window, run_frames(engine, suite, window, timezone, profile)


def suites_frames(
    engine: Engine,
    suites: list[Suite],
    window: Window | None,
    timezone: str,
    profile: SourceProfile | None,
    today: date,
) -> dict[str, tuple[Window, dict[str, FrameResult]] | str]:
    """`suite_frames` of several suites in one call (one Spark process for a whole layer). A suite
    whose frames fail gets its error as text instead, so that it fails its own check only."""
    results: dict[str, tuple[Window, dict[str, FrameResult]] | str] = {}
    for suite in suites:
        try:
            results[suite.name] = suite_frames(engine, suite, window, timezone, profile, today)
        except Exception as error:  # reported by that suite's check, not by the others
            results[suite.name] = f"{type(error).__name__}: {error}"
    return results
