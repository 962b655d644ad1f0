"""The user facts and tag marts do not depend on how the days were built: a backfill of all but the
last three days followed by three one-day incremental runs — and then a re-run of a day in the
middle — ends in exactly the tables one full refresh builds, every column compared; so does a
day re-landed with rows taken away. The per-user state of the facts (int_user_activity, …) is
recomputed for the users a day touches only. The tag history snapshot, fed by the daily builds,
answers "how did this user's value tier change".
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
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
    "facts.int_user_activity",
    "facts.int_user_comebacks",
    "facts.int_user_category_interest",
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


def differing_rows(home: Path, reference: Path, relations: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """Per relation: (rows, rows not matched one-to-one in the reference), all columns compared."""
    found = {}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        conn.execute(f"attach '{reference / 'warehouse.duckdb'}' as reference (read_only)")
        for relation in relations:
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


def assert_same_tables(home: Path, reference: Path, relations: tuple[str, ...] = COMPARED) -> None:
    compared = differing_rows(home, reference, relations)
    assert all(rows > 0 for rows, _ in compared.values()), compared
    assert {relation: differing for relation, (_, differing) in compared.items() if differing} == {}


STATE_MODELS = ("int_user_activity", "int_user_comebacks", "int_user_category_interest")
# Per-user state models and a date column of theirs that nothing downstream reads.
PROBED = {"int_user_activity": "last_row_date", "int_user_category_interest": "last_activity_date"}
SHIFT_DAYS = 20_000


def run_counting_recomputed_rows(home: Path, day: date) -> dict[str, tuple[int, int]]:
    """Run `day` and tell, per probed state model, (rows recomputed, rows kept as they were): before
    the run every row's probe date is moved 20,000 days back, a recomputed row gets its real date,
    and the kept rows are moved back afterwards."""
    with connect(home / "warehouse.duckdb") as conn:
        for model, column in PROBED.items():
            conn.execute(f"update facts.{model} set {column} = {column} - {SHIFT_DAYS}")
    run_dbt(home, "build", variables=window(day, day))
    counts = {}
    with connect(home / "warehouse.duckdb") as conn:
        for model, column in PROBED.items():
            kept = f"{column} < date '1980-01-01'"
            counts[model] = conn.execute(
                f"select count(*) filter (where not {kept}), count(*) filter (where {kept}) from facts.{model}"
            ).fetchone()
            conn.execute(f"update facts.{model} set {column} = {column} + {SHIFT_DAYS} where {kept}")
    return counts


def test_backfill_then_daily_runs_then_reruns_equal_a_full_refresh(
    full_refresh: tuple[Path, list[date]], tmp_path: Path
) -> None:
    reference, days = full_refresh
    home = tmp_path / "home"
    load_days(home, reference / "landing", days[:-3])
    write_ml_stand_in(home, days[0])
    run_dbt(home, "build", variables=window(days[0], days[-4]))
    for day in days[-3:]:
        load_days(home, reference / "landing", [day])
        write_ml_stand_in(home, days[0])  # the ML step scores the new day's users too
        recomputed = run_counting_recomputed_rows(home, day)
        # Only the users the day touched were recomputed: some of the state, never all of it.
        assert all(rows > 0 and kept > 0 for rows, kept in recomputed.values()), (day, recomputed)
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
    assert value_tier_changes, "some value tier changed between the daily builds"
    for _, old, new, old_seen, new_seen in value_tier_changes:
        assert old != new and days[-4] <= old_seen < new_seen and new_seen in days[-3:]


ACTIVITY_TABLES = ("orders", "events", "campaign_sends", "reviews")


def test_days_re_landed_with_rows_taken_away_equal_a_full_refresh(
    full_refresh: tuple[Path, list[date]], tmp_path: Path
) -> None:
    """A correction of the days from the middle on: some buyers lose the middle day's rows, and
    some users first seen in those days lose all of them, so they have no activity left at all.
    An incremental run of those days changes the per-user state as a full rebuild would, and the
    users with nothing left leave the state rather than keep their old rows."""
    reference, days = full_refresh
    home, rebuilt = tmp_path / "home", tmp_path / "rebuilt"
    home.mkdir()
    shutil.copy(reference / "warehouse.duckdb", home / "warehouse.duckdb")
    middle = days[len(days) // 2]
    all_rows = " union all ".join(f"select user_id, _partition_date from raw.{table}" for table in ACTIVITY_TABLES)
    with connect(home / "warehouse.duckdb") as conn:
        buyers = [
            user_id
            for (user_id,) in conn.execute(
                "select distinct user_id from raw.orders where _partition_date = ? order by user_id limit 20", [middle]
            ).fetchall()
        ]
        newcomers = [
            user_id
            for (user_id,) in conn.execute(
                f"select user_id from ({all_rows}) group by user_id having min(_partition_date) >= ? "
                "order by user_id limit 10",
                [middle],
            ).fetchall()
        ]
        assert len(buyers) == 20 and len(newcomers) == 10
        for table in ACTIVITY_TABLES:
            conn.execute(
                f"delete from raw.{table} where (_partition_date = ? and user_id in (select unnest(?))) "
                "or user_id in (select unnest(?))",
                [middle, buyers, newcomers],
            )
    run_dbt(home, "build", variables=window(middle, days[-1]))
    rebuilt.mkdir()
    shutil.copy(home / "warehouse.duckdb", rebuilt / "warehouse.duckdb")
    run_dbt(rebuilt, "build", "--full-refresh")
    assert_same_tables(home, rebuilt)
    with connect(home / "warehouse.duckdb", read_only=True) as conn:
        left = conn.execute(
            "select count(*) from facts.int_user_activity where user_id in (select unnest(?))", [newcomers]
        ).fetchone()[0]
    assert left == 0


def test_an_as_of_moved_across_the_windows_either_way_equals_a_full_refresh(
    full_refresh: tuple[Path, list[date]], tmp_path: Path
) -> None:
    """The facts as of 20 days after the last landed day (the early days leave the 30-day windows),
    then as of the third day (the later days leave the history), built incrementally from the
    state of the day before, equal a full rebuild as of the same day."""
    reference, days = full_refresh
    facts = tuple(relation for relation in COMPARED if relation.startswith("facts.") and "_daily" not in relation)
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(reference / "warehouse.duckdb", home / "warehouse.duckdb")
    # The rollups stay as they are (a full refresh of them would rebuild the window only).
    selected = ("--select", "fct_lifecycle_thresholds", "fct_user_facts", "fct_user_category_shares", *STATE_MODELS)
    for as_of in (days[-1] + timedelta(days=20), days[2]):
        variables = {**window(days[-1], days[-1]), "as_of_date": as_of.isoformat()}
        run_dbt(home, "build", *selected, variables=variables)
        rebuilt = tmp_path / f"rebuilt-{as_of}"
        rebuilt.mkdir()
        shutil.copy(home / "warehouse.duckdb", rebuilt / "warehouse.duckdb")
        run_dbt(rebuilt, "build", *selected, "--full-refresh", variables=variables)
        assert_same_tables(home, rebuilt, facts)
