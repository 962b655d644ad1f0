"""The user facts and tag marts do not depend on how the days were built: a backfill of all but the
last day followed by a one-day incremental run — and then a re-run of a day in the middle — ends in
exactly the tables one full refresh builds, every column compared. The tag history snapshot, fed
by the two builds, answers "how did this user's value tier change".
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from huaxiang.warehouse import connect
from tests.dbt_fixtures import create_ml_tables
from tests.test_dbt_staging import load_days, run_dbt

USERS, DAYS, SEED = 1_000, 16, 5
COMPARED = (
    "facts.int_user_daily",
    "facts.int_product_daily",
    "facts.int_user_category_daily",
    "facts.int_user_brand_daily",
    "facts.int_user_channel_daily",
    "facts.fct_user_category_shares",
    "facts.fct_user_facts",
    "marts.user_profile",
    "marts.user_tags",
    "marts.dim_tag_value",
)

pytestmark = pytest.mark.slow


def write_ml_stand_in(home: Path, scored_on: date) -> None:
    """Hand-made ML output: every user landed gets a cluster and a score (a hash of the user id)."""
    create_ml_tables(home / "warehouse.duckdb")
    with connect(home / "warehouse.duckdb") as conn:
        conn.execute("delete from ml.user_clusters")
        conn.execute("delete from ml.purchase_propensity")
        conn.execute(
            "insert into ml.user_clusters select distinct user_id, cast(hash(user_id) % 4 as integer), "
            "'cluster ' || cast(hash(user_id) % 4 as varchar) from raw.users where user_id is not null"
        )
        conn.execute(
            "insert into ml.purchase_propensity select user_id, (hash(user_id) % 1000) / 1000.0, "
            "cast(1 + hash(user_id) % 10 as integer), ?, 'stand-in' from ml.user_clusters",
            [scored_on],
        )


def window(first: date, last: date) -> dict[str, str]:
    return {"partition_start": first.isoformat(), "partition_end": last.isoformat()}


@pytest.fixture(scope="module")
def full_refresh(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[date]]:
    from huaxiang.generator import GeneratorConfig, generate

    home = tmp_path_factory.mktemp("facts_full")
    config = GeneratorConfig(users=USERS, days=DAYS, seed=SEED, bad_rate=0.01)
    report = generate(config, home / "landing", home / "truth", progress=False)
    load_days(home, home / "landing", report.days)
    write_ml_stand_in(home, report.days[0])
    run_dbt(home, "build", "--full-refresh")
    return home, report.days


def differing_rows(home: Path, reference: Path) -> dict[str, tuple[int, int]]:
    """Per relation: (rows, rows not matched one-to-one in the reference), all columns compared."""
    found = {}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        conn.execute(f"attach '{reference / 'warehouse.duckdb'}' as reference (read_only)")
        for relation in COMPARED:
            (rows,) = conn.execute(f"select count(*) from {relation}").fetchone()
            (differing,) = conn.execute(
                f"""
                select count(*) from (
                    (select * from {relation} except all select * from reference.{relation})
                    union all
                    (select * from reference.{relation} except all select * from {relation})
                )
                """
            ).fetchone()
            found[relation] = (rows, differing)
    return found


def assert_same_tables(home: Path, reference: Path) -> None:
    compared = differing_rows(home, reference)
    assert all(rows > 0 for rows, _ in compared.values()), compared
    assert {relation: differing for relation, (_, differing) in compared.items() if differing} == {}


def test_backfill_then_one_day_then_a_rerun_equal_a_full_refresh(
    full_refresh: tuple[Path, list[date]], tmp_path: Path
) -> None:
    reference, days = full_refresh
    home = tmp_path / "home"
    load_days(home, reference / "landing", days[:-1])
    write_ml_stand_in(home, days[0])
    run_dbt(home, "build", variables=window(days[0], days[-2]))
    load_days(home, reference / "landing", days[-1:])
    write_ml_stand_in(home, days[0])  # the ML step scores the new day's users too
    run_dbt(home, "build", variables=window(days[-1], days[-1]))
    assert_same_tables(home, reference)

    middle = days[len(days) // 2]
    run_dbt(home, "build", variables=window(middle, middle))
    assert_same_tables(home, reference)

    with connect(home / "warehouse.duckdb", read_only=True) as conn:
        current_versions = conn.execute(
            "select count(*), count(distinct user_id || '|' || tag_code) from marts.user_tag_history "
            "where dbt_valid_to is null"
        ).fetchone()
        tracked = conn.execute(
            "select count(*) from marts.user_tags where tag_code in "
            "(select tag_code from marts.dim_tag where is_tracked_in_history)"
        ).fetchone()[0]
        value_tier_changes = conn.execute(
            """
            select before.user_id, before.tag_value, after.tag_value, before.first_seen_as_of, after.first_seen_as_of
            from marts.user_tag_history as before
            inner join marts.user_tag_history as after
                on before.user_id = after.user_id and before.tag_code = after.tag_code
                and before.dbt_valid_to = after.dbt_valid_from
            where before.tag_code = 'value_tier'
            """
        ).fetchall()
    assert current_versions == (tracked, tracked)
    assert value_tier_changes, "some value tier changed between the two builds"
    for _, old, new, old_seen, new_seen in value_tier_changes:
        assert old != new and (old_seen, new_seen) == (days[-2], days[-1])
