"""Preparing the dbt manifest that the Dagster code location reads.

The manifest is built ahead of time (by `huaxiang prepare`, `make`, the CLI and tests), never at
import: loading the code location must stay cheap and side-effect free.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from huaxiang.settings import DBT_PROJECT_DIR, Settings

WATCHED_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".md"}


class ManifestMissingError(RuntimeError):
    pass


def manifest_path() -> Path:
    path = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not path.is_file():
        raise ManifestMissingError(
            f"dbt manifest not found at {path}. Prepare it first with `huaxiang prepare` "
            "(the `huaxiang run`/`huaxiang dev` commands and `make` do this for you)."
        )
    return path


def manifest_is_stale() -> bool:
    """True when the manifest is missing or older than any dbt project source file."""
    path = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not path.is_file():
        return True
    built = path.stat().st_mtime
    for file in DBT_PROJECT_DIR.rglob("*"):
        if file.suffix in WATCHED_SUFFIXES and "target" not in file.parts and "logs" not in file.parts:
            if file.stat().st_mtime > built:
                return True
    return False


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


def run_dbt(args: list[str], settings: Settings, *, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, **settings.dbt_env()}
    command = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target",
        settings.dbt_target,
    ]
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    if check and completed.returncode != 0:
        raise RuntimeError(f"`dbt {' '.join(args)}` failed:\n{completed.stdout[-4000:]}{completed.stderr[-2000:]}")
    return completed


def prepare_manifest(settings: Settings, *, force: bool = False) -> bool:
    """Parse the dbt project when its manifest is missing or stale; True when it ran."""
    if not force and not manifest_is_stale():
        return False
    run_dbt(["parse", "--quiet"], settings)
    return True
