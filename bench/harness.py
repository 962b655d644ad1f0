"""One benchmark run, on one generated dataset: every figure of docs/benchmarks.md.

Long because it drives one whole benchmark (the home, the graph's stages, both floors, the peer
and the daily runs) over one shared plan and measurements.

1. generate `days + days_after` days (the extra days are the daily runs');
2. full build of the first `days` days through the whole asset graph, `repeat` times on a fresh
   warehouse, timed per stage from the event log, memory sampled over the process tree;
3. the floor: the same compiled SQL in one DuckDB connection on a copy of the sources; and the
   hand-written floor: one DuckDB script from the landed Parquet to the peer's profile columns
   (bench/handwritten.sql), compared with the pipeline's user_profile;
4. the pandas peer on the same landed days, under a memory and time limit, compared with the
   pipeline's user_profile;
5. the days after: `days_after` times (default once), land one more day and run only that
   partition, each timed per stage like the full build, so the per-day cost can be seen to stay
   flat while the history grows.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from bench import floor
from bench.compare import compare_profiles, read_pipeline_profile
from bench.handwritten import run_handwritten
from bench.rss import TreeSampler
from bench.sizes import Size
from bench.stages import (
    MIB,
    DbtNodeTimes,
    StageTimes,
    dbt_node_times,
    propensity_fit_seconds,
    stage_times,
    step_stages,
    step_windows,
)
from huaxiang.contract import RAW_TABLES
from huaxiang.errors import UserFacingError
from huaxiang.pii_salt import resolve_salt
from huaxiang.settings import REPO_ROOT, Settings

HOME_MARKER = ".huaxiang-bench"  # a folder holding this file may be wiped by the benchmark
GIB = 1024**3
# Tables read by the facts layer, counted clean (reject_reason null) in their classified staging model.
FACTS_INPUTS = ("events", "orders", "order_items", "campaign_sends", "reviews")


class BenchError(RuntimeError):
    pass


@dataclass(frozen=True)
class BenchPlan:
    size: Size
    repeat: int
    home: Path
    days_after: int = 1  # daily single-partition runs after the full build, one more landed day each
    start: date = date(2026, 6, 1)
    seed: int = 42
    bad_rate: float = 0.01
    peer_memory_limit_bytes: int = 20 * GIB
    peer_timeout_seconds: float = 3600.0

    @property
    def first_day(self) -> date:
        return self.start

    @property
    def last_full_day(self) -> date:
        return self.start + timedelta(days=self.size.days - 1)

    @property
    def days_after_build(self) -> list[date]:
        return [self.last_full_day + timedelta(days=offset) for offset in range(1, self.days_after + 1)]


@dataclass
class RunMeasure:
    run_id: str
    seconds: float
    stages: StageTimes
    dbt: dict[str, DbtNodeTimes]
    dagster_events: int  # records the run wrote to the Dagster event log


@dataclass
class PeerRun:
    status: str  # completed, memory_limit, timeout, error
    wall_seconds: float
    peak_rss_mib: float
    seconds: float | None = None  # reading the landed files → profile, as timed inside the peer
    phases: dict[str, float] = field(default_factory=dict)
    error: str | None = None


@dataclass
class BenchRun:
    plan: BenchPlan
    settings: Settings
    generate_seconds: float
    generate_peak_rss_mib: float
    generated_rows: dict[str, int]
    builds: list[RunMeasure]
    floors: list[floor.FloorResult]
    floor_models: int
    handwritten_seconds: list[float]
    handwritten_comparison: dict
    peers: list[PeerRun]
    comparison: dict | None
    days_after: list[RunMeasure]  # one per day after the full build, in day order
    load_average: tuple[float, float]  # 5-minute load average at the start and at the end
    raw_rows: int
    facts_input_rows: int
    user_daily_rows: int

    @property
    def build(self) -> RunMeasure:
        """The full build of median total time."""
        ordered = sorted(self.builds, key=lambda measure: measure.seconds)
        return ordered[(len(ordered) - 1) // 2]

    @property
    def incremental(self) -> RunMeasure:
        """The first day after the full build ("one more day")."""
        return self.days_after[0]

    @property
    def floor_seconds(self) -> float:
        return statistics.median(result.seconds for result in self.floors)

    @property
    def handwritten_floor_seconds(self) -> float:
        return statistics.median(self.handwritten_seconds)


# ── the bench home ───────────────────────────────────────────────────────────────────────────────


def prepare_home(home: Path) -> None:
    """Empty the bench home; refuse a non-empty folder the benchmark did not create."""
    if home.exists() and any(home.iterdir()):
        if not (home / HOME_MARKER).is_file():
            raise UserFacingError(f"{home} is not empty and not a benchmark home; choose another --home")
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / HOME_MARKER).write_text("Created by `huaxiang bench`; wiped at the start of every benchmark run.\n")


@contextlib.contextmanager
def bench_environment(home: Path) -> Iterator[Settings]:
    """Settings pointing at `home` (HUAXIANG_HOME, DAGSTER_HOME …) for a block; the environment is restored."""
    saved = dict(os.environ)
    os.environ["HUAXIANG_HOME"] = str(home)
    try:
        settings = Settings.from_env()
        settings.ensure_dirs()
        settings.export()
        yield settings
    finally:
        os.environ.clear()
        os.environ.update(saved)


def reset_warehouse(settings: Settings) -> None:
    """Forget every built table and model so the next run is a full build (landed files stay)."""
    for path in (settings.warehouse_path, settings.warehouse_path.with_name(settings.warehouse_path.name + ".wal")):
        path.unlink(missing_ok=True)
    for folder in (settings.published_dir, settings.models_dir):
        shutil.rmtree(folder, ignore_errors=True)
    settings.ensure_dirs()


# ── measured steps ───────────────────────────────────────────────────────────────────────────────


def generate_data(settings: Settings, plan: BenchPlan, sampler: TreeSampler) -> tuple[float, float, dict[str, int]]:
    from huaxiang.generator import GeneratorConfig, generate

    config = GeneratorConfig(
        users=plan.size.users,
        days=plan.size.days + plan.days_after,
        start=plan.start,
        seed=plan.seed,
        bad_rate=plan.bad_rate,
        timezone=settings.timezone,
    )
    started = time.time()
    report = generate(config, settings.landing_dir, settings.truth_dir, progress=False)
    ended = time.time()
    return ended - started, sampler.peak(started, ended) / MIB, report.rows_per_table


def measured_run(
    settings: Settings, first_day: date, last_day: date, stages_by_step: dict[str, str], sampler: TreeSampler
) -> RunMeasure:
    from dagster import DagsterInstance

    from huaxiang.commands.run import run_pipeline

    started = time.time()
    summary = run_pipeline(settings, first_day=first_day, last_day=last_day, progress=False)
    ended = time.time()
    if not summary.success:
        raise BenchError(f"the pipeline run {first_day} .. {last_day} failed:\n{summary.render()}")
    with DagsterInstance.get() as instance:
        windows = step_windows(instance, summary.run_id)
        fit_seconds = propensity_fit_seconds(instance, summary.run_id)
        dagster_events = len(instance.all_logs(summary.run_id))
    dbt = dbt_node_times(summary.run_id)
    return RunMeasure(
        run_id=summary.run_id,
        seconds=ended - started,
        stages=stage_times(windows, stages_by_step, dbt, sampler, started, ended, fit_seconds),
        dbt=dbt,
        dagster_events=dagster_events,
    )


def full_build(settings: Settings, plan: BenchPlan, stages_by_step: dict[str, str], sampler: TreeSampler) -> RunMeasure:
    reset_warehouse(settings)
    return measured_run(settings, plan.first_day, plan.last_full_day, stages_by_step, sampler)


def _peer_status(returncode: int, stderr: str) -> str:
    if returncode == 0:
        return "completed"
    if any(sign in stderr for sign in ("MemoryError", "bad_alloc", "Cannot allocate memory", "ArrowMemoryError")):
        return "memory_limit"
    return "error"


def run_peer(settings: Settings, plan: BenchPlan, workdir: Path) -> PeerRun:
    """The peer in a subprocess under RLIMIT_AS and a timeout; its own process tree is sampled."""
    workdir.mkdir(parents=True, exist_ok=True)
    out, timings, log = workdir / "profile.parquet", workdir / "timings.json", workdir / "peer.log"
    for path in (out, timings):
        path.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "bench.peer",
        "--landing",
        str(settings.landing_dir),
        "--last-day",
        plan.last_full_day.isoformat(),
        "--timezone",
        settings.timezone,
        "--out",
        str(out),
        "--timings",
        str(timings),
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    started = time.time()
    with log.open("w") as stderr:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        # Set from outside (preexec_fn is unsafe with the sampler thread running); the child is still starting.
        limit = plan.peer_memory_limit_bytes
        with contextlib.suppress(ProcessLookupError):  # it already ended: its exit status tells
            resource.prlimit(process.pid, resource.RLIMIT_AS, (limit, limit))
        with TreeSampler(process.pid) as sampler:
            try:
                returncode = process.wait(timeout=plan.peer_timeout_seconds)
                timed_out = False
            except subprocess.TimeoutExpired:
                process.kill()
                returncode = process.wait()
                timed_out = True
    wall = time.time() - started
    errors = log.read_text()
    status = "timeout" if timed_out else _peer_status(returncode, errors)
    run = PeerRun(status=status, wall_seconds=wall, peak_rss_mib=sampler.peak() / MIB)
    if status == "completed":
        measured = json.loads(timings.read_text())
        run.seconds, run.phases = measured["seconds"], measured["phases"]
    else:
        run.error = errors.strip().splitlines()[-1][:300] if errors.strip() else f"exit code {returncode}"
    return run


def run_floor(settings: Settings, plan: BenchPlan) -> tuple[list[floor.FloorResult], int]:
    floor_home = settings.home / "floor"
    floor_config = floor.floor_settings(settings, floor_home)
    project = floor.compile_models(floor_config, plan.first_day, plan.last_full_day, floor_home / "dbt-target")
    expected = floor.pipeline_row_counts(settings.warehouse_path, project.models)
    results = []
    for _ in range(plan.repeat):
        floor.copy_sources(settings.warehouse_path, floor_config.warehouse_path, project.source_schemas)
        result = floor.run_models(
            floor_config.warehouse_path,
            project.models,
            settings.duckdb_memory_limit,
            settings.duckdb_threads,
            salt=resolve_salt(settings.home),
        )
        floor.assert_same_rows(result.row_counts, expected)
        results.append(result)
    shutil.rmtree(floor_home, ignore_errors=True)  # a copy of the warehouse: large at L
    return results, len(project.models)


def run_handwritten_floor(settings: Settings, plan: BenchPlan) -> tuple[list[float], dict]:
    """The hand-written script `repeat` times; the last profile compared with the pipeline's."""
    runs = [
        run_handwritten(
            settings.landing_dir,
            plan.last_full_day,
            settings.timezone,
            settings.duckdb_memory_limit,
            settings.duckdb_threads,
        )
        for _ in range(plan.repeat)
    ]
    comparison = compare_profiles(read_pipeline_profile(settings.warehouse_path), runs[-1].profile)
    return [run.seconds for run in runs], comparison.as_dict()


