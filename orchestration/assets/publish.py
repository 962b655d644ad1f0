"""The published snapshot BI tools read: built only when every upstream gate passed."""

import dagster as dg

from huaxiang.publish import MARTS_SCHEMA, publish_marts
from orchestration.resources import WarehouseResource

PUBLISHED_KEY = dg.AssetKey(["published", "marts_snapshot"])


def build_publish_asset(mart_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    tables = sorted(key.path[-1] for key in mart_keys if key.path[0] == MARTS_SCHEMA)

    @dg.asset(
        key=PUBLISHED_KEY,
        deps=mart_keys,
        group_name="publish",
        kinds={"duckdb", "parquet"},
        owners=["team:data-platform"],
        description="Atomic read-only snapshot of the marts for BI tools: published/marts.duckdb, "
        "published/parquet/<mart>.parquet and published/manifest.json, swapped in by rename.",
    )
    def marts_snapshot(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        # Reads the warehouse only; no writer pool needed, and readers of the old snapshot are unaffected.
        snapshot = publish_marts(warehouse.path, warehouse.published_dir, tables, run_id=context.run_id, as_of=None)
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(snapshot.path)),
                "row_counts": dg.MetadataValue.json(snapshot.row_counts),
                "dagster/row_count": sum(snapshot.row_counts.values()),
            }
        )

    return marts_snapshot
