"""Settings resolve from the environment and the landing zone."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from huaxiang.settings import Settings


def _land_folder(home: Path, table: str, day: str) -> None:
    (home / "landing" / table / f"date={day}").mkdir(parents=True)


def test_home_is_absolute_and_shared_with_dbt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HUAXIANG_HOME", "relative-home")
    settings = Settings.from_env()
    assert settings.home == tmp_path / "relative-home"
    assert settings.warehouse_path == tmp_path / "relative-home" / "warehouse.duckdb"
    assert settings.dbt_env()["HUAXIANG_HOME"] == str(tmp_path / "relative-home")


def test_partitions_start_at_earlier_landed_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUAXIANG_HOME", str(tmp_path))
    monkeypatch.delenv("HUAXIANG_PARTITION_START", raising=False)
    assert Settings.from_env().partition_start == date(2016, 1, 1)

    _land_folder(tmp_path, "orders", "2026-06-01")
    assert Settings.from_env().partition_start == date(2016, 1, 1)

    _land_folder(tmp_path, "orders", "2010-12-01")
    _land_folder(tmp_path, "_rejects", "date=1970-01-01")  # not a landing table
    assert Settings.from_env().partition_start == date(2010, 12, 1)

    monkeypatch.setenv("HUAXIANG_PARTITION_START", "2012-01-01")
    assert Settings.from_env().partition_start == date(2012, 1, 1)
