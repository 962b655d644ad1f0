"""The raw GX gates on generated data: they pass on a normal week (2% bad rows included), fail on
the systemic faults they exist for, say why in their metadata, and block downstream in Dagster."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from huaxiang.contract import RAW_TABLES
from huaxiang.landing import partition_path
from huaxiang.quality.frames import Window, fallback_window, run_frames
from huaxiang.quality.report import expectations_markdown, summary
from huaxiang.quality.suites import Suite, SuiteError, discover_suites
from huaxiang.quality.validate import SuiteResult, validate_suite
from huaxiang.settings import EXPECTATIONS_DIR, Settings
from huaxiang.warehouse import connect, load_partition

TZ = "Asia/Shanghai"
USERS, DAYS = 300, 10
START = date(2026, 6, 1)
ALL_DAYS = [START + timedelta(days=i) for i in range(DAYS)]
FAULT_DAY = START + timedelta(days=7)


def generate_landing(home: Path) -> None:
    from huaxiang.generator import GeneratorConfig, generate

    generate(
        GeneratorConfig(users=USERS, days=DAYS, start=START, bad_rate=0.02),
        home / "landing",
        home / "truth",
        progress=False,
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with every raw table loaded for DAYS generated days (2% bad rows)."""
    home = tmp_path_factory.mktemp("quality-home")
    generate_landing(home)
    with connect(home / "warehouse.duckdb") as conn:
        for table in RAW_TABLES:
            for day in ALL_DAYS:
                load_partition(conn, home / "landing", table, day)
    return home / "warehouse.duckdb"


@pytest.fixture(scope="module")
def suites() -> dict[str, Suite]:
    return {suite.name: suite for suite in discover_suites()}


def validate(db: Path, suite: Suite, window: Window) -> SuiteResult:
    with connect(db, read_only=True) as conn:
        frames = run_frames(conn, suite, window, TZ)
    return validate_suite(suite, {name: frame.data for name, frame in frames.items()})


def with_fault(warehouse: Path, tmp_path: Path, sql: str) -> Path:
    db = tmp_path / "faulty.duckdb"
    shutil.copy(warehouse, db)
    with connect(db) as conn:
        conn.execute(sql, [FAULT_DAY])
    return db


def failed(result: SuiteResult) -> set[tuple[str, str | None]]:
    return {(outcome.frame, outcome.column) for outcome in result.failures}


WEEK_AROUND_FAULT = Window(FAULT_DAY - timedelta(days=1), FAULT_DAY + timedelta(days=1), "test")


@pytest.mark.parametrize("table", list(RAW_TABLES))
def test_raw_suites_pass_on_normal_data_with_bad_rows(warehouse: Path, suites: dict[str, Suite], table: str) -> None:
    result = validate(warehouse, suites[f"raw__{table}"], Window(ALL_DAYS[0], ALL_DAYS[-1], "test"))
    assert result.passed, summary(result) + "\n" + expectations_markdown(result)
    assert result.rows_validated < 5000  # small frames, never the table


def test_an_empty_day_fails_volume(warehouse: Path, tmp_path: Path, suites: dict[str, Suite]) -> None:
    db = with_fault(warehouse, tmp_path, "delete from raw.events where _partition_date = ?")
    result = validate(db, suites["raw__events"], WEEK_AROUND_FAULT)
    assert not result.passed
    assert ("volume", "unexpected_empty") in failed(result)
    empty = next(o for o in result.failures if o.column == "unexpected_empty")
    assert empty.examples == (f"{FAULT_DAY}: 1",) and empty.unexpected_count == 1
    assert summary(result).startswith("volume.unexpected_empty") and "An empty day" in summary(result)
    # Only the empty day is blamed; its neighbours pass.
    assert result.day_passed(WEEK_AROUND_FAULT.days) == {day: day != FAULT_DAY for day in WEEK_AROUND_FAULT.days}


