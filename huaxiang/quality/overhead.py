"""What the quality checks cost in one run, read from the run's Dagster event log.

    HUAXIANG_HOME=… python -m huaxiang.quality.overhead [run_id]     (default: the latest run)

- GX suites run as their own check steps: their wall time is the step's (STEP_START → STEP_SUCCESS
  or STEP_FAILURE), split by the check's metadata into DuckDB frames, GX validation and GX setup.
- dbt tests run inside the dbt layer steps. dbt reports every node's execution time; with several
  dbt threads nodes overlap, so a layer's test wall time is estimated as the tests' summed node
  time divided by the thread count (at most the step's wall time). dbt's start-up in each step is
  paid for the models anyway and is not counted.
- `contract_schema` (a Parquet footer read per landed file) and `no_pii` (a scan of the published
  snapshot) run inside their asset steps and are not separated.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from huaxiang.settings import Settings

DBT_DURATION = "Execution Duration"
GX_TIMINGS = ("frame_seconds", "validation_seconds", "gx_setup_seconds")


@dataclass(frozen=True)
class StepTime:
    key: str
    seconds: float


@dataclass
class CheckOverhead:
    run_id: str
    run_seconds: float
    dbt_threads: int = 1
    gx_steps: list[StepTime] = field(default_factory=list)
    gx_timings: dict[str, float] = field(default_factory=dict)  # GX_TIMINGS summed over the suites
    dbt_steps: list[StepTime] = field(default_factory=list)
    dbt_node_seconds: dict[str, dict[str, float]] = field(default_factory=dict)  # step → {test, model}

    @property
    def gx_seconds(self) -> float:
        return sum(step.seconds for step in self.gx_steps)

    def dbt_test_seconds(self, step: StepTime) -> float:
        tests = self.dbt_node_seconds.get(step.key, {}).get("test", 0.0)
        return min(step.seconds, tests / max(self.dbt_threads, 1))

    @property
    def dbt_tests_seconds(self) -> float:
        return sum(self.dbt_test_seconds(step) for step in self.dbt_steps)

    @property
    def check_seconds(self) -> float:
        return self.gx_seconds + self.dbt_tests_seconds

    @property
    def share(self) -> float:
        return self.check_seconds / self.run_seconds if self.run_seconds else 0.0

    def render(self) -> str:
        lines = [
            f"Run {self.run_id}: {self.run_seconds:.1f}s; checks {self.check_seconds:.1f}s ({self.share:.1%})",
            f"  GX suites: {len(self.gx_steps)} check steps, {self.gx_seconds:.1f}s wall "
            f"(DuckDB frames {self.gx_timings.get('frame_seconds', 0):.1f}s, "
            f"GX validation {self.gx_timings.get('validation_seconds', 0):.1f}s, "
            f"GX import {self.gx_timings.get('gx_setup_seconds', 0):.1f}s, the rest Dagster step overhead)",
        ]
        for step in self.gx_steps:
            lines.append(f"    {step.key:<60}{step.seconds:>8.2f}s")
        lines.append(
            f"  dbt tests (estimated wall time inside the layer steps, {self.dbt_threads} thread(s)): "
            f"{self.dbt_tests_seconds:.1f}s"
        )
        for step in self.dbt_steps:
            nodes = self.dbt_node_seconds.get(step.key, {})
            lines.append(
                f"    {step.key:<24} step {step.seconds:>7.1f}s, node time: models {nodes.get('model', 0):.1f}s, "
                f"tests {nodes.get('test', 0):.1f}s → tests ≈ {self.dbt_test_seconds(step):.1f}s"
            )
        return "\n".join(lines)


def step_times(records: Iterable[Any]) -> dict[str, float]:
    """Wall seconds per step key from STEP_START and STEP_SUCCESS/STEP_FAILURE records."""
    started: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for record in records:
        kind = record.dagster_event.event_type_value
        if kind == "STEP_START":
            started[record.step_key] = record.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and record.step_key in started:
            seconds[record.step_key] = record.timestamp - started[record.step_key]
    return seconds


def _metadata(record: Any) -> Mapping[str, Any]:
    data = record.dagster_event.event_specific_data
    metadata = getattr(data, "metadata", None)
    if metadata is None and hasattr(data, "materialization"):
        metadata = data.materialization.metadata
    if metadata is None and hasattr(data, "asset_observation"):
        metadata = data.asset_observation.metadata
    return {key: getattr(value, "value", value) for key, value in (metadata or {}).items()}


def measure_run(instance: Any, run_id: str, dbt_threads: int = 1) -> CheckOverhead:
    from dagster import DagsterEventType

    records = instance.all_logs(run_id)
    run_events = {DagsterEventType.RUN_START, DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE}
    stamps = [r.timestamp for r in records if r.dagster_event and r.dagster_event.event_type in run_events]
    overhead = CheckOverhead(
        run_id=run_id, run_seconds=max(stamps) - min(stamps) if stamps else 0.0, dbt_threads=dbt_threads
    )
    steps = step_times(r for r in records if r.dagster_event and r.step_key)
    gx_steps: set[str] = set()
    timings: dict[str, float] = defaultdict(float)
    # A partitioned model is reported once per partition with the same duration: count each node once.
    node_seconds: dict[tuple[str, str], float] = {}
    wanted = {
        DagsterEventType.ASSET_CHECK_EVALUATION,
        DagsterEventType.ASSET_MATERIALIZATION,
        DagsterEventType.ASSET_OBSERVATION,
    }
    for record in records:
        if not record.dagster_event or record.dagster_event.event_type not in wanted:
            continue
        metadata = _metadata(record)
        if "suite_file" in metadata and "frame_seconds" in metadata:
            gx_steps.add(record.step_key)
            for name in GX_TIMINGS:
                timings[name] += float(metadata.get(name) or 0.0)
        elif DBT_DURATION in metadata and "unique_id" in metadata:
            node_seconds[(record.step_key, str(metadata["unique_id"]))] = float(metadata[DBT_DURATION])
    nodes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (step, unique_id), seconds in node_seconds.items():
        nodes[step][unique_id.split(".")[0]] += seconds
    overhead.gx_steps = [StepTime(key, steps[key]) for key in sorted(gx_steps) if key in steps]
    overhead.gx_timings = dict(timings)
    overhead.dbt_steps = [StepTime(key, steps[key]) for key in sorted(nodes) if key in steps]
    overhead.dbt_node_seconds = {key: dict(value) for key, value in nodes.items()}
    return overhead


def main(argv: list[str]) -> int:
    from dagster import DagsterInstance

    from huaxiang.instance import ensure_instance_config

    settings = Settings.from_env()
    ensure_instance_config(settings)
    with DagsterInstance.get() as instance:
        if argv:
            run_id = argv[0]
        else:
            runs = instance.get_runs(limit=1)
            if not runs:
                print("No run in this HUAXIANG_HOME yet.")
                return 1
            run_id = runs[0].run_id
        print(measure_run(instance, run_id, dbt_threads=settings.dbt_threads).render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
