"""Tag history and send lists through the whole graph, as a shop runs it: a backfill, then two daily
runs (land a day, run it, land the next) with a rerun of the first daily day in between, and an
export of one audience after each day.

* The snapshot step (dbt_history) runs after the marts with its dbt tests as checks, and the
  published snapshot holds user_tag_history, user_tag_changes and user_recommendations.
* user_tag_changes answers "when did this user's value tier change" by business day: exactly the
  users whose published value tier differs from the day before, on that day; a rerun of the same
  day adds no version.
* audience_members carries each member's top recommended products in rank order.
* Exports across the three days: the third day leaves out the members already sent twice (N = 2).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pytest

from huaxiang.export import ExportResult, export_audience
from huaxiang.runner import RunSummary, run_pipeline
from tests.conftest import huaxiang_home

pytestmark = pytest.mark.slow

USERS, DAYS, SEED = 300, 10, 7
AUDIENCE = "ready_to_buy"
HISTORY_TABLES = ("user_tag_history", "user_tag_changes", "user_recommendations")


@dataclass
class History:
    home: Path
    days: list[date]
    runs: list[RunSummary] = field(default_factory=list)  # backfill, day 9, rerun of day 9, day 10
    value_tiers: dict[date, dict[str, str]] = field(default_factory=dict)  # published, per as_of day
    versions_before_rerun: list[tuple] = field(default_factory=list)
    versions_after_rerun: list[tuple] = field(default_factory=list)
    exports: dict[date, ExportResult] = field(default_factory=dict)


def move_day(source: Path, target: Path, day: date) -> None:
    """Every table's folder of `day` from one landing zone to another."""
    for folder in sorted(source.glob(f"*/date={day}")):
        (target / folder.parent.name).mkdir(parents=True, exist_ok=True)
        folder.rename(target / folder.parent.name / folder.name)


def published(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "published" / "marts.duckdb"), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def history_versions(home: Path) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute("select * from marts.user_tag_history order by all").fetchall()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> History:
    from huaxiang.generator import GeneratorConfig, generate

    home = tmp_path_factory.mktemp("tag-history")
    aside = home / "not-yet-landed"
    report = generate(
        GeneratorConfig(users=USERS, days=DAYS, seed=SEED), home / "landing", home / "truth", progress=False
    )
    result = History(home, list(report.days))
    *backfill, first_daily, second_daily = result.days
    for day in (first_daily, second_daily):
        move_day(home / "landing", aside, day)

    def run_and_export(settings, first: date, last: date) -> None:
        summary = run_pipeline(settings, first_day=first, last_day=last, progress=False)
        result.runs.append(summary)
        assert summary.success, summary.render()
        rows = published(home, "select as_of, user_id, value_tier from user_profile where value_tier is not null")
        result.value_tiers[rows[0][0]] = {user: tier for _, user, tier in rows}
        exported = export_audience(settings, AUDIENCE)
        result.exports[exported.day] = exported

    with huaxiang_home(home) as settings:
        run_and_export(settings, backfill[0], backfill[-1])
        move_day(aside, home / "landing", first_daily)
        run_and_export(settings, first_daily, first_daily)
        result.versions_before_rerun = history_versions(home)
        run_and_export(settings, first_daily, first_daily)
        result.versions_after_rerun = history_versions(home)
        move_day(aside, home / "landing", second_daily)
        run_and_export(settings, second_daily, second_daily)
    return result


def test_the_history_step_runs_after_the_marts_with_checks_and_is_published(history: History) -> None:
    for summary in history.runs:
        history_checks = [check for check in summary.checks if check.asset == "marts/user_tag_history"]
        assert history_checks and all(check.passed for check in history_checks), summary.render()
        assert {name: summary.mart_rows[name] > 0 for name in HISTORY_TABLES} == dict.fromkeys(HISTORY_TABLES, True)
    names = {check.name for check in history.runs[-1].checks if check.asset == "marts/user_tag_history"}
    assert any(name.startswith("unique_combination_of_columns_user_tag_history") for name in names), names
    parquet = history.home / "published" / "parquet"
    assert all((parquet / f"{name}.parquet").is_file() for name in HISTORY_TABLES)
    # The columns the tag-trend report reads.
    columns = [row[0] for row in published(history.home, "describe user_tag_history")]
    assert columns[:4] == ["user_id", "tag_code", "tag_value", "first_seen_as_of"]
    assert {"dbt_valid_from", "dbt_valid_to"} <= set(columns)


