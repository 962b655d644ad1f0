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


def test_the_dbt_resource_builds_no_dbt_adapter_in_the_step_process(small_home: Settings) -> None:
    """dagster-dbt builds a dbt adapter in the step's process before every invocation, only for
    `fetch_row_counts` / `fetch_column_metadata`; `DbtCli` skips it (1.8 s a dbt step). Its override
    must stay the method `cli` calls: a rename in a dagster-dbt upgrade would bring the cost back."""
    import inspect

    from dagster_dbt import DbtCliResource

    from orchestration.definitions import build_definitions
    from orchestration.resources import DbtCli

    assert "self._initialize_dbt_core_adapter(args)" in inspect.getsource(DbtCliResource.cli)
    resource = build_definitions(small_home).resources["dbt"]
    assert isinstance(resource, DbtCli)
    assert resource._initialize_dbt_core_adapter(["build"]) is None


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


def test_contacts_are_hashed_with_the_homes_own_salt_found_in_no_written_file(small_home: Settings, small_run) -> None:
    """No salt configured: the home made its own (owner-only), hashes use it, and neither the warehouse,
    the Dagster storage, nor the SQL and logs dbt wrote for this home's run contain it."""
    import hashlib
    import re
    import stat

    from huaxiang.pii_salt import salt_path
    from huaxiang.settings import DBT_PROJECT_DIR

    assert small_run.success, small_run.render()
    salt_file = salt_path(small_home.home)
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600
    salt = salt_file.read_text().strip()

    with duckdb.connect(str(small_home.warehouse_path), read_only=True) as conn:
        user_id, phone, phone_hash = conn.execute(
            """
            select users.user_id, raw_users.phone, users.phone_hash
            from staging.stg_users_versions as users
            inner join raw.users as raw_users
                on raw_users.user_id = users.user_id and raw_users.updated_at = users.valid_from_utc
            where users.phone_hash is not null
            order by users.user_id
            limit 1
            """
        ).fetchone()
    digits = re.sub(r"[^0-9]", "", phone.strip())
    digits = digits[2:] if len(digits) == 13 and digits.startswith("86") else digits
    assert phone_hash == hashlib.sha256((salt + digits).encode()).hexdigest(), user_id

    since = salt_file.stat().st_mtime
    dbt_written = [
        path
        for folder in (DBT_PROJECT_DIR / "target", DBT_PROJECT_DIR / "logs")
        for path in folder.rglob("*")
        if path.is_file() and path.stat().st_mtime >= since
    ]
    home_written = [path for path in small_home.home.rglob("*") if path.is_file() and path != salt_file]
    assert any(path.suffix == ".sql" for path in dbt_written)
    assert [path for path in [*dbt_written, *home_written] if salt.encode() in path.read_bytes()] == []