def test_a_doubled_day_fails(warehouse: Path, tmp_path: Path, suites: dict[str, Suite]) -> None:
    db = with_fault(warehouse, tmp_path, "insert into raw.events select * from raw.events where _partition_date = ?")
    result = validate(db, suites["raw__events"], WEEK_AROUND_FAULT)
    # The repeated ids block; twice the volume is only unusual (a real day can be twice as busy).
    assert {(o.frame, o.column) for o in result.blocking_failures} == {("duplicates", "duplicate_share")}
    volume = next(o for o in result.warnings if o.frame == "volume")
    assert volume.column == "robust_z" and volume.examples[0].startswith(f"{FAULT_DAY}: ")
    assert "doubled" in summary(result) and not summary(result).startswith("warning")


def test_a_true_drop_in_volume_warns_without_blocking(
    warehouse: Path, tmp_path: Path, suites: dict[str, Suite]
) -> None:
    """The day after a shop stopped acquiring customers: 0.38 of the usual traffic, every row valid."""
    db = with_fault(
        warehouse, tmp_path, "delete from raw.events where _partition_date = ? and hash(event_id) % 100 >= 38"
    )
    result = validate(db, suites["raw__events"], WEEK_AROUND_FAULT)
    assert not result.blocking_failures, summary(result)
    assert [(o.frame, o.column) for o in result.warnings] == [("volume", "robust_z")]
    assert summary(result).startswith("warning: volume.robust_z")
    assert result.day_passed(WEEK_AROUND_FAULT.days)[FAULT_DAY] is False and not result.day_blocked(FAULT_DAY)


def test_an_accepted_exception_passes_its_day_only(warehouse: Path, tmp_path: Path, suites: dict[str, Suite]) -> None:
    db = with_fault(warehouse, tmp_path, "delete from raw.events where _partition_date = ?")
    with connect(db, read_only=True) as conn:
        frames = {name: f.data for name, f in run_frames(conn, suites["raw__events"], WEEK_AROUND_FAULT, TZ).items()}
    reviewed = validate_suite(suites["raw__events"], frames, accepted={FAULT_DAY: "site outage, confirmed"})
    assert reviewed.passed and not reviewed.failures
    assert {o.column for o in reviewed.accepted} >= {"unexpected_empty", "ratio"}
    assert all("site outage, confirmed" in o.accepted for o in reviewed.accepted)
    assert "accepted" in summary(reviewed)
    other_day = validate_suite(suites["raw__events"], frames, accepted={FAULT_DAY - timedelta(days=1): "n/a"})
    assert not other_day.passed and not other_day.accepted


def test_a_day_of_null_keys_fails(warehouse: Path, tmp_path: Path, suites: dict[str, Suite]) -> None:
    db = with_fault(warehouse, tmp_path, "update raw.orders set order_id = null where _partition_date = ?")
    result = validate(db, suites["raw__orders"], WEEK_AROUND_FAULT)
    assert failed(result) == {("keys", "null_share")}
    (keys,) = result.blocking_failures
    assert keys.examples == (f"{FAULT_DAY} order_id: 1",)
    assert keys.failed_days == (FAULT_DAY,)


def test_a_timezone_shift_fails_freshness(warehouse: Path, tmp_path: Path, suites: dict[str, Suite]) -> None:
    db = with_fault(
        warehouse,
        tmp_path,
        "update raw.events set occurred_at = occurred_at + interval 8 hour where _partition_date = ?",
    )
    result = validate(db, suites["raw__events"], WEEK_AROUND_FAULT)
    assert ("freshness", "off_day_share") in failed(result)


