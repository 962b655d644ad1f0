"""A daily run costs a day's ML work (ml_assets/incremental.py, docs/ml.md "Daily runs").

One module home: a backfill of the first days, an approved row-wise propensity model scoring the
backfill's last day, then a one-day run of the next day. That run recomputes the recommendations and
scores of only the users active that day — each equal to a full recompute — keeps everyone else's,
assigns clusters to the existing centroids, and leaves the holdout evaluation to the weekly job.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
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

pytestmark = pytest.mark.slow  # a backfill and a one-day run of the whole graph

USERS, DAYS, START = 300, 10, date(2026, 6, 1)
LAST = START + timedelta(days=DAYS - 1)
MODEL_FEATURES = ["sessions_30d", "events_30d", "orders", "days_since_last_active"]


@dataclass
class Daily:
    settings: Settings
    before: dict[str, pd.DataFrame]  # the ml tables after the backfill (and the model's rescoring)
    after: dict[str, pd.DataFrame]  # … after the one-day run
    model: propensity.PropensityModel
    metadata: dict[str, dict]  # the one-day run's materialization metadata by asset


def _tables(home: Path, *tables: str) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return {table: conn.execute(f"select * from {table}").df() for table in tables}


ML_TABLES = ("ml.user_clusters", "ml.purchase_propensity", "ml.user_recommendations", "facts.ml_features_score")


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


@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Iterator[Daily]:
    from huaxiang.runner import run_pipeline

    with huaxiang_home(tmp_path_factory.mktemp("ml-daily")) as settings:
        generate(
            GeneratorConfig(users=USERS, days=DAYS, start=START, seed=5),
            settings.landing_dir,
            settings.truth_dir,
            progress=False,
        )
        backfill = run_pipeline(settings, first_day=START, last_day=LAST - timedelta(days=1), progress=False)
        assert backfill.success, backfill.render()
        model = _approve_logistic_model(settings)
        scoring = [asset for asset in build_ml_assets() if asset.key == PURCHASE_PROPENSITY]
        rescored = dg.materialize(scoring, resources={"warehouse": WarehouseResource(home=str(settings.home))})
        assert rescored.success
        before = _tables(settings.home, *ML_TABLES)
        day = run_pipeline(settings, first_day=LAST, last_day=LAST, progress=False)
        assert day.success, day.render()
        yield Daily(settings, before, _tables(settings.home, *ML_TABLES), model, _metadata(day.run_id))


def _active_on(home: Path, relation: str, day: date) -> set[str]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute(f"select distinct user_id from {relation} where activity_date = ?", [day]).fetchall()
    return {row[0] for row in rows}


def test_recommendations_are_recomputed_for_the_day_s_active_users_only(daily: Daily) -> None:
    before = daily.before["ml.user_recommendations"]
    after = daily.after["ml.user_recommendations"]
    users = set(daily.after["facts.ml_features_score"]["user_id"])
    new_users = users - set(before["user_id"])
    active = _active_on(daily.settings.home, incremental.USER_PRODUCT_DAILY, LAST) | new_users
    recomputed = set(after.loc[after["as_of"] == pd.Timestamp(LAST), "user_id"])
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
    with duckdb.connect(str(daily.settings.home / "warehouse.duckdb"), read_only=True) as conn:
        full = recommendations.recommend(conn, pd.Series(sorted(recomputed)), LAST, MLConfig.from_env().recommendations)
    fresh = after[after["user_id"].isin(recomputed)].drop(columns="as_of")
    pd.testing.assert_frame_equal(
        fresh.sort_values(["user_id", "rank"], ignore_index=True),
        full.sort_values(["user_id", "rank"], ignore_index=True),
    )


def test_scores_are_recomputed_for_changed_users_and_carried_for_the_rest(daily: Daily) -> None:
    before = daily.before["ml.purchase_propensity"]
    previous = before[before["as_of"] == pd.Timestamp(LAST - timedelta(days=1))].set_index("user_id")
    assert previous["model_kind"].unique().tolist() == ["logistic_regression"]
    after = daily.after["ml.purchase_propensity"]
    today = after[after["as_of"] == pd.Timestamp(LAST)].set_index("user_id").sort_index()
    features = daily.after["facts.ml_features_score"].set_index("user_id").sort_index()
    assert list(today.index) == list(features.index)  # one score per current user for the new day

    home = daily.settings.home
    changed = (
        _active_on(home, incremental.USER_DAILY, LAST)
        | (set(features.index) - set(previous.index))
        | _versions_from(home, LAST)
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


def _versions_from(home: Path, day: date) -> set[str]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute(
            f"select distinct user_id from {incremental.USER_VERSIONS} where valid_from_date > ?",
            [day - timedelta(days=1)],
        ).fetchall()
    return {row[0] for row in rows}


def test_clusters_are_assigned_to_the_weekly_centroids(daily: Daily) -> None:
    before, after = daily.before["ml.user_clusters"], daily.after["ml.user_clusters"]
    assert after["model_version"].unique().tolist() == before["model_version"].unique().tolist()
    assert (after["as_of"] == pd.Timestamp(LAST)).all()
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
