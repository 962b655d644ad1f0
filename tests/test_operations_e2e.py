"""Operating the project as users do: a UI backfill over GraphQL, a BI reader during a publish,
a run killed mid-way, and the console script itself (`huaxiang generate` then `huaxiang run`, its
errors). One module for everything built on the session's `cli_home`, so that it is built once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest
import requests

from huaxiang.generator import GeneratorConfig, generate
from huaxiang.settings import REPO_ROOT
from huaxiang.snapshot import MANIFEST_FILE, SNAPSHOT_FILE
from tests.conftest import CLI_DAYS, CliHome, huaxiang_home, run_cli

BIN = Path(sys.executable).parent
START = date(2026, 6, 1)


def _generate(home: Path, users: int = 200, days: int = 4, seed: int = 3) -> None:
    generate(
        GeneratorConfig(users=users, days=days, start=START, seed=seed),
        home / "landing",
        home / "truth",
        progress=False,
    )


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "HUAXIANG_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}"""

BACKFILL_STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status }
    ... on PythonError { message }
  }
}"""

ASSET_KEYS = """
query { assetNodes { assetKey { path } isPartitioned } }
"""


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    response = requests.post(
        f"http://127.0.0.1:{port}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
    )
    response.raise_for_status()
    payload = response.json()
    assert "errors" not in payload, payload
    return payload["data"]


def _wait_for_server(port: int, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "dagster dev exited early"
        try:
            if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(1)
    raise AssertionError("the Dagster webserver did not come up")


@pytest.mark.slow
def test_ui_backfill_over_graphql_builds_marts_and_publishes(tmp_path: Path, dbt_manifest: Path) -> None:
    with huaxiang_home(tmp_path) as settings:
        from huaxiang.instance import ensure_instance_config

        ensure_instance_config(settings)
    _generate(tmp_path)
    port = _free_port()
    log = (tmp_path / "dagster-dev.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-p", str(port), "-h", "127.0.0.1"],
        cwd=REPO_ROOT,
        env=_env(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for_server(port, server)
        nodes = _graphql(port, ASSET_KEYS)["assetNodes"]
        keys = [{"path": node["assetKey"]["path"]} for node in nodes]
        days = [f"2026-06-0{day}" for day in range(1, 5)]
        launched = _graphql(
            port,
            LAUNCH_BACKFILL,
            {"params": {"assetSelection": keys, "partitionNames": days, "title": "e2e backfill"}},
        )["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        backfill_id = launched["backfillId"]

        status = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            status = _graphql(port, BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]["status"]
            if status not in ("REQUESTED", "CANCELING", "FAILING"):
                break
            time.sleep(3)
        assert status in ("COMPLETED", "COMPLETED_SUCCESS"), f"backfill ended {status}; see {log.name}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        days_built = conn.execute("select count(distinct _partition_date) from raw.events").fetchone()[0]
        profiles = conn.execute("select count(*) from marts.user_profile").fetchone()[0]
        users = conn.execute("select count(*) from staging.stg_users").fetchone()[0]
    assert days_built == 4
    assert profiles == users > 0
    manifest = json.loads((tmp_path / "published" / MANIFEST_FILE).read_text())
    assert manifest["row_counts"]["user_profile"] == profiles


def _run_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "huaxiang"), "-q", "run", *args],
        env=_env(home),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def three_days_published(cli_home: CliHome) -> Path:
    """200 users × 3 days, generated and published by `huaxiang run` (the session's CLI home, which
    the tests at the end check): the start of the next two tests, each on its own copy."""
    assert cli_home.ran.returncode == 0, cli_home.ran.stdout + cli_home.ran.stderr
    return cli_home.home


def _copy_home(source: Path, home: Path) -> Path:
    """A copy of a home without its Dagster instance (whose dagster.yaml names the source's folders):
    the next `huaxiang run` creates a fresh one."""
    shutil.copytree(source, home, ignore=shutil.ignore_patterns("dagster"))
    return home


@pytest.mark.slow
def test_bi_reader_keeps_its_view_while_a_new_snapshot_is_published(three_days_published: Path, tmp_path: Path) -> None:
    import sqlalchemy

    home = _copy_home(three_days_published, tmp_path / "home")
    snapshot = home / "published" / SNAPSHOT_FILE
    first_manifest = json.loads((home / "published" / MANIFEST_FILE).read_text())

    engine = sqlalchemy.create_engine(f"duckdb:///{snapshot}", connect_args={"read_only": True})
    with engine.connect() as reader:
        before = reader.execute(sqlalchemy.text("select count(*), sum(revenue_total) from user_profile")).one()

        # More users and a fourth day land; the next run publishes while the reader holds the old file.
        _generate(home, users=260, days=4)
        second = _run_cli(home)
        assert second.returncode == 0, second.stdout + second.stderr

        during = reader.execute(sqlalchemy.text("select count(*), sum(revenue_total) from user_profile")).one()
        assert during == before
    engine.dispose()

    second_manifest = json.loads((home / "published" / MANIFEST_FILE).read_text())
    assert second_manifest["run_id"] != first_manifest["run_id"]
    fresh = sqlalchemy.create_engine(f"duckdb:///{snapshot}", connect_args={"read_only": True})
    with fresh.connect() as reader:
        after = reader.execute(sqlalchemy.text("select count(*) from user_profile")).one()
    fresh.dispose()
    assert after[0] == second_manifest["row_counts"]["user_profile"] > before[0]


def _snapshot_is_consistent(published: Path) -> bool:
    manifest = json.loads((published / MANIFEST_FILE).read_text())
    with duckdb.connect(str(published / SNAPSHOT_FILE), read_only=True) as conn:
        return all(
            conn.execute(f"select count(*) from {table}").fetchone()[0] == rows
            for table, rows in manifest["row_counts"].items()
        )


@pytest.mark.slow
def test_a_killed_run_leaves_nothing_to_clean_up(three_days_published: Path, tmp_path: Path) -> None:
    home = _copy_home(three_days_published, tmp_path / "home")
    published = home / "published"
    assert _snapshot_is_consistent(published)

    _generate(home, users=240, days=4)
    victim = subprocess.Popen(
        [str(BIN / "huaxiang"), "run"],
        env=_env(home),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # Kill it while dbt is writing the warehouse.
    for line in victim.stdout:
        if "dbt_staging" in line:
            time.sleep(2)
            break
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    assert _snapshot_is_consistent(published)

    recovered = _run_cli(home)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert _snapshot_is_consistent(published)
    assert not list(published.glob(".staging-*"))
    manifest = json.loads((published / MANIFEST_FILE).read_text())
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("select count(distinct _partition_date) from raw.events").fetchone()[0] == 4
        assert (
            conn.execute("select count(*) from marts.user_profile").fetchone()[0]
            == manifest["row_counts"]["user_profile"]
        )


# ── the console script as a user runs it (the session's `cli_home`, which the tests above copy) ──


def test_run_without_landed_data_says_what_to_do(tmp_path: Path) -> None:
    completed = run_cli("run", home=tmp_path)
    assert completed.returncode == 2
    assert "nothing is landed" in completed.stderr
    assert "huaxiang generate" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_bad_arguments_are_rejected_clearly(tmp_path: Path) -> None:
    completed = run_cli("generate", "--users", "0", home=tmp_path)
    assert completed.returncode == 2
    assert "must be a positive integer" in completed.stderr


@pytest.mark.slow
def test_generate_then_run_end_to_end(cli_home: CliHome) -> None:
    home, generated, ran = cli_home.home, cli_home.generated, cli_home.ran
    assert generated.returncode == 0, generated.stderr
    assert f"Landed {CLI_DAYS} day(s)" in generated.stdout
    assert (home / "landing" / "events").is_dir()
    assert (home / "truth" / "bad_rows.json").is_file()

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "succeeded" in ran.stdout
    assert "user_profile" in ran.stdout
    assert "0 failed" in ran.stdout
    assert str(home / "published") in ran.stdout
    assert (home / "published" / "marts.duckdb").is_file()
    assert (home / "dagster" / "dagster.yaml").is_file()
    assert (home / "warehouse.duckdb").is_file()