def test_a_dropped_column_fails_the_schema(warehouse: Path, tmp_path: Path, suites: dict[str, Suite]) -> None:
    db = tmp_path / "schema.duckdb"
    shutil.copy(warehouse, db)
    with connect(db) as conn:
        conn.execute("alter table raw.reviews drop column rating")
    result = validate(db, suites["raw__reviews"], WEEK_AROUND_FAULT)
    (missing,) = [o for o in result.failures if o.frame == "schema"]
    assert missing.examples == ("missing rating SMALLINT",)
    # A table-level failure cannot be pinned on a day: every day of the window fails.
    assert not any(result.day_passed(WEEK_AROUND_FAULT.days).values())


def test_metadata_shows_each_expectation_with_observed_values(warehouse: Path, suites: dict[str, Suite]) -> None:
    result = validate(warehouse, suites["raw__events"], WEEK_AROUND_FAULT)
    markdown = expectations_markdown(result)
    assert markdown.count("\n") == 1 + len(result.outcomes)
    volume = next(o for o in result.outcomes if o.column == "ratio")
    assert volume.expected == "values between 0.1 and 10"
    assert volume.observed and volume.unexpected_count == 0 and volume.unexpected_percent == 0.0
    assert "| volume | ratio | values between 0.1 and 10 | ✅ |" in markdown
    assert result.validation_seconds > 0 and result.frame_rows["volume"] == 3


def test_without_partitions_the_latest_landed_day_is_checked(warehouse: Path, suites: dict[str, Suite]) -> None:
    with connect(warehouse, read_only=True) as conn:
        window = fallback_window(conn, suites["raw__events"], today=date(2030, 1, 1))
    assert (window.start, window.end, window.source) == (ALL_DAYS[-1], ALL_DAYS[-1], "latest landed day")


def test_a_free_sql_frame_and_a_warning_suite(warehouse: Path, tmp_path: Path) -> None:
    """The `sql` kind, as later layers will use it, and `blocking: false` → a WARN check."""
    from orchestration.checks import build_suite_checks

    (tmp_path / "raw__orders.yml").write_text(
        """
asset: raw/orders
description: One row per order id among paid orders (a warning only).
blocking: false
frames:
  grain:
    kind: sql
    columns: [day, rows, orders]
    index: [day]
    sql: >
      select _partition_date as day, count(*) as rows, count(distinct order_id) as orders
      from raw.orders
      where _partition_date between {start} and {end} and status = 'paid' and order_id is not null
      group by 1
    expectations:
      - type: expect_column_pair_values_to_be_equal
        kwargs: {column_A: rows, column_B: orders, mostly: 0.5}
""",
        encoding="utf-8",
    )
    (suite,) = discover_suites(tmp_path)
    assert validate(warehouse, suite, Window(ALL_DAYS[0], ALL_DAYS[-1], "test")).passed
    (check,) = build_suite_checks({dg.AssetKey(["raw", "orders"]): None}, suites_dir=tmp_path)
    (spec,) = check.check_specs
    assert not spec.blocking and spec.name == "raw__orders"


# --- Dagster wiring ----------------------------------------------------------------------------


def test_a_suite_for_an_unknown_asset_is_a_definition_error() -> None:
    from orchestration.checks import build_suite_checks

    with pytest.raises(
        SuiteError,
        match=r"facts__int_user_daily.yml: asset: 'facts/int_user_daily' is not an asset of this code location",
    ):
        build_suite_checks({dg.AssetKey(["raw", "users"]): None})


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HUAXIANG_HOME", str(tmp_path))
    generate_landing(tmp_path)
    return tmp_path


