"""The ML feature models are point-in-time correct, and the ML assets run on a real generated warehouse.

One module fixture lands 1,500 users × 60 days in two steps (45 days, then 15 later days) and builds
staging → facts with dbt, keeping the features as of a fixed day after each step; then the Dagster
ML assets are materialized on the result.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from ml_assets import clustering, propensity
from ml_assets.config import ClusteringConfig, MLConfig, PropensityConfig
from ml_assets.registry import ModelRegistry
from orchestration.assets.ml import build_ml_assets
from orchestration.resources import WarehouseResource
from tests.test_dbt_staging import load_days, run_dbt

pytestmark = pytest.mark.slow  # five dbt invocations (each re-parses: the vars change)

USERS, DAYS, HOLDOUT, SEED = 1_500, 60, 30, 11
FIRST_STEP = 45
HORIZON = 30
ML_MODELS = "path:models/intermediate/ml"
POINT_IN_TIME_TABLES = ("facts.ml_features_score", "facts.ml_user_category_mix")
# Small data: a cheaper model search than the defaults.
CONFIG = MLConfig(
    clustering=ClusteringConfig(k_min=4, k_max=7, n_init=2),
    propensity=PropensityConfig(calibration_folds=2),
)


@dataclass
class MLHome:
    home: Path
    days: list[date]
    fixed_day: date  # features as of this day are kept after each landing step
    before_later_days: dict[str, pd.DataFrame]
    after_later_days: dict[str, pd.DataFrame]
    scoring_as_of_first_training_day: pd.DataFrame


def read_tables(home: Path, tables: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return {table: conn.execute(f"select * from {table}").df() for table in tables}


def features_as_of(home: Path, day: date, tables: tuple[str, ...] = POINT_IN_TIME_TABLES) -> dict[str, pd.DataFrame]:
    models = " ".join(table.split(".")[1] for table in tables)
    run_dbt(home, "run", "--select", models, variables={"as_of_date": day.isoformat()})
    return read_tables(home, tables)


@pytest.fixture(scope="module")
def ml_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MLHome]:
    from huaxiang.generator import GeneratorConfig, generate

    home = tmp_path_factory.mktemp("ml_home")
    report = generate(
        GeneratorConfig(users=USERS, days=DAYS, holdout_days=HOLDOUT, seed=SEED),
        home / "landing",
        home / "truth",
        progress=False,
    )
    early, later = report.days[:FIRST_STEP], report.days[FIRST_STEP:]
    fixed_day = early[-1] - timedelta(days=5)
    load_days(home, home / "landing", early)
    run_dbt(home, "run", "--select", f"+{ML_MODELS}")
    before = features_as_of(home, fixed_day)

    load_days(home, home / "landing", later)
    window = {"partition_start": later[0].isoformat(), "partition_end": later[-1].isoformat()}
    run_dbt(home, "run", "--select", f"+{ML_MODELS}", variables=window)
    after = features_as_of(home, fixed_day)
    first_training_day = report.days[-1] - timedelta(days=HORIZON)
    scoring_then = features_as_of(home, first_training_day, ("facts.ml_features_score",))["facts.ml_features_score"]
    run_dbt(home, "run", "--select", ML_MODELS)  # back to the latest day
    yield MLHome(home, report.days, fixed_day, before, after, scoring_then)


def sorted_frame(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("user_id", "as_of_date", "category_l1") if c in frame]
    return frame.sort_values(keys, ignore_index=True)


def test_features_do_not_read_rows_after_their_as_of_day(ml_home: MLHome) -> None:
    """Landing 15 later days (events, orders, user and product versions) changes no feature as of an earlier day."""
    for table in POINT_IN_TIME_TABLES:
        before, after = ml_home.before_later_days[table], ml_home.after_later_days[table]
        assert len(before) > 1_000
        assert (before["as_of_date"] == pd.Timestamp(ml_home.fixed_day)).all()
        pd.testing.assert_frame_equal(sorted_frame(before), sorted_frame(after))
    latest = read_tables(ml_home.home, ("facts.ml_features_score",))["facts.ml_features_score"]
    assert (latest["as_of_date"] == pd.Timestamp(ml_home.days[-1])).all()
    assert len(latest) > len(ml_home.after_later_days["facts.ml_features_score"])  # later sign-ups


def test_training_rows_are_the_scoring_features_of_their_as_of_day(ml_home: MLHome) -> None:
    tables = read_tables(ml_home.home, ("facts.ml_features_train", "facts.ml_labels_train"))
    train, labels = tables["facts.ml_features_train"], tables["facts.ml_labels_train"]
    last_day = ml_home.days[-1]
    as_of_days = sorted(train["as_of_date"].dt.date.unique())
    assert as_of_days == [last_day - timedelta(days=HORIZON + k) for k in (14, 7, 0)]
    newest = train[train["as_of_date"] == pd.Timestamp(last_day - timedelta(days=HORIZON))]
    pd.testing.assert_frame_equal(sorted_frame(newest), sorted_frame(ml_home.scoring_as_of_first_training_day))
    assert (labels["label_end_date"] - labels["as_of_date"]).dt.days.eq(HORIZON).all()
    assert labels["label_end_date"].max() == pd.Timestamp(last_day)


def test_labels_count_paid_orders_strictly_after_the_as_of_day(ml_home: MLHome) -> None:
    with duckdb.connect(str(ml_home.home / "warehouse.duckdb"), read_only=True) as conn:
        mismatches = conn.execute(
            """
            select count(*) from facts.ml_labels_train as labels
            where labels.purchased <> exists (
                select 1 from staging.stg_orders as orders
                where orders.user_id = labels.user_id and orders.status = 'paid'
                    and orders.order_date > labels.as_of_date and orders.order_date <= labels.label_end_date
            )
            """
        ).fetchone()[0]
        rate = conn.execute("select avg(purchased::int) from facts.ml_labels_train").fetchone()[0]
    assert mismatches == 0
    assert 0.1 < rate < 0.8


@pytest.fixture(scope="module")
def materialized(ml_home: MLHome) -> dg.ExecuteInProcessResult:
    warehouse = WarehouseResource(home=str(ml_home.home))
    result = dg.materialize(build_ml_assets(CONFIG), resources={"warehouse": warehouse}, raise_on_error=False)
    assert result.success
    return result


def test_ml_assets_write_the_ml_sources_and_pass_their_gates(ml_home: MLHome, materialized) -> None:
    failed = [e.check_name for e in materialized.get_asset_check_evaluations() if not e.passed]
    assert not failed
    tables = read_tables(ml_home.home, ("ml.user_clusters", "ml.purchase_propensity", "ml.user_recommendations"))
    clusters, scores, recs = (
        tables[f"ml.{t}"] for t in ("user_clusters", "purchase_propensity", "user_recommendations")
    )
    users = read_tables(ml_home.home, ("facts.ml_features_score",))["facts.ml_features_score"]["user_id"]
    assert set(clusters["user_id"]) == set(users) == set(scores["user_id"])
    assert {"cluster_id", "cluster_name", "cluster_name_zh", "distance", "confidence", "model_version"} <= set(clusters)
    assert scores["score"].between(0, 1).all() and set(scores["decile"]) == set(range(1, 11))
    assert (pd.to_datetime(scores["as_of"]) == pd.Timestamp(ml_home.days[-1])).all()
    assert (recs.groupby("user_id").size() == CONFIG.recommendations.top_n).all()

    registry = ModelRegistry(ml_home.home / "models", propensity.FAMILY)
    approved = registry.latest("approved")
    assert approved is not None and approved.metrics["roc_auc"] > 0.75
    assert approved.info["split"].startswith("time-based")
    assert scores["model_version"].unique().tolist() == [approved.version]


def test_rerun_keeps_cluster_ids_and_scores_with_the_approved_model(ml_home: MLHome, materialized) -> None:
    before = read_tables(ml_home.home, ("ml.user_clusters",))["ml.user_clusters"]
    assets = [a for a in build_ml_assets(CONFIG) if a.key.path[-1] in ("user_clusters", "purchase_propensity")]
    warehouse = WarehouseResource(home=str(ml_home.home))
    rerun = dg.materialize(assets, resources={"warehouse": warehouse}, raise_on_error=False)
    assert rerun.success
    after = read_tables(ml_home.home, ("ml.user_clusters",))["ml.user_clusters"]
    joined = before.merge(after, on="user_id", suffixes=("_before", "_after"))
    assert (joined["cluster_id_before"] == joined["cluster_id_after"]).mean() > 0.95
    assert (joined["cluster_name_before"] == joined["cluster_name_after"]).mean() > 0.95
    assert len(ModelRegistry(ml_home.home / "models", clustering.FAMILY).records()) == 2
    # Scoring reused the approved model instead of training a second one.
    assert len(ModelRegistry(ml_home.home / "models", propensity.FAMILY).records()) == 1
