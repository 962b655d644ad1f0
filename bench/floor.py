"""The floor: the pipeline's own compiled dbt SQL, run directly in one DuckDB connection.

No Dagster, no dbt process, no tests or checks: the models are compiled once (full-build form,
with the run's whole window as vars, against a database where no model exists yet, so every
incremental model compiles to its first-build SQL) and each is then created with
`create or replace table|view … as <compiled SQL>` in dependency order, on a copy of the source
tables the pipeline read. The floor must produce the pipeline's row counts, model by model.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field, replace
from datetime import date
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb

from huaxiang.dbt_manifest import run_dbt
from huaxiang.pii_salt import SALT_VARIABLE
from huaxiang.settings import Settings

EXECUTED_MATERIALIZATIONS = {"table", "incremental", "view"}


class FloorMismatchError(AssertionError):
    """The floor's models do not hold the pipeline's row counts: it did not do the same work."""


@dataclass(frozen=True)
class FloorModel:
    unique_id: str
    relation: str  # "database"."schema"."name"
    schema: str
    materialized: str
    sql: str


@dataclass(frozen=True)
class CompiledProject:
    models: list[FloorModel]  # in dependency order
    source_schemas: list[str]


@dataclass
class FloorResult:
    seconds: float
    model_seconds: dict[str, float] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)


def floor_settings(settings: Settings, home: Path) -> Settings:
    return replace(settings, home=home)


def copy_sources(source_db: Path, floor_db: Path, schemas: list[str]) -> None:
    """A fresh floor database holding a copy of every table of the source schemas."""
    floor_db.parent.mkdir(parents=True, exist_ok=True)
    for path in (floor_db, floor_db.with_name(floor_db.name + ".wal")):
        path.unlink(missing_ok=True)
    with duckdb.connect(str(floor_db)) as conn:
        conn.execute(f"attach '{source_db}' as pipeline (read_only)")
        for schema in schemas:
            conn.execute(f'create schema if not exists "{schema}"')
            tables = conn.execute(
                "select table_name from duckdb_tables() where database_name = 'pipeline' and schema_name = ?",
                [schema],
            ).fetchall()
            for (table,) in tables:
                conn.execute(f'create table "{schema}"."{table}" as select * from pipeline."{schema}"."{table}"')
        conn.execute("detach pipeline")


def compile_models(settings: Settings, first_day: date, last_day: date, target_path: Path) -> CompiledProject:
    """Compile every model with the window as vars, against `settings.warehouse_path` (no model built there)."""
    if target_path.exists():
        shutil.rmtree(target_path)
    window = {"partition_start": first_day.isoformat(), "partition_end": last_day.isoformat()}
    run_dbt(
        [
            "compile",
            "--quiet",
            "--select",
            "resource_type:model",
            "--vars",
            json.dumps(window),
            "--target-path",
            str(target_path),
        ],
        settings,
    )
    manifest = json.loads((target_path / "manifest.json").read_text())
    schemas = sorted({source["schema"] for source in manifest["sources"].values()})
    return CompiledProject(models_in_order(manifest), schemas)


def models_in_order(manifest: dict) -> list[FloorModel]:
    nodes = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    graph = {uid: [dep for dep in node["depends_on"]["nodes"] if dep in nodes] for uid, node in nodes.items()}
    # The tag history (a dbt snapshot, and the models over it) keeps state across builds: no
    # single statement reproduces it, so the floor leaves that step out.
    on_history = {
        uid for uid, node in nodes.items() if any(dep.startswith("snapshot.") for dep in node["depends_on"]["nodes"])
    }
    for uid in TopologicalSorter(graph).static_order():
        if any(dep in on_history for dep in graph[uid]):
            on_history.add(uid)
    nodes = {uid: node for uid, node in nodes.items() if uid not in on_history}
    graph = {uid: deps for uid, deps in graph.items() if uid in nodes}
    ordered = []
    for uid in TopologicalSorter(graph).static_order():
        node = nodes[uid]
        materialized = node["config"]["materialized"]
        if materialized not in EXECUTED_MATERIALIZATIONS:
            continue  # ephemeral models are inlined into their dependants' SQL
        ordered.append(FloorModel(uid, node["relation_name"], node["schema"], materialized, node["compiled_code"]))
    return ordered


def run_models(floor_db: Path, models: list[FloorModel], memory_limit: str, threads: int, salt: str) -> FloorResult:
    """Create every model in order in one connection; the clock runs over the statements only."""
    config: dict[str, str | int] = {"memory_limit": memory_limit, "threads": threads}
    result = FloorResult(seconds=0.0)
    with duckdb.connect(str(floor_db), config=config) as conn:
        # what dbt's connection plugin does: the compiled SQL reads the PII salt from this variable
        conn.execute(f"SET VARIABLE {SALT_VARIABLE} = ?", [salt])
        for schema in sorted({model.schema for model in models}):
            conn.execute(f'create schema if not exists "{schema}"')
        for model in models:
            kind = "view" if model.materialized == "view" else "table"
            started = time.perf_counter()
            conn.execute(f"create or replace {kind} {model.relation} as (\n{model.sql}\n)")
            result.model_seconds[model.unique_id] = time.perf_counter() - started
        result.seconds = sum(result.model_seconds.values())
        result.row_counts = table_row_counts(conn, [m for m in models if m.materialized != "view"])
    return result


def table_row_counts(conn: duckdb.DuckDBPyConnection, models: list[FloorModel]) -> dict[str, int]:
    return {model.unique_id: conn.execute(f"select count(*) from {model.relation}").fetchone()[0] for model in models}


def pipeline_row_counts(warehouse: Path, models: list[FloorModel]) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return table_row_counts(conn, [m for m in models if m.materialized != "view"])


def assert_same_rows(floor: dict[str, int], pipeline: dict[str, int]) -> None:
    differing = {uid: (pipeline.get(uid), rows) for uid, rows in floor.items() if pipeline.get(uid) != rows}
    if differing:
        detail = ", ".join(f"{uid}: pipeline {p} vs floor {f}" for uid, (p, f) in sorted(differing.items()))
        raise FloorMismatchError(f"the floor's row counts differ from the pipeline's: {detail}")