def test_the_check_gates_the_raw_asset_in_dagster(dagster_home: Path, tmp_path: Path) -> None:
    from orchestration.assets.sources import build_raw_asset, build_raw_assets, raw_asset_key
    from orchestration.checks import build_suite_checks, partitions_by_key
    from orchestration.partitions import daily_partitions
    from orchestration.resources import WarehouseResource

    partitions = daily_partitions(Settings.from_env())
    events = build_raw_asset(RAW_TABLES["events"], partitions)
    # Only the raw suites: the others gate assets this small graph does not have.
    raw_suites = tmp_path / "raw-suites"
    raw_suites.mkdir()
    for path in EXPECTATIONS_DIR.glob("raw__*.yml"):
        shutil.copy(path, raw_suites)
    checks = build_suite_checks(partitions_by_key(build_raw_assets(partitions)), suites_dir=raw_suites)
    assert len(checks) == len(RAW_TABLES)
    check_key = dg.AssetCheckKey(raw_asset_key("events"), "raw__events")
    (check,) = [c for c in checks if check_key in c.check_keys]

    @dg.asset(deps=[events], partitions_def=partitions)
    def downstream() -> None:
        pass

    resources = {"warehouse": WarehouseResource(home=str(dagster_home))}
    instance = dg.DagsterInstance.ephemeral()

    def run(**kwargs) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [events, check, downstream], resources=resources, instance=instance, raise_on_error=False, **kwargs
        )

    def gx_evaluations(result: dg.ExecuteInProcessResult) -> list[dg.AssetCheckEvaluation]:
        # The raw asset may carry checks of its own; these tests look at the GX suite's.
        return [e for e in result.get_asset_check_evaluations() if e.check_name == check_key.name]

    # A single-run backfill over the first week: one evaluation for the whole range…
    week = run(tags={ASSET_PARTITION_RANGE_START_TAG: "2026-06-01", ASSET_PARTITION_RANGE_END_TAG: "2026-06-07"})
    assert week.success
    range_result = [e for e in gx_evaluations(week) if e.partition is None]
    assert len(range_result) == 1 and range_result[0].passed and range_result[0].blocking
    assert range_result[0].metadata["window"].value.startswith("2026-06-01 … 2026-06-07 (7 days")
    # …and each day of the range gets its own status, so none is left 'planned'.
    history = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=20)
    by_partition = {record.partition: record.status.value for record in history}
    assert {by_partition[f"2026-06-0{d}"] for d in range(1, 8)} == {"SUCCEEDED"}

    # A normal day passes and reports how long GX took.
    day = run(partition_key="2026-06-08")
    assert day.success
    (passed,) = gx_evaluations(day)
    assert passed.passed and passed.blocking and passed.partition == "2026-06-08"
    assert passed.metadata["validation_seconds"].value > 0
    assert "| volume | unexpected_empty | values ≤ 0 | ✅ |" in passed.metadata["expectations"].value
    assert [m.partition for m in day.asset_materializations_for_node("downstream")] == ["2026-06-08"]

    # A day whose events never landed: the load succeeds with an empty partition, the blocking
    # check fails with ERROR severity, and nothing downstream runs.
    partition_path(dagster_home / "landing", "events", date(2026, 6, 9)).unlink()
    empty = run(partition_key="2026-06-09")
    assert not empty.success
    (blocked,) = gx_evaluations(empty)
    assert not blocked.passed and blocked.severity == dg.AssetCheckSeverity.ERROR
    assert blocked.description.startswith("volume.unexpected_empty: expected values ≤ 0; 1 of 1 row(s) unexpected")
    assert blocked.metadata["failed_days"].value == "2026-06-09"
    assert empty.asset_materializations_for_node("downstream") == []

    # A real drop (0.38 of the usual traffic, every row valid): the check fails with WARN severity,
    # says why, and everything downstream still runs.
    landed = partition_path(dagster_home / "landing", "events", date(2026, 6, 10))
    table = pq.read_table(landed)
    pq.write_table(table.slice(0, int(len(table) * 0.38)), landed)
    drop = run(partition_key="2026-06-10")
    assert drop.success
    (warned,) = gx_evaluations(drop)
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert warned.description.startswith("warning: volume.robust_z")
    assert warned.metadata["expectations_warned"].value >= 1 and warned.metadata["expectations_failed"].value == 0
    assert [m.partition for m in drop.asset_materializations_for_node("downstream")] == ["2026-06-10"]