def test_a_rerun_of_the_same_day_adds_no_versions(history: History) -> None:
    assert history.versions_before_rerun and history.versions_after_rerun == history.versions_before_rerun
    days = sorted({row[0] for row in published(history.home, "select first_seen_as_of from user_tag_history")})
    assert days == [history.days[-3], history.days[-2], history.days[-1]]


def test_value_tier_changes_by_business_day(history: History) -> None:
    changes = published(
        history.home,
        "select valid_from_day, user_id, previous_value, tag_value from user_tag_changes "
        "where tag_code = 'value_tier' and previous_value is not null",
    )
    found = {(day, user): (old, new) for day, user, old, new in changes}
    expected = {}
    for before, after in zip(history.days[-3:-1], history.days[-2:], strict=True):
        tiers_before, tiers_after = history.value_tiers[before], history.value_tiers[after]
        expected |= {
            (after, user): (tiers_before[user], tier)
            for user, tier in tiers_after.items()
            if user in tiers_before and tiers_before[user] != tier
        }
    assert expected and found == expected
    # Each replaced version held until the day of its successor; the current one is today's profile.
    closed = published(
        history.home,
        "select user_id, valid_to_day from user_tag_changes where tag_code = 'value_tier' and not is_current",
    )
    assert sorted(closed) == sorted((user, day) for day, user in found)
    current = published(
        history.home, "select user_id, tag_value from user_tag_changes where tag_code = 'value_tier' and is_current"
    )
    assert dict(current) == history.value_tiers[history.days[-1]]


def test_audience_members_carry_their_top_recommended_products(history: History) -> None:
    mismatched = published(
        history.home,
        """
        with top as (
            select user_id, string_agg(product_id, ',' order by rank) as products
            from user_recommendations where rank <= 3 group by user_id
        )
        select members.user_id, members.recommended_products, top.products
        from audience_members as members left join top on members.user_id = top.user_id
        where members.recommended_products is distinct from top.products
        """,
    )
    assert mismatched == []
    (with_products,) = published(
        history.home, "select count(*) from audience_members where len(string_split(recommended_products, ',')) = 3"
    )[0]
    assert with_products > 0


def test_exports_leave_out_members_contacted_twice_in_seven_days(history: History) -> None:
    def users(result: ExportResult) -> set[str]:
        with result.path.open(newline="", encoding="utf-8") as handle:
            return {row["user_id"] for row in csv.DictReader(handle)}

    first, second, third = (history.exports[day] for day in history.days[-3:])
    assert first.rows > 0 and not {"no_consent", "frequency_cap", "fatigue"} & set(first.excluded)
    # The rerun's export replaced the first daily export: its members are counted once.
    contacted_twice = users(first) & users(second)
    with duckdb.connect(str(history.home / "published" / "marts.duckdb"), read_only=True) as conn:
        conn.execute(f"attach '{history.home / 'warehouse.duckdb'}' as warehouse (read_only)")
        members, no_contact = (
            {user for (user,) in conn.execute(sql, [AUDIENCE]).fetchall()}
            for sql in (
                "select user_id from audience_members where audience_id = ?",
                "select user_id from audience_members join warehouse.staging.stg_users using (user_id) "
                "where audience_id = ? and (channel = 'sms' and phone_hash is null "
                "or channel = 'email' and email_hash is null)",
            )
        )
    reachable = members - no_contact
    assert contacted_twice & reachable, "some members were on every day's list"
    assert third.excluded.get("fatigue") == len(contacted_twice & reachable)
    assert users(third) == reachable - contacted_twice
