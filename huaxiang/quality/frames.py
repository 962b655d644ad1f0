"""Run a suite's frames on a DuckDB connection: push the work down, bring back small DataFrames."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd

from huaxiang.quality.kinds import quote_identifier, quote_table
from huaxiang.quality.suites import FrameSpec, Suite
from huaxiang.source_profile import SourceProfile

# A frame is an aggregate, a profile or a bounded sample; anything bigger is a suite bug that would
# drag a table into pandas, so it fails loudly instead.
MAX_FRAME_ROWS = 50_000

_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


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


def bound_parameters(sql: str, values: dict[str, object]) -> dict[str, object]:
    """Only the parameters the SQL uses (DuckDB refuses extra named parameters)."""
    used = set(_PARAMETER.findall(sql))
    missing = used - set(values)
    if missing:
        raise KeyError(f"query uses unbound parameter(s): {', '.join(sorted(missing))}")
    return {name: values[name] for name in used}


def run_frame(
    conn: duckdb.DuckDBPyConnection,
    frame: FrameSpec,
    window: Window,
    timezone: str,
    profile: SourceProfile | None = None,
) -> FrameResult:
    recorded_days, recorded_rows = (profile or SourceProfile.strict()).recorded_rows(frame.query.table or "")
    values: dict[str, object] = {
        "start": window.start,
        "end": window.end,
        "tz": timezone,
        # What the source profile says was landed per day of this frame's table (volume frames).
        "recorded_days": [day for day in recorded_days if window.start <= day <= window.end],
        "recorded_rows": [rows for day, rows in zip(recorded_days, recorded_rows, strict=True)
                          if window.start <= day <= window.end],
        **frame.query.params,
    }
    sql = f"select * from ({frame.query.sql}) as frame limit {MAX_FRAME_ROWS + 1}"
    started = time.perf_counter()
    data = conn.execute(sql, bound_parameters(sql, values)).df()
    seconds = time.perf_counter() - started
    if len(data) > MAX_FRAME_ROWS:
        raise FrameTooLargeError(
            f"frame '{frame.name}' returned more than {MAX_FRAME_ROWS} rows; a frame must be an "
            "aggregate, a profile or a bounded sample"
        )
    return FrameResult(name=frame.name, data=data, seconds=seconds)


def run_frames(
    conn: duckdb.DuckDBPyConnection,
    suite: Suite,
    window: Window,
    timezone: str,
    profile: SourceProfile | None = None,
) -> dict[str, FrameResult]:
    return {frame.name: run_frame(conn, frame, window, timezone, profile) for frame in suite.frames}


def latest_day(conn: duckdb.DuckDBPyConnection, table: str, partition_column: str) -> date | None:
    """The latest partition day holding rows, or None if the table is empty or missing."""
    sql = f"select max({quote_identifier(partition_column, 'partition_column')}) from {quote_table(table)}"
    try:
        value = conn.execute(sql).fetchone()[0]
    except (duckdb.CatalogException, duckdb.BinderException):  # no such table or column
        return None
    return value if isinstance(value, date) else None


def fallback_window(conn: duckdb.DuckDBPyConnection, suite: Suite, today: date) -> Window:
    """Without run partitions: the latest landed day of the suite's table (or today)."""
    if suite.day_source is not None:
        day = latest_day(conn, *suite.day_source)
        if day is not None:
            return Window(day, day, "latest landed day")
    return Window(today, today, "today")
