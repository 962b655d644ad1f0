"""Bad input ends in one line naming the file, day or setting and what to do (issue 15, "Clear errors").

README promises `error: …` and exit code 2 from the CLI; inside a Dagster step, a one-line check
description or step failure. Each case here used to end in a traceback or in Dagster's wrapper line:

1. a zero-byte or damaged Parquet part in landing;
2. a day folder not named `date=YYYY-MM-DD` (`date=2026-6-10`);
3. an unwritable or full `published/` (simulated: root ignores chmod), whose half-built
   `.staging-*` folder must go;
4. two first runs at once on a new home (Dagster's SQLite storages racing to create their schema);
5. a 400-digit number or a 3,000-deep `not` in an audience definition.

All fast: no dbt, no whole-graph run (at most one asset materialized in process).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import huaxiang.codegen.audiences as audiences
import huaxiang.snapshot as snapshot
from huaxiang.cli import main
from huaxiang.commands.run import RunSummary, _collect
from huaxiang.contract import RAW_TABLES
from huaxiang.errors import UserFacingError
from huaxiang.landing import LandingFolderError, landed_days, partition_dir, write_partition
from huaxiang.settings import REPO_ROOT, Settings, _earliest_landed_day
from huaxiang.snapshot import PublishError, build_snapshot, swap_in
from huaxiang.warehouse import LandingSchemaError, load_partition
from orchestration.assets.publish import build_publish_asset
from orchestration.assets.sources import CONTRACT_CHECK, build_raw_asset
from orchestration.resources import WarehouseResource
from orchestration.schedules import build_landing_sensor
from tests.conftest import huaxiang_home

DAY = date(2026, 6, 10)
PARTITIONS = dg.DailyPartitionsDefinition(start_date="2026-06-01", timezone="Asia/Shanghai")


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def _orders(count: int = 3) -> pa.Table:
    schema = RAW_TABLES["orders"].schema
    columns = {field.name: pa.nulls(count, field.type) for field in schema}
    columns["order_id"] = pa.array([f"o{i}" for i in range(count)], pa.string())
    at = datetime(DAY.year, DAY.month, DAY.day, 4, tzinfo=UTC)
    columns["ordered_at"] = pa.array([at] * count, schema.field("ordered_at").type)
    return pa.table(columns, schema=schema)


def _damaged_part(landing: Path) -> Path:
    """A part whose footer reads (the schema check passes) but whose first data page is garbage."""
    path = partition_dir(landing, "orders", DAY) / "part-1.parquet"
    pq.write_table(_orders(2000), path, compression="none")
    data = bytearray(path.read_bytes())
    data[4:300] = b"\xff" * 296
    path.write_bytes(bytes(data))
    return path


# ── 1. a zero-byte or damaged landing part ────────────────────────────────────────────────────


@pytest.mark.parametrize("kind", ["zero_byte", "not_parquet", "damaged_pages"])
def test_a_broken_landing_part_is_refused_in_one_line_naming_it(tmp_path: Path, kind: str) -> None:
    landing = tmp_path / "landing"
    write_partition(landing, "orders", DAY, _orders())
    if kind == "damaged_pages":
        part = _damaged_part(landing)
        assert pq.read_schema(part).names  # only reading the pages fails
    else:
        part = partition_dir(landing, "orders", DAY) / "part-1.parquet"
        part.write_bytes(b"" if kind == "zero_byte" else b"PAR1 this is not a Parquet file")
    with duckdb.connect() as conn:
        with pytest.raises(LandingSchemaError) as error:
            load_partition(conn, landing, "orders", DAY)
        assert conn.execute("select count(*) from raw.orders").fetchone() == (0,)  # nothing half-loaded
    message = str(error.value)
    assert "\n" not in message
    assert str(part) in message and "re-land the day" in message
    assert ("empty (0 bytes)" if kind == "zero_byte" else "not a readable Parquet file") in message


def test_a_broken_part_fails_the_contract_check_and_the_run_summary_names_it(tmp_path: Path) -> None:
    """Through the blocking `contract_schema` check of the raw asset and `huaxiang run`'s summary."""
    landing = tmp_path / "landing"
    write_partition(landing, "orders", DAY, _orders())
    part = partition_dir(landing, "orders", DAY) / "part-1.parquet"
    part.write_bytes(b"")
    asset = build_raw_asset(RAW_TABLES["orders"], PARTITIONS)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [asset],
            partition_key=DAY.isoformat(),
            resources={"warehouse": WarehouseResource(home=str(tmp_path), threads=1, memory_limit="1GB")},
            instance=instance,
            raise_on_error=False,
        )
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == CONTRACT_CHECK and not evaluation.passed
    assert "\n" not in evaluation.description and str(part) in evaluation.description

    summary = RunSummary(run_id="r", first_day=DAY, last_day=DAY, success=False, seconds=0.0)
    _collect(result, summary)
    (failed,) = summary.failed_checks
    assert str(part) in failed.description and "re-land the day" in failed.description
    line = next(line for line in summary.render().splitlines() if CONTRACT_CHECK in line)
    assert line.strip().startswith("✗ raw/orders :: contract_schema (blocking) — raw.orders 2026-06-10")
    assert str(part) in line


