"""dbt models as Dagster assets: one `@dbt_assets` step per layer, so a failed gate on one layer
stops the next (a blocking check only stops *other* steps). The tag history (a dbt snapshot of the
marts) is its own last layer: it runs once the marts passed their tests."""

import dataclasses
import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from huaxiang.dbt_manifest import keep_partial_parse, manifest_path, seed_partial_parse
from huaxiang.engines import is_spark_target, register_landing_views, release_engine_process
from huaxiang.settings import DBT_PROJECT_DIR, Settings
from orchestration.partitions import partition_days, window_vars
from orchestration.resources import WAREHOUSE_WRITER_POOL


@dataclass(frozen=True)
class DbtLayer:
    name: str  # the step is dbt_<name>
    select: str  # dbt selection
    partitioned: bool
    description: str


DBT_LAYERS = (
    DbtLayer("staging", "path:models/staging", True, "Typed, deduplicated, PII-hashed raw data plus quarantine."),
    DbtLayer("facts", "path:models/intermediate", True, "Daily user rollups and per-user facts."),
    DbtLayer("marts", "path:models/marts", False, "Tag and marketing marts read by BI tools and activation."),
    DbtLayer(
        "history",
        "path:snapshots path:models/history",
        False,
        "The tag history: snapshot marts.user_tag_history of marts.user_tags and its business-day view.",
    ),
)
# The history layer writes to schema marts: its tables are published with the marts.
SCHEMA_TO_GROUP = {schema: schema for schema in ("staging", "facts", "marts")}


class HuaxiangDbtTranslator(DagsterDbtTranslator):
    """Asset key = <schema>/<model> (sources: raw/<table>), group = layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return SCHEMA_TO_GROUP.get(dbt_resource_props.get("schema", ""), "raw")

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return ["team:analytics-engineering"]


def dbt_project(target: str) -> DbtProject:
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target=target)


def _dbt_window(context: dg.AssetExecutionContext, layer: DbtLayer) -> dict[str, str]:
    """The run's window for dbt (macro partition_window_value): environment variables, not `--vars`,
    so that dbt's partial parse survives from one day to the next."""
    if not layer.partitioned:
        return {}
    window = window_vars(partition_days(context))
    return {"HUAXIANG_WINDOW_START": window["partition_start"], "HUAXIANG_WINDOW_END": window["partition_end"]}


@contextmanager
def _window_environment(variables: dict[str, str]) -> Iterator[None]:
    """Set `variables` in this process's environment for the block (dagster-dbt starts dbt with a
    copy of it and takes no environment of its own)."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name)
            else:
                os.environ[name] = value


def build_dbt_layer_assets(
    layer: DbtLayer, partitions_def: dg.PartitionsDefinition, target: str
) -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=manifest_path(),
        select=layer.select,
        name=f"dbt_{layer.name}",
        partitions_def=partitions_def if layer.partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if layer.partitioned else None,
        dagster_dbt_translator=HuaxiangDbtTranslator(),
        project=dbt_project(target),
        pool=WAREHOUSE_WRITER_POOL,
    )
    def layer_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        settings = dataclasses.replace(Settings.from_env(), dbt_target=target)
        if is_spark_target(target):
            release_engine_process(settings.home)  # dbt's JVM opens the local catalog
            if layer.name == DBT_LAYERS[0].name:
                # Spark reads the landing zone through views (macro register_spark_sources); make
                # sure they (and the ml source tables) exist before staging reads them (once per
                # process: the raw checks before this step have usually registered them).
                register_landing_views(settings)
        # Unit tests check the models' code, not the day's data: they run in CI (`make test`) and
        # with `dbt test --select test_type:unit`, not in every production build (dbt's advice).
        args = ["build", "--exclude-resource-type", "unit_test"]
        # dagster-dbt's folder naming (one per step and run; bench/stages.py reads run_results there).
        target_path = (
            DBT_PROJECT_DIR
            / "target"
            / f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-{uuid.uuid4().hex[:7]}"
        )
        seed_partial_parse(settings, target_path)
        try:
            with _window_environment(_dbt_window(context, layer)):  # read when dbt's process starts
                invocation = dbt.cli(args, context=context, target_path=target_path)
            yield from invocation.stream()
        finally:
            keep_partial_parse(settings, target_path)  # a failed build parsed the project all the same

    return layer_assets


def dbt_layers(target: str) -> tuple[DbtLayer, ...]:
    """The layers built on `target`. dbt-spark snapshots need Delta or Hudi tables and huaxiang's
    Spark target writes plain Parquet (docs/scale-out.md): there the tag history is not built."""
    return tuple(layer for layer in DBT_LAYERS if not (layer.name == "history" and is_spark_target(target)))


def build_dbt_assets(partitions_def: dg.PartitionsDefinition, target: str) -> dict[str, dg.AssetsDefinition]:
    """One assets definition per layer built on `target`, by layer name."""
    return {layer.name: build_dbt_layer_assets(layer, partitions_def, target) for layer in dbt_layers(target)}
