"""The Dagster instance under $HUAXIANG_HOME/dagster: run history, schedules and the writer pool."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

from huaxiang.dagster_storage import use_batched_events
from huaxiang.settings import Settings

# One slot per pool: the DuckDB warehouse accepts a single writer, so steps that write it queue.
# The event log is Dagster's SQLite one with pooled connections (huaxiang/dagster_storage.py).
DAGSTER_YAML = """\
# Written by huaxiang; edit freely, it is not overwritten once present.
event_log_storage:
  module: huaxiang.dagster_storage
  class: PooledSqliteEventLogStorage
  config:
    base_dir: {event_log_dir}
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
# Warnings of the pure-Python ML code (small-data fallbacks) land in the run's event log.
python_logs:
  managed_python_loggers:
    - ml_assets
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  cancel_timeout_seconds: 180
  free_slots_after_run_end_seconds: 0
"""


# In DAGSTER_HOME: the lock that serialises the first creation of the instance's storages, and the
# marker written once they exist. Dagster's SQLite storages create their schema on first open; two
# first runs started at once on a new home raced there (`sqlite3.OperationalError: table runs
# already exists`).
INSTANCE_LOCK = ".instance.lock"
INSTANCE_READY = ".instance-ready"


def ensure_instance_config(settings: Settings) -> Path:
    """Create `dagster.yaml` and the instance's storages in DAGSTER_HOME on first use; export DAGSTER_HOME
    (and let Dagster hand the event log batches: huaxiang.dagster_storage.use_batched_events).

    The first use of a home holds an exclusive lock (`flock` on DAGSTER_HOME/.instance.lock) while it
    writes the config and creates (or migrates) the SQLite storages; a second process started at the
    same moment waits for it, then finds them ready. Later uses only check the marker file."""
    settings.ensure_dirs()
    settings.export()
    use_batched_events()
    home = settings.dagster_home
    config = home / "dagster.yaml"
    if config.exists() and (home / INSTANCE_READY).exists():
        return config
    with (home / INSTANCE_LOCK).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not config.exists():
            # A JSON string is a valid YAML scalar, whatever the path contains (spaces, colons).
            event_log_dir = json.dumps(str(home / "history" / "runs"))
            tmp = home / ".dagster.yaml.tmp"
            tmp.write_text(DAGSTER_YAML.format(event_log_dir=event_log_dir))
            tmp.replace(config)
        if not (home / INSTANCE_READY).exists():
            create_storages(home)
            (home / INSTANCE_READY).write_text("the instance's storages exist (huaxiang.instance)\n")
    return config


def create_storages(dagster_home: Path) -> None:
    """Open the instance once so that each SQLite storage creates (or migrates) its schema."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(dagster_home)) as instance:
        instance.get_runs(limit=1)  # run storage
        instance.all_instigator_state()  # schedule storage
        instance.event_log_storage.get_concurrency_keys()  # event log index shard