# ── 2. a day folder not named date=YYYY-MM-DD ────────────────────────────────────────────────


def _misnamed(landing: Path, name: str) -> Path:
    folder = landing / "orders" / name
    folder.mkdir(parents=True)
    pq.write_table(_orders(), folder / "part-0.parquet")
    return folder


@pytest.mark.parametrize("name", ["date=2026-6-10", "date=20260610", "date=2026-02-30", "date=yesterday"])
def test_a_misnamed_day_folder_is_an_error_naming_it(tmp_path: Path, name: str) -> None:
    landing = tmp_path / "landing"
    write_partition(landing, "orders", DAY, _orders())
    folder = _misnamed(landing, name)
    with pytest.raises(LandingFolderError) as error:
        landed_days(landing)
    assert isinstance(error.value, UserFacingError)
    assert str(folder) in str(error.value) and "date=YYYY-MM-DD" in str(error.value)
    # Settings (read by every command and the code location) skip it: only a lower bound.
    assert _earliest_landed_day(tmp_path) == DAY


def test_huaxiang_run_refuses_a_misnamed_day_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with huaxiang_home(tmp_path) as settings:
        write_partition(settings.landing_dir, "orders", DAY, _orders())
        folder = _misnamed(settings.landing_dir, "date=2026-6-10")
        assert main(["-q", "run"]) == 2
    line = _one_error_line(capsys)
    assert str(folder) in line and "date=YYYY-MM-DD" in line and "rename it" in line


def test_a_bad_partition_start_setting_is_a_user_facing_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HUAXIANG_HOME", str(tmp_path))
    monkeypatch.setenv("HUAXIANG_PARTITION_START", "2026-6-1")
    with pytest.raises(UserFacingError, match=r"HUAXIANG_PARTITION_START='2026-6-1' .* YYYY-MM-DD"):
        Settings.from_env()
    monkeypatch.setenv("HUAXIANG_PARTITION_START", "2026-06-01")
    monkeypatch.setenv("HUAXIANG_DBT_THREADS", "two")
    with pytest.raises(UserFacingError, match="HUAXIANG_DBT_THREADS='two'"):
        Settings.from_env()


@dg.asset(partitions_def=PARTITIONS)
def _probe() -> None:
    return None


PROBE_JOB = dg.define_asset_job("probe_job", selection=[_probe], partitions_def=PARTITIONS)


def _evaluate_sensor(sensor: dg.SensorDefinition) -> dg.SensorResult:
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(
            instance=instance, definitions=dg.Definitions(assets=[_probe], jobs=[PROBE_JOB], sensors=[sensor])
        ) as context,
    ):
        return sensor(context)


def test_the_landing_sensor_names_a_misnamed_folder_and_still_requests_good_days(tmp_path: Path) -> None:
    sensor = build_landing_sensor(PROBE_JOB, PARTITIONS, tmp_path)
    folder = _misnamed(tmp_path, "date=2026-6-10")
    only_bad = _evaluate_sensor(sensor)
    assert only_bad.run_requests == [] or only_bad.run_requests is None
    reason = only_bad.skip_reason.skip_message
    assert str(folder) in reason and "date=YYYY-MM-DD" in reason

    write_partition(tmp_path, "orders", DAY, _orders())
    with_good = _evaluate_sensor(sensor)
    assert [request.partition_key for request in with_good.run_requests] == [DAY.isoformat()]


