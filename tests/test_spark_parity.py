"""The whole graph on Spark (`huaxiang run` on the `spark` target), and equal marts on both engines.

One build on each engine from one landing zone (2,000 users × 45 days, sized for CI):

* **The whole graph on Spark**: `huaxiang run` in process, as `HUAXIANG_TARGET=spark huaxiang run`
  does — the raw views over the landed Parquet, dbt staging → facts → marts (dbt tests and unit
  tests included), the ML assets reading and writing `ml.*` in Spark (45 days: the propensity model
  is trained on Spark's training frame, not the short-history heuristic), every Great Expectations
  suite on Spark frames, the published snapshot, `huaxiang quality` reading Spark's quarantine.
* **Mart parity**: DuckDB runs the whole graph (`huaxiang run`) over a copy of the same landing
  zone; Spark's `ml` tables are then written into DuckDB and the DuckDB marts rebuilt (`dbt build
  --select path:models/marts`), so both engines' marts join the same model outputs. Every mart is
  compared: row counts, per-column sums / non-null counts / distinct counts, users per tag value,
  users per segment, audience sizes and revenue sums, within float tolerance.

Spark's time at this size is per-query and per-JVM overhead, not data (docs/scale-out.md), so one
Spark run serves both: until 2026-12 they were two builds (the whole graph at 300 × 12, parity at
the benchmark's S, 10,000 × 60, with a second Spark `dbt build`), 12 of CI's 36 minutes.

Needs the `spark` extra (`pip install -e .[spark]`) and Java 17; skipped without them.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import shutil
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest

from huaxiang.commands.quality import EXAMPLES_PER_GROUP, QualityReport, quality_report
from huaxiang.commands.run import RunSummary, run_pipeline
from huaxiang.contract import RAW_TABLES
from huaxiang.dbt_manifest import dbt_executable
from huaxiang.engines import DuckDBEngine, read_queries, run_in_engine_process, shared_engine_process
from huaxiang.quality import discover_suites
from huaxiang.settings import DBT_PROJECT_DIR
from huaxiang.warehouse import connect
from ml_assets.propensity import HEURISTIC_KIND
from tests.conftest import huaxiang_home
from tests.test_dbt_staging import DAY_TABLES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("dbt.adapters.spark") is None,
        reason="the spark extra is not installed (pip install -e .[spark])",
    ),
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime (17)"),
]

# 45 days: past the 30-day propensity horizon, so the model is trained (on Spark's training frame).
USERS, DAYS = 2_000, 45
START = date(2026, 6, 1)
PII_SALT = "parity-salt-8d41c0e2"
MARTS = (
    "user_profile",
    "user_tags",
    "dim_tag",
    "dim_tag_value",
    "segment_summary",
    "audience_members",
    "campaign_performance",
    "cohort_retention",
    "mkt_audience_candidates",
    "mkt_campaign_assignments",
)
ML_TABLES = ("user_clusters", "purchase_propensity", "user_recommendations")
SHARED_ENV = {"HUAXIANG_TIMEZONE": "Asia/Shanghai", "HUAXIANG_PII_SALT": PII_SALT}
DUCKDB_ENV = {**SHARED_ENV, "HUAXIANG_TARGET": "duckdb"}
SPARK_ENV = {
    **SHARED_ENV,
    "HUAXIANG_TARGET": "spark",
    "HUAXIANG_SPARK_MASTER": "local[2]",
    "HUAXIANG_SPARK_SHUFFLE_PARTITIONS": "2",
}
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DOUBLE", "FLOAT", "DECIMAL")
LEGACY_RENAMES = {
    table: f"alter table staging.stg_{table}_classified rename to staging.stg_{table}__classified"
    for table in DAY_TABLES
}
REL_TOL = 1e-6
ABS_TOL = 1e-6


def run_dbt(home: Path, target: str, *args: str) -> subprocess.CompletedProcess:
    """`dbt <args>` on `target` against `home`."""
    env = {**os.environ, **SPARK_ENV, "HUAXIANG_HOME": str(home), "HUAXIANG_TARGET": target}
    command = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target",
        target,
        "--target-path",
        str(home / f"dbt_target_{target}"),
        "--log-path",
        str(home / f"dbt_logs_{target}"),
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=2400)


def generate_home(home: Path, users: int, days: int) -> None:
    from huaxiang.generator import GeneratorConfig, generate

    generate(
        GeneratorConfig(users=users, days=days, start=START, seed=11, bad_rate=0.02),
        home / "landing",
        home / "truth",
        progress=False,
    )


def report_timings(home: Path, label: str, timings: dict[str, float]) -> None:
    (home / "parity_timings.json").write_text(json.dumps(timings, indent=2))
    print(f"\n{label} timings: {json.dumps({name: round(seconds, 1) for name, seconds in timings.items()})}")


def write_ml_into_duckdb(warehouse: Path, tables: dict) -> None:
    """Spark's `ml` tables into DuckDB's, rows replaced, DuckDB's column types kept."""
    with connect(warehouse) as conn:
        for table in ML_TABLES:
            conn.register("spark_rows", tables[f"ml.{table}"])
            conn.execute(f"delete from ml.{table}")
            conn.execute(f"insert into ml.{table} by name select * from spark_rows")
            conn.unregister("spark_rows")


