"""The `huaxiang` console script as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from huaxiang.settings import REPO_ROOT

HUAXIANG = str(Path(sys.executable).parent / "huaxiang")


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HUAXIANG_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    return subprocess.run([HUAXIANG, *args], env=env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=900)


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
def test_generate_then_run_end_to_end(tmp_path: Path, dbt_manifest: Path) -> None:
    generated = run_cli("generate", "--users", "200", "--days", "5", "--bad-rate", "0.01", home=tmp_path)
    assert generated.returncode == 0, generated.stderr
    assert "Landed 5 day(s)" in generated.stdout
    assert (tmp_path / "landing" / "events").is_dir()
    assert (tmp_path / "truth" / "bad_rows.json").is_file()

    ran = run_cli("run", home=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "succeeded" in ran.stdout
    assert "user_profile" in ran.stdout
    assert "0 failed" in ran.stdout
    assert str(tmp_path / "published") in ran.stdout
    assert (tmp_path / "published" / "marts.duckdb").is_file()
    assert (tmp_path / "dagster" / "dagster.yaml").is_file()
    assert (tmp_path / "warehouse.duckdb").is_file()
