"""What the ML assets do between the warehouse and the models, without Dagster.

orchestration/assets/ml.py only wires: it opens the engines, calls these, and turns the metadata
built here (plain values, with `Number`, `Markdown`, `Json` and `FilePath` marking how a value is
shown) into Dagster's. Reads that a step needs together are one function run by `engine.call`
(on Spark, in a child process: module-level functions only).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from huaxiang.engines import Engine
from ml_assets import clustering, features, gates, incremental, propensity, recommendations
from ml_assets.config import PropensityConfig, RecommendationConfig
from ml_assets.metrics import markdown_table
from ml_assets.registry import ModelRecord, ModelRegistry, new_version

FIT_SECONDS = "fit_seconds"  # reading and fitting the training rows; the benchmark's propensity-fit stage
PREVIEW_ROWS = 5
ROW_COUNT = "row_count"  # shown as the asset's row count


# ── metadata as plain values ──────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Number:
    """A figure shown rounded to 4 digits, `n/a` when NaN."""

    value: float


@dataclass(frozen=True)
class Markdown:
    text: str


@dataclass(frozen=True)
class Json:
    value: Any


@dataclass(frozen=True)
class FilePath:
    path: str


def dropped(features_left_out: dict[str, str]) -> str | Markdown:
    """The features left out of a fit and why, as a table (or "none")."""
    if not features_left_out:
        return "none"
    table = pd.DataFrame({"feature": list(features_left_out), "reason": list(features_left_out.values())})
    return Markdown(markdown_table(table))


def preview(frame: pd.DataFrame) -> Markdown:
    return Markdown(markdown_table(frame.head(PREVIEW_ROWS)))


def as_of(frame: pd.DataFrame) -> date | None:
    return pd.to_datetime(frame["as_of_date"]).max().date() if len(frame) else None


# ── user_clusters ─────────────────────────────────────────────────────────────────────────────


def read_cluster_inputs(engine: Engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        features.read_frame(engine, features.SCORE_FEATURES, clustering.FEATURE_INPUTS),
        features.read_frame(engine, features.CATEGORY_MIX, ["user_id", "category_l1", "weight"]),
    )


def cluster_record(model: clustering.ClusterModel, passed: bool) -> ModelRecord:
    """The registry record of a refitted cluster model: approved when its gates passed."""
    return ModelRecord(
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


def cluster_metadata(
    output: pd.DataFrame,
    *,
    written: bool,
    refit: bool,
    record: ModelRecord,
    previous: ModelRecord | None,
    model: clustering.ClusterModel,
    profile: pd.DataFrame,
) -> dict[str, Any]:
    return {
        ROW_COUNT: len(output),
        "written": written,
        "refitted": refit,
        "model_version": record.version,
        "previous_version": previous.version if previous else "none",
        "k": len(model.ids),
        "silhouette": Number(model.silhouette),
        "silhouette_by_k": Json({str(k): v for k, v in model.k_scores.items()}),
        "cluster_profile": Markdown(markdown_table(profile, digits=2)),
        "dropped_features": dropped(model.dropped_features),
        "preview": preview(output),
    }


# ── propensity_model ──────────────────────────────────────────────────────────────────────────


class TrainingDataError(ValueError):
    """The training rows cannot train the configured model (the step fails with this message)."""


def read_training_rows(engine: Engine) -> tuple[pd.DataFrame, list[str]]:
    names = features.feature_columns(engine, features.TRAIN_FEATURES)
    return features.read_training_frame(engine, names), names


def read_training(engine: Engine, config: PropensityConfig) -> tuple[pd.DataFrame, list[str]]:
    """The training rows and feature names, refused when their labels' horizon is not the config's."""
    training, names = engine.call(read_training_rows)
    horizons = set(training["horizon_days"].unique().tolist())
    if horizons - {config.horizon_days}:
        raise TrainingDataError(
            f"training labels have a horizon of {sorted(horizons)} days but the propensity config says "
            f"{config.horizon_days}: set dbt var propensity_horizon_days and "
            "HUAXIANG_ML_PROPENSITY_HORIZON_DAYS to the same value"
        )
    return training, names


def model_metadata(outcome: propensity.TrainingOutcome) -> dict[str, Any]:
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
        "dropped_features": dropped(fit.dropped_features),
        "path": FilePath(str(Path(record.family) / record.version)),
    }
    if fit.fallback_reason:
        metadata["fallback_reason"] = fit.fallback_reason
    if fit.validation is not None:
        metadata.update(
            {
                "roc_auc": Number(fit.validation.roc_auc),
                "pr_auc": Number(fit.validation.pr_auc),
                "brier": Number(fit.validation.brier),
                "top_decile_lift": Number(fit.validation.top_decile_lift),
                "calibration_method": fit.calibration_method or "none",
                "candidates": Markdown(
                    markdown_table(pd.DataFrame([{"model": name, **m.as_dict()} for name, m in fit.candidates.items()]))
                ),
                "calibration_table": Markdown(markdown_table(fit.calibration)),
            }
        )
    return metadata


# ── purchase_propensity ───────────────────────────────────────────────────────────────────────


def previous_scores(engine: Engine, as_of: date) -> np.ndarray | None:
    """Scores of the latest earlier scoring day, for the drift check."""
    if not features.relation_exists(engine, "ml.purchase_propensity"):
        return None
    rows = engine.read_arrow(
        "select score from ml.purchase_propensity where as_of = "
        f"(select max(as_of) from ml.purchase_propensity where as_of < cast('{as_of.isoformat()}' as date))"
    )
    return rows.column("score").to_numpy() if rows.num_rows else None


def read_score_plan(engine: Engine, as_of: date, version: str) -> incremental.ScorePlan | None:
    previous = incremental.previous_scoring(engine, as_of)
    if previous is None or previous[1] != [version]:
        return None
    return incremental.score_plan(engine, previous[0])


def carry_forward(
    open_engine: Callable[[], AbstractContextManager[Engine]], registry: ModelRegistry, as_of: date
) -> tuple[propensity.ScoringChoice, incremental.ScorePlan] | None:
    """The approved model and the users it must rescore, when it scored the previous day row by row
    (else None: everyone is scored). `open_engine` opens a read-only engine, only when one is needed."""
    approved = registry.latest("approved")
    if approved is None:
        return None
    model, _ = registry.load(approved.version)
    if model.kind not in incremental.ROW_WISE_KINDS:
        return None
    with open_engine() as engine:
        plan = engine.call(read_score_plan, as_of, approved.version)
    if plan is None:
        return None
    note = (
        f"latest approved model {approved.version}: {len(plan.features)} users rescored, "
        f"{len(plan.carried)} carried forward from {plan.previous_as_of}"
    )
    return propensity.ScoringChoice(model, approved.version, note), plan


def scoring_metadata(
    scores: pd.DataFrame,
    *,
    written: bool,
    as_of: date | None,
    choice: propensity.ScoringChoice,
    rescored: int,
    fit_seconds: float,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        ROW_COUNT: len(scores),
        "written": written,
        "as_of": str(as_of),
        "model_version": choice.version,
        "model_kind": choice.model.kind,
        "model_choice": choice.note,
        "rescored_users": rescored,
        "carried_users": len(scores) - rescored,
        "mean_score": Number(scores["score"].mean()) if len(scores) else Number(float("nan")),
        "scores_by_decile": Markdown(
            markdown_table(scores.groupby("decile")["score"].agg(["count", "min", "mean", "max"]).reset_index())
        ),
        "preview": preview(scores),
    }
    if choice.trained is not None:
        record = choice.trained.record
        metadata["trained_now"] = Json(
            {"version": record.version, "status": record.status, "kind": record.kind, **record.metrics}
        )
        metadata["dropped_features"] = dropped(choice.trained.fit.dropped_features)
        metadata[FIT_SECONDS] = Number(fit_seconds)
    return metadata


# ── user_recommendations and recommendation_evaluation ────────────────────────────────────────


def recommend(
    engine: Engine, day: date | None, config: RecommendationConfig
) -> tuple[pd.DataFrame, incremental.RecommendationPlan, date | None]:
    """Fresh recommendations for the users `day` touched (every user when None), the plan they follow
    (with the rows kept as they are) and the as-of day."""
    users = features.read_frame(engine, features.SCORE_FEATURES, ["user_id", "as_of_date"])
    as_of_day = as_of(users)
    plan = (
        engine.call(incremental.recommendation_plan, day)
        if day
        else incremental.RecommendationPlan(users["user_id"].astype(str), None)
    )
    # The recommender is DuckDB SQL: on another engine it runs on a local copy of the rollup.
    with features.local_copy(engine, [features.USER_PRODUCT_DAILY]) as conn:
        recommended = recommendations.recommend(conn, plan.users, as_of_day, config) if as_of_day else None
    fresh = (recommended if recommended is not None else pd.DataFrame()).assign(as_of=as_of_day)
    return fresh, plan, as_of_day


def evaluate_recommendations(
    engine: Engine, config: RecommendationConfig
) -> tuple[recommendations.RecommendationEvaluation | None, date | None]:
    """The recommender on the last holdout days' purchases (None without users), and the as-of day."""
    as_of_day = as_of(features.read_frame(engine, features.SCORE_FEATURES, ["user_id", "as_of_date"]))
    with features.local_copy(engine, [features.USER_PRODUCT_DAILY]) as conn:
        evaluation = recommendations.evaluate_recommendations(conn, as_of_day, config) if as_of_day else None
    return evaluation, as_of_day


