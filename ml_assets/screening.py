"""Feature screening before a fit: drop the columns that carry no signal on this source, with a reason.

A real export rarely fills every feature the dbt macro emits: a purchase-only log has no events, so
every behaviour share is null; a shop without campaigns has no open rate; a column can be one value
for everyone. Fitting on such a column either crashes (scikit-learn's histogram binning of an
all-null column: "window shape cannot be larger than input array shape") or adds nothing. Each
model screens its inputs on its fitting rows first; what was dropped and why is logged and kept in
the asset metadata and the model record.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

ALL_NULL = "no values (all null)"
NOT_NUMERIC = "not numeric"
MIN_NON_NULL_ROWS = 10  # a column with values on fewer rows than this cannot be learned from


@dataclass
class FeatureScreen:
    """The features kept and, for each dropped one, the reason (in the order of the input list)."""

    kept: list[str]
    dropped: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        if not self.dropped:
            return "none"
        return "; ".join(f"{name}: {reason}" for name, reason in self.dropped.items())

    def as_records(self) -> list[dict[str, str]]:
        return [{"feature": name, "reason": reason} for name, reason in self.dropped.items()]


def _reason(values: pd.Series, min_non_null: int) -> str | None:
    """Why a column carries no signal on these rows, or None if it may."""
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        return NOT_NUMERIC
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    finite = numbers[np.isfinite(numbers.to_numpy())]
    if finite.empty:
        return ALL_NULL if numbers.isna().all() else "no finite values"
    if len(finite) < min_non_null:
        return f"values on {len(finite)} of {len(values)} rows (fewer than {min_non_null})"
    distinct = finite.nunique()
    if distinct == 1:
        missing = len(values) - len(finite)
        constant = f"constant ({finite.iloc[0]:g})"
        # One value and nulls still says "present or not" — but the same as the null pattern of
        # another column at best; a column that is the same everywhere says nothing at all.
        return constant if missing == 0 else f"{constant} where present, null on {missing} rows"
    return None


def screen_features(
    frame: pd.DataFrame,
    names: Sequence[str],
    *,
    context: str,
    min_non_null: int = MIN_NON_NULL_ROWS,
) -> FeatureScreen:
    """Keep the columns of `names` that vary on `frame`; log each one dropped and why.

    `context` names the model in the log lines (e.g. "ml/purchase_propensity"). A name missing from
    the frame is dropped too ("not in the feature table"). Deterministic: the order of `names` is kept.
    """
    kept: list[str] = []
    dropped: dict[str, str] = {}
    for name in names:
        if name not in frame.columns:
            dropped[name] = "not in the feature table"
        elif (reason := _reason(frame[name], min_non_null)) is not None:
            dropped[name] = reason
        else:
            kept.append(name)
    for name, reason in dropped.items():
        log.warning("%s: feature %s dropped before fitting: %s", context, name, reason)
    if dropped:
        log.info("%s: %d of %d features kept", context, len(kept), len(names))
    return FeatureScreen(kept, dropped)