def layer_input_rows(warehouse: Path) -> tuple[int, int, int]:
    """Rows the staging layer reads (raw), the facts layer reads (clean activity) and int_user_daily holds."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        raw = sum(conn.execute(f"select count(*) from raw.{table}").fetchone()[0] for table in RAW_TABLES)
        clean_rows = "select count(*) from staging.stg_{}_classified where reject_reason is null"
        clean = sum(conn.execute(clean_rows.format(table)).fetchone()[0] for table in FACTS_INPUTS)
        daily = conn.execute("select count(*) from facts.int_user_daily").fetchone()[0]
    return raw, clean, daily


# ── the whole benchmark ──────────────────────────────────────────────────────────────────────────


def graph_stages(settings: Settings) -> dict[str, str]:
    """Stage of every step of the code location."""
    from huaxiang.dbt_manifest import prepare_manifest
    from orchestration.definitions import build_definitions

    prepare_manifest(settings)
    return step_stages(build_definitions(settings))


def duckdb_spill_dir(database: Path) -> Path:
    """Where DuckDB writes what does not fit its memory limit (its default temp_directory)."""
    return database.with_name(database.name + ".tmp")


def run_bench(plan: BenchPlan) -> BenchRun:
    if plan.repeat < 1:
        raise UserFacingError("--repeat must be at least 1")
    if plan.days_after < 1:
        raise UserFacingError("--days-after must be at least 1")
    prepare_home(plan.home)
    load_at_start = os.getloadavg()[1]
    with (
        bench_environment(plan.home) as settings,
        TreeSampler(spill_dirs=[duckdb_spill_dir(settings.warehouse_path)]) as sampler,
    ):
        generate_seconds, generate_peak, generated_rows = generate_data(settings, plan, sampler)
        stages_by_step = graph_stages(settings)
        builds = [full_build(settings, plan, stages_by_step, sampler) for _ in range(plan.repeat)]
        raw_rows, facts_input_rows, user_daily_rows = layer_input_rows(settings.warehouse_path)
        floors, floor_models = run_floor(settings, plan)
        handwritten_seconds, handwritten_comparison = run_handwritten_floor(settings, plan)
        peers = [run_peer(settings, plan, settings.home / "peer")]
        while len(peers) < plan.repeat and peers[-1].status == "completed":
            peers.append(run_peer(settings, plan, settings.home / "peer"))
        comparison = None
        if peers[-1].status == "completed":
            peer_profile = pd.read_parquet(settings.home / "peer" / "profile.parquet")
            comparison = compare_profiles(read_pipeline_profile(settings.warehouse_path), peer_profile).as_dict()
        days_after = [measured_run(settings, day, day, stages_by_step, sampler) for day in plan.days_after_build]
        return BenchRun(
            plan=plan,
            settings=settings,
            generate_seconds=generate_seconds,
            generate_peak_rss_mib=generate_peak,
            generated_rows=generated_rows,
            builds=builds,
            floors=floors,
            floor_models=floor_models,
            handwritten_seconds=handwritten_seconds,
            handwritten_comparison=handwritten_comparison,
            peers=peers,
            comparison=comparison,
            days_after=days_after,
            load_average=(load_at_start, os.getloadavg()[1]),
            raw_rows=raw_rows,
            facts_input_rows=facts_input_rows,
            user_daily_rows=user_daily_rows,
        )
