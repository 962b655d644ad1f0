"""dbt staging, facts and the first mart on a hand-made raw dataset (tests/dbt_fixtures.py).

Real DuckDB, real dbt (subprocess); each session builds its own warehouse in a tmp HUAXIANG_HOME.
Assertions are on values: which bad row is rejected for which reason, that nothing is lost
(raw = clean + rejected), that PII never reaches a clean model, local time, partition re-runs,
and a hand-checked user profile.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from huaxiang.contract import RAW_TABLES
from huaxiang.dbt_manifest import dbt_executable
from huaxiang.settings import DBT_PROJECT_DIR
from huaxiang.warehouse import connect, load_partition
from tests.dbt_fixtures import (
    CHECKED_EMAIL,
    CHECKED_PHONE,
    CHECKED_USER,
    DAY1,
    DAY2,
    DAY3,
    RawFixture,
    build_fixture,
    create_ml_tables,
    event,
)

PII_SALT = "test-salt-3f9c2a7e51"
DIMENSIONS = ("users", "products", "campaigns")


def run_dbt(
    home: Path, *args: str, variables: dict | None = None, unit_tests: bool = False
) -> subprocess.CompletedProcess:
    """`dbt <args>` against the warehouse in `home`; target/ and logs/ stay in `home` too. A `build`
    leaves the dbt unit tests out unless `unit_tests` (they test code, not data: the session's
    `warehouse` build runs them once)."""
    env = {
        **os.environ,
        "HUAXIANG_HOME": str(home),
        "HUAXIANG_TARGET": "duckdb",
        "HUAXIANG_TIMEZONE": "Asia/Shanghai",
        "HUAXIANG_PII_SALT": PII_SALT,
    }
    command = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(home / "dbt_target"),
        "--log-path",
        str(home / "dbt_logs"),
    ]
    if variables:
        command += ["--vars", json.dumps(variables)]
    if args[0] == "build" and not unit_tests:
        command += ["--exclude-resource-type", "unit_test"]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
    assert completed.returncode == 0, f"dbt {' '.join(args)} failed:\n{completed.stdout[-6000:]}"
    return completed


def query(home: Path, sql: str, params: list | None = None) -> list[tuple]:
    with connect(home / "warehouse.duckdb", read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


@pytest.fixture(scope="session")
def fixture_data() -> RawFixture:
    return build_fixture()


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory, fixture_data: RawFixture) -> Path:
    """A warehouse with the fixture landed, loaded and built by `dbt build` (data tests and every dbt
    unit test included: the graph's builds leave the unit tests out, this is where they run on DuckDB)."""
    home = tmp_path_factory.mktemp("huaxiang_home")
    fixture_data.land(home / "landing")
    fixture_data.load(home / "landing", home / "warehouse.duckdb")
    create_ml_tables(home / "warehouse.duckdb")
    run_dbt(home, "build", unit_tests=True)
    return home


def test_every_bad_row_is_rejected_for_its_reason(warehouse: Path, fixture_data: RawFixture) -> None:
    for expected in fixture_data.rejects:
        where = " and ".join(f"{column} = ?" for column in expected.match)
        reasons = query(
            warehouse,
            f"select reject_reason from staging.stg_{expected.table}_rejected where {where}",
            list(expected.match.values()),
        )
        assert reasons == [(expected.reason,)], f"{expected.table} {expected.match}"


def test_only_the_bad_rows_are_rejected(warehouse: Path, fixture_data: RawFixture) -> None:
    for table in RAW_TABLES:
        expected = sorted(r.reason for r in fixture_data.rejects if r.table == table)
        found = sorted(
            reason for (reason,) in query(warehouse, f"select reject_reason from staging.stg_{table}_rejected")
        )
        assert found == expected, table


def test_raw_equals_clean_plus_rejected_per_partition(warehouse: Path, fixture_data: RawFixture) -> None:
    for table in RAW_TABLES:
        clean = f"stg_{table}_versions" if table in DIMENSIONS else f"stg_{table}"
        counts = query(
            warehouse,
            f"""
            with raw_rows as (
                select _partition_date, count(*) as n from raw.{table} group by all
            ), kept as (
                select _partition_date, count(*) as n from staging.{clean} group by all
            ), rejected as (
                select _partition_date, count(*) as n from staging.stg_{table}_rejected group by all
            )
            select raw_rows._partition_date, raw_rows.n, coalesce(kept.n, 0), coalesce(rejected.n, 0)
            from raw_rows
            left join kept using (_partition_date)
            left join rejected using (_partition_date)
            """,
        )
        assert {day for day, *_ in counts} == set(fixture_data.rows[table]), table
        for day, raw_rows, kept, rejected in counts:
            assert raw_rows == fixture_data.raw_rows(table, day), (table, day)
            assert raw_rows == kept + rejected, (table, day)


def test_dimension_versions_are_history_not_rejects(warehouse: Path) -> None:
    versions = query(
        warehouse,
        "select city, is_current, valid_to_date from staging.stg_users_versions "
        "where user_id = ? order by valid_from_utc",
        [CHECKED_USER],
    )
    assert versions == [("杭州", False, DAY2), ("上海", True, None)]
    # raw users = current + superseded + rejected
    assert query(
        warehouse,
        """
        select
            (select count(*) from raw.users),
            (select count(*) from staging.stg_users),
            (select count(*) from staging.stg_users_versions where not is_current),
            (select count(*) from staging.stg_users_rejected)
        """,
    ) == [(8, 3, 1, 4)]


def test_pii_never_reaches_a_clean_model(warehouse: Path) -> None:
    raw_values = {CHECKED_PHONE, CHECKED_EMAIL, "13800138000", "alice@example.com"}
    raw_values |= {value for row in query(warehouse, "select phone, email from raw.users") for value in row if value}
    columns = query(
        warehouse,
        """
        select table_schema, table_name, column_name from information_schema.columns
        where (table_schema in ('facts', 'marts') or (table_schema = 'staging'
                and table_name not like '%\\_classified' escape '\\'
                and table_name not like '%\\_rejected' escape '\\'))
            and data_type = 'VARCHAR'
        """,
    )
    assert any(table == "stg_users" for _, table, _ in columns)
    for schema, table, column in columns:
        assert column not in {"phone", "email"}, f"{schema}.{table}.{column}"
        leaked = query(
            warehouse,
            f'select count(*) from {schema}.{table} where "{column}" in (select unnest(?))',
            [sorted(raw_values)],
        )
        assert leaked == [(0,)], f"raw PII in {schema}.{table}.{column}"

    salted = lambda value: hashlib.sha256((PII_SALT + value).encode()).hexdigest()  # noqa: E731
    assert query(
        warehouse, "select phone_hash, email_hash from staging.stg_users where user_id = ?", [CHECKED_USER]
    ) == [(salted("13800138000"), salted("alice@example.com"))]


def test_the_salt_is_in_no_compiled_sql_log_or_warehouse(warehouse: Path) -> None:
    """The salt reaches DuckDB at run time (a session variable), so it is in no file dbt or DuckDB wrote:
    compiled and run SQL, manifest, partial-parse cache, logs, and the warehouse (view definitions)."""
    written = [
        *(warehouse / "dbt_target").rglob("*"),
        *(warehouse / "dbt_logs").rglob("*"),
        warehouse / "warehouse.duckdb",
    ]
    files = [path for path in written if path.is_file()]
    assert any(path.name == "manifest.json" for path in files)
    assert any(path.name == "stg_users_versions.sql" for path in files)
    assert [path for path in files if PII_SALT.encode() in path.read_bytes()] == []
    compiled = next(path for path in files if path.name == "stg_users_versions.sql").read_text()
    assert "getvariable('huaxiang_pii_salt')" in compiled


def test_timestamps_are_converted_to_business_time(warehouse: Path) -> None:
    # 01:30 in Shanghai on DAY1 is still the previous day in UTC.
    ((utc, local_time, event_date, hour_slot),) = query(
        warehouse,
        "select occurred_at_utc, occurred_at_local, event_date, hour_slot from staging.stg_events "
        "where event_id = 'e11'",
    )
    assert utc == datetime(2024, 2, 29, 17, 30, tzinfo=UTC)
    assert local_time == datetime(2024, 3, 1, 1, 30)
    assert event_date == DAY1
    assert hour_slot == "night"


def test_user_profile_for_the_hand_checked_user(warehouse: Path) -> None:
    (profile,) = query(
        warehouse,
        """
        select as_of, city, city_tier, age, tenure_days, orders_total, revenue_total, orders_30d,
            revenue_30d, orders_90d, recency_days, aov, coupon_order_share, last_order_date,
            active_days_30d, events_30d, preferred_platform
        from marts.user_profile where user_id = ?
        """,
        [CHECKED_USER],
    )
    assert profile == (
        DAY3,  # the latest landed day
        "上海",  # the version current on DAY3
        1,
        33,
        53,  # 2024-01-10 .. 2024-03-03
        3,  # paid 80 + 100 + 50; the cancelled 30 does not count
        Decimal("230.00"),
        2,  # OLD_DAY is 48 days before DAY3
        Decimal("150.00"),
        3,
        1,  # last paid order on DAY2
        Decimal("76.67"),
        pytest.approx(1 / 3),
        DAY2,
        3,
        6,
        "app",
    )
    assert query(warehouse, "select count(*), count(distinct user_id) from marts.user_profile") == [(3, 3)]


def test_rerunning_a_partition_replaces_it(warehouse: Path, fixture_data: RawFixture, tmp_path: Path) -> None:
    """Re-land DAY2 events changed, reload and rebuild only DAY2: the day is replaced, not appended."""
    home = tmp_path / "home"
    shutil.copytree(warehouse / "landing", home / "landing")
    shutil.copy(warehouse / "warehouse.duckdb", home / "warehouse.duckdb")
    changed = RawFixture()
    for row in fixture_data.rows["events"][DAY2]:
        if row["event_id"] != "e22":  # dropped upstream
            changed.add("events", DAY2, row)
    changed.add("events", DAY2, event("e24", "u1", "2024-03-02 10:00", "search", product_id=None, search_query="口红"))
    changed.add("events", DAY2, event("e11", "u1", "2024-03-02 10:01"))  # e11 already landed on DAY1
    changed.land(home / "landing")
    with connect(home / "warehouse.duckdb") as conn:
        load_partition(conn, home / "landing", "events", DAY2)

    before = query(home, "select _partition_date, count(*) from staging.stg_events_classified group by all")
    run_dbt(home, "build", variables={"partition_start": DAY2.isoformat(), "partition_end": DAY2.isoformat()})

    assert query(
        home,
        "select event_id, reject_reason from staging.stg_events_classified where _partition_date = ? order by event_id",
        [DAY2],
    ) == [("e11", "duplicate"), ("e21", None), ("e23", None), ("e24", None)]
    after = dict(query(home, "select _partition_date, count(*) from staging.stg_events_classified group by all"))
    assert {day: n for day, n in before if day != DAY2} == {day: n for day, n in after.items() if day != DAY2}
    assert query(home, "select count(*) - count(distinct event_id) from staging.stg_events") == [(0,)]
    assert query(
        home,
        "select events, views, searches, clicks from facts.int_user_daily where user_id = 'u1' and activity_date = ?",
        [DAY2],
    ) == [(2, 1, 1, 0)]
    assert query(home, "select count(*) from facts.int_user_daily where activity_date = ?", [DAY1]) == query(
        warehouse, "select count(*) from facts.int_user_daily where activity_date = ?", [DAY1]
    )


def test_an_emptied_partition_becomes_empty(warehouse: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(warehouse / "landing", home / "landing")
    shutil.copy(warehouse / "warehouse.duckdb", home / "warehouse.duckdb")
    (home / "landing" / "reviews" / f"date={DAY3.isoformat()}" / "part-0.parquet").unlink()
    with connect(home / "warehouse.duckdb") as conn:
        load_partition(conn, home / "landing", "reviews", DAY3)

    run_dbt(
        home,
        "build",
        "--select",
        "stg_reviews_classified+",
        variables={"partition_start": DAY3.isoformat(), "partition_end": DAY3.isoformat()},
    )

    assert query(home, "select count(*) from staging.stg_reviews_classified") == [(0,)]
    assert query(home, "select sum(reviews) from facts.int_user_daily") == [(0,)]


# The day-by-day (incremental) staging tables: the ones an upgrade must rename, not rebuild.
DAY_TABLES = tuple(table for table in RAW_TABLES if table not in DIMENSIONS)


def staging_relations(home: Path) -> dict[str, str]:
    return dict(
        query(home, "select table_name, table_type from information_schema.tables where table_schema = 'staging'")
    )


def test_a_home_built_under_the_old_staging_names_keeps_its_history(
    warehouse: Path, fixture_data: RawFixture, tmp_path: Path
) -> None:
    """A home of a release before the `stg_<t>__classified` → `stg_<t>_classified` rename: its next
    daily run renames the day tables in place (macros/migrations.sql), so the days classified before
    stay, and a key landed on an earlier day is still caught as a duplicate."""
    home = tmp_path / "home"
    shutil.copytree(warehouse / "landing", home / "landing")
    shutil.copy(warehouse / "warehouse.duckdb", home / "warehouse.duckdb")
    days_before = {
        table: query(
            home, f"select _partition_date, count(*) from staging.stg_{table}_classified group by all order by 1"
        )
        for table in DAY_TABLES
    }
    built_relations = staging_relations(home)
    with connect(home / "warehouse.duckdb") as conn:  # back to the names the old release built
        for name, kind in built_relations.items():
            if name.endswith(("_classified", "_versions")):
                old_name = name.replace("_classified", "__classified").replace("_versions", "__versions")
                conn.execute(f"alter {kind.split()[-1]} staging.{name} rename to {old_name}")
    legacy = staging_relations(home)
    assert {f"stg_{t}__classified" for t in RAW_TABLES} | {f"stg_{t}__versions" for t in DIMENSIONS} <= set(legacy)
    assert not any(name.endswith(("_classified", "_versions")) and "__" not in name for name in legacy)

    changed = RawFixture()  # DAY2 landed again with a key that first landed on DAY1
    for row in fixture_data.rows["events"][DAY2]:
        changed.add("events", DAY2, row)
    changed.add("events", DAY2, event("e11", "u1", "2024-03-02 10:01"))
    changed.land(home / "landing")
    with connect(home / "warehouse.duckdb") as conn:
        load_partition(conn, home / "landing", "events", DAY2)
    built = run_dbt(home, "build", variables={"partition_start": DAY2.isoformat(), "partition_end": DAY2.isoformat()})

    assert "renaming" in built.stdout and "its history is kept" in built.stdout
    relations = staging_relations(home)
    assert not [name for name in relations if "__" in name], relations
    for table in DAY_TABLES:
        assert relations[f"stg_{table}_classified"] == "BASE TABLE"
        after = query(
            home, f"select _partition_date, count(*) from staging.stg_{table}_classified group by all order by 1"
        )
        kept = [(day, n) for day, n in days_before[table] if day != DAY2]
        assert kept and [(day, n) for day, n in after if day != DAY2] == kept, table
    assert ("e11", "duplicate") in query(
        home, "select event_id, reject_reason from staging.stg_events_classified where _partition_date = ?", [DAY2]
    )
    assert query(home, "select count(*) - count(distinct event_id) from staging.stg_events") == [(0,)]
    # The entity relations were dropped and built again under their new names.
    assert {f"stg_{t}_versions" for t in DIMENSIONS} <= set(relations)
    assert query(home, "select count(*) from staging.stg_users_versions") == query(
        warehouse, "select count(*) from staging.stg_users_versions"
    )


# ── on the synthetic generator's output ─────────────────────────────────────────────────────


def load_days(home: Path, landing: Path, days: list[date]) -> None:
    with connect(home / "warehouse.duckdb") as conn:
        for day in days:
            for table in RAW_TABLES:
                load_partition(conn, landing, table, day)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[date]]:
    """500 users × 10 days with 2% bad rows, loaded and built in one full `dbt build`."""
    generator = pytest.importorskip("huaxiang.generator")
    home = tmp_path_factory.mktemp("generated_home")
    report = generator.generate(
        generator.GeneratorConfig(users=500, days=10, bad_rate=0.02),
        home / "landing",
        home / "truth",
        progress=False,
    )
    load_days(home, home / "landing", report.days)
    create_ml_tables(home / "warehouse.duckdb")
    run_dbt(home, "build")
    return home, report.days


def test_generator_bad_rows_are_quarantined_for_their_reason(generated: tuple[Path, list[date]]) -> None:
    home, _ = generated
    injected = json.loads((home / "truth" / "bad_rows.json").read_text())
    quarantined: dict[str, dict[str, int]] = {}
    for table in RAW_TABLES:
        rows = query(home, f"select reject_reason, count(*) from staging.stg_{table}_rejected group by all")
        if rows:
            quarantined[table] = dict(rows)
    assert quarantined == injected


def test_windowed_runs_equal_one_full_build(generated: tuple[Path, list[date]], tmp_path: Path) -> None:
    """Landing and building the days window by window (as the daily schedule does) ends in exactly
    the tables one full build produces: incremental windows lose, duplicate and misclassify nothing."""
    full, days = generated
    home = tmp_path / "home"
    create_ml_tables(home / "warehouse.duckdb")
    for window in (days[:6], days[6:]):  # the first run creates the tables, the second appends
        load_days(home, full / "landing", window)
        run_dbt(
            home,
            "build",
            variables={"partition_start": window[0].isoformat(), "partition_end": window[-1].isoformat()},
        )

    relations = [f"staging.stg_{table}_classified" for table in RAW_TABLES]
    relations += ["facts.int_user_daily", "marts.user_profile"]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        conn.execute(f"attach '{full / 'warehouse.duckdb'}' as full_build (read_only)")
        for relation in relations:
            (rows,) = conn.execute(f"select count(*) from {relation}").fetchone()
            (differing,) = conn.execute(
                f"""
                select count(*) from (
                    (select * from {relation} except all select * from full_build.{relation})
                    union all
                    (select * from full_build.{relation} except all select * from {relation})
                )
                """
            ).fetchone()
            assert rows > 0 and differing == 0, relation


def test_data_tests_of_day_by_day_tables_read_the_run_s_window(warehouse: Path, tmp_path: Path) -> None:
    """An event key repeated on DAY1 (written past staging's classifier) fails stg_events' unique
    test in a run whose window holds DAY1, not in a run of DAY3, which tests the day it built;
    the users' tests read the whole table whatever the window."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(warehouse / "warehouse.duckdb", home / "warehouse.duckdb")
    with connect(home / "warehouse.duckdb") as conn:
        conn.execute(
            "insert into staging.stg_events_classified select * from staging.stg_events_classified "
            "where _partition_date = ? and reject_reason is null order by event_id limit 1",
            [DAY1],
        )
    day3 = {"partition_start": DAY3.isoformat(), "partition_end": DAY3.isoformat()}
    run_dbt(home, "test", "--select", "stg_events", "stg_users", variables=day3)
    compiled = {path.stem: path.read_text() for path in (home / "dbt_target" / "compiled").rglob("*.sql")}
    assert f"_partition_date between cast('{DAY3.isoformat()}' as date)" in compiled["unique_stg_events_event_id"]
    assert "between" not in compiled["unique_stg_users_user_id"]
    with pytest.raises(AssertionError, match="unique_stg_events_event_id"):
        run_dbt(home, "test", "--select", "stg_events", variables={**day3, "partition_start": DAY1.isoformat()})


def test_a_reject_reason_outside_the_one_precedence_fails_compilation(tmp_path: Path) -> None:
    """The classifier writes a table's rules in the order of the var reject_precedence; a rule whose
    reason the list does not name stops dbt, naming the table and the reason."""
    from huaxiang.settings import dbt_vars

    precedence = [reason for reason in dbt_vars()["reject_precedence"] if reason != "out_of_range"]
    completed = subprocess.run(
        [
            dbt_executable(),
            "compile",
            "--select",
            "stg_reviews_classified",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(tmp_path / "dbt_target"),
            "--log-path",
            str(tmp_path / "dbt_logs"),
            "--vars",
            json.dumps({"reject_precedence": precedence}),
        ],
        env={**os.environ, "HUAXIANG_HOME": str(tmp_path), "HUAXIANG_TARGET": "duckdb"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode != 0
    assert "reviews: reject reason 'out_of_range' is not in the var reject_precedence" in completed.stdout