# ── 3. an unwritable or full published/ ───────────────────────────────────────────────────────


def _warehouse_with_a_mart(home: Path) -> Path:
    path = home / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema marts")
        conn.execute("create table marts.user_profile as select 'u1' as user_id, 3 as orders")
    return path


def test_an_unwritable_published_folder_is_one_line_naming_it(tmp_path: Path) -> None:
    # Root ignores chmod, so the folder is made unwritable for anyone: its parent is a file.
    warehouse = _warehouse_with_a_mart(tmp_path)
    (tmp_path / "not_a_folder").write_text("")
    published = tmp_path / "not_a_folder" / "published"
    with pytest.raises(PublishError) as error:
        build_snapshot(warehouse, published, ["user_profile"], run_id="r1")
    message = str(error.value)
    assert "\n" not in message and f"in {published} (" in message and "[Errno" in message
    assert "previous snapshot stays in place" in message


def test_a_full_disk_while_building_removes_the_staging_folder(tmp_path: Path, monkeypatch) -> None:
    warehouse = _warehouse_with_a_mart(tmp_path)
    published = tmp_path / "published"
    real_connect = duckdb.connect

    class FullDisk:
        """A DuckDB connection whose Parquet export hits a full disk."""

        def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
            self.conn = conn

        def execute(self, sql: str, *args):
            if sql.startswith("copy "):
                raise duckdb.IOException('Could not write file "user_profile.parquet": No space left on device')
            return self.conn.execute(sql, *args)

        def close(self) -> None:
            self.conn.close()

    monkeypatch.setattr(snapshot.duckdb, "connect", lambda *a, **k: FullDisk(real_connect(*a, **k)))
    with pytest.raises(PublishError, match=r"No space left on device.*free space"):
        build_snapshot(warehouse, published, ["user_profile"], run_id="r2")
    assert list(published.glob(".staging-*")) == []


def test_a_full_disk_while_swapping_keeps_the_previous_snapshot(tmp_path: Path, monkeypatch) -> None:
    warehouse = _warehouse_with_a_mart(tmp_path)
    published = tmp_path / "published"
    swap_in(build_snapshot(warehouse, published, ["user_profile"], run_id="old"), published, run_id="old")
    previous = (published / "manifest.json").read_text()

    staged = build_snapshot(warehouse, published, ["user_profile"], run_id="new")
    real_write_text = Path.write_text

    def full(self: Path, *args, **kwargs):
        if self.name == "manifest.json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real_write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(PublishError) as error:
        swap_in(staged, published, run_id="new")
    assert "[Errno 28] No space left on device" in str(error.value) and str(published) in str(error.value)
    assert not staged.folder.exists() and list(published.glob(".staging-*")) == []
    assert (published / "manifest.json").read_text() == previous


def test_the_publish_step_fails_with_one_line(tmp_path: Path, monkeypatch) -> None:
    """Inside Dagster: the step failure reads `Not published: cannot write … in <published> ([Errno …] …)`."""
    _warehouse_with_a_mart(tmp_path)

    def permission_denied(folder: Path, *args, **kwargs):
        (folder / "parquet").mkdir(parents=True)
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(folder / "marts.duckdb"))

    monkeypatch.setattr(snapshot, "_build_snapshot", permission_denied)
    asset = build_publish_asset([dg.AssetKey(["marts", "user_profile"])])
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [asset],
            resources={"warehouse": WarehouseResource(home=str(tmp_path), threads=1, memory_limit="1GB")},
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    summary = RunSummary(run_id="r", first_day=DAY, last_day=DAY, success=False, seconds=0.0)
    _collect(result, summary)
    (message,) = summary.failed_steps.values()
    published = tmp_path / "published"
    assert message.startswith(f"Not published: cannot write the new snapshot in {published} ([Errno 13]")
    assert "\n" not in message
    assert list(published.glob(".staging-*")) == []


# ── 4. two first runs at once on a new home ───────────────────────────────────────────────────