@dataclasses.dataclass(frozen=True)
class Builds:
    spark_home: Path
    duckdb_home: Path
    summary: RunSummary
    quality: QualityReport
    spark: dict  # Spark's `ml` tables (`ml.<table>`) and parity query results, read in one engine process
    queries: dict[str, tuple[str, tuple[str, ...]]]
    unit_tests: subprocess.CompletedProcess  # `dbt test --select test_type:unit` on Spark


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Builds:
    """One landing zone; `huaxiang run` on DuckDB, then on Spark; Spark's outputs read in one JVM."""
    spark_home, duckdb_home = tmp_path_factory.mktemp("spark-run"), tmp_path_factory.mktemp("duckdb-run")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    generate_home(spark_home, USERS, DAYS)
    for folder in ("landing", "truth"):
        shutil.copytree(spark_home / folder, duckdb_home / folder)
    timings["generate"] = time.perf_counter() - started

    started = time.perf_counter()
    with huaxiang_home(duckdb_home, DUCKDB_ENV) as settings:
        duckdb_summary = run_pipeline(settings, progress=False)
    timings["duckdb_huaxiang_run"] = time.perf_counter() - started
    assert duckdb_summary.success and not duckdb_summary.failed_checks, duckdb_summary.render()
    queries = parity_queries(_columns(duckdb_home))

    started = time.perf_counter()
    with huaxiang_home(spark_home, SPARK_ENV) as settings:
        summary = run_pipeline(settings, progress=False)
        timings["spark_huaxiang_run"] = time.perf_counter() - started
        # Staging's day tables back to the names of the release before 2026-12 (a home built by it):
        # the next dbt invocation, the unit tests', must rename them in place (macros/migrations.sql),
        # and the quality report below reads every day's quarantine through the new names.
        started = time.perf_counter()
        run_in_engine_process(settings, read_queries, LEGACY_RENAMES)
        # The graph's builds leave the dbt unit tests out (they test code, not data): run them on Spark here.
        unit_tests = run_dbt(spark_home, "spark", "test", "--select", "test_type:unit")
        timings["spark_legacy_names_and_unit_tests"] = time.perf_counter() - started
        # `huaxiang quality` and the reads the tests compare, in one engine process (one JVM start).
        started = time.perf_counter()
        wanted = {f"ml.{t}": f"select * from ml.{t}" for t in ML_TABLES}
        wanted["staging_tables"] = "show tables in staging"
        if summary.success:  # the marts exist: their parity queries too
            wanted.update({name: query for name, (query, _) in queries.items()})
        with shared_engine_process(settings):
            quality = quality_report(settings)
            spark = run_in_engine_process(settings, read_queries, wanted)
        timings["spark_quality_report_and_reads"] = time.perf_counter() - started
    report_timings(spark_home, f"spark ({USERS} × {DAYS})", timings)
    return Builds(spark_home, duckdb_home, summary, quality, spark, queries, unit_tests)