def distinct_users(table: pa.Table) -> int:
    return pc.count_distinct(table.column("user_id")).as_py() if table.num_rows else 0


def recommendation_metadata(
    output: pa.Table,
    fresh: pd.DataFrame,
    plan: incremental.RecommendationPlan,
    as_of: date | None,
    config: RecommendationConfig,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        ROW_COUNT: output.num_rows,
        "users": distinct_users(output),
        "users_recomputed": len(plan.users),
        "users_kept": distinct_users(plan.kept) if plan.kept is not None else 0,
        "top_n": config.top_n,
        "as_of": str(as_of),
        "preview": preview(output.slice(0, PREVIEW_ROWS).to_pandas()),
    }
    if len(fresh):
        metadata["source_mix"] = Json(fresh["source"].value_counts(normalize=True).round(4).to_dict())
    return metadata


def evaluation_gate(evaluation: recommendations.RecommendationEvaluation | None) -> gates.GateOutcome:
    if evaluation is None:
        return gates.GateOutcome(gates.BEATS_POPULARITY, True, "no users to evaluate")
    return gates.recommendation_gate(evaluation.hit_rate, evaluation.baseline_hit_rate, evaluation.users)


def evaluation_metadata(
    evaluation: recommendations.RecommendationEvaluation | None, as_of: date | None, config: RecommendationConfig
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"top_n": config.top_n, "as_of": str(as_of)}
    if evaluation is not None:
        metadata |= {
            f"hit_rate_at_{config.top_n}": Number(evaluation.hit_rate),
            f"recall_at_{config.top_n}": Number(evaluation.recall),
            f"popularity_hit_rate_at_{config.top_n}": Number(evaluation.baseline_hit_rate),
            f"popularity_recall_at_{config.top_n}": Number(evaluation.baseline_recall),
            "evaluation": Json(evaluation.as_dict()),
        }
    return metadata
