"""Marketing marts on generated data: the A/B lift against the generator's true lift, audiences
re-checked in pandas, segment suppression, cohorts re-counted; and the normal-tail macro.

One module-scoped warehouse: 10 000 users × 60 days landed, loaded, and built with `dbt build`
(every model and test upstream of the four marketing marts). The ML step is not under test: a
stand-in `ml` schema scores users with the generator's true purchase probability, so the
propensity audiences have something to select.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import reduce
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from huaxiang.codegen.audiences import Activity, AllOf, AnyOf, Audience, Comparison, Condition, Not, load_audiences
from huaxiang.contract import RAW_TABLES
from huaxiang.dbt_manifest import dbt_executable
from huaxiang.settings import DBT_PROJECT_DIR
from huaxiang.warehouse import connect, load_partition
from tests.dbt_fixtures import ML_TABLES

MARKETING_MARTS = ("segment_summary", "audience_members", "campaign_performance", "cohort_retention")
USERS, DAYS, HOLDOUT_DAYS, SEED = 10_000, 60, 14, 11
# Campaigns this large have >= ~120 users in the control arm (var lift_min_arm_users is 100): 12 of
# the 13 generated campaigns at 10,000 users (at 20,000 users, until 2026-12, the bound was 1,000).
LARGE_CAMPAIGN_USERS = 600


def run_dbt(home: Path, *args: str, variables: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HUAXIANG_HOME": str(home), "HUAXIANG_TARGET": "duckdb", "HUAXIANG_TIMEZONE": "Asia/Shanghai"}
    command = [dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    command += ["--target-path", str(home / "dbt_target"), "--log-path", str(home / "dbt_logs")]
    if variables:
        command += ["--vars", json.dumps(variables)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, f"dbt {' '.join(args)} failed:\n{completed.stdout[-6000:]}"
    return completed


@dataclass(frozen=True)
class Shop:
    home: Path

    def df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        with connect(self.home / "warehouse.duckdb", read_only=True) as conn:
            return conn.execute(sql, params or []).df()


def write_ml_stand_in(conn: duckdb.DuckDBPyConnection, truth_dir: Path) -> None:
    """ml.purchase_propensity from the true holdout purchase probability (decile 10 = likeliest)."""
    truth = str(truth_dir / "users.parquet")
    conn.execute("create schema if not exists ml")
    conn.execute(
        """
        create or replace table ml.purchase_propensity as
        select
            user_id,
            p_purchase_holdout as score,
            cast(ntile(10) over (order by p_purchase_holdout, user_id) as integer) as decile,
            (select max(_partition_date) from raw.events) as as_of,
            'truth-stand-in' as model_version
        from read_parquet(?)
        """,
        [truth],
    )
    conn.execute(
        """
        create or replace table ml.user_clusters as
        select user_id, 0 as cluster_id, 'all users' as cluster_name from read_parquet(?)
        """,
        [truth],
    )
    # No recommendations: audience members carry no products here (tests/test_daily_runs_e2e.py has them).
    conn.execute(f"create or replace table ml.user_recommendations ({ML_TABLES['user_recommendations']})")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    from huaxiang.generator import GeneratorConfig, generate

    home = tmp_path_factory.mktemp("marketing_home")
    report = generate(
        GeneratorConfig(users=USERS, days=DAYS, holdout_days=HOLDOUT_DAYS, seed=SEED, bad_rate=0.01),
        home / "landing",
        home / "truth",
        progress=False,
    )
    with connect(home / "warehouse.duckdb") as conn:
        for day in report.days:
            for table in RAW_TABLES:
                load_partition(conn, home / "landing", table, day)
        write_ml_stand_in(conn, home / "truth")
    run_dbt(
        home, "build", "--select", *[f"+{mart}" for mart in MARKETING_MARTS], "--exclude-resource-type", "unit_test"
    )
    yield Shop(home)


# ── campaign_performance ────────────────────────────────────────────────────────────────────


@pytest.mark.slow
def test_lift_interval_covers_the_true_lift_of_large_campaigns(shop: Shop) -> None:
    readouts = shop.df(
        """
        select
            performance.campaign_id, truth.true_lift, performance.lift, performance.lift_ci_low,
            performance.lift_ci_high, performance.p_value, performance.insufficient_sample
        from marts.campaign_performance as performance
        inner join read_parquet(?) as truth
            on performance.campaign_id = truth.campaign_id and truth.persona = '__all__'
        where performance.segment = 'all' and performance.variant = 'treatment'
            and truth.users_treatment + truth.users_control >= ?
        order by performance.campaign_id
        """,
        [str(shop.home / "truth" / "campaign_lift.parquet"), LARGE_CAMPAIGN_USERS],
    )
    covered = readouts.true_lift.between(readouts.lift_ci_low, readouts.lift_ci_high)
    summary = readouts.assign(covered=covered).round(4).to_string()
    assert len(readouts) >= 10, summary
    assert covered.mean() >= 0.8, summary
    assert readouts.lift.mean() > 0, summary
    assert not readouts.insufficient_sample.any(), summary


@pytest.mark.slow
def test_arms_match_the_generated_assignment(shop: Shop) -> None:
    arms = shop.df(
        """
        select performance.campaign_id, performance.variant, performance.assigned_users,
            truth.users_treatment, truth.users_control
        from marts.campaign_performance as performance
        inner join read_parquet(?) as truth
            on performance.campaign_id = truth.campaign_id and truth.persona = '__all__'
        where performance.segment = 'all'
        """,
        [str(shop.home / "truth" / "campaign_lift.parquet")],
    )
    expected = arms.users_treatment.where(arms.variant == "treatment", arms.users_control)
    assert (arms.assigned_users == expected).all()
    assert arms.campaign_id.nunique() == len(arms) / 2


# ── audience_members ────────────────────────────────────────────────────────────────────────


def matches(condition: Condition, profile: pd.DataFrame, activity: pd.DataFrame) -> pd.Series:
    """The condition evaluated in pandas, independently of the generated SQL (null never matches)."""
    if isinstance(condition, AllOf | AnyOf):
        parts = [matches(item, profile, activity) for item in condition.items]
        return reduce((lambda a, b: a & b) if isinstance(condition, AllOf) else (lambda a, b: a | b), parts)
    if isinstance(condition, Not):
        return ~matches(condition.item, profile, activity)
    if isinstance(condition, Activity):
        flag = activity.is_active if condition.kind == "active" else activity.orders > 0
        days = activity.days_ago.between(condition.first_day, condition.last_day)
        return profile.user_id.isin(activity.user_id[flag & days])
    assert isinstance(condition, Comparison)
    column = profile[condition.field.column]
    known = column.notna()
    value = condition.value
    tests = {
        "=": lambda: column == value,
        "!=": lambda: column != value,
        "<": lambda: column < value,
        "<=": lambda: column <= value,
        ">": lambda: column > value,
        ">=": lambda: column >= value,
        "in": lambda: column.isin(value),
        "not_in": lambda: ~column.isin(value),
        "between": lambda: column.between(*value),
        "is_null": lambda: ~known,
        "is_not_null": lambda: known,
    }
    result = tests[condition.op]()
    return (result if condition.op in ("is_null", "is_not_null") else known & result).fillna(False).astype(bool)


def expected_candidates(audience: Audience, profile: pd.DataFrame, activity: pd.DataFrame) -> pd.DataFrame:
    members = profile[matches(audience.where, profile, activity)]
    action = pd.Series(None, index=members.index, dtype=object)
    for rule in reversed(audience.actions):  # the first matching rule wins
        hit = matches(rule.when, members, activity) if rule.when is not None else pd.Series(True, members.index)
        action = action.where(~hit, rule.action)
    return pd.DataFrame({"user_id": members.user_id, "recommended_action": action})


@pytest.fixture(scope="module")
def audience_frames(shop: Shop) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    profile = shop.df("select * from marts.user_profile")
    activity = shop.df(
        """
        select
            daily.user_id, daily.is_active, daily.orders,
            date_diff('day', daily.activity_date, profile.as_of) as days_ago
        from facts.int_user_daily as daily
        inner join marts.user_profile as profile on daily.user_id = profile.user_id
        where daily.activity_date <= profile.as_of
        """
    )
    candidates = shop.df("select * from marts.mkt_audience_candidates")
    members = shop.df("select * from marts.audience_members")
    return profile, activity, candidates, members


@pytest.mark.slow
def test_every_shipped_audience_selects_what_its_definition_says(audience_frames) -> None:
    profile, activity, candidates, members = audience_frames
    # Only users with marketing consent are candidates: no published mart plans to contact anyone else.
    consenting = profile[profile.marketing_consent.fillna(False).astype(bool)]
    assert len(consenting) < len(profile), "the generated shop must have users without consent"
    for audience in load_audiences():
        expected = expected_candidates(audience, consenting, activity).sort_values("user_id").reset_index(drop=True)
        found = (
            candidates.loc[candidates.audience_id == audience.audience_id, ["user_id", "recommended_action"]]
            .sort_values("user_id")
            .reset_index(drop=True)
        )
        assert len(expected) > 0, audience.audience_id
        pd.testing.assert_frame_equal(found, expected, check_dtype=False, obj=audience.audience_id)
        assert (members.audience_id == audience.audience_id).any(), f"{audience.audience_id} has no member"


@pytest.mark.slow
def test_members_have_consent_and_respect_the_frequency_cap(audience_frames) -> None:
    profile, _, candidates, members = audience_frames
    consent = profile.set_index("user_id").marketing_consent.fillna(False).astype(bool)
    assert consent[members.user_id].all()
    assert not consent.all(), "the generated shop must have users without consent for this test to mean anything"
    per_user = members.groupby(["as_of", "user_id"]).size()
    assert per_user.max() <= 2 and (per_user == 2).any()

    # Members are exactly the consenting candidates' two best-priority audiences.
    consenting = candidates[candidates.user_id.map(consent)]
    expected = consenting.sort_values(["user_id", "priority"]).groupby("user_id").head(2)
    pairs = lambda frame: set(zip(frame.user_id, frame.audience_id, strict=True))  # noqa: E731
    assert pairs(members) == pairs(expected)
    assert pairs(candidates) - pairs(members), "the cap and consent removed nobody"


# ── segment_summary ─────────────────────────────────────────────────────────────────────────


@pytest.mark.slow
def test_segment_counts_and_suppression(shop: Shop, tmp_path: Path) -> None:
    summary = shop.df("select * from marts.segment_summary")
    counts = shop.df(
        """
        select user_tags.tag_code, user_tags.tag_value, count(*) as users
        from marts.user_tags as user_tags
        inner join marts.dim_tag as dim_tag on user_tags.tag_code = dim_tag.tag_code
        where dim_tag.value_type <> 'number'
        group by all
        """
    )
    merged = summary.merge(counts, on=["tag_code", "tag_value"], how="outer", suffixes=("", "_expected"))
    merged = merged[merged.tag_code != "all"]
    assert merged.users_expected.notna().all() and merged.tag_value.notna().all()
    shown = merged[~merged.is_suppressed.astype(bool)]
    assert (shown.users == shown.users_expected).all()
    assert (summary.loc[summary.tag_code == "all", "users"] == USERS).all()

    k = 500  # rebuild with a large k: many groups fall below it
    run_dbt(shop.home, "run", "--select", "segment_summary", variables={"segment_min_users": k})
    strict = shop.df("select * from marts.segment_summary").merge(counts, on=["tag_code", "tag_value"], how="left")
    run_dbt(shop.home, "run", "--select", "segment_summary")
    strict = strict[strict.tag_code != "all"]
    small = strict.users_y < k
    assert small.any() and (~small).any()
    assert strict.is_suppressed[small].all() and strict.users_x[small].isna().all()
    assert (strict.users_x[~strict.is_suppressed] >= k).all()
    # A tag with exactly one small group also hides its next-smallest group.
    for _, group in strict.groupby("tag_code"):
        if (group.users_y < k).sum() == 1 and len(group) > 1:
            assert group.sort_values(["users_y", "tag_value"]).is_suppressed.iloc[:2].all()


# ── cohort_retention ────────────────────────────────────────────────────────────────────────


@pytest.mark.slow
def test_monthly_cohorts_recount_in_pandas(shop: Shop) -> None:
    cohorts = shop.df("select * from marts.cohort_retention where cohort_grain = 'month'")
    users = shop.df("select user_id, registered_date from staging.stg_users")
    daily = shop.df("select user_id, activity_date, is_active, orders, revenue from facts.int_user_daily")
    first_day, as_of = daily.activity_date.min(), cohorts.as_of.max()
    users = users[(users.registered_date >= first_day) & (users.registered_date <= as_of)]
    month = lambda dates: pd.to_datetime(dates).dt.to_period("M")  # noqa: E731
    users = users.assign(cohort=month(users.registered_date))
    days = (
        daily[daily.activity_date <= as_of].merge(users, on="user_id").assign(period=lambda d: month(d.activity_date))
    )
    user_periods = days.groupby(["cohort", "period", "user_id"]).agg(
        active=("is_active", "any"), orders=("orders", "sum"), revenue=("revenue", "sum")
    )
    by_period = (
        user_periods.assign(bought=lambda d: d.orders > 0)
        .groupby(["cohort", "period"])
        .agg(retained=("active", "sum"), buyers=("bought", "sum"), revenue=("revenue", "sum"))
    )
    expected = by_period.reset_index().assign(period_number=lambda d: (d.period - d.cohort).map(lambda p: p.n))
    found = cohorts.assign(cohort=month(cohorts.cohort_start)).merge(
        expected, on=["cohort", "period_number"], how="left"
    )
    assert len(cohorts) >= 3 and (cohorts.cohort_users == found.cohort.map(users.cohort.value_counts())).all()
    assert (found.retained_users == found.retained.fillna(0)).all()
    assert (found.buyers_x == found.buyers_y.fillna(0)).all()
    assert (found.revenue_x.astype(float) - found.revenue_y.fillna(0).astype(float)).abs().max() < 0.01
    assert ((found.period_number == 0) == (found.period_start == found.cohort_start)).all()


# ── the normal tail in SQL ──────────────────────────────────────────────────────────────────


def test_normal_cdf_and_p_value_macros_match_the_exact_values(tmp_path: Path) -> None:
    """The Abramowitz–Stegun erf approximation behind p-values, against math.erf on [-6, 6]."""
    points = [round(-6 + 0.05 * i, 2) for i in range(241)] + [1.959964]
    values = ", ".join(f"({x})" for x in points)
    inline = (
        f"select x, {{{{ marketing_normal_cdf('x') }}}} as cdf, {{{{ marketing_two_sided_p_value('x') }}}} as p "
        f"from (values {values}) as points(x)"
    )
    completed = run_dbt(tmp_path, "compile", "--quiet", "--inline", inline)
    sql = completed.stdout.strip()
    rows = duckdb.sql(sql).fetchall()
    assert len(rows) == len(points)
    for x, cdf, p in rows:
        x = float(x)
        assert cdf == pytest.approx(0.5 * (1 + math.erf(x / math.sqrt(2))), abs=2e-7), x
        assert p == pytest.approx(math.erfc(abs(x) / math.sqrt(2)), abs=2e-7), x
    assert dict((float(x), p) for x, _, p in rows)[1.959964] == pytest.approx(0.05, abs=1e-6)