INSTANCE_HELPER = """
import os, sys, time
from huaxiang.settings import Settings
from huaxiang.instance import ensure_instance_config
import dagster
start = float(sys.argv[1])
while time.time() < start:
    time.sleep(0.002)
settings = Settings.from_env()
ensure_instance_config(settings)
with dagster.DagsterInstance.get() as instance:
    instance.get_runs(limit=1)
print("ready")
"""


def test_two_first_runs_at_once_create_the_instance_once(tmp_path: Path) -> None:
    """Two processes create the instance and its storages on a fresh home at the same moment (the
    imports are done before the start time, so the storages' creation overlaps)."""
    env = {**os.environ, "HUAXIANG_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO_ROOT)}
    env.pop("DAGSTER_HOME", None)
    start = time.time() + 8
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", INSTANCE_HELPER, str(start)],
            env=env,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert out.strip() == "ready" and "already exists" not in err
    assert (tmp_path / "home" / "dagster" / ".instance-ready").is_file()


# ── 5. a huge number or a deep `not` in an audience definition ─────────────────────────────────

AUDIENCE = (REPO_ROOT / "dbt_project" / "audiences" / "coupon_lovers.yml").read_text(encoding="utf-8")
ACTIVITY = "{activity: active, days_ago: [0, 59]}"


def _audience_dir(tmp_path: Path, text: str) -> Path:
    (tmp_path / "coupon_lovers.yml").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: t.replace(ACTIVITY, '{field: recency_days, op: "<=", value: ' + "9" * 400 + "}"),
         r"coupon_lovers\.yml: where\.all\[1\]: recency_days: .*number too large"),
        (lambda t: t.replace(ACTIVITY, "{activity: active, days_ago: [0, " + "9" * 400 + "]}"),
         r"coupon_lovers\.yml: where\.all\[1\]: days_ago: a number too large"),
        (lambda t: t.replace("priority: 50", "priority: " + "9" * 400),
         r"coupon_lovers\.yml: 'priority' .* got a number too large"),
        (lambda t: t.replace("priority: 50", "priority: " + "9" * 5000),
         r"coupon_lovers\.yml: not readable: a number too large"),
        (lambda t: t.replace(ACTIVITY, "{not: " * 3000 + "{field: coupon_lover, op: '=', value: true}" + "}" * 3000),
         r"coupon_lovers\.yml: nested too deeply"),
        (lambda t: t.replace(ACTIVITY, "{not: " * 40 + "{field: coupon_lover, op: '=', value: true}" + "}" * 40),
         r"coupon_lovers\.yml: where: conditions nest deeper than 32 levels"),
    ],
    ids=["400_digit_value", "400_digit_days_ago", "400_digit_priority", "5000_digits", "3000_deep_not", "40_deep_not"],
)  # fmt: skip
def test_the_audience_compiler_refuses_huge_numbers_and_deep_nesting(tmp_path: Path, change, expected) -> None:
    with pytest.raises(audiences.AudienceError, match=expected) as error:
        audiences.load_audiences(_audience_dir(tmp_path, change(AUDIENCE)))
    assert "\n" not in str(error.value) and len(str(error.value)) < 400


def test_huaxiang_codegen_reports_a_deep_not_in_one_line(
    tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _audience_dir(tmp_path, AUDIENCE.replace(ACTIVITY, "{not: " * 3000 + ACTIVITY + "}" * 3000))
    real = audiences.load_audiences
    monkeypatch.setattr(audiences, "load_audiences", lambda: real(folder))
    monkeypatch.setattr(audiences, "GENERATED_MODEL", tmp_path / "never_written.sql")
    assert main(["codegen"]) == 2
    assert "coupon_lovers.yml" in _one_error_line(capsys)
    assert not (tmp_path / "never_written.sql").exists()


def test_the_shipped_audiences_stay_within_the_limits() -> None:
    assert audiences.load_audiences()


def test_a_bad_setting_is_one_line_from_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from huaxiang.cli import main

    monkeypatch.setenv("HUAXIANG_DUCKDB_THREADS", "abc")
    assert main(["quality"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: HUAXIANG_DUCKDB_THREADS='abc' is not a positive whole number: set it like HUAXIANG_DUCKDB_THREADS=2"
    ]
