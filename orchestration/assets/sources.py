"""Raw landing: one daily-partitioned asset per contract table, loading `landing/` into `raw.<table>`."""

import dagster as dg

from huaxiang.contract import RAW_TABLES, RawTable
from huaxiang.warehouse import PARTITION_COLUMN, RAW_SCHEMA, load_partitions
from orchestration.partitions import partition_days
from orchestration.resources import WAREHOUSE_WRITER_POOL, WarehouseResource

RAW_GROUP = "raw"
PREVIEW_ROWS = 5
CONTRACT_CHECK = "contract_schema"


def raw_asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([RAW_SCHEMA, table])


def _preview_markdown(warehouse: WarehouseResource, table: str, first_day: str, last_day: str) -> str:
    with warehouse.connection(read_only=True) as conn:
        frame = conn.execute(
            f"select * from {RAW_SCHEMA}.{table} where {PARTITION_COLUMN} between ? and ? limit ?",
            [first_day, last_day, PREVIEW_ROWS],
        ).df()
    return frame.to_markdown(index=False) if not frame.empty else "_no rows_"


def build_raw_asset(table: RawTable, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=raw_asset_key(table.name),
        group_name=RAW_GROUP,
        description=f"{table.description} Loaded as landed from every Parquet part of "
        f"landing/{table.name}/date=*/ (cleaning is staging's job); re-running a day replaces that day.",
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_WRITER_POOL,
        kinds={"duckdb", "parquet"},
        owners=["team:data-platform"],
        tags={"layer": "raw"},
        metadata={"natural_key": ", ".join(table.key), "partitioned_by": table.partition_column},
        check_specs=[
            dg.AssetCheckSpec(
                CONTRACT_CHECK,
                asset=raw_asset_key(table.name),
                blocking=True,
                description="Every landed part has the contract's columns and types, and a day folder "
                "holds nothing but Parquet parts; a day that breaks this is refused (it keeps the previous "
                "data) and stops everything downstream.",
            )
        ],
    )
    def raw_table(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        days = partition_days(context)
        with warehouse.connection() as conn:
            results, refused_days = load_partitions(conn, warehouse.landing_dir, table.name, days)
        refused = {day.isoformat(): str(error) for day, error in sorted(refused_days.items())}
        rows = sum(result.rows for result in results)
        file_bytes = sum(result.file_bytes for result in results)
        missing = sum(not result.found_file for result in results)
        if missing:
            context.log.warning(f"{table.name}: {missing} of {len(days)} day(s) had no landed file")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "bytes_landed": dg.MetadataValue.int(file_bytes),
                "days": len(days),
                "days_without_file": missing,
                "preview": dg.MetadataValue.md(
                    _preview_markdown(warehouse, table.name, days[0].isoformat(), days[-1].isoformat())
                ),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=CONTRACT_CHECK,
                    passed=not refused,
                    description=next(iter(refused.values()), None),
                    metadata={"refused_days": dg.MetadataValue.json(refused)},
                )
            ],
        )

    return raw_table


def build_raw_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    return [build_raw_asset(table, partitions_def) for table in RAW_TABLES.values()]
