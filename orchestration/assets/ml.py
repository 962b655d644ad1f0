"""ML assets: thin wrappers around `ml_assets` (docs/ml.md). They read the point-in-time feature tables
of the facts step, fit in Python and write schema `ml`, which dbt declares as a source for the marts.

Reads and writes go through the target's engine (`warehouse.engine()`: DuckDB, or Spark with each
call in a child process — reads a step needs together are one `engine.call`). Every step claims
the warehouse writer pool: even a read-only DuckDB connection collides with a writer in another
process, and the writes are short. Engines are opened per block and closed before fitting.
Model-quality gates are asset checks computed with the asset; an output that fails a blocking
gate is not written (the previous one stays) and everything downstream is skipped.

No `from __future__ import annotations`: Dagster inspects the `context` annotations.
"""

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from huaxiang.engines import Engine
from ml_assets import clustering, features, gates, incremental, propensity, recommendations
from ml_assets.config import ClusteringConfig, MLConfig, PropensityConfig, RecommendationConfig
from ml_assets.failures import failure_message
from ml_assets.metrics import markdown_table
from ml_assets.registry import ModelRecord, ModelRegistry, new_version
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
FIT_SECONDS = "fit_seconds"  # reading and fitting the training rows; the benchmark's propensity-fit stage
PREVIEW_ROWS = 5


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


def _dropped(dropped: dict[str, str]) -> dg.MetadataValue:
    """The features left out of a fit and why, as a table (or "none")."""
    if not dropped:
        return dg.MetadataValue.text("none")
    table = pd.DataFrame({"feature": list(dropped), "reason": list(dropped.values())})
    return dg.MetadataValue.md(markdown_table(table))


def _number(value: float) -> dg.MetadataValue:
    return dg.MetadataValue.float(round(float(value), 4)) if not math.isnan(value) else dg.MetadataValue.text("n/a")


def _preview(frame: pd.DataFrame) -> dg.MetadataValue:
    return dg.MetadataValue.md(markdown_table(frame.head(PREVIEW_ROWS)))


def _as_of(frame: pd.DataFrame) -> date | None:
    return pd.to_datetime(frame["as_of_date"]).max().date() if len(frame) else None


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


def _read_cluster_inputs(engine: Engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        features.read_frame(engine, features.SCORE_FEATURES, clustering.FEATURE_INPUTS),
        features.read_frame(engine, features.CATEGORY_MIX, ["user_id", "category_l1", "weight"]),
    )


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
            feature_frame, mix = engine.call(_read_cluster_inputs)
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
            record = ModelRecord(
                family=clustering.FAMILY,
                version=new_version(),
                status="approved" if passed else "rejected",
                kind=type(model.kmeans).__name__,
                created_at=pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
                metrics={"silhouette": model.silhouette, "k": int(len(model.ids))},
                info={
                    "silhouette_by_k": model.k_scores,
                    "names": model.names,
                    "names_zh": model.names_zh,
                    "name_words": model.name_keys,
                    "dropped_features": model.dropped_features,
                },
            )
            registry.save(model, record)
        else:
            record = previous
        output = assignments.assign(as_of=_as_of(feature_frame), model_version=record.version)
        if passed:
            with warehouse.engine() as engine:
                features.replace_table(engine, "user_clusters", output)
        else:
            context.log.warning("Cluster gates failed: ml.user_clusters keeps its previous rows.")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": len(output),
                "written": passed,
                "refitted": refit,
                "model_version": record.version,
                "previous_version": previous.version if previous else "none",
                "k": len(model.ids),
                "silhouette": _number(model.silhouette),
                "silhouette_by_k": dg.MetadataValue.json({str(k): v for k, v in model.k_scores.items()}),
                "cluster_profile": dg.MetadataValue.md(markdown_table(profile, digits=2)),
                "dropped_features": _dropped(model.dropped_features),
                "preview": _preview(output),
            },
            check_results=[_result(outcome) for outcome in outcomes],
        )

    return user_clusters


def _read_training_rows(engine: Engine) -> tuple[pd.DataFrame, list[str]]:
    names = features.feature_columns(engine, features.TRAIN_FEATURES)
    return features.read_training_frame(engine, names), names


def _read_training(warehouse: WarehouseResource, config: PropensityConfig) -> tuple[pd.DataFrame, list[str]]:
    with warehouse.engine(read_only=True) as engine:
        training, names = engine.call(_read_training_rows)
    horizons = set(training["horizon_days"].unique().tolist())
    if horizons - {config.horizon_days}:
        raise dg.Failure(
            f"training labels have a horizon of {sorted(horizons)} days but the propensity config says "
            f"{config.horizon_days}: set dbt var propensity_horizon_days and "
            "HUAXIANG_ML_PROPENSITY_HORIZON_DAYS to the same value"
        )
    return training, names