@pytest.fixture(scope="module")
def parity_home(builds: Builds) -> Path:
    """The DuckDB home, its marts rebuilt on Spark's `ml` tables."""
    assert builds.summary.success, builds.summary.render()
    home = builds.duckdb_home
    started = time.perf_counter()
    write_ml_into_duckdb(home / "warehouse.duckdb", builds.spark)
    built = run_dbt(home, "duckdb", "build", "--select", "path:models/marts", "--exclude-resource-type", "unit_test")
    assert built.returncode == 0, f"dbt build of the marts on DuckDB failed:\n{built.stdout[-8000:]}"
    print(f"\nDuckDB marts on Spark's ml tables: {time.perf_counter() - started:.1f} s")
    return home


def test_huaxiang_run_materializes_the_whole_graph_on_spark(builds: Builds) -> None:
    summary = builds.summary
    assert summary.success, summary.render()
    assert not summary.failed_steps and not summary.skipped_steps, summary.render()
    assert not summary.failed_checks, summary.render()
    # Every Great Expectations suite ran (on Spark frames) and passed, besides the dbt tests.
    passed = {check.name for check in summary.checks if check.passed}
    assert {suite.name for suite in discover_suites()} <= passed
    # The ML assets wrote their outputs into Spark; the propensity model was trained, not the heuristic.
    ml = builds.spark
    assert ml["ml.user_clusters"].num_rows >= USERS * 0.9
    assert ml["ml.purchase_propensity"].num_rows >= USERS * 0.9
    assert ml["ml.user_recommendations"].num_rows > 0
    kinds = set(ml["ml.purchase_propensity"].column("model_kind").to_pylist())
    assert kinds and HEURISTIC_KIND not in kinds, kinds
    # The snapshot BI reads holds every mart, read from Spark.
    assert summary.published
    assert set(MARTS) <= set(summary.mart_rows)
    assert summary.mart_rows["user_profile"] >= USERS * 0.9
    with connect(Path(summary.published) / "marts.duckdb", read_only=True) as conn:
        published_users = conn.execute("select count(*) from user_profile").fetchone()[0]
    assert published_users == summary.mart_rows["user_profile"]


def test_the_dbt_unit_tests_pass_on_spark(builds: Builds) -> None:
    assert builds.unit_tests.returncode == 0, builds.unit_tests.stdout[-8000:]
    unit_tests = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())["unit_tests"]
    results = json.loads((builds.spark_home / "dbt_target_spark" / "run_results.json").read_text())["results"]
    passed = {r["unique_id"] for r in results if r["unique_id"].startswith("unit_test.") and r["status"] == "pass"}
    assert passed == set(unit_tests) and passed, builds.unit_tests.stdout[-2000:]


def test_a_spark_home_under_the_old_staging_names_is_migrated_in_place(builds: Builds) -> None:
    """The day tables renamed back to `stg_<t>__classified` are renamed forward by the next dbt
    invocation; the quality report (next test) then finds every day's injected bad rows in them."""
    for table in DAY_TABLES:
        assert f"renaming staging.stg_{table}__classified to stg_{table}_classified" in builds.unit_tests.stdout
    tables = set(builds.spark["staging_tables"].column("tableName").to_pylist())
    assert {f"stg_{table}_classified" for table in DAY_TABLES} <= tables
    assert not [name for name in tables if "__" in name], tables


def test_the_quality_report_reads_the_spark_quarantine(builds: Builds) -> None:
    """`huaxiang quality` on the Spark target: exactly the injected bad rows, every check passed."""
    report = builds.quality
    injected = json.loads((builds.spark_home / "truth" / "bad_rows.json").read_text())
    assert [t.table for t in report.tables] == list(RAW_TABLES)
    assert {t.table: report.rejected_rows(t.table) for t in report.tables if t.rejected} == injected
    assert all(1 <= len(group.examples) <= EXAMPLES_PER_GROUP for group in report.rejects)
    assert report.checks and not report.failed_checks


def _columns(home: Path) -> dict[str, list[tuple[str, str]]]:
    with connect(home / "warehouse.duckdb", read_only=True) as conn:
        rows = conn.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' order by table_name, ordinal_position"
        ).fetchall()
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        columns.setdefault(table, []).append((column, data_type.upper()))
    return columns


