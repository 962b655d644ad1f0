"""Shared fixtures: a small generated warehouse, built once per test session."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from huaxiang.settings import REPO_ROOT, Settings

# Under `make test` (pytest -n 3 --dist loadfile --no-loadscope-reorder) each file runs on one
# worker, handed out in collection order: the longest files go first (measured in the fresh-clone
# CI run of 2026-12-07), so that no worker is left with one at the end.
LONGEST_FIRST = (
    "test_spark_parity.py",
    "test_scenarios_e2e.py",
    "test_operations_e2e.py",
    "test_real_pipeline.py",
    "test_reproducible_marts.py",
    "test_daily_runs_e2e.py",
    "test_gates_e2e.py",
    "test_dbt_staging.py",
    "test_bench.py",
    "test_facts_incremental.py",
    "test_suppression.py",
    "test_mappings_e2e.py",
    "test_report_browser.py",
    "test_ml_acceptance.py",
)

SMALL_USERS = 400
SMALL_DAYS = 8
SMALL_START = date(2026, 6, 1)
HUAXIANG = str(Path(sys.executable).parent / "huaxiang")
CLI_USERS, CLI_DAYS = 200, 3


@contextmanager
def huaxiang_home(path: Path, environment: Mapping[str, str] | None = None) -> Iterator[Settings]:
    """Point every setting at `path` (and set `environment`, e.g. a target) for the duration of a block."""
    extra = dict(environment or {})
    saved = {key: os.environ.get(key) for key in ("HUAXIANG_HOME", "DAGSTER_HOME", *extra)}
    os.environ.update(extra)
    os.environ["HUAXIANG_HOME"] = str(path)
    try:
        settings = Settings.from_env()
        settings.ensure_dirs()
        settings.export()
        yield settings
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    from huaxiang.dbt_manifest import manifest_path, prepare_manifest

    prepare_manifest(Settings.from_env())
    return manifest_path()


@pytest.fixture(scope="session")
def small_home(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Iterator[Settings]:
    """A HUAXIANG_HOME with SMALL_USERS × SMALL_DAYS generated days (2% bad rows) landed."""
    from huaxiang.generator import GeneratorConfig, generate

    with huaxiang_home(tmp_path_factory.mktemp("small-home")) as settings:
        generate(
            GeneratorConfig(users=SMALL_USERS, days=SMALL_DAYS, start=SMALL_START, seed=7, bad_rate=0.02),
            settings.landing_dir,
            settings.truth_dir,
            progress=False,
        )
        yield settings


@pytest.fixture(scope="session")
def small_run(small_home: Settings):
    """The whole graph materialized once over the small home."""
    from huaxiang.commands.run import run_pipeline

    return run_pipeline(small_home, progress=False)


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    """The `huaxiang` console script as a user runs it, on `home`."""
    env = {**os.environ, "HUAXIANG_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    return subprocess.run([HUAXIANG, *args], env=env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=900)


@dataclass(frozen=True)
class CliHome:
    home: Path
    generated: subprocess.CompletedProcess
    ran: subprocess.CompletedProcess


@pytest.fixture(scope="session")
def cli_home(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> CliHome:
    """`huaxiang generate` (CLI_USERS × CLI_DAYS, 1 % bad rows) then `huaxiang run`, from the command
    line, once per session: test_operations_e2e checks what they print and leave, and starts
    from copies of the published home."""
    home = tmp_path_factory.mktemp("cli-home")
    generated = run_cli("generate", "--users", str(CLI_USERS), "--days", str(CLI_DAYS), "--bad-rate", "0.01", home=home)
    ran = run_cli("run", home=home) if generated.returncode == 0 else generated
    return CliHome(home, generated, ran)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: order for order, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a file keeps its order
