"""The staging and facts GX gates on a warehouse the whole graph built from generated data: they
pass with 2% bad rows quarantined, and fail — naming the day and the cause — on the systemic faults
they exist for (a reject reason taking over a day, clean rows pointing nowhere, negative clean
amounts, a rollup that lost or repeated rows)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from huaxiang.contract import RAW_TABLES
from huaxiang.quality.frames import Window, run_frames
from huaxiang.quality.report import expectations_markdown, summary
from huaxiang.quality.suites import Suite, discover_suites
from huaxiang.quality.validate import SuiteResult, validate_suite
from huaxiang.settings import Settings
from huaxiang.warehouse import connect
from tests.conftest import SMALL_DAYS, SMALL_START

TZ = "Asia/Shanghai"
ALL_DAYS = Window(SMALL_START, SMALL_START + timedelta(days=SMALL_DAYS - 1), "test")
FAULT_DAY = SMALL_START + timedelta(days=5)
AROUND_FAULT = Window(FAULT_DAY - timedelta(days=1), FAULT_DAY + timedelta(days=1), "test")


@pytest.fixture(scope="module")
def built(small_home: Settings, small_run) -> Path:
    assert small_run.success, small_run.render()
    return small_home.warehouse_path


@pytest.fixture(scope="module")
def suites() -> dict[str, Suite]:
    return {suite.name: suite for suite in discover_suites()}


def validate(db: Path, suite: Suite, window: Window) -> SuiteResult:
    with connect(db, read_only=True) as conn:
        frames = run_frames(conn, suite, window, TZ)
    return validate_suite(suite, {name: frame.data for name, frame in frames.items()})


def with_fault(built: Path, tmp_path: Path, *statements: str) -> Path:
    """A copy of the warehouse with SQL applied; `?` is the fault day. The copy keeps the file name:
    dbt's views name their tables through the database, which DuckDB names after the file."""
    db = tmp_path / built.name
    shutil.copy(built, db)
    with connect(db) as conn:
        for sql in statements:
            conn.execute(sql, [FAULT_DAY] * sql.count("?"))
    return db


def failed(result: SuiteResult) -> set[tuple[str, str | None]]:
    return {(outcome.frame, outcome.column) for outcome in result.failures}


@pytest.mark.parametrize("suite_name", [f"staging__stg_{t}" for t in RAW_TABLES] + ["facts__int_user_daily"])
def test_staging_and_facts_suites_pass_with_bad_rows_quarantined(
    built: Path, suites: dict[str, Suite], suite_name: str
) -> None:
    result = validate(built, suites[suite_name], ALL_DAYS)
    assert result.passed, summary(result) + "\n" + expectations_markdown(result)
    assert result.rows_validated < 2000


def test_a_reject_reason_taking_over_a_day_fails(built: Path, tmp_path: Path, suites: dict[str, Suite]) -> None:
    """Half of a day's clean events quarantined as duplicates — what a day replayed under a new
    date looks like after staging — fails on that day only, naming the reason."""
    db = with_fault(
        built,
        tmp_path,
        "update staging.stg_events_classified set reject_reason = 'duplicate' "
        "where _partition_date = ? and reject_reason is null and hash(event_id) % 2 = 0",
    )
    result = validate(db, suites["staging__stg_events"], AROUND_FAULT)
    assert failed(result) == {("rejects", "reject_share"), ("rejects", "top_reason_share")}
    top = next(o for o in result.failures if o.column == "top_reason_share")
    assert top.examples[0].startswith(f"{FAULT_DAY} duplicate: 0.")
    assert result.day_passed(AROUND_FAULT.days) == {day: day != FAULT_DAY for day in AROUND_FAULT.days}


def test_clean_rows_of_unknown_users_fail_referential_integrity(
    built: Path, tmp_path: Path, suites: dict[str, Suite]
) -> None:
    db = with_fault(
        built,
        tmp_path,
        "update staging.stg_events_classified set user_id = 'U-nobody' "
        "where _partition_date = ? and reject_reason is null and hash(event_id) % 10 = 0",
    )
    result = validate(db, suites["staging__stg_events"], AROUND_FAULT)
    assert failed(result) == {("users", "orphan_share")}
    (orphans,) = result.failures
    assert orphans.failed_days == (FAULT_DAY,)
    assert "belong to no clean user" in summary(result)


def test_a_negative_clean_amount_fails_the_range(built: Path, tmp_path: Path, suites: dict[str, Suite]) -> None:
    db = with_fault(
        built,
        tmp_path,
        "update staging.stg_orders_classified set paid_amount = -1 "
        "where order_id = (select min(order_id) from staging.stg_orders where _partition_date = ?)",
    )
    result = validate(db, suites["staging__stg_orders"], AROUND_FAULT)
    assert failed(result) == {("amounts", "min_value")}
    (amounts,) = result.failures
    assert amounts.examples == (f"{FAULT_DAY} paid_amount: -1",)


def test_a_rollup_that_lost_a_user_day_fails_reconciliation(
    built: Path, tmp_path: Path, suites: dict[str, Suite]
) -> None:
    db = with_fault(
        built,
        tmp_path,
        "delete from facts.int_user_daily where activity_date = ? and user_id = "
        "(select max(user_id) from facts.int_user_daily where activity_date = ? and orders > 0)",
    )
    result = validate(db, suites["facts__int_user_daily"], AROUND_FAULT)
    assert {("reconcile", "user_days_diff"), ("reconcile", "orders_diff"), ("reconcile", "revenue_diff")} <= failed(
        result
    )
    user_days = next(o for o in result.failures if o.column == "user_days_diff")
    assert user_days.examples == (f"{FAULT_DAY}: -1",)


def test_a_repeated_user_day_and_a_negative_measure_fail(built: Path, tmp_path: Path, suites: dict[str, Suite]) -> None:
    db = with_fault(
        built,
        tmp_path,
        "insert into facts.int_user_daily select * from facts.int_user_daily where activity_date = ? limit 1",
        "update facts.int_user_daily set reviews = -1 where activity_date = ? and user_id = "
        "(select min(user_id) from facts.int_user_daily where activity_date = ?)",
    )
    result = validate(db, suites["facts__int_user_daily"], AROUND_FAULT)
    assert {("reconcile", "user_days_diff"), ("measures", "min_value")} <= failed(result)
    measures = next(o for o in result.failures if o.frame == "measures")
    assert measures.examples == (f"{FAULT_DAY} reviews: -1",)


def test_the_window_decides_what_is_read(built: Path, suites: dict[str, Suite]) -> None:
    """A one-day window yields one row per day-indexed frame: the frames never scan history."""
    day = Window(FAULT_DAY, FAULT_DAY, "test")
    with connect(built, read_only=True) as conn:
        frames = run_frames(conn, suites["staging__stg_events"], day, TZ)
    assert {name: len(frame.data) for name, frame in frames.items()} == {"rejects": 1, "users": 1, "products": 1}
    assert frames["rejects"].data["day"].iloc[0].date() == FAULT_DAY
