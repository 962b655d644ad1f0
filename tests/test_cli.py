"""The `huaxiang` console script as a user runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CLI_DAYS, CliHome, run_cli


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
