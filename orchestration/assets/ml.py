"""ML assets: the Dagster wiring of `ml_assets` (docs/ml.md). They read the point-in-time feature tables
of the facts step, fit in Python and write schema `ml`, which dbt declares as a source for the marts.
What a step does between reading and writing is `ml_assets.steps`; this file holds the asset
definitions, their check specs and the conversion of their metadata to Dagster's.

Reads and writes go through the target's engine (`warehouse.engine()`: DuckDB, or Spark with each
call in a child process — reads a step needs together are one `engine.call`). Every step claims
the warehouse writer pool: even a read-only DuckDB connection collides with a writer in another
process, and the writes are short. Engines are opened per block and closed before fitting.
Model-quality gates are asset checks computed with the asset; an output that fails a blocking
gate is not written (the previous one stays) and everything downstream is skipped.

No `from __future__ import annotations`: Dagster inspects the `context` annotations.
"""

import functools
import math
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from ml_assets import clustering, features, gates, incremental, propensity, steps
from ml_assets.config import ClusteringConfig, MLConfig, PropensityConfig, RecommendationConfig
from ml_assets.failures import failure_message
from ml_assets.registry import ModelRegistry
from orchestration.resources import WAREHOUSE_WRITER_POOL, WarehouseResource

ML_GROUP = "ml"
OWNERS = ["team:data-science"]
USER_CLUSTERS = dg.AssetKey(["ml", "user_clusters"])
PROPENSITY_MODEL = dg.AssetKey(["ml", "propensity_model"])
PURCHASE_PROPENSITY = dg.AssetKey(["ml", "purchase_propensity"])
USER_RECOMMENDATIONS = dg.AssetKey(["ml", "user_recommendations"])
RECOMMENDATION_EVALUATION = dg.AssetKey(["ml", "recommendation_evaluation"])
SCORE_FEATURES = dg.AssetKey(["facts", "ml_features_score"])
TRAIN_FEATURES = dg.AssetKey(["facts", "ml_features_train"])
TRAIN_LABELS = dg.AssetKey(["facts", "ml_labels_train"])
CATEGORY_MIX = dg.AssetKey(["facts", "ml_user_category_mix"])
USER_PRODUCT_DAILY = dg.AssetKey(["facts", "int_user_product_daily"])
RETRAIN_JOB = "ml_weekly_retrain"
WEEKLY_ASSETS = (PROPENSITY_MODEL, RECOMMENDATION_EVALUATION)  # in the retrain job, not in the daily one
# Only a fit reads them: the retrain job builds them, a daily run only while no model is approved.
TRAINING_ASSETS = (TRAIN_FEATURES, TRAIN_LABELS)


def models_dir(warehouse: WarehouseResource) -> Path:
    return Path(warehouse.home) / "models"


def _spec(asset: dg.AssetKey, name: str, description: str, *, blocking: bool = True) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset=asset, blocking=blocking, description=description)


def _result(outcome: gates.GateOutcome, *, blocking: bool = True) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=outcome.name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        description=outcome.description,
        metadata={key: value for key, value in outcome.metadata.items() if value is not None},
    )


@contextmanager
def model_failures(asset: dg.AssetKey, doing: str) -> Iterator[None]:
    """Any exception of a fit becomes a one-line `dg.Failure` naming the asset and the cause (what
    `huaxiang run` prints for the failed step); the original trace stays chained in the run log."""
    try:
        yield
    except dg.Failure:
        raise
    except Exception as error:
        raise dg.Failure(description=failure_message(asset.to_user_string(), error, doing)) from error


def _value(value: Any) -> Any:
    if isinstance(value, steps.Number):
        number = value.value  # rounded; NaN is shown as n/a
        return dg.MetadataValue.text("n/a") if math.isnan(number) else dg.MetadataValue.float(round(float(number), 4))
    if isinstance(value, steps.Markdown):
        return dg.MetadataValue.md(value.text)
    if isinstance(value, steps.Json):
        return dg.MetadataValue.json(value.value)
    if isinstance(value, steps.FilePath):
        return dg.MetadataValue.path(value.path)
    return value


def _metadata(values: dict[str, Any]) -> dict[str, Any]:
    """The plain metadata of `ml_assets.steps` as Dagster's (None values left out)."""
    return {
        "dagster/row_count" if key == steps.ROW_COUNT else key: _value(value)
        for key, value in values.items()
        if value is not None
    }


def daily_run_assets(models_dir: Path, job_assets: Iterable[dg.AssetKey]) -> list[dg.AssetKey] | None:
    """What a run of the daily job materializes: all of it (None) while no propensity model is approved
    (its scoring step then trains one first, from the training rows), afterwards all but the training
    rows, which only a fit reads (the weekly retrain builds them before it fits)."""
    if ModelRegistry(models_dir, propensity.FAMILY).latest("approved") is None:
        return None
    return sorted((key for key in job_assets if key not in TRAINING_ASSETS), key=lambda key: key.path)


