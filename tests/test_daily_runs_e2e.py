"""A shop's daily runs through the whole graph: a backfill, then two daily runs (land a day, run
it, land the next) with a rerun of the first daily day in between, and an export of one audience
after each day. One module home (300 users × 10 days) serves two concerns:

Tag history and send lists (docs/marts.md, docs/operations.md):
* The snapshot step (dbt_history) runs after the marts with its dbt tests as checks, and the
  published snapshot holds user_tag_history, user_tag_changes and user_recommendations.
* user_tag_changes answers "when did this user's value tier change" by business day: exactly the
  users whose published value tier differs from the day before, on that day; a rerun of the same
  day adds no version.
* audience_members carries each member's top recommended products in rank order.
* Exports across the three days: the third day leaves out the members already sent twice (N = 2).

A daily run costs a day's ML work (ml_assets/incremental.py, docs/ml.md "Daily runs"): after the
backfill an approved row-wise propensity model scores the backfill's last day; the first daily run
then recomputes the recommendations and scores of only the users active that day — each equal to a
full recompute — keeps everyone else's, assigns clusters to the existing centroids, and leaves the
holdout evaluation to the weekly job.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from huaxiang.commands.export import ExportResult, export_audience
from huaxiang.commands.run import RunSummary, run_pipeline
from huaxiang.generator import GeneratorConfig, generate
from huaxiang.settings import Settings
from ml_assets import clustering, incremental, propensity, recommendations
from ml_assets.config import MLConfig
from ml_assets.metrics import deciles
from ml_assets.registry import ModelRecord, ModelRegistry, new_version
from orchestration.assets.ml import (
    PURCHASE_PROPENSITY,
    RECOMMENDATION_EVALUATION,
    RETRAIN_JOB,
    USER_RECOMMENDATIONS,
    build_ml_assets,
)
from orchestration.resources import WarehouseResource
from tests.conftest import huaxiang_home

pytestmark = pytest.mark.slow  # four runs of the whole graph

USERS, DAYS, SEED = 300, 10, 7
AUDIENCE = "ready_to_buy"
HISTORY_TABLES = ("user_tag_history", "user_tag_changes", "user_recommendations")
ML_TABLES = ("ml.user_clusters", "ml.purchase_propensity", "ml.user_recommendations", "facts.ml_features_score")
MODEL_FEATURES = ["sessions_30d", "events_30d", "orders", "days_since_last_active"]


@dataclass
class Daily:
    settings: Settings
    days: list[date]
    runs: list[RunSummary] = field(default_factory=list)  # backfill, day 9, rerun of day 9, day 10
    value_tiers: dict[date, dict[str, str]] = field(default_factory=dict)  # published, per as_of day
    versions_before_rerun: list[tuple] = field(default_factory=list)
    versions_after_rerun: list[tuple] = field(default_factory=list)
    exports: dict[date, ExportResult] = field(default_factory=dict)
    # The first daily run's ML work: the ml tables before it (after the backfill and the model's
    # rescoring) and after it, the approved model, its materialization metadata by asset, and the
    # users with a new user version on that day.
    ml_before: dict[str, pd.DataFrame] = field(default_factory=dict)
    ml_after: dict[str, pd.DataFrame] = field(default_factory=dict)
    model: propensity.PropensityModel | None = None
    metadata: dict[str, dict] = field(default_factory=dict)
    new_versions: set[str] = field(default_factory=set)

    @property
    def home(self) -> Path:
        return self.settings.home

    @property
    def ml_day(self) -> date:
        return self.days[-2]


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


def _tables(home: Path, *tables: str) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return {table: conn.execute(f"select * from {table}").df() for table in tables}


def _approve_logistic_model(settings: Settings) -> propensity.PropensityModel:
    """An approved model that scores row by row (the small home is too short to train one: H = 30)."""
    features = _tables(settings.home, "facts.ml_features_score")["facts.ml_features_score"]
    estimator = make_pipeline(SimpleImputer(), LogisticRegression()).fit(
        features[MODEL_FEATURES].astype(float), features["sessions_7d"] > 0
    )
    model = propensity.PropensityModel(estimator, MODEL_FEATURES, 30, "logistic_regression")
    record = ModelRecord(propensity.FAMILY, new_version(), "approved", model.kind, "2026-12-07T00:00:00+00:00")
    ModelRegistry(settings.models_dir, propensity.FAMILY).save(model, record)
    return model


def _metadata(run_id: str) -> dict[str, dict]:
    with dg.DagsterInstance.get() as instance:
        records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
        return {
            record.event_log_entry.asset_materialization.asset_key.to_user_string(): {
                key: value.value for key, value in record.event_log_entry.asset_materialization.metadata.items()
            }
            for record in records
        }


def _versions_on(home: Path, day: date) -> set[str]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute(
            f"select distinct user_id from {incremental.USER_VERSIONS} where valid_from_date = ?", [day]
        ).fetchall()
    return {row[0] for row in rows}


@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Iterator[Daily]:
    home = tmp_path_factory.mktemp("daily-runs")
    aside = home / "not-yet-landed"
    with huaxiang_home(home) as settings:
        report = generate(
            GeneratorConfig(users=USERS, days=DAYS, seed=SEED), settings.landing_dir, settings.truth_dir, progress=False
        )
        result = Daily(settings, list(report.days))
        *backfill, first_daily, second_daily = result.days
        for day in (first_daily, second_daily):
            move_day(settings.landing_dir, aside, day)

        def run_and_export(first: date, last: date) -> RunSummary:
            summary = run_pipeline(settings, first_day=first, last_day=last, progress=False)
            result.runs.append(summary)
            assert summary.success, summary.render()
            rows = published(home, "select as_of, user_id, value_tier from user_profile where value_tier is not null")
            result.value_tiers[rows[0][0]] = {user: tier for _, user, tier in rows}
            exported = export_audience(settings, AUDIENCE)
            result.exports[exported.day] = exported
            return summary

        run_and_export(backfill[0], backfill[-1])
        result.model = _approve_logistic_model(settings)
        scoring = [asset for asset in build_ml_assets() if asset.key == PURCHASE_PROPENSITY]
        rescored = dg.materialize(scoring, resources={"warehouse": WarehouseResource(home=str(home))})
        assert rescored.success
        result.ml_before = _tables(home, *ML_TABLES)

        move_day(aside, settings.landing_dir, first_daily)
        first_run = run_and_export(first_daily, first_daily)
        result.ml_after = _tables(home, *ML_TABLES)
        result.metadata = _metadata(first_run.run_id)
        result.new_versions = _versions_on(home, first_daily)
        result.versions_before_rerun = history_versions(home)
        run_and_export(first_daily, first_daily)
        result.versions_after_rerun = history_versions(home)
        move_day(aside, settings.landing_dir, second_daily)
        run_and_export(second_daily, second_daily)
        yield result


def test_the_history_step_runs_after_the_marts_with_checks_and_is_published(daily: Daily) -> None:
    for summary in daily.runs:
        history_checks = [check for check in summary.checks if check.asset == "marts/user_tag_history"]
        assert history_checks and all(check.passed for check in history_checks), summary.render()
        assert {name: summary.mart_rows[name] > 0 for name in HISTORY_TABLES} == dict.fromkeys(HISTORY_TABLES, True)
    names = {check.name for check in daily.runs[-1].checks if check.asset == "marts/user_tag_history"}
    assert any(name.startswith("unique_combination_of_columns_user_tag_history") for name in names), names
    parquet = daily.home / "published" / "parquet"
    assert all((parquet / f"{name}.parquet").is_file() for name in HISTORY_TABLES)
    # The columns the tag-trend report reads.
    columns = [row[0] for row in published(daily.home, "describe user_tag_history")]
    assert columns[:4] == ["user_id", "tag_code", "tag_value", "first_seen_as_of"]
    assert {"dbt_valid_from", "dbt_valid_to"} <= set(columns)


def test_a_rerun_of_the_same_day_adds_no_versions(daily: Daily) -> None:
    assert daily.versions_before_rerun and daily.versions_after_rerun == daily.versions_before_rerun
    days = sorted({row[0] for row in published(daily.home, "select first_seen_as_of from user_tag_history")})
    assert days == [daily.days[-3], daily.days[-2], daily.days[-1]]


def test_value_tier_changes_by_business_day(daily: Daily) -> None:
    changes = published(
        daily.home,
        "select valid_from_day, user_id, previous_value, tag_value from user_tag_changes "
        "where tag_code = 'value_tier' and previous_value is not null",
    )
    found = {(day, user): (old, new) for day, user, old, new in changes}
    expected = {}
    for before, after in zip(daily.days[-3:-1], daily.days[-2:], strict=True):
        tiers_before, tiers_after = daily.value_tiers[before], daily.value_tiers[after]
        expected |= {
            (after, user): (tiers_before[user], tier)
            for user, tier in tiers_after.items()
            if user in tiers_before and tiers_before[user] != tier
        }
    assert expected and found == expected
    # Each replaced version held until the day of its successor; the current one is today's profile.
    closed = published(
        daily.home,
        "select user_id, valid_to_day from user_tag_changes where tag_code = 'value_tier' and not is_current",
    )
    assert sorted(closed) == sorted((user, day) for day, user in found)
    current = published(
        daily.home, "select user_id, tag_value from user_tag_changes where tag_code = 'value_tier' and is_current"
    )
    assert dict(current) == daily.value_tiers[daily.days[-1]]


def test_audience_members_carry_their_top_recommended_products(daily: Daily) -> None:
    mismatched = published(
        daily.home,
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
        daily.home, "select count(*) from audience_members where len(string_split(recommended_products, ',')) = 3"
    )[0]
    assert with_products > 0


def test_exports_leave_out_members_contacted_twice_in_seven_days(daily: Daily) -> None:
    def users(result: ExportResult) -> set[str]:
        with result.path.open(newline="", encoding="utf-8") as handle:
            return {row["user_id"] for row in csv.DictReader(handle)}

    first, second, third = (daily.exports[day] for day in daily.days[-3:])
    assert first.rows > 0 and not {"no_consent", "frequency_cap", "fatigue"} & set(first.excluded)
    # The rerun's export replaced the first daily export: its members are counted once.
    contacted_twice = users(first) & users(second)
    with duckdb.connect(str(daily.home / "published" / "marts.duckdb"), read_only=True) as conn:
        conn.execute(f"attach '{daily.home / 'warehouse.duckdb'}' as warehouse (read_only)")
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


def _active_on(home: Path, relation: str, day: date) -> set[str]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute(f"select distinct user_id from {relation} where activity_date = ?", [day]).fetchall()
    return {row[0] for row in rows}


def test_recommendations_are_recomputed_for_the_day_s_active_users_only(daily: Daily) -> None:
    before = daily.ml_before["ml.user_recommendations"]
    after = daily.ml_after["ml.user_recommendations"]
    users = set(daily.ml_after["facts.ml_features_score"]["user_id"])
    new_users = users - set(before["user_id"])
    active = _active_on(daily.home, incremental.USER_PRODUCT_DAILY, daily.ml_day) | new_users
    recomputed = set(after.loc[after["as_of"] == pd.Timestamp(daily.ml_day), "user_id"])
    assert recomputed == active & users and 0 < len(recomputed) < len(users)
    assert daily.metadata[USER_RECOMMENDATIONS.to_user_string()]["users_recomputed"] == len(active & users)

    # The others keep their rows and as-of; every current user has recommendations, no one else.
    assert set(after["user_id"]) == users
    kept = after[~after["user_id"].isin(recomputed)].sort_values(["user_id", "rank"], ignore_index=True)
    assert kept["user_id"].nunique() == len(users - recomputed)
    assert daily.metadata[USER_RECOMMENDATIONS.to_user_string()]["users_kept"] == len(users - recomputed)
    previous = before[before["user_id"].isin(users - recomputed)].sort_values(["user_id", "rank"], ignore_index=True)
    pd.testing.assert_frame_equal(kept, previous)

    # The recomputed rows are what a full recompute gives those users.
    with duckdb.connect(str(daily.home / "warehouse.duckdb"), read_only=True) as conn:
        full = recommendations.recommend(
            conn, pd.Series(sorted(recomputed)), daily.ml_day, MLConfig.from_env().recommendations
        )
    fresh = after[after["user_id"].isin(recomputed)].drop(columns="as_of")
    pd.testing.assert_frame_equal(
        fresh.sort_values(["user_id", "rank"], ignore_index=True),
        full.sort_values(["user_id", "rank"], ignore_index=True),
    )


def test_scores_are_recomputed_for_changed_users_and_carried_for_the_rest(daily: Daily) -> None:
    before = daily.ml_before["ml.purchase_propensity"]
    previous = before[before["as_of"] == pd.Timestamp(daily.ml_day - timedelta(days=1))].set_index("user_id")
    assert previous["model_kind"].unique().tolist() == ["logistic_regression"]
    after = daily.ml_after["ml.purchase_propensity"]
    today = after[after["as_of"] == pd.Timestamp(daily.ml_day)].set_index("user_id").sort_index()
    features = daily.ml_after["facts.ml_features_score"].set_index("user_id").sort_index()
    assert list(today.index) == list(features.index)  # one score per current user for the new day

    home = daily.home
    changed = (
        _active_on(home, incremental.USER_DAILY, daily.ml_day)
        | (set(features.index) - set(previous.index))
        | daily.new_versions
    ) & set(features.index)
    metadata = daily.metadata[PURCHASE_PROPENSITY.to_user_string()]
    assert metadata["rescored_users"] == len(changed) and 0 < len(changed) < len(features)
    assert metadata["carried_users"] == len(features) - len(changed)

    full = pd.Series(daily.model.predict(features.reset_index()), index=features.index)
    changed_ids = sorted(changed)
    np.testing.assert_allclose(today.loc[changed_ids, "score"], full.loc[changed_ids], rtol=0, atol=1e-12)
    carried = sorted(set(features.index) - changed)
    np.testing.assert_array_equal(today.loc[carried, "score"], previous.loc[carried, "score"])
    # Deciles are over everyone, as a full scoring ranks them.
    expected = deciles(today["score"].to_numpy(), today.index.to_numpy())
    np.testing.assert_array_equal(today["decile"].to_numpy(), expected)


def test_clusters_are_assigned_to_the_weekly_centroids(daily: Daily) -> None:
    before, after = daily.ml_before["ml.user_clusters"], daily.ml_after["ml.user_clusters"]
    assert after["model_version"].unique().tolist() == before["model_version"].unique().tolist()
    assert (after["as_of"] == pd.Timestamp(daily.ml_day)).all()
    assert len(ModelRegistry(daily.settings.models_dir, clustering.FAMILY).records()) == 1
    assert daily.metadata["ml/user_clusters"]["refitted"] is False


def test_the_holdout_evaluation_runs_weekly_not_daily(daily: Daily) -> None:
    from orchestration.definitions import ALL_ASSETS_JOB, build_definitions

    assert RECOMMENDATION_EVALUATION.to_user_string() not in daily.metadata
    definitions = build_definitions(daily.settings)
    daily_job = definitions.resolve_job_def(ALL_ASSETS_JOB).asset_layer.executable_asset_keys
    weekly_job = definitions.resolve_job_def(RETRAIN_JOB).asset_layer.executable_asset_keys
    assert RECOMMENDATION_EVALUATION not in daily_job and RECOMMENDATION_EVALUATION in weekly_job
    assert {PURCHASE_PROPENSITY, USER_RECOMMENDATIONS} <= daily_job


def test_daily_runs_skip_the_training_rows_and_the_weekly_retrain_rebuilds_them(daily: Daily) -> None:
    """Only a fit reads facts.ml_features_train / ml_labels_train: the backfill (no approved model yet)
    builds them, the daily runs that score with the approved model skip them, and the retrain job
    builds them before it fits (a run for the latest day: it is partitioned like the daily job). Last in
    the file: the retrain rewrites the home's ML outputs and marts."""
    from orchestration.definitions import build_definitions

    training = {"facts/ml_features_train", "facts/ml_labels_train"}
    assert training <= set(_metadata(daily.runs[0].run_id))
    for summary in daily.runs[1:]:
        assert not training & set(_metadata(summary.run_id)), summary.run_id
    assert "facts/ml_features_score" in daily.metadata

    with dg.DagsterInstance.get() as instance:
        retrain = (
            build_definitions(daily.settings)
            .resolve_job_def(RETRAIN_JOB)
            .execute_in_process(instance=instance, partition_key=daily.days[-1].isoformat(), raise_on_error=False)
        )
    assert retrain.success
    materialized = set(_metadata(retrain.run_id))
    assert training | {"ml/propensity_model", "ml/user_clusters", "ml/recommendation_evaluation"} <= materialized
