"""One place for every path and knob, read from the environment with local defaults.

Python code and dbt share the same absolute paths: `Settings.dbt_env()` exports them so that
`dbt_project/profiles.yml` resolves the warehouse through `env_var('HUAXIANG_HOME')`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from huaxiang.errors import UserFacingError

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DBT_PROJECT_FILE = DBT_PROJECT_DIR / "dbt_project.yml"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"

DEFAULT_HOME = "./.huaxiang"
DEFAULT_TIMEZONE = "Asia/Shanghai"
# First day the daily partitions cover, unless data landed earlier (then: the earliest landed day).
DEFAULT_PARTITION_START = "2016-01-01"


# huaxiang.landing.DAY_FOLDER_NAME (not imported: settings stay import-light).
_DAY_FOLDER = re.compile(r"date=(\d{4}-\d{2}-\d{2})")


def _folder_day(name: str) -> date | None:
    match = _DAY_FOLDER.fullmatch(name)
    try:
        return date.fromisoformat(match.group(1)) if match else None
    except ValueError:
        return None


def _earliest_landed_day(home: Path) -> date | None:
    """The earliest `date=` folder in the landing zone: a directory listing, no file is read.

    Any day folder counts, whatever parts it holds (`part-1.parquet` alone is a landed day, see
    huaxiang.landing), and so does an empty one: this is only the lower bound of the partitions.
    A folder not named `date=YYYY-MM-DD` (`date=2026-6-10`) is left out here: settings are read by
    every command and by the Dagster code location, which must still load; the commands that list
    landed days (`huaxiang.landing.landed_days`) and the landing sensor refuse it with an error naming
    the folder."""
    days = [
        day
        for folder in (home / "landing").glob("*/date=*")
        if not folder.parent.name.startswith("_") and (day := _folder_day(folder.name)) is not None
    ]
    return min(days) if days else None


def _day_setting(name: str, text: str) -> date:
    day = _folder_day(f"date={text}")
    if day is None:
        raise UserFacingError(f"{name}={text!r} is not a day: set it as YYYY-MM-DD (e.g. 2026-06-01)")
    return day


def _int_setting(name: str, default: str) -> int:
    text = os.environ.get(name, default)
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise UserFacingError(f"{name}={text!r} is not a positive whole number: set it like {name}={default}")
    return value


def _partition_start(home: Path) -> date:
    configured = os.environ.get("HUAXIANG_PARTITION_START")
    if configured:
        return _day_setting("HUAXIANG_PARTITION_START", configured)
    earliest = _earliest_landed_day(home)
    default = date.fromisoformat(DEFAULT_PARTITION_START)
    return min(default, earliest) if earliest else default


# A run over more days than this is a long range (a first load of years of history): it records
# fewer Dagster events per day (huaxiang/commands/run.py, orchestration/checks.py).
LONG_RANGE_DAYS = 92


@dataclass(frozen=True)
class Settings:
    home: Path
    timezone: str
    partition_start: date
    dbt_target: str
    dbt_threads: int
    duckdb_memory_limit: str
    duckdb_threads: int

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("HUAXIANG_HOME", DEFAULT_HOME)).expanduser().resolve()
        return cls(
            home=home,
            timezone=os.environ.get("HUAXIANG_TIMEZONE", DEFAULT_TIMEZONE),
            partition_start=_partition_start(home),
            dbt_target=os.environ.get("HUAXIANG_TARGET", "duckdb"),
            dbt_threads=_int_setting("HUAXIANG_DBT_THREADS", "2"),
            duckdb_memory_limit=os.environ.get("HUAXIANG_DUCKDB_MEMORY_LIMIT", "8GB"),
            duckdb_threads=_int_setting("HUAXIANG_DUCKDB_THREADS", "2"),
        )

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.home / "published"

    @property
    def truth_dir(self) -> Path:
        return self.home / "truth"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    def ensure_dirs(self) -> None:
        for path in (
            self.landing_dir,
            self.published_dir,
            self.truth_dir,
            self.models_dir,
            self.dagster_home,
        ):
            path.mkdir(parents=True, exist_ok=True)

    def dbt_env(self) -> dict[str, str]:
        """Environment variables dbt's profile and models read."""
        return {
            "HUAXIANG_HOME": str(self.home),
            "HUAXIANG_TIMEZONE": self.timezone,
            "HUAXIANG_DBT_THREADS": str(self.dbt_threads),
            "HUAXIANG_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            "HUAXIANG_DUCKDB_THREADS": str(self.duckdb_threads),
        }

    def export(self) -> None:
        """Put the resolved settings into this process's environment (for dbt subprocesses).

        The PII salt is resolved here too (a new home gets its own), so a bad one fails before any
        step; only Spark needs it in the environment (its profile renders it into a session conf),
        DuckDB's connection plugin reads the home's file itself."""
        from huaxiang.engines import is_spark_target
        from huaxiang.pii_salt import SALT_ENV, resolve_salt, spark_safe_salt

        os.environ.update(self.dbt_env())
        os.environ["DAGSTER_HOME"] = str(self.dagster_home)
        if is_spark_target(self.dbt_target):
            os.environ[SALT_ENV] = spark_safe_salt(self.home)
        else:
            resolve_salt(self.home)


def dbt_vars(project_file: Path = DBT_PROJECT_FILE) -> dict[str, Any]:
    """The vars declared in dbt_project.yml with their default values: the one home of every
    default the SQL and the Python share (thresholds, the ML horizon, the reject precedence)."""
    import yaml

    return yaml.safe_load(project_file.read_text(encoding="utf-8")).get("vars", {})