def parity_queries(columns: dict[str, list[tuple[str, str]]]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Portable SQL (DuckDB and Spark) with its key columns: a profile row per mart, key group-bys."""
    queries = {}
    for mart in MARTS:
        parts = ["count(*) as row_count"]
        for column, data_type in columns[mart]:
            parts.append(f"count({column}) as nonnull__{column}")
            if data_type.startswith(NUMERIC_TYPES):
                parts.append(f"sum(cast({column} as double)) as sum__{column}")
            elif data_type == "BOOLEAN":
                parts.append(f"count(case when {column} then 1 end) as true__{column}")
            else:
                parts.append(f"count(distinct {column}) as distinct__{column}")
        queries[mart] = (f"select {', '.join(parts)} from marts.{mart}", ())
    queries["users_per_tag_value"] = (
        "select tag_code, tag_value, count(distinct user_id) as users from marts.user_tags "
        "group by tag_code, tag_value",
        ("tag_code", "tag_value"),
    )
    queries["users_per_segment"] = (
        "select tag_code, tag_value, users, consenting_users, cast(revenue_30d as double) as revenue_30d, "
        "cast(revenue_total as double) as revenue_total from marts.segment_summary",
        ("tag_code", "tag_value"),
    )
    # the salt reaches each engine at run time (a DuckDB variable, a Spark conf): the hashes must agree
    queries["contact_hashes"] = (
        "select user_id, phone_hash, email_hash from staging.stg_users",
        ("user_id",),
    )
    queries["audience_sizes"] = (
        "select audience_id, channel, count(*) as members from marts.audience_members group by audience_id, channel",
        ("audience_id", "channel"),
    )
    queries["campaign_revenue"] = (
        "select campaign_id, variant, segment, assigned_users, converted, cast(revenue as double) as revenue "
        "from marts.campaign_performance",
        ("campaign_id", "variant", "segment"),
    )
    queries["cohort_revenue"] = (
        "select cohort_grain, cast(cohort_start as string) as cohort_start, period_number, retained_users, "
        "cast(revenue as double) as revenue from marts.cohort_retention",
        ("cohort_grain", "cohort_start", "period_number"),
    )
    queries["profile_revenue_by_value_tier"] = (
        "select value_tier, count(*) as users, sum(cast(revenue_total as double)) as revenue_total "
        "from marts.user_profile group by value_tier",
        ("value_tier",),
    )
    return queries


def _keyed(table, keys: tuple[str, ...]) -> dict[tuple, dict]:
    """Rows by their key columns (as text); the other columns are the values compared."""
    return {
        tuple(str(row[k]) for k in keys): {k: v for k, v in row.items() if k not in keys} for row in table.to_pylist()
    }


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str):  # text (contact hashes) must match exactly
        return a == b
    return math.isclose(float(a), float(b), rel_tol=REL_TOL, abs_tol=ABS_TOL)


def test_every_mart_is_equal_on_spark_and_duckdb(builds: Builds, parity_home: Path) -> None:
    queries = builds.queries
    sql = {name: query for name, (query, _) in queries.items()}
    with connect(parity_home / "warehouse.duckdb", read_only=True) as conn:
        duck = read_queries(DuckDBEngine(conn), sql)
    spark = builds.spark

    differences = []
    for name, (_, keys) in queries.items():
        duck_rows, spark_rows = _keyed(duck[name], keys), _keyed(spark[name], keys)
        if duck_rows.keys() != spark_rows.keys():
            only_duck = sorted(duck_rows.keys() - spark_rows.keys())[:5]
            only_spark = sorted(spark_rows.keys() - duck_rows.keys())[:5]
            differences.append(f"{name}: groups differ; only DuckDB {only_duck}, only Spark {only_spark}")
            continue
        for key, values in duck_rows.items():
            for column, value in values.items():
                other = spark_rows[key].get(column)
                if not _close(value, other):
                    differences.append(f"{name}{list(key)}.{column}: DuckDB {value} != Spark {other}")
    assert not differences, "\n".join(differences[:60])

    # The comparison is not vacuous: every mart holds rows, the marts hold revenue and audiences.
    empty = [mart for mart in MARTS if not duck[mart].to_pylist()[0]["row_count"]]
    assert not empty, empty
    assert duck["user_profile"].to_pylist()[0]["row_count"] >= USERS * 0.9
    assert any(row["phone_hash"] for row in duck["contact_hashes"].to_pylist())
    assert sum(row["members"] for row in duck["audience_sizes"].to_pylist()) > 0
    assert sum(row["revenue"] or 0 for row in duck["campaign_revenue"].to_pylist()) > 0
