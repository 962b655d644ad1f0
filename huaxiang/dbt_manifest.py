"""Preparing the dbt manifest that the Dagster code location reads.

The manifest is built ahead of time (by `huaxiang prepare`, `make`, the CLI and tests), never at
import: loading the code location must stay cheap and side-effect free.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from huaxiang.settings import DBT_PROJECT_DIR, Settings

WATCHED_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".md"}
PARTIAL_PARSE = "partial_parse.msgpack"


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
    """Parse the dbt project when its manifest is missing or stale; True when it ran.

    Safe to call from several processes at once (parallel test workers, two `huaxiang run`s): one
    parses at a time under a file lock, into a folder of its own, and the manifest is renamed into
    place, so a reader never sees a half-written file."""
    if not force and not manifest_is_stale():
        return False
    target = DBT_PROJECT_DIR / "target"
    target.mkdir(parents=True, exist_ok=True)
    with (target / ".prepare.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and not manifest_is_stale():
            return False  # another process prepared it while this one waited
        scratch = Path(tempfile.mkdtemp(prefix=".parse-", dir=target))
        try:
            if (target / PARTIAL_PARSE).is_file():
                shutil.copy2(target / PARTIAL_PARSE, scratch / PARTIAL_PARSE)  # keeps parsing incremental
            run_dbt(["parse", "--quiet", "--target-path", str(scratch)], settings)
            for name in (PARTIAL_PARSE, "manifest.json"):  # the manifest last: it is what readers open
                if (scratch / name).is_file():
                    os.replace(scratch / name, target / name)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return True


# ── dbt's parse, kept per home ──────────────────────────────────────────────────────────────────
#
# dbt re-parses the whole project (6 s of a 14 s layer build at 300 users) unless the target folder
# holds a `partial_parse.msgpack` made with the same profile, and the profile names the home's
# warehouse: the one `huaxiang prepare` leaves is never a match. Each home keeps its last one, and
# every dbt step starts from it (dbt itself re-parses what changed since: files, env vars, vars).


def home_parse_cache(settings: Settings) -> Path:
    return settings.home / "dbt" / f"{settings.dbt_target}-{PARTIAL_PARSE}"


def seed_partial_parse(settings: Settings, target_path: Path) -> None:
    """Start a dbt invocation writing to `target_path` from the home's last parse, when it has one."""
    cache = home_parse_cache(settings)
    if cache.is_file():
        target_path.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cache, target_path / PARTIAL_PARSE)


def keep_partial_parse(settings: Settings, target_path: Path) -> None:
    """Keep the parse a dbt invocation left in `target_path` as the home's last (atomic replace)."""
    produced = target_path / PARTIAL_PARSE
    if not produced.is_file():
        return
    cache = home_parse_cache(settings)
    cache.parent.mkdir(parents=True, exist_ok=True)
    scratch = cache.with_name(f".{cache.name}.{os.getpid()}")
    shutil.copyfile(produced, scratch)
    os.replace(scratch, cache)