def _train(
    warehouse: WarehouseResource,
    config: PropensityConfig,
    score_features: pd.DataFrame,
    registry: ModelRegistry,
    asset: dg.AssetKey = PROPENSITY_MODEL,
) -> tuple[propensity.TrainingOutcome, float]:
    """Read the training rows, fit and register a propensity model; also the seconds it took."""
    started = time.perf_counter()
    training, names = _read_training(warehouse, config)
    with model_failures(asset, "fitting the propensity model"):
        outcome = propensity.train_and_register(training, names, score_features, registry, config)
    return outcome, time.perf_counter() - started


def _model_metadata(outcome: propensity.TrainingOutcome) -> dict[str, Any]:
    fit, record = outcome.fit, outcome.record
    metadata: dict[str, Any] = {
        "model_version": record.version,
        "status": record.status,
        "model_kind": record.kind,
        "horizon_days": fit.model.horizon_days,
        "split": fit.split,
        "train_rows": fit.train_rows,
        "train_positives": fit.train_positives,
        "train_as_of": ", ".join(fit.train_as_of) or "none",
        "dropped_features": _dropped(fit.dropped_features),
        "path": dg.MetadataValue.path(str(Path(record.family) / record.version)),
    }
    if fit.fallback_reason:
        metadata["fallback_reason"] = fit.fallback_reason
    if fit.validation is not None:
        metadata.update(
            {
                "roc_auc": _number(fit.validation.roc_auc),
                "pr_auc": _number(fit.validation.pr_auc),
                "brier": _number(fit.validation.brier),
                "top_decile_lift": _number(fit.validation.top_decile_lift),
                "calibration_method": fit.calibration_method or "none",
                "candidates": dg.MetadataValue.md(
                    markdown_table(pd.DataFrame([{"model": name, **m.as_dict()} for name, m in fit.candidates.items()]))
                ),
                "calibration_table": dg.MetadataValue.md(markdown_table(fit.calibration)),
            }
        )
    return metadata


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
            metadata={**_model_metadata(outcome), FIT_SECONDS: _number(fit_seconds)},
            check_results=[_result(o) for o in outcome.gates],
        )

    return propensity_model


def _previous_scores_on(engine: Engine, as_of: date) -> np.ndarray | None:
    if not features.relation_exists(engine, "ml.purchase_propensity"):
        return None
    rows = engine.read_arrow(
        "select score from ml.purchase_propensity where as_of = "
        f"(select max(as_of) from ml.purchase_propensity where as_of < cast('{as_of.isoformat()}' as date))"
    )
    return rows.column("score").to_numpy() if rows.num_rows else None


def _previous_scores(warehouse: WarehouseResource, as_of: date) -> np.ndarray | None:
    """Scores of the latest earlier scoring day, for the drift check."""
    with warehouse.engine(read_only=True) as engine:
        return engine.call(_previous_scores_on, as_of)


def _read_score_plan(engine: Engine, as_of: date, version: str) -> incremental.ScorePlan | None:
    previous = incremental.previous_scoring(engine, as_of)
    if previous is None or previous[1] != [version]:
        return None
    return incremental.score_plan(engine, previous[0])


def _carry_forward(
    warehouse: WarehouseResource, registry: ModelRegistry, as_of: date
) -> tuple[propensity.ScoringChoice, incremental.ScorePlan] | None:
    """The approved model and the users it must rescore, when it scored the previous day row by row
    (else None: everyone is scored)."""
    approved = registry.latest("approved")
    if approved is None:
        return None
    model, _ = registry.load(approved.version)
    if model.kind not in incremental.ROW_WISE_KINDS:
        return None
    with warehouse.engine(read_only=True) as engine:
        plan = engine.call(_read_score_plan, as_of, approved.version)
    if plan is None:
        return None
    note = (
        f"latest approved model {approved.version}: {len(plan.features)} users rescored, "
        f"{len(plan.carried)} carried forward from {plan.previous_as_of}"
    )
    return propensity.ScoringChoice(model, approved.version, note), plan


