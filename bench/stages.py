"""Where a run's time goes: Dagster steps grouped into stages, and dbt node times per layer.

Step windows come from the run's event log (STEP_START → STEP_SUCCESS/FAILURE). A step is put in a
stage by what it materializes: the group of its assets (raw → land, staging, facts, marts, ml,
publish) or, for a step that only runs checks, `quality`. ML steps are split by the name of their
assets into clustering, propensity fitting, scoring and recommendations. `orchestration` is the
run's wall time outside any step: run creation (planned-materialization events), step handoffs.

dbt tests run inside the dbt layer steps (`dbt build`). Their wall time is estimated as the step's
wall time × the tests' share of the summed node time (dbt runs nodes on several threads) and moved
from the layer's stage to `quality`, as huaxiang.quality.overhead does; their memory stays with
the layer's step.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from bench.rss import TreeSampler
from huaxiang.settings import DBT_PROJECT_DIR

# Stage names in report order. `generate` and `total` are measured by the harness itself.
STAGES = (
    "generate",
    "land",
    "staging",
    "facts",
    "marts",
    "ml_cluster",
    "ml_propensity_fit",
    "ml_scoring",
    "ml_recommendations",
    "quality",
    "publish",
    "orchestration",
    "total",
)
GROUP_STAGES = {"raw": "land", "staging": "staging", "facts": "facts", "marts": "marts", "publish": "publish"}
# First keyword found in an ML asset's name decides its stage.
ML_KEYWORDS = (
    ("cluster", "ml_cluster"),
    ("recommend", "ml_recommendations"),
    ("model", "ml_propensity_fit"),
    ("fit", "ml_propensity_fit"),
    ("train", "ml_propensity_fit"),
    ("score", "ml_scoring"),
    ("propensity", "ml_scoring"),
)
DBT_LAYER_STEPS = {"dbt_staging": "staging", "dbt_facts": "facts", "dbt_marts": "marts"}
MIB = 1024 * 1024


@dataclass
class StepWindow:
    key: str
    start: float
    end: float
    succeeded: bool

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class StageTimes:
    seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_mib: dict[str, float] = field(default_factory=dict)
    peak_spill_mib: dict[str, float] = field(default_factory=dict)  # DuckDB's temporary files
    steps: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, dict]:
        return {
            stage: {
                "seconds": round(self.seconds[stage], 3) if stage in self.seconds else None,
                "peak_rss_mib": round(self.peak_rss_mib[stage], 1) if stage in self.peak_rss_mib else None,
                "peak_spill_mib": round(self.peak_spill_mib[stage], 1) if stage in self.peak_spill_mib else None,
                "steps": len(self.steps.get(stage, [])),
            }
            for stage in STAGES
        }


@dataclass(frozen=True)
class DbtNodeTimes:
    """Summed node execution times of one dbt invocation (nodes run on several threads: sums exceed wall time)."""

    elapsed: float
    models: float
    tests: float
    model_count: int
    test_count: int

    @property
    def tests_share(self) -> float:
        nodes = self.models + self.tests
        return self.tests / nodes if nodes else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "elapsed_seconds": round(self.elapsed, 3),
            "models_seconds": round(self.models, 3),
            "tests_seconds": round(self.tests, 3),
            "models": self.model_count,
            "tests": self.test_count,
        }


def ml_stage(asset_name: str) -> str:
    lowered = asset_name.lower()
    return next((stage for keyword, stage in ML_KEYWORDS if keyword in lowered), "ml_scoring")


def step_stages(definitions: dg.Definitions) -> dict[str, str]:
    """Step key (= node name) → stage, for every executable node of the code location."""
    stages: dict[str, str] = {}
    for assets_def in definitions.resolve_asset_graph().assets_defs:
        if not assets_def.is_executable or assets_def.computation is None:
            continue
        keys = list(assets_def.keys)
        if not keys:
            stages[assets_def.node_def.name] = "quality"
            continue
        group = assets_def.group_names_by_key.get(keys[0], "")
        stages[assets_def.node_def.name] = (
            ml_stage(keys[0].path[-1]) if group == "ml" else GROUP_STAGES.get(group, "quality")
        )
    return stages


def step_windows(instance: dg.DagsterInstance, run_id: str) -> list[StepWindow]:
    wanted = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    starts: dict[str, float] = {}
    windows: list[StepWindow] = []
    for record in instance.all_logs(run_id, of_type=wanted):
        kind = record.dagster_event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            starts[record.step_key] = record.timestamp
        elif record.step_key in starts:
            windows.append(
                StepWindow(
                    record.step_key,
                    starts.pop(record.step_key),
                    record.timestamp,
                    kind == dg.DagsterEventType.STEP_SUCCESS,
                )
            )
    return windows


def propensity_fit_seconds(instance: dg.DagsterInstance, run_id: str) -> float:
    """Seconds the run's ML assets report having spent fitting propensity models (`fit_seconds`)."""
    from ml_assets.steps import FIT_SECONDS

    total = 0.0
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        metadata = record.dagster_event.event_specific_data.materialization.metadata
        if FIT_SECONDS in metadata:
            total += float(metadata[FIT_SECONDS].value)
    return total


