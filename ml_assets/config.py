"""Knobs of the ML assets, with defaults that suit the generated data; `MLConfig.from_env` overrides them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any

from huaxiang.settings import dbt_vars

# A cluster of fewer users describes individuals, not a segment: on small data (a few dozen users)
# this, not `min_cluster_share`, bounds k and the smallest cluster (docs/quality.md, small data).
MIN_CLUSTER_USERS = 5

# ML_THREADS_NOTE: fits run single-threaded by default. scikit-learn's OpenMP loops busy-wait for
# their threads; with DuckDB, dbt or another run on the same cores that made the propensity fit
# 18x slower (189 s vs 10.6 s for 24k rows on 2 cores at load 9). Raise it on an idle, wide machine.


def effective_min_cluster_share(users: int, min_share: float) -> float:
    """The configured minimum share, raised to MIN_CLUSTER_USERS users when that is more."""
    return max(min_share, MIN_CLUSTER_USERS / users) if users > 0 else min_share


@dataclass(frozen=True)
class ClusteringConfig:
    k_min: int = 4
    k_max: int = 10
    fit_sample: int = 50_000  # users the centroids are fitted on; every user is assigned
    silhouette_sample: int = 8_000
    min_cluster_share: float = 0.02  # a k whose smallest cluster is below this is not chosen
    # A larger k must beat the best smaller k's silhouette (rounded to 4 decimals) by more than this,
    # so float noise (summing order) cannot flip k between identical reruns. Kept small on purpose:
    # the reference runs (5,000-20,000 generated users) score k = 5 and 6 within 0.0008-0.003 of
    # each other and need 6 (one cluster per persona); 0.01 would have chosen 5. The row order,
    # which made reruns differ by far more (10 vs 7 clusters), is fixed by sorting (features.py).
    silhouette_margin: float = 0.0005
    top_categories: int = 10  # top-level categories whose interest shares are features
    n_init: int = 4
    random_state: int = 0
    threads: int = 1  # OpenMP/BLAS threads while fitting (see ML_THREADS_NOTE)


@dataclass(frozen=True)
class PropensityConfig:
    # The dbt var propensity_horizon_days (dbt_project.yml), which the training labels are built with.
    horizon_days: int = field(default_factory=lambda: int(dbt_vars()["propensity_horizon_days"]))
    auc_floor: float = 0.65  # a model below this on validation is rejected
    auc_tolerance: float = 0.02  # …and so is one this much worse than the last approved model
    validation_share: float = 0.25  # users held out for the time-based validation
    calibration_folds: int = 3
    min_class_rows: int = 50  # fewer positives or negatives than this: the rate heuristic is used
    isotonic_min_positives: int = 1_000  # fewer: sigmoid calibration, which needs less data
    max_train_rows: int = 400_000  # training rows beyond this are sampled
    prior_days: float = 30.0  # pseudo-days of the population order rate in the rate heuristic
    baseline_auc_margin: float = 0.01  # a learned model must beat BG/NBD by this validation AUC to be chosen
    random_state: int = 0
    threads: int = 1  # OpenMP/BLAS threads while fitting (see ML_THREADS_NOTE)


@dataclass(frozen=True)
class RecommendationConfig:
    top_n: int = 10
    holdout_days: int = 7  # evaluation: recommend from the days before, compare with purchases in these
    max_items_per_user: int = 30  # strongest items per user entering co-occurrence
    neighbours: int = 50  # similar items kept per item
    candidates_per_category: int = 60  # most popular items per category for the affinity score
    weight_view: float = 1.0
    weight_click: float = 1.0
    weight_favorite: float = 2.0
    weight_cart: float = 3.0
    weight_purchase: float = 5.0
    blend_cooccurrence: float = 1.0
    blend_category: float = 1.0
    blend_popularity: float = 0.2


@dataclass(frozen=True)
class MLConfig:
    clustering: ClusteringConfig = field(default_factory=ClusteringConfig)
    propensity: PropensityConfig = field(default_factory=PropensityConfig)
    recommendations: RecommendationConfig = field(default_factory=RecommendationConfig)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> MLConfig:
        """Override any field with HUAXIANG_ML_<SECTION>_<FIELD>, e.g. HUAXIANG_ML_RECOMMENDATIONS_TOP_N=20."""
        environ = dict(os.environ if environ is None else environ)
        config = cls()
        for section in fields(cls):
            current = getattr(config, section.name)
            changes: dict[str, Any] = {}
            for knob in fields(current):
                name = f"HUAXIANG_ML_{section.name}_{knob.name}".upper()
                if name in environ:
                    changes[knob.name] = type(getattr(current, knob.name))(environ[name])
            if changes:
                config = replace(config, **{section.name: replace(current, **changes)})
        return config