def build_scoring_asset(config: PropensityConfig) -> dg.AssetsDefinition:
    @dg.asset(
        key=PURCHASE_PROPENSITY,
        deps=[SCORE_FEATURES, PROPENSITY_MODEL],
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
        as_of = _as_of(users)
        carry = _carry_forward(warehouse, registry, as_of) if as_of and one_day(context) else None
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
        drift = gates.drift_gate(_previous_scores(warehouse, as_of) if as_of else None, scores["score"].to_numpy())
        written = all(outcome.passed for outcome in outcomes)
        if written:
            with warehouse.engine() as engine:
                features.replace_rows(engine, "purchase_propensity", scores, key="as_of")
        metadata: dict[str, Any] = {
            "dagster/row_count": len(scores),
            "written": written,
            "as_of": str(as_of),
            "model_version": choice.version,
            "model_kind": choice.model.kind,
            "model_choice": choice.note,
            "rescored_users": rescored,
            "carried_users": len(scores) - rescored,
            "mean_score": _number(scores["score"].mean()) if len(scores) else _number(float("nan")),
            "scores_by_decile": dg.MetadataValue.md(
                markdown_table(scores.groupby("decile")["score"].agg(["count", "min", "mean", "max"]).reset_index())
            ),
            "preview": _preview(scores),
        }
        if choice.trained is not None:
            record = choice.trained.record
            metadata["trained_now"] = dg.MetadataValue.json(
                {"version": record.version, "status": record.status, "kind": record.kind, **record.metrics}
            )
            metadata["dropped_features"] = _dropped(choice.trained.fit.dropped_features)
            metadata[FIT_SECONDS] = _number(fit_seconds)
        return dg.MaterializeResult(
            metadata={key: value for key, value in metadata.items() if value is not None},
            check_results=[*(_result(o) for o in outcomes), _result(drift, blocking=False)],
        )

    return purchase_propensity


def _distinct_users(table: pa.Table) -> int:
    return pc.count_distinct(table.column("user_id")).as_py() if table.num_rows else 0


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
            users = features.read_frame(engine, features.SCORE_FEATURES, ["user_id", "as_of_date"])
            as_of = _as_of(users)
            day = one_day(context)
            plan = (
                engine.call(incremental.recommendation_plan, day)
                if day
                else incremental.RecommendationPlan(users["user_id"].astype(str), None)
            )
            # The recommender is DuckDB SQL: on another engine it runs on a local copy of the rollup.
            with features.local_copy(engine, [features.USER_PRODUCT_DAILY]) as conn:
                recommended = recommendations.recommend(conn, plan.users, as_of, config) if as_of else None
        fresh = (recommended if recommended is not None else pd.DataFrame()).assign(as_of=as_of)
        output = incremental.merge_recommendations(fresh, plan.kept)
        with warehouse.engine() as engine:
            features.replace_table(engine, "user_recommendations", output)
        metadata: dict[str, Any] = {
            "dagster/row_count": output.num_rows,
            "users": _distinct_users(output),
            "users_recomputed": len(plan.users),
            "users_kept": _distinct_users(plan.kept) if plan.kept is not None else 0,
            "top_n": config.top_n,
            "as_of": str(as_of),
            "preview": _preview(output.slice(0, PREVIEW_ROWS).to_pandas()),
        }
        if len(fresh):
            metadata["source_mix"] = dg.MetadataValue.json(
                fresh["source"].value_counts(normalize=True).round(4).to_dict()
            )
        return dg.MaterializeResult(metadata=metadata)

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
            as_of = _as_of(features.read_frame(engine, features.SCORE_FEATURES, ["user_id", "as_of_date"]))
            with features.local_copy(engine, [features.USER_PRODUCT_DAILY]) as conn:
                evaluation = recommendations.evaluate_recommendations(conn, as_of, config) if as_of else None
        outcome = (
            gates.recommendation_gate(evaluation.hit_rate, evaluation.baseline_hit_rate, evaluation.users)
            if evaluation
            else gates.GateOutcome(gates.BEATS_POPULARITY, True, "no users to evaluate")
        )
        metadata: dict[str, Any] = {"top_n": config.top_n, "as_of": str(as_of)}
        if evaluation is not None:
            metadata |= {
                f"hit_rate_at_{config.top_n}": _number(evaluation.hit_rate),
                f"recall_at_{config.top_n}": _number(evaluation.recall),
                f"popularity_hit_rate_at_{config.top_n}": _number(evaluation.baseline_hit_rate),
                f"popularity_recall_at_{config.top_n}": _number(evaluation.baseline_recall),
                "evaluation": dg.MetadataValue.json(evaluation.as_dict()),
            }
        return dg.MaterializeResult(metadata=metadata, check_results=[_result(outcome, blocking=False)])

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


def build_retrain_job() -> "dg.UnresolvedAssetJobDefinition":
    return dg.define_asset_job(
        RETRAIN_JOB,
        selection=dg.AssetSelection.assets(PROPENSITY_MODEL, USER_CLUSTERS).downstream()
        | dg.AssetSelection.assets(RECOMMENDATION_EVALUATION),
        description="Fit a new propensity model version (approved if it passes the gates) and new cluster "
        "centroids, rescore every user, evaluate the recommender on held-out purchases, and refresh the "
        "marts and the published snapshot that read the scores and clusters.",
    )


def build_retrain_schedule(job: "dg.UnresolvedAssetJobDefinition", timezone: str) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="ml_weekly_retrain_schedule",
        job=job,
        cron_schedule="0 4 * * 1",  # Mondays 04:00, after the daily run
        execution_timezone=timezone,
        description="Weekly retrain of the purchase-propensity model.",
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
