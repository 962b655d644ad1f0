"""The suite files in expectations/: they load, gate known assets, match the raw contract, and a
malformed file is refused with an error naming the file and the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from huaxiang.contract import RAW_TABLES
from huaxiang.quality.kinds import KINDS
from huaxiang.quality.suites import SuiteError, discover_suites, load_suite
from huaxiang.settings import EXPECTATIONS_DIR, REPO_ROOT
from huaxiang.warehouse import RAW_SCHEMA, ensure_raw_table

GOOD_SUITE = """
asset: raw/events
description: A minimal suite.
table: raw.events
frames:
  volume:
    kind: volume
    expectations:
      - type: expect_column_values_to_be_between
        kwargs: {column: rows, min_value: 1}
"""


def write_suite(directory: Path, text: str, name: str = "raw__events.yml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_raw_table_has_a_suite_naming_its_asset() -> None:
    suites = {suite.name: suite for suite in discover_suites()}
    for table in RAW_TABLES:
        suite = suites[f"raw__{table}"]
        assert suite.asset == (RAW_SCHEMA, table)
        assert suite.path == EXPECTATIONS_DIR / f"raw__{table}.yml"
        assert suite.blocking
        kinds = {frame.kind for frame in suite.frames}
        # Every raw gate covers schema, freshness/partitioning, key not-null and duplicates.
        assert {"schema", "freshness", "nulls", "duplicates"} <= kinds, suite.name
        assert suite.day_source == (f"{RAW_SCHEMA}.{table}", "_partition_date")


def test_every_raw_table_staging_model_fact_mart_and_ml_output_has_a_suite() -> None:
    suites = {suite.name: suite for suite in discover_suites()}
    for table in RAW_TABLES:
        suite = suites[f"staging__stg_{table}"]
        assert suite.asset == ("staging", f"stg_{table}") and suite.blocking
        (rejects,) = [frame for frame in suite.frames if frame.kind == "rejects"]
        # The quarantine profile reads the classified model of the same table.
        assert rejects.options["table"] == f"staging.stg_{table}_classified"
    # A dimension's suite also gates its version history, which facts and marts read.
    for table in ("users", "products", "campaigns"):
        assert suites[f"staging__stg_{table}"].gated_assets == (
            ("staging", f"stg_{table}"),
            ("staging", f"stg_{table}_versions"),
        )
    facts = suites["facts__int_user_daily"]
    assert facts.asset == ("facts", "int_user_daily")
    assert facts.day_source == ("facts.int_user_daily", "activity_date")
    assert set(suites) == {
        *(f"raw__{table}" for table in RAW_TABLES),
        *(f"staging__stg_{table}" for table in RAW_TABLES),
        "facts__int_user_daily",
        *(f"ml__{output}" for output in ("user_clusters", "purchase_propensity", "user_recommendations")),
        *(
            f"marts__{mart}"
            for mart in (
                "user_profile",
                "user_tags",
                "segment_summary",
                "campaign_performance",
                "audience_members",
                "cohort_retention",
            )
        ),
    }


def test_schema_expectations_match_the_raw_contract() -> None:
    """The declared `name TYPE` lists are what the loader creates from the contract."""
    conn = duckdb.connect()
    for suite in discover_suites():
        if suite.asset[0] != RAW_SCHEMA:
            continue
        table = suite.asset[1]
        ensure_raw_table(conn, table)
        actual = [
            f"{name} {type_}"
            for name, type_ in conn.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [RAW_SCHEMA, table],
            ).fetchall()
        ]
        schema = next(frame for frame in suite.frames if frame.kind == "schema")
        for expectation in schema.expectations:
            assert expectation.kwargs["value_set"] == actual, (suite.name, expectation.type)


def test_every_expectation_is_a_valid_gx_expectation() -> None:
    from huaxiang.quality.validate import build_gx_suite

    for suite in discover_suites():
        for frame in suite.frames:
            gx_suite = build_gx_suite(suite, frame)
            assert len(gx_suite.expectations) == len(frame.expectations)


def test_importing_the_gates_does_not_import_great_expectations() -> None:
    code = (
        "import sys, orchestration.checks, huaxiang.quality.validate, huaxiang.quality.report;"
        "sys.exit('great_expectations' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT).returncode == 0


def test_a_minimal_suite_loads(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path, GOOD_SUITE))
    assert suite.name == "raw__events" and suite.asset_path == "raw/events"
    (frame,) = suite.frames
    assert frame.options["table"] == "raw.events"  # inherited from the suite
    assert frame.query.columns == (
        "day", "rows", "baseline", "baseline_days", "baseline_rows", "calendar_event", "ratio", "robust_z",
        "unexpected_empty", "recorded_rows", "recorded_difference",
    )


@pytest.mark.parametrize(
    ("broken", "field", "words"),
    [
        (GOOD_SUITE.replace("asset: raw/events\n", ""), "asset", "is required"),
        (GOOD_SUITE.replace("raw/events", "raw/orders"), "asset", "belongs in raw__orders.yml"),
        (GOOD_SUITE.replace("kind: volume", "kind: volumes"), "frames.volume.kind", "not a frame kind"),
        (
            GOOD_SUITE.replace("{column: rows,", "{column: ros,"),
            "frames.volume.expectations[0].kwargs.column",
            "'ros' is not a column of frame 'volume'",
        ),
        (
            GOOD_SUITE.replace("kind: volume", "kind: volume\n    trailing_dayz: 7"),
            "frames.volume.trailing_dayz",
            "not an option of kind 'volume'",
        ),
        (
            GOOD_SUITE.replace("table: raw.events", "table: raw.events; drop table x"),
            "frames.volume.table",
            "not a plain identifier",
        ),
        (
            GOOD_SUITE.replace("type: expect_column", "type: column"),
            "frames.volume.expectations[0].type",
            "not a GX expectation type",
        ),
        (
            GOOD_SUITE.replace("blocking", "x").replace("description:", "blocking: maybe\ndescription:"),
            "blocking",
            "true or false",
        ),
        (GOOD_SUITE + "  oops: [", "", "not valid YAML"),
        (GOOD_SUITE.replace("table: raw.events", "also_gates: raw/users\ntable: raw.events"), "also_gates", "list"),
        (
            GOOD_SUITE.replace("table: raw.events", "also_gates: [raw//users]\ntable: raw.events"),
            "also_gates[0]",
            "not an asset path",
        ),
    ],
)
def test_a_malformed_suite_names_file_and_field(tmp_path: Path, broken: str, field: str, words: str) -> None:
    with pytest.raises(SuiteError) as error:
        load_suite(write_suite(tmp_path, broken))
    assert error.value.field == field
    assert "raw__events.yml" in str(error.value) and words in str(error.value)


def test_an_unknown_gx_expectation_is_reported_with_its_place(tmp_path: Path) -> None:
    from huaxiang.quality.validate import build_gx_suite

    suite = load_suite(write_suite(tmp_path, GOOD_SUITE.replace("values_to_be_between", "values_to_be_betwen")))
    with pytest.raises(SuiteError, match=r"raw__events.yml: frames.volume.expectations\[0\]: GX refuses it"):
        build_gx_suite(suite, suite.frames[0])


def test_every_frame_kind_expands_to_sql_with_bound_parameters() -> None:
    options = {
        "schema": {"table": "raw.events"},
        "volume": {"table": "raw.events"},
        "nulls": {"table": "raw.events", "columns": ["event_id"]},
        "duplicates": {"table": "raw.events", "key": ["event_id"]},
        "freshness": {"table": "raw.events", "timestamp_column": "occurred_at"},
        "sample": {"table": "raw.events", "columns": ["event_type"], "offending": "event_type is null"},
        "rejects": {"table": "raw.classified"},
        "orphans": {"table": "raw.events", "column": "user_id", "parent_table": "raw.users"},
        "profile": {"table": "raw.orders", "columns": ["paid_amount", "gross_amount"]},
        "sql": {"sql": "select * from raw.events where _partition_date between {start} and {end}"},
    }
    assert set(options) == set(KINDS)
    conn = duckdb.connect()
    for table in ("events", "users", "orders"):
        ensure_raw_table(conn, table)
    conn.execute("create table raw.classified as select *, 'duplicate' as reject_reason from raw.events")
    from datetime import date

    from huaxiang.quality.frames import bound_parameters

    values = {
        "start": date(2026, 6, 1),
        "end": date(2026, 6, 2),
        "tz": "Asia/Shanghai",
        "recorded_days": [],  # what the source profile recorded (none here)
        "recorded_rows": [],
    }
    for name, kind_options in options.items():
        query = KINDS[name].expand(kind_options)
        assert "2026" not in query.sql and "{start}" not in query.sql
        # Runs on an empty table: the SQL is valid and every parameter is bound.
        conn.execute(query.sql, bound_parameters(query.sql, {**values, **query.params})).df()
