"""Model-quality rules. The ML assets report each outcome as an asset check (blocking unless noted);
a model or output that fails is not approved and not written for downstream use."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ml_assets.config import MIN_CLUSTER_USERS, PropensityConfig, effective_min_cluster_share
from ml_assets.metrics import population_stability_index
from ml_assets.registry import Status

AUC_FLOOR = "auc_above_floor"
NO_REGRESSION = "no_worse_than_approved"
SCORES_IN_RANGE = "scores_in_unit_range"
EVERY_USER_SCORED = "every_eligible_user_scored"
SCORE_DRIFT = "score_drift"  # warning only
CLUSTERS_COVER_USERS = "clusters_cover_all_users"
NO_SMALL_CLUSTERS = "no_cluster_below_min_share"
BEATS_POPULARITY = "beats_popularity_baseline"  # warning only

DRIFT_PSI_LIMIT = 0.25  # the usual "significant shift" threshold of the population stability index
MIN_USERS_TO_JUDGE_RECOMMENDATIONS = 200  # fewer held-out buyers: hit-rates are noise


@dataclass(frozen=True)
class GateOutcome:
    name: str
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def _finite(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def propensity_model_gates(
    validation_auc: float | None, approved_auc: float | None, config: PropensityConfig
) -> list[GateOutcome]:
    """AUC above the floor and no worse than the last approved model's by more than the tolerance.

    A model without validation (the fallback heuristic on a too-short history) cannot be judged:
    both gates pass and say so; the model is recorded as `unevaluated`, never `approved`.
    """
    if not _finite(validation_auc):
        reason = "not evaluable: no labelled validation data; the fallback heuristic is recorded as unevaluated"
        return [GateOutcome(AUC_FLOOR, True, reason), GateOutcome(NO_REGRESSION, True, reason)]
    auc = float(validation_auc)
    floor = GateOutcome(
        AUC_FLOOR,
        auc >= config.auc_floor,
        f"validation ROC-AUC {auc:.3f} {'>=' if auc >= config.auc_floor else '<'} floor {config.auc_floor:.3f}",
        {"roc_auc": round(auc, 4), "floor": config.auc_floor},
    )
    if not _finite(approved_auc):
        regression = GateOutcome(NO_REGRESSION, True, "no approved model yet", {"roc_auc": round(auc, 4)})
    else:
        limit = float(approved_auc) - config.auc_tolerance
        regression = GateOutcome(
            NO_REGRESSION,
            auc >= limit,
            f"validation ROC-AUC {auc:.3f} vs approved {approved_auc:.3f} (tolerance {config.auc_tolerance:.3f})",
            {"roc_auc": round(auc, 4), "approved_roc_auc": round(float(approved_auc), 4)},
        )
    return [floor, regression]


def model_status(outcomes: Iterable[GateOutcome], evaluated: bool) -> Status:
    if not evaluated:
        return "unevaluated"
    return "approved" if all(outcome.passed for outcome in outcomes) else "rejected"


def score_gates(scores: pd.DataFrame, eligible_users: pd.Series) -> list[GateOutcome]:
    """Every score a probability, and every eligible user scored exactly once."""
    values = scores["score"].to_numpy(float)
    out_of_range = int(np.count_nonzero(~((values >= 0) & (values <= 1))))  # NaN counts as out of range
    eligible = set(eligible_users.astype(str))
    scored = scores["user_id"].astype(str)
    missing = len(eligible - set(scored))
    duplicated = int(scored.duplicated().sum())
    return [
        GateOutcome(
            SCORES_IN_RANGE,
            out_of_range == 0,
            f"{out_of_range} of {len(values)} scores outside [0, 1] or missing",
            {
                "out_of_range": out_of_range,
                "min": float(np.nanmin(values)) if len(values) else None,
                "max": float(np.nanmax(values)) if len(values) else None,
            },
        ),
        GateOutcome(
            EVERY_USER_SCORED,
            missing == 0 and duplicated == 0,
            f"{len(eligible) - missing} of {len(eligible)} eligible users scored; {duplicated} scored twice",
            {"eligible": len(eligible), "unscored": missing, "duplicates": duplicated},
        ),
    ]


def drift_gate(previous: np.ndarray | None, current: np.ndarray) -> GateOutcome:
    """Warning when the score distribution moved a lot since the previous scoring day (PSI)."""
    if previous is None or len(previous) == 0:
        return GateOutcome(SCORE_DRIFT, True, "no previous scores to compare with")
    psi = population_stability_index(previous, current)
    return GateOutcome(
        SCORE_DRIFT,
        psi <= DRIFT_PSI_LIMIT,
        f"population stability index {psi:.3f} vs the previous scoring day (limit {DRIFT_PSI_LIMIT})",
        {"psi": round(psi, 4), "limit": DRIFT_PSI_LIMIT},
    )


def cluster_gates(assignments: pd.DataFrame, eligible_users: pd.Series, min_share: float) -> list[GateOutcome]:
    """Every user in exactly one cluster, and no cluster below the minimum share of users."""
    eligible = set(eligible_users.astype(str))
    assigned = assignments["user_id"].astype(str)
    unassigned = len(eligible - set(assigned)) + int(assignments["cluster_id"].isna().sum())
    duplicated = int(assigned.duplicated().sum())
    shares = assignments["cluster_id"].value_counts(normalize=True)
    smallest = float(shares.min()) if len(shares) else 0.0
    # On small data the minimum is MIN_CLUSTER_USERS users when that is more than the share.
    floor = effective_min_cluster_share(len(eligible), min_share)
    small_data = floor > min_share
    minimum = f"minimum {floor:.1%}"
    if small_data:
        minimum += f" = {MIN_CLUSTER_USERS} of {len(eligible)} users (small data; configured {min_share:.1%})"
    return [
        GateOutcome(
            CLUSTERS_COVER_USERS,
            unassigned == 0 and duplicated == 0,
            f"{len(eligible) - unassigned} of {len(eligible)} users in a cluster; {duplicated} assigned twice",
            {"users": len(eligible), "unassigned": unassigned, "duplicates": duplicated},
        ),
        GateOutcome(
            NO_SMALL_CLUSTERS,
            smallest >= floor - 1e-12,
            f"smallest cluster holds {smallest:.1%} of users ({minimum}); {len(shares)} cluster(s)",
            {
                "smallest_share": round(smallest, 4),
                "min_share": round(floor, 4),
                "configured_min_share": min_share,
                "small_data": small_data,
                "clusters": len(shares),
            },
        ),
    ]


def recommendation_gate(hit_rate: float, baseline_hit_rate: float, users: int) -> GateOutcome:
    """Warning when the blend does not beat popularity alone on the held-out purchases."""
    if users < MIN_USERS_TO_JUDGE_RECOMMENDATIONS:
        return GateOutcome(
            BEATS_POPULARITY,
            True,
            f"not judged: {users} held-out buyers (< {MIN_USERS_TO_JUDGE_RECOMMENDATIONS})",
            {"users": users},
        )
    return GateOutcome(
        BEATS_POPULARITY,
        hit_rate > baseline_hit_rate,
        f"hit-rate {hit_rate:.3f} vs popularity {baseline_hit_rate:.3f} on {users} held-out buyers",
        {"hit_rate": round(hit_rate, 4), "baseline_hit_rate": round(baseline_hit_rate, 4), "users": users},
    )
