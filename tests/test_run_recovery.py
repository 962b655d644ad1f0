"""A killed run's dbt child outlives it and holds the warehouse lock: the next run waits for it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from huaxiang.commands.run import wait_for_warehouse
from huaxiang.errors import UserFacingError
from tests.conftest import huaxiang_home

HOLD_SECONDS = 3


def hold_lock(path: Path, seconds: float) -> subprocess.Popen:
    """Another process with the warehouse open read-write, like an orphaned dbt build."""
    code = f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('locked', flush=True); time.sleep({seconds})"
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_the_next_run_waits_for_the_lock_to_be_released(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with huaxiang_home(tmp_path) as settings:
        holder = hold_lock(settings.warehouse_path, HOLD_SECONDS)
        started = time.monotonic()
        wait_for_warehouse(settings, poll_seconds=0.2)
        waited = time.monotonic() - started
        holder.wait(timeout=30)
    assert holder.returncode == 0  # it ended on its own: it was waited for, not killed
    assert waited > 0.5
    assert "Waiting for the killed run's dbt process" in capsys.readouterr().out


def test_a_lock_that_is_never_released_ends_in_a_clear_error(tmp_path: Path) -> None:
    with huaxiang_home(tmp_path) as settings:
        holder = hold_lock(settings.warehouse_path, 30)
        try:
            with pytest.raises(UserFacingError, match="still locked"):
                wait_for_warehouse(settings, timeout_seconds=1, poll_seconds=0.2)
        finally:
            holder.kill()
            holder.wait()