def one_day(context: dg.AssetExecutionContext) -> date | None:
    """The day of a single-partition run outside the weekly retrain: the ML steps then redo only what
    the day changed (ml_assets/incremental.py). A range, an unpartitioned run or the retrain: None,
    everything is computed."""
    if context.job_name == RETRAIN_JOB:
        return None
    tags = context.run.tags
    day = tags.get(PARTITION_NAME_TAG) or tags.get(ASSET_PARTITION_RANGE_START_TAG)
    if day is None or tags.get(ASSET_PARTITION_RANGE_END_TAG, day) != day:
        return None
    return date.fromisoformat(day)


def build_clusters_asset(config: ClusteringConfig) -> dg.AssetsDefinition:
    @dg.asset(
        key=USER_CLUSTERS,
        deps=[SCORE_FEATURES, CATEGORY_MIX],
        group_name=ML_GROUP,
        kinds={"python", "scikit-learn", "duckdb"},
        owners=OWNERS,
        pool=WAREHOUSE_WRITER_POOL,
        description="Behaviour cluster of every user (ml.user_clusters): KMeans on standardised, "
        "outlier-robust features (RFM, category mix, price and coupon sensitivity, hours, platform, "
        "engagement), k chosen by silhouette; ids matched to the previous model, readable names from "
        "the cluster profile. Per user: cluster id, name (en/zh), distance and confidence. Refitted by "
        "the weekly retrain, a multi-day run or without a model; a daily run assigns users to the "
        "approved model's centroids.",
        check_specs=[
            _spec(USER_CLUSTERS, gates.CLUSTERS_COVER_USERS, "Every user of the feature table is in one cluster."),
            _spec(USER_CLUSTERS, gates.NO_SMALL_CLUSTERS, "No cluster holds less than the minimum share of users."),
        ],
    )
    def user_clusters(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        registry = ModelRegistry(models_dir(warehouse), clustering.FAMILY)
        with warehouse.engine(read_only=True) as engine:
            feature_frame, mix = engine.call(steps.read_cluster_inputs)
        previous = registry.latest("approved")
        refit = previous is None or one_day(context) is None
        if refit:
            with model_failures(USER_CLUSTERS, "fitting the clusters"):
                result = clustering.fit_clusters(
                    feature_frame, mix, registry.load(previous.version)[0] if previous else None, config
                )
            model, assignments = result.model, result.assignments
            for feature, reason in model.dropped_features.items():
                context.log.info(f"Feature {feature} left out of the clusters: {reason}")
        else:
            model = registry.load(previous.version)[0]
            with model_failures(USER_CLUSTERS, f"assigning users to the centroids of {previous.version}"):
                assignments = clustering.assign_clusters(feature_frame, mix, model, config)
        outcomes = gates.cluster_gates(assignments, feature_frame["user_id"], config.min_cluster_share)
        passed = all(outcome.passed for outcome in outcomes)
        profile = clustering.describe_clusters(feature_frame, mix, assignments)
        if refit:
            record = steps.cluster_record(model, passed)
            registry.save(model, record)
        else:
            record = previous
        output = assignments.assign(as_of=steps.as_of(feature_frame), model_version=record.version)
        if passed:
            with warehouse.engine() as engine:
                features.replace_table(engine, "user_clusters", output)
        else:
            context.log.warning("Cluster gates failed: ml.user_clusters keeps its previous rows.")
        metadata = steps.cluster_metadata(
            output, written=passed, refit=refit, record=record, previous=previous, model=model, profile=profile
        )
        return dg.MaterializeResult(
            metadata=_metadata(metadata), check_results=[_result(outcome) for outcome in outcomes]
        )

    return user_clusters


def _train(
    warehouse: WarehouseResource,
    config: PropensityConfig,
    score_features: pd.DataFrame,
    registry: ModelRegistry,
    asset: dg.AssetKey = PROPENSITY_MODEL,
) -> tuple[propensity.TrainingOutcome, float]:
    """Read the training rows, fit and register a propensity model; also the seconds it took."""
    started = time.perf_counter()
    with warehouse.engine(read_only=True) as engine:
        try:
            training, names = steps.read_training(engine, config)
        except steps.TrainingDataError as error:
            raise dg.Failure(str(error)) from None
    with model_failures(asset, "fitting the propensity model"):
        outcome = propensity.train_and_register(training, names, score_features, registry, config)
    return outcome, time.perf_counter() - started


def _log_fit(context: dg.AssetExecutionContext, outcome: propensity.TrainingOutcome) -> None:
    for feature, reason in outcome.fit.dropped_features.items():
        context.log.info(f"Feature {feature} left out of the propensity model: {reason}")
    if outcome.fit.fallback_reason:
        context.log.warning(f"Propensity fallback ({propensity.HEURISTIC_KIND}): {outcome.fit.fallback_reason}")


def build_propensity_model_asset(config: PropensityConfig) -> dg.AssetsDefinition:
    @dg.asset(
        key=PROPENSITY_MODEL,
        deps=[TRAIN_FEATURES, TRAIN_LABELS, SCORE_FEATURES],
        group_name=ML_GROUP,
        kinds={"python", "scikit-learn"},
        owners=OWNERS,
        pool=WAREHOUSE_WRITER_POOL,
        description="Weekly retrain of the purchase-propensity model: gradient boosting vs. a logistic "
        "baseline on point-in-time features (as of T-H-k·step, labels from the next H days), chosen on "
        "a time-based validation split, calibrated, saved as a new version under "
        "$HUAXIANG_HOME/models/propensity/ — approved only if it passes the quality gates.",
        check_specs=[
            _spec(PROPENSITY_MODEL, gates.AUC_FLOOR, "Validation ROC-AUC is at least the configured floor."),
            _spec(
                PROPENSITY_MODEL,
                gates.NO_REGRESSION,
                "Validation ROC-AUC is no worse than the last approved model's by more than the tolerance.",
            ),
        ],
    )
    def propensity_model(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        registry = ModelRegistry(models_dir(warehouse), propensity.FAMILY)
        with warehouse.engine(read_only=True) as engine:
            score_features = features.read_frame(engine, features.SCORE_FEATURES, propensity.FALLBACK_INPUTS)
        outcome, fit_seconds = _train(warehouse, config, score_features, registry)
        _log_fit(context, outcome)
        return dg.MaterializeResult(
            metadata=_metadata({**steps.model_metadata(outcome), steps.FIT_SECONDS: steps.Number(fit_seconds)}),
            check_results=[_result(o) for o in outcome.gates],
        )

    return propensity_model


def build_scoring_asset(config: PropensityConfig) -> dg.AssetsDefinition:
    @dg.asset(
        key=PURCHASE_PROPENSITY,
        deps=[SCORE_FEATURES, PROPENSITY_MODEL, *TRAINING_ASSETS],  # the training rows: when it trains first
        group_name=ML_GROUP,
        kinds={"python", "scikit-learn", "duckdb"},
        owners=OWNERS,
        pool=WAREHOUSE_WRITER_POOL,
        description="Daily purchase-propensity scores (ml.purchase_propensity): calibrated probability "
        "of >= 1 paid order in the next H days for every user, with decile (10 = likeliest), as_of and "
        "model_version. Uses the latest approved model; without one it trains one first. A rejected "
        "model is never used (the order-rate heuristic scores instead).",
        check_specs=[
            _spec(PURCHASE_PROPENSITY, gates.SCORES_IN_RANGE, "Every score is a probability in [0, 1]."),
            _spec(PURCHASE_PROPENSITY, gates.EVERY_USER_SCORED, "Every eligible user is scored exactly once."),
            _spec(
                PURCHASE_PROPENSITY,
                gates.SCORE_DRIFT,
                "Population stability index of the scores vs. the previous scoring day (warning).",
                blocking=False,
            ),
        ],
    )
    def purchase_propensity(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        registry = ModelRegistry(models_dir(warehouse), propensity.FAMILY)
        with warehouse.engine(read_only=True) as engine:
            users = features.read_frame(engine, features.SCORE_FEATURES, list(features.KEY_COLUMNS))
        as_of = steps.as_of(users)
        read_only = functools.partial(warehouse.engine, read_only=True)
        carry = steps.carry_forward(read_only, registry, as_of) if as_of and one_day(context) else None
        fit_seconds = 0.0
        if carry is not None:
            choice, plan = carry
            with model_failures(PURCHASE_PROPENSITY, f"scoring with {choice.model.kind} {choice.version}"):
                scored = propensity.score_users(choice.model, plan.features, choice.version)
            scores = incremental.carry_scores(scored, plan.carried, as_of, choice.model, choice.version)
            rescored = len(scored)
        else:
            with warehouse.engine(read_only=True) as engine:
                score_features = features.read_frame(engine, features.SCORE_FEATURES)

            def train_now() -> propensity.TrainingOutcome:
                nonlocal fit_seconds
                outcome, fit_seconds = _train(warehouse, config, score_features, registry, PURCHASE_PROPENSITY)
                _log_fit(context, outcome)
                return outcome

            choice = propensity.choose_scoring_model(registry, train_now, score_features, config)
            with model_failures(PURCHASE_PROPENSITY, f"scoring with {choice.model.kind} {choice.version}"):
                scores = propensity.score_users(choice.model, score_features, choice.version)
            rescored = len(scores)
        context.log.info(choice.note)
        outcomes = gates.score_gates(scores, users["user_id"])
        previous_scores = None
        if as_of:
            with warehouse.engine(read_only=True) as engine:
                previous_scores = engine.call(steps.previous_scores, as_of)
        drift = gates.drift_gate(previous_scores, scores["score"].to_numpy())
        written = all(outcome.passed for outcome in outcomes)
        if written:
            with warehouse.engine() as engine:
                features.replace_rows(engine, "purchase_propensity", scores, key="as_of")
        metadata = steps.scoring_metadata(
            scores, written=written, as_of=as_of, choice=choice, rescored=rescored, fit_seconds=fit_seconds
        )
        return dg.MaterializeResult(
            metadata=_metadata(metadata),
            check_results=[*(_result(o) for o in outcomes), _result(drift, blocking=False)],
        )

    return purchase_propensity


def build_recommendations_asset(config: RecommendationConfig) -> dg.AssetsDefinition:
    @dg.asset(
        key=USER_RECOMMENDATIONS,
        deps=[USER_PRODUCT_DAILY, SCORE_FEATURES],
        group_name=ML_GROUP,
        kinds={"python", "duckdb"},
        owners=OWNERS,
        pool=WAREHOUSE_WRITER_POOL,
        description="Top-N products per user (ml.user_recommendations): DuckDB sums each user's product "
        "interactions, then sparse matrices score item-item co-occurrence of weighted views/clicks/"
        "favourites/carts/purchases blended with category affinity and popularity (cold users), never "
        "an item the user already bought. A one-day run recomputes only the users who interacted that day "
        "or since their recommendations' as_of (and users without any); the others keep theirs.",
    )
    def user_recommendations(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.engine(read_only=True) as engine:
            fresh, plan, as_of = steps.recommend(engine, one_day(context), config)
        output = incremental.merge_recommendations(fresh, plan.kept)
        with warehouse.engine() as engine:
            features.replace_table(engine, "user_recommendations", output)
        return dg.MaterializeResult(
            metadata=_metadata(steps.recommendation_metadata(output, fresh, plan, as_of, config))
        )

    return user_recommendations


def build_recommendation_evaluation_asset(config: RecommendationConfig) -> dg.AssetsDefinition:
    @dg.asset(
        key=RECOMMENDATION_EVALUATION,
        deps=[USER_PRODUCT_DAILY, SCORE_FEATURES],
        group_name=ML_GROUP,
        kinds={"python", "duckdb"},
        owners=OWNERS,
        pool=WAREHOUSE_WRITER_POOL,
        description="Weekly holdout evaluation of the recommender (in the retrain job, not the daily run): "
        "recommend from the days before the last holdout days and measure hit-rate and recall@N on "
        "those days' purchases against popularity alone (metadata).",
        check_specs=[
            _spec(
                RECOMMENDATION_EVALUATION,
                gates.BEATS_POPULARITY,
                "Hit-rate@N on held-out purchases beats recommending the most popular items (warning).",
                blocking=False,
            )
        ],
    )
    def recommendation_evaluation(warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.engine(read_only=True) as engine:
            evaluation, as_of = steps.evaluate_recommendations(engine, config)
        metadata = steps.evaluation_metadata(evaluation, as_of, config)
        return dg.MaterializeResult(
            metadata=_metadata(metadata), check_results=[_result(steps.evaluation_gate(evaluation), blocking=False)]
        )

    return recommendation_evaluation


def build_ml_assets(config: MLConfig | None = None) -> list[dg.AssetsDefinition]:
    """The five ML assets (group `ml`); `config` defaults to MLConfig.from_env()."""
    config = config or MLConfig.from_env()
    return [
        build_clusters_asset(config.clustering),
        build_propensity_model_asset(config.propensity),
        build_scoring_asset(config.propensity),
        build_recommendations_asset(config.recommendations),
        build_recommendation_evaluation_asset(config.recommendations),
    ]


def build_retrain_job(partitions: dg.PartitionsDefinition) -> "dg.UnresolvedAssetJobDefinition":
    """Partitioned like the daily job because the training rows are facts-layer (partitioned) assets:
    a run is for the latest landed day (the retrain schedule picks it)."""
    return dg.define_asset_job(
        RETRAIN_JOB,
        partitions_def=partitions,
        selection=dg.AssetSelection.assets(PROPENSITY_MODEL, USER_CLUSTERS).downstream()
        | dg.AssetSelection.assets(RECOMMENDATION_EVALUATION, *TRAINING_ASSETS),
        description="Rebuild the training features as of the latest day, fit a new propensity model version "
        "(approved if it passes the gates) and new cluster centroids, rescore every user, evaluate the "
        "recommender on held-out purchases, and refresh the marts and the published snapshot that read "
        "the scores and clusters.",
    )