def stage_times(
    windows: Iterable[StepWindow],
    stages_by_step: dict[str, str],
    dbt: dict[str, DbtNodeTimes],
    sampler: TreeSampler,
    run_start: float,
    run_end: float,
    fit_seconds: float = 0.0,
) -> StageTimes:
    """Sum step wall times per stage; peak RSS over the stage's step windows; the rest is orchestration.

    `fit_seconds`: time the scoring step spent fitting a propensity model (a fresh home has no
    approved model, so scoring trains one first); it moves from ml_scoring to ml_propensity_fit.
    """
    times = StageTimes()
    in_steps = 0.0
    for window in windows:
        stage = stages_by_step.get(window.key, "quality")
        tests = window.seconds * dbt[stage].tests_share if window.key in DBT_LAYER_STEPS and stage in dbt else 0.0
        times.seconds[stage] = times.seconds.get(stage, 0.0) + window.seconds - tests
        times.seconds["quality"] = times.seconds.get("quality", 0.0) + tests
        times.steps.setdefault(stage, []).append(window.key)
        peak = sampler.peak(window.start, window.end) / MIB
        times.peak_rss_mib[stage] = max(times.peak_rss_mib.get(stage, 0.0), peak)
        spill = sampler.peak_spill(window.start, window.end) / MIB
        times.peak_spill_mib[stage] = max(times.peak_spill_mib.get(stage, 0.0), spill)
        in_steps += window.seconds
    if fit_seconds and "ml_scoring" in times.seconds:
        times.seconds["ml_scoring"] -= fit_seconds
        times.seconds["ml_propensity_fit"] = times.seconds.get("ml_propensity_fit", 0.0) + fit_seconds
        times.peak_rss_mib.setdefault("ml_propensity_fit", times.peak_rss_mib["ml_scoring"])
        times.seconds["orchestration"] = max(run_end - run_start - in_steps, 0.0)
    times.peak_rss_mib["orchestration"] = sampler.peak(run_start, run_end) / MIB
    times.seconds["total"] = run_end - run_start
    times.peak_rss_mib["total"] = sampler.peak(run_start, run_end) / MIB
    times.peak_spill_mib["total"] = sampler.peak_spill(run_start, run_end) / MIB
    return times


def dbt_node_times(run_id: str, target_dir: Path = DBT_PROJECT_DIR / "target") -> dict[str, DbtNodeTimes]:
    """dbt's run_results.json of each layer step of the run (dagster-dbt writes one target folder per step)."""
    layers: dict[str, DbtNodeTimes] = {}
    for step, layer in DBT_LAYER_STEPS.items():
        found = sorted(target_dir.glob(f"{step}-{run_id[:7]}-*/run_results.json"))
        if not found:
            continue
        results = json.loads(found[-1].read_text())
        models = [r for r in results["results"] if r["unique_id"].startswith("model.")]
        tests = [r for r in results["results"] if r["unique_id"].split(".")[0] in ("test", "unit_test")]
        layers[layer] = DbtNodeTimes(
            elapsed=results["elapsed_time"],
            models=sum(r["execution_time"] for r in models),
            tests=sum(r["execution_time"] for r in tests),
            model_count=len(models),
            test_count=len(tests),
        )
    return layers
