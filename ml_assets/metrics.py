"""Evaluation measures shared by the assets, their checks and `huaxiang evaluate`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

DECILES = 10


@dataclass(frozen=True)
class BinaryMetrics:
    rows: int
    positives: int
    roc_auc: float
    pr_auc: float
    brier: float
    top_decile_lift: float
    mean_score: float
    base_rate: float

    def as_dict(self) -> dict[str, float | int]:
        return {key: round(value, 4) if isinstance(value, float) else value for key, value in asdict(self).items()}


def has_both_classes(labels: Sequence[bool] | np.ndarray) -> bool:
    values = np.asarray(labels, dtype=bool)
    return bool(values.any() and not values.all())


def deciles(scores: Sequence[float] | np.ndarray, keys: Sequence[str] | np.ndarray | None = None) -> np.ndarray:
    """Decile 1..10 of each score, 10 = the highest tenth (equal-sized tenths). Equal scores are
    split by `keys` (e.g. user ids: the smaller key ranks higher), so a user's decile does not depend
    on the row order; without keys, by position."""
    values = np.asarray(scores, dtype=float)
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    if keys is None:
        order = np.argsort(-values, kind="stable")
    else:
        order = np.lexsort((np.asarray(keys, dtype=str), -values))
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    return (DECILES - (rank * DECILES) // len(values)).astype(np.int64)


def top_decile_lift(labels: Sequence[bool] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Positive rate among the top-scored tenth divided by the overall positive rate."""
    y = np.asarray(labels, dtype=float)
    top = deciles(scores) == DECILES
    base = y.mean() if len(y) else 0.0
    return float(y[top].mean() / base) if base > 0 and top.any() else float("nan")


def binary_metrics(labels: Sequence[bool] | np.ndarray, scores: Sequence[float] | np.ndarray) -> BinaryMetrics:
    y = np.asarray(labels, dtype=bool)
    p = np.asarray(scores, dtype=float)
    both = has_both_classes(y)
    return BinaryMetrics(
        rows=len(y),
        positives=int(y.sum()),
        roc_auc=float(roc_auc_score(y, p)) if both else float("nan"),
        pr_auc=float(average_precision_score(y, p)) if both else float("nan"),
        brier=float(brier_score_loss(y, p)) if len(y) else float("nan"),
        top_decile_lift=top_decile_lift(y, p),
        mean_score=float(p.mean()) if len(p) else float("nan"),
        base_rate=float(y.mean()) if len(y) else float("nan"),
    )


def calibration_table(labels: Sequence[bool] | np.ndarray, scores: Sequence[float] | np.ndarray) -> pd.DataFrame:
    """Per score decile (10 = highest): users, mean predicted probability and observed positive rate."""
    frame = pd.DataFrame({"decile": deciles(scores), "predicted": np.asarray(scores, float), "observed": labels})
    frame["observed"] = frame["observed"].astype(float)
    table = frame.groupby("decile").agg(
        users=("predicted", "size"), predicted=("predicted", "mean"), observed=("observed", "mean")
    )
    return table.sort_index(ascending=False).reset_index()


def population_stability_index(
    expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray, bins: int = DECILES
) -> float:
    """PSI of `actual` against `expected` over the expected distribution's quantile bins (> 0.25: a big shift)."""
    reference = np.asarray(expected, dtype=float)
    current = np.asarray(actual, dtype=float)
    if len(reference) == 0 or len(current) == 0:
        return float("nan")
    quantiles = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    # Each edge halfway between the reference values around it, never on one: many users share a
    # score (a fallback model's floor), and a tiny shift of that shared score across an edge lying
    # on it would read as a big drift.
    distinct = np.unique(reference)
    above = np.searchsorted(distinct, quantiles, side="right")
    inside = above < len(distinct)
    edges = np.unique((distinct[above[inside] - 1] + distinct[above[inside]]) / 2)
    share_reference = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1)
    share_current = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1)
    # A floor keeps empty bins from making the index infinite.
    p = np.maximum(share_reference / len(reference), 1e-4)
    q = np.maximum(share_current / len(current), 1e-4)
    return float(np.sum((q - p) * np.log(q / p)))


def hit_rate_and_recall(
    recommended: Mapping[str, Sequence[str]], purchased: Mapping[str, set[str]]
) -> tuple[float, float, int]:
    """Over users who purchased something: share with >= 1 recommended item bought, and mean recall.

    Returns (hit_rate, recall, users evaluated).
    """
    hits, recalls = [], []
    for user, bought in purchased.items():
        if not bought:
            continue
        found = len(bought.intersection(recommended.get(user, ())))
        hits.append(found > 0)
        recalls.append(found / len(bought))
    if not hits:
        return float("nan"), float("nan"), 0
    return float(np.mean(hits)), float(np.mean(recalls)), len(hits)


def markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    return frame.round(digits).to_markdown(index=False) if not frame.empty else "_empty_"
