"""Frame kinds: parameterised DuckDB queries that turn a (possibly huge) table into a SMALL frame.

Long because it is the one place SQL is built from suite files: every frame kind, each a short
query builder, sharing the identifier checks and the dialect, reviewed together.

A suite never validates a table directly. Each of its frames names a *kind* and a few options;
the kind expands them into one read-only SQL query whose result is bounded by the window (one row
per day, one row per day × column, one row per table column, or a capped sample), so GX only ever
sees a few hundred rows however large the table is.

Every query may use three bound parameters, never spliced into the text:

    $start, $end   first and last business day of the window (inclusive, DATE)
    $tz            the business timezone (e.g. Asia/Shanghai)

Table and column names come from the reviewed suite files; they are checked to be plain
identifiers and quoted, so a suite can name a table but cannot inject SQL through it. The `sql`
kind is the escape hatch for anything else: its text is reviewed code, with `{start}`, `{end}`
and `{tz}` placeholders that become the bound parameters above.

Kinds are written in DuckDB SQL; the pieces Spark SQL spells differently (day series, time zones,
UNPIVOT, sampling, arg-max, the schema) come from a `Dialect`, so `expand(options, SPARK)` gives
the same frame for the `spark` target. The `sql` kind's text stays DuckDB SQL (translated on Spark).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from huaxiang.quality.baselines import VOLUME_COLUMNS, VolumeSettings, volume_judgement

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_PARTITION_COLUMN = "_partition_date"
# Shares and ratios over fewer rows than this are noise, not signal (one bad row in five is 20%).
# On such small days a share is only judged when the fault hits at least half the rows — a doubled
# day, a day of null keys — otherwise it is null (the frame still shows the counts). Override per
# frame with `min_rows` / `min_median_rows`.
MIN_ROWS = 20
# Staging shares (rejects, orphans) are judged against bounds of a few percent, so they need more rows:
# on 25 rows two bad rows are 8%. Below this many rows a staging share is null (never judged).
MIN_SHARE_ROWS = 100

_SCHEMA_COLUMNS = ("column_name", "data_type", "declaration", "ordinal_position")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLACEHOLDERS = {"{start}": "$start::date", "{end}": "$end::date", "{tz}": "$tz"}


class KindOptionError(ValueError):
    """A frame's options do not fit its kind; `option` names the offending key."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


def quote_identifier(name: str, option: str, quote: str = '"') -> str:
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise KindOptionError(option, f"{name!r} is not a plain identifier (letters, digits, _)")
    return f"{quote}{name}{quote}"


def quote_table(name: str, option: str = "table", quote: str = '"') -> str:
    """`schema.table` or `table`, each part a plain identifier."""
    if not isinstance(name, str) or not 1 <= len(name.split(".")) <= 2:
        raise KindOptionError(option, f"{name!r} is not a table name like raw.events")
    return ".".join(quote_identifier(part, option, quote) for part in name.split("."))


