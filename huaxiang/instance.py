"""The Dagster instance under $HUAXIANG_HOME/dagster: run history, schedules and the writer pool."""

from __future__ import annotations

import json
from pathlib import Path

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


def ensure_instance_config(settings: Settings) -> Path:
    """Create `dagster.yaml` in DAGSTER_HOME on first use and export DAGSTER_HOME."""
    settings.ensure_dirs()
    settings.export()
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists():
        # A JSON string is a valid YAML scalar, whatever the path contains (spaces, colons).
        event_log_dir = json.dumps(str(settings.dagster_home / "history" / "runs"))
        config.write_text(DAGSTER_YAML.format(event_log_dir=event_log_dir))
    return config
