"""The whole asset graph, materialized in-process on a small generated warehouse."""

from __future__ import annotations

import json

import dagster as dg
import duckdb

from huaxiang.contract import RAW_TABLES
from huaxiang.landing import landed_days
from huaxiang.settings import Settings
from tests.conftest import SMALL_DAYS, SMALL_START


def test_definitions_cover_every_layer(small_home: Settings) -> None:
    from orchestration.definitions import build_definitions

    definitions = build_definitions(small_home)
    graph = definitions.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for table in RAW_TABLES:
        assert f"raw/{table}" in keys
        assert f"staging/stg_{table}" in keys
        assert f"staging/stg_{table}_rejected" in keys
    assert "facts/int_user_daily" in keys
    assert "marts/user_profile" in keys
    assert "published/marts_snapshot" in keys
    groups = {graph.get(dg.AssetKey.from_user_string(key)).group_name for key in keys}
    assert {"raw", "staging", "facts", "marts", "publish"} <= groups


def test_whole_graph_materializes(small_home: Settings, small_run) -> None:
    assert small_run.success, small_run.render()
    assert small_run.first_day == SMALL_START
    assert (small_run.last_day - small_run.first_day).days == SMALL_DAYS - 1
    assert not small_run.failed_checks
    assert len(small_run.checks) > 20  # dbt tests arrive as asset checks

    with duckdb.connect(str(small_home.warehouse_path), read_only=True) as conn:
        users = conn.execute("select count(*) from staging.stg_users").fetchone()[0]
        profiles = conn.execute("select count(*), count(distinct user_id) from marts.user_profile").fetchone()
        revenue_orders = conn.execute(
            "select coalesce(sum(paid_amount), 0) from staging.stg_orders where status = 'paid'"
        ).fetchone()[0]
        revenue_profile = conn.execute("select sum(revenue_total) from marts.user_profile").fetchone()[0]
    assert profiles == (users, users)
    assert float(revenue_profile) == float(revenue_orders) > 0


def test_published_snapshot_matches_marts(small_home: Settings, small_run) -> None:
    manifest = json.loads((small_home.published_dir / "manifest.json").read_text())
    assert manifest["run_id"] == small_run.run_id
    assert small_run.published == str(small_home.published_dir)
    with duckdb.connect(str(small_home.published_dir / "marts.duckdb"), read_only=True) as conn:
        published_rows = conn.execute("select count(*) from user_profile").fetchone()[0]
        columns = {row[0] for row in conn.execute("describe user_profile").fetchall()}
    assert published_rows == manifest["row_counts"]["user_profile"] == small_run.mart_rows["user_profile"]
    assert not {"phone", "email"} & columns
    assert (small_home.published_dir / "parquet" / "user_profile.parquet").is_file()


def test_relanding_a_day_is_idempotent(small_home: Settings, small_run) -> None:
    """Materializing a raw partition again replaces it: same count, same checksum."""
    from orchestration.assets.sources import build_raw_asset
    from orchestration.partitions import daily_partitions
    from orchestration.resources import WarehouseResource

    day = landed_days(small_home.landing_dir)[2].isoformat()
    events = build_raw_asset(RAW_TABLES["events"], daily_partitions(small_home))
    warehouse = WarehouseResource.from_settings(small_home)

    def fingerprint() -> tuple:
        with duckdb.connect(str(small_home.warehouse_path), read_only=True) as conn:
            return conn.execute(
                "select count(*), sum(hash(event_id, user_id, event_type, occurred_at)) "
                "from raw.events where _partition_date = ?",
                [day],
            ).fetchone()

    before = fingerprint()
    for _ in range(2):
        result = dg.materialize([events], partition_key=day, resources={"warehouse": warehouse})
        assert result.success
    assert fingerprint() == before
    assert before[0] > 0
