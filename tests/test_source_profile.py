"""The source profile (landing/_source.json) and the suites' `when:` (fast: no Dagster, no dbt)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from huaxiang.quality.frames import Window, run_frames
from huaxiang.quality.report import expectations_markdown, summary
from huaxiang.quality.suites import SuiteError, load_suite
from huaxiang.quality.validate import validate_suite
from huaxiang.source_profile import (
    STRICT_FACTS,
    SourceProfile,
    load_source_profile,
    remove_source_profile,
    write_source_profile,
)

SUITE = """
asset: raw/events
description: Events volume.
table: raw.events
frames:
  volume:
    kind: volume
    expectations:
      - type: expect_column_values_to_be_between
        kwargs: {column: rows, min_value: 1}
        when: {every_day: true}
        meta: {notes: An empty day.}
      - type: expect_column_values_to_be_between
        kwargs: {column: recorded_difference, min_value: 0, max_value: 0}
        when: {recorded: true}
        meta: {notes: Not what the ingest landed.}
"""
DAYS = [date(2017, 11, 1), date(2017, 11, 2), date(2017, 11, 3)]


def sparse_profile(day_rows: dict[str, int]) -> SourceProfile:
    facts = {**STRICT_FACTS, "kind": "ingested", "every_day": False, "recorded": True, "provides_campaigns": False}
    return SourceProfile(name="shop", kind="ingested", facts=facts, day_rows={"events": day_rows})


@pytest.fixture
def suite(tmp_path: Path):
    path = tmp_path / "raw__events.yml"
    path.write_text(SUITE)
    return load_suite(path)


@pytest.fixture
def conn():
    """raw.events with rows on the 1st and 3rd, none on the 2nd (a shop closed that day)."""
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(
        "create table raw.events as select * from (values (1, date '2017-11-01'), (2, date '2017-11-01'), "
        "(3, date '2017-11-03')) as t(event_id, _partition_date)"
    )
    return con


def validate(suite, conn, profile):
    frames = run_frames(conn, suite, Window(DAYS[0], DAYS[-1], "test"), "Asia/Shanghai", profile)
    return validate_suite(suite, {name: frame.data for name, frame in frames.items()}, profile)


def test_without_a_profile_an_empty_day_fails_as_on_generated_data(suite, conn) -> None:
    result = validate(suite, conn, None)
    assert not result.passed
    assert result.first_failure.column == "rows" and result.first_failure.failed_days == (DAYS[1],)
    # Nothing recorded: the reconciliation is reported, not silently judged on nulls.
    assert [o.column for o in result.not_applicable] == ["recorded_difference"]


def test_a_sparse_source_reports_the_empty_day_gate_not_applicable_and_reconciles_instead(suite, conn) -> None:
    profile = sparse_profile({"2017-11-01": 2, "2017-11-02": 0, "2017-11-03": 1})
    result = validate(suite, conn, profile)
    assert result.passed
    (skipped,) = result.not_applicable
    assert skipped.column == "rows" and "every_day is false, needs true" in skipped.not_applicable
    assert "1 applicable expectations passed; 1 not applicable" in summary(result)
    assert "| n/a |" in expectations_markdown(result)
    assert result.source == "shop (ingested)"


def test_the_recorded_gate_catches_a_day_that_no_longer_holds_what_was_landed(suite, conn) -> None:
    conn.execute("insert into raw.events values (3, date '2017-11-03')")  # the 3rd loaded twice
    result = validate(suite, conn, sparse_profile({"2017-11-01": 2, "2017-11-02": 0, "2017-11-03": 1}))
    assert not result.passed
    failure = result.first_failure
    assert failure.column == "recorded_difference" and failure.failed_days == (DAYS[2],)
    assert "recorded_difference" in summary(result)


def test_when_must_name_a_known_fact(tmp_path: Path) -> None:
    path = tmp_path / "raw__events.yml"
    path.write_text(SUITE.replace("every_day: true", "every_days: true"))
    with pytest.raises(SuiteError, match="every_days: not a source-profile fact"):
        load_suite(path)


def test_profile_round_trip_and_strict_default(tmp_path: Path) -> None:
    assert load_source_profile(tmp_path).facts == STRICT_FACTS  # no file: the generator's strict profile
    profile = sparse_profile({"2017-11-01": 2})
    write_source_profile(tmp_path, profile)
    loaded = load_source_profile(tmp_path)
    assert loaded.facts["every_day"] is False and loaded.recorded_rows("raw.events") == ([DAYS[0]], [2])
    assert loaded.recorded_rows("staging.stg_events") == ([], [])
    assert "campaigns" in loaded.explanations() and "'unknown'" in loaded.explanations()["campaigns"]
    remove_source_profile(tmp_path)
    assert load_source_profile(tmp_path).path is None


def test_ingest_writes_the_profile_from_the_landed_rows(tmp_path: Path) -> None:
    """A tiny line log with a closed day in between and a customer without an id."""
    from huaxiang.commands.ingest import ingest
    from tests.test_ingest import MAPPINGS, make_settings

    source = tmp_path / "src"
    source.mkdir()
    pd.DataFrame(
        {
            "InvoiceNo": ["1", "1", "2", "3"],
            "StockCode": ["A", "B", "A", "C"],
            "Description": ["a", "b", "a", "c"],
            "Quantity": [1, 2, 1, 1],
            "InvoiceDate": ["12/1/10 8:26", "12/1/10 8:26", "12/3/10 9:00", "12/3/10 9:30"],
            "UnitPrice": [1.5, 2.0, 1.5, 3.0],
            "CustomerID": [17850, 17850, 13047, None],
            "Country": ["United Kingdom"] * 4,
        }
    ).to_csv(source / "OnlineRetail.csv", index=False)
    settings = make_settings(tmp_path / "home")
    report = ingest(MAPPINGS / "uci_online_retail.yml", source, settings, progress=False)
    assert report.success, report.render()
    profile = load_source_profile(settings.landing_dir)
    assert profile.kind == "ingested" and profile.name == report.mapping_name
    assert profile.facts["every_day"] is False  # 2010-12-02 has nothing
    assert profile.facts["whole_days"] is False and profile.facts["recorded"] is True
    assert set(profile.missing_signals) == {"campaigns", "clickstream", "demographics", "reviews", "consent"}
    days, rows = profile.recorded_rows("raw.orders")
    assert [d.isoformat() for d in days] == [d.isoformat() for d in report.days]
    assert sum(rows) == report.counts("orders").landed
    assert "Missing signal:" in report.render()


def test_the_pii_scan_finds_phones_after_separators_but_not_inside_hash_ids(tmp_path: Path) -> None:
    from huaxiang.snapshot import StagedSnapshot, scan_for_pii

    with duckdb.connect(str(tmp_path / "marts.duckdb")) as con:
        con.execute(
            "create table t as select * from (values ('olist_19488640175c4338368535a742d748ca'), "
            "('olist_d0b4bdeef13a17452775286df858068a'), ('shop_13812345678'), ('手机13812345678。'), "
            "('call 13912345678 now'), ('a@b.cn')) as v(text)"
        )
    findings = scan_for_pii(StagedSnapshot(tmp_path, {}, {}, None))
    assert {(f.pattern, f.rows) for f in findings} == {("phone", 3), ("email", 1)}
