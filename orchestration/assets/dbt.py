"""dbt models as Dagster assets: one `@dbt_assets` step per layer, so a failed gate on one layer
stops the next (a blocking check only stops *other* steps). The tag history (a dbt snapshot of the
marts) is its own last layer: it runs once the marts passed their tests."""

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from huaxiang.dbt_manifest import manifest_path
from huaxiang.engines import is_spark_target
from huaxiang.settings import DBT_PROJECT_DIR
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


def _dbt_vars(context: dg.AssetExecutionContext, layer: DbtLayer) -> dict[str, str]:
    return window_vars(partition_days(context)) if layer.partitioned else {}


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
        if layer.name == DBT_LAYERS[0].name and is_spark_target(target):
            # Spark reads the landing zone through views (macro register_spark_sources); make sure
            # they (and the ml source tables) exist in this catalog before staging reads them.
            dbt.cli(["run-operation", "register_spark_sources"], manifest=manifest_path()).wait()
        args = ["build"]
        variables = _dbt_vars(context, layer)
        if variables:
            args += ["--vars", json.dumps(variables)]
        yield from dbt.cli(args, context=context).stream()

    return layer_assets


def dbt_layers(target: str) -> tuple[DbtLayer, ...]:
    """The layers built on `target`. dbt-spark snapshots need Delta or Hudi tables and huaxiang's
    Spark target writes plain Parquet (docs/scale-out.md): there the tag history is not built."""
    return tuple(layer for layer in DBT_LAYERS if not (layer.name == "history" and is_spark_target(target)))


def build_dbt_assets(partitions_def: dg.PartitionsDefinition, target: str) -> dict[str, dg.AssetsDefinition]:
    """One assets definition per layer built on `target`, by layer name."""
    return {layer.name: build_dbt_layer_assets(layer, partitions_def, target) for layer in dbt_layers(target)}