def _column_list(value: Any, option: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise KindOptionError(option, "must be a non-empty list of column names")
    for name in value:
        quote_identifier(name, option)
    return list(value)


def _non_negative_int(value: Any, option: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise KindOptionError(option, f"must be a non-negative integer, got {value!r}")
    return value


def _positive_number(value: Any, option: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise KindOptionError(option, f"must be a positive number, got {value!r}")
    return float(value)


def _positive_int(value: Any, option: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise KindOptionError(option, f"must be a positive integer, got {value!r}")
    return value


@dataclass(frozen=True)
class FrameQuery:
    """What a kind expands to: the SQL, its static bound parameters, and the shape of its result."""

    sql: str
    params: Mapping[str, Any] = field(default_factory=dict)
    # Output columns (None when the kind cannot know them, e.g. free SQL without `columns`).
    columns: tuple[str, ...] | None = None
    # Columns that identify a row; shown with every unexpected value ("2026-06-03 user_id: 0.4").
    index: tuple[str, ...] = ()
    # Table and partition column whose latest day is the fallback window (None: not day-based).
    table: str | None = None
    partition_column: str | None = None
    # The frame is the result's column list (name, type), not its rows (the schema kind on Spark).
    from_result_schema: bool = False
    # The SQL is written in this dialect and is translated for the engine (the `sql` kind's
    # reviewed DuckDB text on Spark); None: it already is the engine's SQL.
    translate_from: str | None = None
    # Turns the query's result into the frame, in Python (the volume kind's baselines): the same on
    # every engine. None: the result is the frame.
    post: Callable[[pd.DataFrame], pd.DataFrame] | None = None


@dataclass(frozen=True)
class FrameKind:
    name: str
    summary: str
    required: tuple[str, ...]
    optional: Mapping[str, Any]
    build: Callable[[Mapping[str, Any], Dialect], FrameQuery]

    @property
    def options(self) -> tuple[str, ...]:
        return (*self.required, *self.optional)

    def expand(self, options: Mapping[str, Any], dialect: Dialect | None = None) -> FrameQuery:
        """The frame's query in `dialect` (default DuckDB, which suites are checked against)."""
        for name in self.required:
            if name not in options:
                raise KindOptionError(name, f"is required for kind '{self.name}'")
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise KindOptionError(
                unknown[0],
                f"is not an option of kind '{self.name}' (options: {', '.join(self.options)})",
            )
        return self.build({**self.optional, **options}, dialect or DUCKDB)


def _judged_share(offending: str, rows: str, min_rows: int) -> str:
    """offending / rows, or null on a small day where fewer than half the rows are offending."""
    return f"case when {rows} >= {min_rows} or 2 * {offending} >= {rows} then {offending} / {rows} end"


def _share(part: str, rows: str, min_rows: int) -> str:
    """part / rows, or null below `min_rows` rows."""
    return f"case when {rows} >= {min_rows} then {part} / {rows} end"


def _window_filter(partition_column: str) -> str:
    return f"{partition_column} between $start::date and $end::date"


class Dialect:
    """The few pieces of frame SQL that differ between engines. DuckDB's is the reference (the
    `duckdb` target's frames are exactly these); `SparkDialect` overrides them for Spark SQL 3.5.
    Bound parameters are written DuckDB-style everywhere ($start::date); on engines without
    parameter binding `huaxiang.quality.frames` renders them as literals."""

    name = "duckdb"
    quote_char = '"'

    def identifier(self, name: str, option: str) -> str:
        return quote_identifier(name, option, self.quote_char)

    def table(self, name: str, option: str = "table") -> str:
        return quote_table(name, option, self.quote_char)

    def window_days(self) -> str:
        """One row per day of the window, column `day`."""
        return "select cast(range as date) as day from range($start::date, $end::date + 1, interval 1 day)"

    def day_bounds(self) -> str:
        """One row per day of the window: `day` and the instants its business day starts and ends."""
        return """select
                cast(range as date) as day,
                timezone($tz, range) as day_start,
                timezone($tz, range + interval 1 day) as day_end
            from range($start::date, $end::date + 1, interval 1 day)"""

    def local_time(self, instant: str) -> str:
        """An instant as business-time wall clock (a timestamp without time zone)."""
        return f"timezone($tz, {instant})"

    def hours_between(self, start: str, end: str) -> str:
        return f"date_diff('second', {start}, {end}) / 3600.0"

    def recorded_rows(self) -> str:
        """The source profile's rows per day ($recorded_days, $recorded_rows): day, recorded_rows."""
        return "select unnest($recorded_days::date[]) as day, unnest($recorded_rows::bigint[]) as recorded_rows"

    def unpivot(self, source: str, groups: list[str], name: str, values: list[str]) -> str:
        """`source` with the column `groups` turned into rows: `name` (the group) and `values`."""
        return f"(unpivot {source} on {', '.join(groups)} into name {name} value {', '.join(values)})"

    def sample(self, rows: int, seed: int) -> str:
        """The clause after a subquery that keeps a uniform, repeatable sample of `rows` rows."""
        return f"using sample reservoir({rows} rows) repeatable ({seed})"

    def most_frequent(self, value: str, count: str) -> str:
        """The `value` with the highest `count` (ties: the smallest value)."""
        return f"first({value} order by {count} desc, {value})"


class SparkDialect(Dialect):
    name = "spark"
    quote_char = "`"

    def window_days(self) -> str:
        return "select explode(sequence($start::date, $end::date, interval 1 day)) as day"

    def day_bounds(self) -> str:
        return f"""select
                day,
                to_utc_timestamp(cast(day as timestamp), $tz) as day_start,
                to_utc_timestamp(cast(date_add(day, 1) as timestamp), $tz) as day_end
            from ({self.window_days()}) as window_days"""

    def local_time(self, instant: str) -> str:
        return f"cast(from_utc_timestamp({instant}, $tz) as timestamp_ntz)"

    def hours_between(self, start: str, end: str) -> str:
        return f"cast(unix_timestamp({end}) - unix_timestamp({start}) as double) / 3600"

    def recorded_rows(self) -> str:
        return "select inline(arrays_zip($recorded_days::date[], $recorded_rows::bigint[])) as (day, recorded_rows)"

    def unpivot(self, source: str, groups: list[str], name: str, values: list[str]) -> str:
        value = values[0] if len(values) == 1 else f"({', '.join(values)})"
        return f"(select * from {source} unpivot ({value} for {name} in ({', '.join(groups)})))"

    def sample(self, rows: int, seed: int) -> str:
        return f"order by rand({seed}) limit {rows}"

    def most_frequent(self, value: str, count: str) -> str:
        return f"min_by({value}, struct(-{count}, {value}))"


DUCKDB = Dialect()
SPARK = SparkDialect()
DIALECTS = {dialect.name: dialect for dialect in (DUCKDB, SPARK)}


def _schema(o: Mapping[str, Any], d: Dialect) -> FrameQuery:
    if d is SPARK:
        # Spark 3.5 has no information_schema: the frame is built from the result's Arrow schema.
        return FrameQuery(
            sql=f"select * from {d.table(o['table'])} limit 0",
            columns=_SCHEMA_COLUMNS,
            index=("column_name",),
            from_result_schema=True,
        )
    d.table(o["table"])
    schema, _, table = o["table"].rpartition(".")
    sql = """
        select column_name, data_type, column_name || ' ' || data_type as declaration, ordinal_position
        from information_schema.columns
        where table_schema = $table_schema and table_name = $table_name
        order by ordinal_position
    """
    return FrameQuery(
        sql=sql,
        params={"table_schema": schema or "main", "table_name": table},
        columns=_SCHEMA_COLUMNS,
        index=("column_name",),
    )


def _volume(o: Mapping[str, Any], d: Dialect) -> FrameQuery:
    """Rows per landed day of the window and of `lookback_days` before it (a year: past 双11s);
    `huaxiang.quality.baselines` judges each window day against ordinary days of the same weekday,
    or against the same calendar day in past years."""
    table, pc = d.table(o["table"]), d.identifier(o["partition_column"], "partition_column")
    lookback = _positive_int(o["lookback_days"], "lookback_days")
    settings = VolumeSettings(
        trailing_days=_positive_int(o["trailing_days"], "trailing_days"),
        weekday_weeks=_positive_int(o["weekday_weeks"], "weekday_weeks"),
        recent_days=_positive_int(o["recent_days"], "recent_days"),
        min_history=_positive_int(o["min_history"], "min_history"),
        min_baseline_rows=_non_negative_int(o["min_baseline_rows"], "min_baseline_rows"),
        min_spread=_positive_number(o["min_spread"], "min_spread"),
    )
    if settings.recent_days > lookback:
        raise KindOptionError("recent_days", f"must not exceed lookback_days ({lookback})")
    sql = f"""
        with daily as (
            select {pc} as day, count(*) as rows
            from {table}
            where {pc} between $start::date - {lookback} and $end::date
            group by 1
        ),
        window_days as (
            {d.window_days()}
        ),
        recorded as (
            {d.recorded_rows()}
        )
        select
            coalesce(w.day, d.day) as day,
            coalesce(d.rows, 0) as rows,
            (w.day is not null) as in_window,
            r.recorded_rows
        from daily d
        full outer join window_days w on d.day = w.day
        left join recorded r on r.day = coalesce(w.day, d.day)
        order by 1
    """
    return FrameQuery(
        sql=sql,
        columns=VOLUME_COLUMNS,
        index=("day",),
        table=o["table"],
        partition_column=o["partition_column"],
        post=partial(volume_judgement, settings=settings),
    )


def _nulls(o: Mapping[str, Any], d: Dialect) -> FrameQuery:
    table, pc = d.table(o["table"]), d.identifier(o["partition_column"], "partition_column")
    columns = _column_list(o["columns"], "columns")
    quoted = [d.identifier(c, "columns") for c in columns]
    min_rows = _non_negative_int(o["min_rows"], "min_rows")
    counts = ", ".join(f"count(*) - count({c}) as {c}" for c in quoted)
    sql = f"""
        with counts as (
            select {pc} as day, count(*) as __rows, {counts}
            from {table}
            where {_window_filter(pc)}
            group by 1
        )
        select day, column_name, __rows as rows, null_rows,
               {_judged_share("null_rows", "__rows", min_rows)} as null_share
        from {d.unpivot("counts", quoted, "column_name", ["null_rows"])}
        order by day, column_name
    """
    return FrameQuery(
        sql=sql,
        columns=("day", "column_name", "rows", "null_rows", "null_share"),
        index=("day", "column_name"),
        table=o["table"],
        partition_column=o["partition_column"],
    )


def _duplicates(o: Mapping[str, Any], d: Dialect) -> FrameQuery:
    table, pc = d.table(o["table"]), d.identifier(o["partition_column"], "partition_column")
    key = [d.identifier(c, "key") for c in _column_list(o["key"], "key")]
    complete = " and ".join(f"{c} is not null" for c in key)
    min_rows = _non_negative_int(o["min_rows"], "min_rows")
    # Group by (day, key) and count the surplus: much faster in DuckDB than count(distinct) with a
    # filter, and it handles composite keys. Rows with an incomplete key are the nulls frame's job.
    sql = f"""
        with per_key as (
            select {pc} as day, count(*) as copies
            from {table}
            where {_window_filter(pc)} and {complete}
            group by {pc}, {", ".join(key)}
        ),
        surplus as (
            select day, sum(copies) - count(*) as duplicate_rows from per_key group by day
        ),
        totals as (
            select {pc} as day, count(*) as rows from {table} where {_window_filter(pc)} group by 1
        )
        select
            day,
            rows,
            coalesce(duplicate_rows, 0) as duplicate_rows,
            {_judged_share("coalesce(duplicate_rows, 0)", "rows", min_rows)} as duplicate_share
        from totals
        left join surplus using (day)
        order by day
    """
    return FrameQuery(
        sql=sql,
        columns=("day", "rows", "duplicate_rows", "duplicate_share"),
        index=("day",),
        table=o["table"],
        partition_column=o["partition_column"],
    )


def _freshness(o: Mapping[str, Any], d: Dialect) -> FrameQuery:
    table, pc = d.table(o["table"]), d.identifier(o["partition_column"], "partition_column")
    ts = d.identifier(o["timestamp_column"], "timestamp_column")
    min_rows = _non_negative_int(o["min_rows"], "min_rows")
    gap_min_rows = _non_negative_int(o["gap_min_rows"], "gap_min_rows")
    # Each business day's bounds are converted to UTC once; rows are compared as instants (a
    # per-row timezone conversion costs ~10x more on large tables). The column must hold instants
    # (TIMESTAMP WITH TIME ZONE), as the raw contract's timestamps do.
    sql = f"""
        with days as (
            {d.day_bounds()}
        ),
        per_day as (
            select
                d.day,
                any_value(d.day_end) as day_end,
                count(*) as rows,
                max(t.{ts}) filter (where t.{ts} >= d.day_start and t.{ts} < d.day_end) as last_instant,
                count(*) filter (where t.{ts} < d.day_start or t.{ts} >= d.day_end) as off_day_rows
            from {table} as t
            join days as d on t.{pc} = d.day
            where t.{_window_filter(pc)}
            group by d.day
        )
        select
            day,
            rows,
            {d.local_time("last_instant")} as last_at,
            case when rows >= {gap_min_rows}
                 then {d.hours_between("last_instant", "day_end")} end as gap_hours,
            off_day_rows,
            {_judged_share("off_day_rows", "rows", min_rows)} as off_day_share
        from per_day
        order by day
    """
    return FrameQuery(
        sql=sql,
        columns=("day", "rows", "last_at", "gap_hours", "off_day_rows", "off_day_share"),
        index=("day",),
        table=o["table"],
        partition_column=o["partition_column"],
    )


def _sample(o: Mapping[str, Any], d: Dialect) -> FrameQuery:
    table, pc = d.table(o["table"]), d.identifier(o["partition_column"], "partition_column")
    columns = _column_list(o["columns"], "columns")
    selected = ", ".join(d.identifier(c, "columns") for c in columns)
    rows = _positive_int(o["rows"], "rows")
    seed = _positive_int(o["seed"], "seed")
    sql = f"""
        select {pc} as day, {selected}, false as offending
        from (select * from {table} where {_window_filter(pc)}) as window_rows
        {d.sample(rows, seed)}
    """
    if o.get("offending"):
        if not isinstance(o["offending"], str) or ";" in o["offending"]:
            raise KindOptionError("offending", "must be one SQL predicate (no ';')")
        offending_rows = _positive_int(o["offending_rows"], "offending_rows")
        sql = f"""
            ({sql})
            union all
            (select {pc} as day, {selected}, true as offending
             from {table}
             where {_window_filter(pc)} and ({o["offending"]})
             limit {offending_rows})
        """
    return FrameQuery(
        sql=sql,
        columns=("day", *columns, "offending"),
        index=("day",),
        table=o["table"],
        partition_column=o["partition_column"],
    )


def _sql(o: Mapping[str, Any], d: Dialect) -> FrameQuery:
    text = o["sql"]
    if not isinstance(text, str) or not text.strip():
        raise KindOptionError("sql", "must be a non-empty SQL query")
    if "$" in text:
        raise KindOptionError("sql", "use the {start} / {end} / {tz} placeholders, not $parameters")
    for placeholder, parameter in _PLACEHOLDERS.items():
        text = text.replace(placeholder, parameter)
    columns = tuple(_column_list(o["columns"], "columns")) if o.get("columns") else None
    index = tuple(_column_list(o["index"], "index")) if o.get("index") else ()
    table = o.get("table")
    if table is not None:
        d.table(table)
    return FrameQuery(
        sql=text,
        columns=columns,
        index=index,
        table=table,
        partition_column=o["partition_column"] if table else None,
        translate_from=None if d is DUCKDB else DUCKDB.name,
    )


def _rejects(o: Mapping[str, Any], d: Dialect) -> FrameQuery:
    table, pc = d.table(o["table"]), d.identifier(o["partition_column"], "partition_column")
    reason = d.identifier(o["reason_column"], "reason_column")
    min_rows = _non_negative_int(o["min_rows"], "min_rows")
    sql = f"""
        with per_reason as (
            select {pc} as day, {reason} as reason, count(*) as reason_rows
            from {table}
            where {_window_filter(pc)}
            group by 1, 2
        ),
        per_day as (
            select
                day,
                cast(sum(reason_rows) as bigint) as rows,
                cast(coalesce(sum(reason_rows) filter (where reason is not null), 0) as bigint) as rejected_rows,
                {d.most_frequent("reason", "reason_rows")} filter (where reason is not null) as top_reason,
                coalesce(max(reason_rows) filter (where reason is not null), 0) as top_reason_rows
            from per_reason
            group by day
        )
        select
            day, rows, rejected_rows, {_share("rejected_rows", "rows", min_rows)} as reject_share,
            top_reason, top_reason_rows, {_share("top_reason_rows", "rows", min_rows)} as top_reason_share
        from per_day
        order by day
    """
    return FrameQuery(
        sql=sql,
        columns=("day", "rows", "rejected_rows", "reject_share", "top_reason", "top_reason_rows", "top_reason_share"),
        index=("day", "top_reason"),
        table=o["table"],
        partition_column=o["partition_column"],
    )


def _orphans(o: Mapping[str, Any], d: Dialect) -> FrameQuery:
    table, pc = d.table(o["table"]), d.identifier(o["partition_column"], "partition_column")
    column = d.identifier(o["column"], "column")
    parent = d.table(o["parent_table"], "parent_table")
    parent_column = d.identifier(o["parent_column"] or o["column"], "parent_column")
    min_rows = _non_negative_int(o["min_rows"], "min_rows")
    sql = f"""
        with parent_keys as (
            select distinct {parent_column} as parent_key from {parent} where {parent_column} is not null
        ),
        per_day as (
            select
                t.{pc} as day,
                count(*) as rows,
                count(t.{column}) as keyed_rows,
                count(*) filter (where t.{column} is not null and p.parent_key is null) as orphan_rows
            from {table} as t
            left join parent_keys as p on t.{column} = p.parent_key
            where t.{_window_filter(pc)}
            group by 1
        )
        select day, rows, keyed_rows, orphan_rows, {_share("orphan_rows", "keyed_rows", min_rows)} as orphan_share
        from per_day
        order by day
    """
    return FrameQuery(
        sql=sql,
        columns=("day", "rows", "keyed_rows", "orphan_rows", "orphan_share"),
        index=("day",),
        table=o["table"],
        partition_column=o["partition_column"],
    )


# Per-column statistics of the profile kind, each cast to DOUBLE so one frame can mix column types.
_PROFILE_STATISTICS = {
    "null_rows": "count(*) - count({column})",
    "min_value": "min({column})",
    "max_value": "max({column})",
    "mean_value": "avg({column})",
}


def _profile(o: Mapping[str, Any], d: Dialect) -> FrameQuery:
    table, pc = d.table(o["table"]), d.identifier(o["partition_column"], "partition_column")
    columns = _column_list(o["columns"], "columns")
    statistics = ", ".join(_PROFILE_STATISTICS)
    # One aggregate per column × statistic ("amount__min_value"), then a multi-column unpivot turns
    # each column's group of aggregates into one row (column_name = the column).
    aggregates, groups = [], []
    for column in columns:
        names = [d.identifier(f"{column}__{name}", "columns") for name in _PROFILE_STATISTICS]
        aggregates += [
            f"cast({expression.format(column=d.identifier(column, 'columns'))} as double) as {name}"
            for expression, name in zip(_PROFILE_STATISTICS.values(), names, strict=True)
        ]
        groups.append(f"({', '.join(names)}) as {d.identifier(column, 'columns')}")
    sql = f"""
        with per_day as (
            select {pc} as day, count(*) as rows, {", ".join(aggregates)}
            from {table}
            where {_window_filter(pc)}
            group by 1
        )
        select day, column_name, rows, {statistics}
        from {d.unpivot("per_day", groups, "column_name", list(_PROFILE_STATISTICS))}
        order by day, column_name
    """
    return FrameQuery(
        sql=sql,
        columns=("day", "column_name", "rows", *_PROFILE_STATISTICS),
        index=("day", "column_name"),
        table=o["table"],
        partition_column=o["partition_column"],
    )


_TABLE_OPTIONS = {"partition_column": DEFAULT_PARTITION_COLUMN}

KINDS: dict[str, FrameKind] = {
    kind.name: kind
    for kind in [
        FrameKind(
            "schema",
            "one row per column of the table: column_name, data_type, declaration ('name TYPE'), ordinal_position",
            required=("table",),
            optional={},
            build=_schema,
        ),
        FrameKind(
            "volume",
            "one row per day of the window: rows (0 for a day with none), baseline (how the day is "
            "judged, in words), baseline_days and baseline_rows (the expected rows: the median of the "
            "last `weekday_weeks` same weekdays, else of the last `trailing_days` ordinary landed days, "
            "within `recent_days`; on a calendar day, that times the event's median lift in past years), "
            "calendar_event, ratio = rows / baseline_rows and robust_z = ln(ratio) / robust spread "
            "(both null in the warm-up of `min_history` ordinary days, on a first calendar occurrence "
            "or below `min_baseline_rows`); recorded_rows (what the source profile says the ingest "
            "landed, null when not recorded) and recorded_difference = rows - recorded_rows. Counts "
            "are read for `lookback_days` before the window (huaxiang/quality/baselines.py)",
            required=("table",),
            optional={
                **_TABLE_OPTIONS,
                "trailing_days": 7,
                "weekday_weeks": 4,
                "recent_days": 56,
                "lookback_days": 400,
                "min_history": 7,
                "min_baseline_rows": MIN_ROWS,
                "min_spread": 0.1,
            },
            build=_volume,
        ),
        FrameKind(
            "nulls",
            "one row per landed day × listed column: rows, null_rows, null_share (judged share: see MIN_ROWS)",
            required=("table", "columns"),
            optional={**_TABLE_OPTIONS, "min_rows": MIN_ROWS},
            build=_nulls,
        ),
        FrameKind(
            "duplicates",
            "one row per landed day: rows, duplicate_rows (rows with a complete key minus distinct "
            "keys), duplicate_share (judged share: see MIN_ROWS)",
            required=("table", "key"),
            optional={**_TABLE_OPTIONS, "min_rows": MIN_ROWS},
            build=_duplicates,
        ),
        FrameKind(
            "freshness",
            "one row per landed day: rows, last_at (latest business-time timestamp on the day), "
            "gap_hours (from last_at to the end of the day), off_day_rows / off_day_share (rows "
            "whose timestamp falls on another business day than their partition); gap_hours is null "
            "on days with fewer than `gap_min_rows` rows (at 20 rows a day the last one is often hours "
            "before midnight by chance), off_day_share is a judged share (see MIN_ROWS)",
            required=("table", "timestamp_column"),
            optional={**_TABLE_OPTIONS, "min_rows": MIN_ROWS, "gap_min_rows": 100},
            build=_freshness,
        ),
        FrameKind(
            "sample",
            "a uniform sample of at most `rows` rows of the window (day, the listed columns, "
            "offending=false) plus at most `offending_rows` rows matching the `offending` "
            "predicate (offending=true), so failures come with real examples",
            required=("table", "columns"),
            optional={**_TABLE_OPTIONS, "rows": 1000, "seed": 7, "offending": None, "offending_rows": 20},
            build=_sample,
        ),
        FrameKind(
            "rejects",
            "one row per landed day of a classified staging model: rows, rejected_rows (non-null "
            "`reason_column`), reject_share, top_reason (the day's most frequent reason), "
            "top_reason_rows, top_reason_share; shares are null below `min_rows` rows",
            required=("table",),
            optional={**_TABLE_OPTIONS, "reason_column": "reject_reason", "min_rows": MIN_SHARE_ROWS},
            build=_rejects,
        ),
        FrameKind(
            "orphans",
            "one row per landed day: rows, keyed_rows (non-null `column`), orphan_rows (keyed rows "
            "whose value is not in `parent_table`.`parent_column`, default the same name), "
            "orphan_share = orphan_rows / keyed_rows (null below `min_rows` keyed rows)",
            required=("table", "column", "parent_table"),
            optional={**_TABLE_OPTIONS, "parent_column": None, "min_rows": MIN_SHARE_ROWS},
            build=_orphans,
        ),
        FrameKind(
            "profile",
            "one row per landed day × listed column: rows, null_rows, min_value, max_value, "
            "mean_value (as DOUBLE; numeric, boolean-free columns)",
            required=("table", "columns"),
            optional=dict(_TABLE_OPTIONS),
            build=_profile,
        ),
        FrameKind(
            "sql",
            "any read-only query with {start} / {end} / {tz} placeholders; declare `columns` "
            "so expectations are checked against them at load time, `index` for readable "
            "examples, and `table` for the latest-day fallback",
            required=("sql",),
            optional={**_TABLE_OPTIONS, "columns": None, "index": None, "table": None},
            build=_sql,
        ),
    ]
}
