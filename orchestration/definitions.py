"""The one `Definitions` of the huaxiang code location (loaded by `dagster dev -w workspace.yaml`)."""

from __future__ import annotations

import dagster as dg

from huaxiang.dagster_storage import use_batched_events
from huaxiang.dbt_manifest import dbt_executable
from huaxiang.settings import DBT_PROJECT_DIR, Settings
from orchestration.assets.dbt import build_dbt_assets
from orchestration.assets.ml import WEEKLY_ASSETS, build_ml_assets, build_retrain_job, daily_run_assets
from orchestration.assets.publish import build_publish_asset
from orchestration.assets.report import build_report_asset
from orchestration.assets.sources import build_raw_assets
from orchestration.checks import build_suite_checks, partitions_by_key
from orchestration.partitions import daily_partitions
from orchestration.resources import DbtCli, WarehouseResource
from orchestration.schedules import build_daily_schedule, build_landing_sensor, build_retrain_schedule, with_freshness

ALL_ASSETS_JOB = "huaxiang_all"


def build_definitions(settings: Settings) -> dg.Definitions:
    settings.export()
    use_batched_events()  # in the processes Dagster starts for runs launched from the UI, too
    partitions = daily_partitions(settings)
    raw_assets = build_raw_assets(partitions)
    dbt_layers = build_dbt_assets(partitions, settings.dbt_target)
    dbt_staging_and_facts = [dbt_layers["staging"], dbt_layers["facts"]]
    # The marts and, after them, the tag history (not built on Spark) are published.
    published_layers = [dbt_layers[name] for name in ("marts", "history") if name in dbt_layers]
    mart_keys = [key for assets_def in published_layers for key in assets_def.keys]

    # The weekly retrain fits a new propensity model; the daily run scores with the latest approved one
    # (and trains one first only when none exists yet: only then do its runs build the training rows).
    all_assets_job = dg.define_asset_job(
        ALL_ASSETS_JOB,
        selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*WEEKLY_ASSETS),
        partitions_def=partitions,
        description="The daily graph: raw landing → staging → facts → ML scoring → marts → tag history → "
        "published snapshot → insight report.",
    )
    retrain_job = build_retrain_job(partitions)
    all_assets = with_freshness(
        [
            *raw_assets,
            *dbt_staging_and_facts,
            *build_ml_assets(),
            *published_layers,
            build_publish_asset(mart_keys),
            build_report_asset(),
        ],
        settings.timezone,
        exclude=WEEKLY_ASSETS,
    )
    daily_keys = [key for assets_def in all_assets for key in assets_def.keys if key not in WEEKLY_ASSETS]

    def daily_run() -> list[dg.AssetKey] | None:
        return daily_run_assets(settings.models_dir, daily_keys)

    return dg.Definitions(
        assets=all_assets,
        asset_checks=build_suite_checks(partitions_by_key(all_assets)),
        jobs=[all_assets_job, retrain_job],
        schedules=[
            build_daily_schedule(all_assets_job, partitions, daily_run),
            build_retrain_schedule(retrain_job, partitions),
        ],
        sensors=[build_landing_sensor(all_assets_job, partitions, settings.landing_dir, daily_run)],
        # Steps run one after another in the run's process: DuckDB has one writer, so a process per
        # step (the default) would cost seconds each and buy no parallelism (docs/operations.md).
        executor=dg.in_process_executor,
        resources={
            "warehouse": WarehouseResource.from_settings(settings),
            "dbt": DbtCli(
                project_dir=str(DBT_PROJECT_DIR),
                profiles_dir=str(DBT_PROJECT_DIR),
                target=settings.dbt_target,
                dbt_executable=dbt_executable(),
            ),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Built lazily when Dagster loads the code location, so importing this module is cheap."""
    return build_definitions(Settings.from_env())
