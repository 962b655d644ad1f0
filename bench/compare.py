"""Is the pandas peer's profile the pipeline's? Compared user by user on the columns both compute.

Exact for keys, counts, text, booleans, dates and money (in cents); within a cent for per-order
averages; within 1e-9 for ratios. Nulls must match nulls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from bench.peer import PEER_COLUMNS

FLOAT_TOLERANCE = 1e-9
CENT_TOLERANCE = 1.0  # money_ratio columns are compared in cents
PROFILE_RELATION = "marts.user_profile"


@dataclass
class Comparison:
    pipeline_users: int
    peer_users: int
    missing_users: int  # in the pipeline's profile, not in the peer's
    extra_users: int  # in the peer's, not in the pipeline's
    mismatches: dict[str, int] = field(default_factory=dict)  # column → users that differ

    @property
    def equal(self) -> bool:
        return not self.missing_users and not self.extra_users and not any(self.mismatches.values())

    def as_dict(self) -> dict:
        return {
            "equal": self.equal,
            "columns_compared": sorted(PEER_COLUMNS),
            "pipeline_users": self.pipeline_users,
            "peer_users": self.peer_users,
            "missing_users": self.missing_users,
            "extra_users": self.extra_users,
            "mismatches": {column: count for column, count in sorted(self.mismatches.items()) if count},
        }


def _select_expression(column: str, kind: str) -> str:
    if kind in ("money", "money_ratio"):
        return f"cast(round({column} * 100) as bigint) as {column}"
    return column


def read_pipeline_profile(warehouse: Path) -> pd.DataFrame:
    """The pipeline's user_profile, only the shared columns (money in cents), through Arrow."""
    columns = ", ".join(_select_expression(column, kind) for column, kind in PEER_COLUMNS.items())
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(f"select {columns} from {PROFILE_RELATION}").arrow().read_all().to_pandas()


def _as_comparable(values: pd.Series, kind: str) -> pd.Series:
    if kind == "timestamp":
        return pd.to_datetime(values, utc=True)
    if kind == "date":
        return pd.to_datetime(values)
    if kind in ("int", "money"):
        return values.astype("Int64")
    if kind in ("float", "money_ratio"):
        return values.astype("float64")
    if kind == "bool":
        return values.astype("boolean")
    return values.astype(object).where(values.notna(), None)


def _differs(left: pd.Series, right: pd.Series, kind: str) -> pd.Series:
    both_null = left.isna() & right.isna()
    one_null = left.isna() != right.isna()
    if kind in ("float", "money_ratio"):
        tolerance = CENT_TOLERANCE if kind == "money_ratio" else FLOAT_TOLERANCE
        far = ~np.isclose(left.fillna(0), right.fillna(0), rtol=0, atol=tolerance)
        return one_null | (far & ~both_null)
    same = (left == right).fillna(False).astype(bool) if kind != "text" else left.eq(right)
    return one_null | (~same & ~both_null)


def compare_profiles(pipeline: pd.DataFrame, peer: pd.DataFrame) -> Comparison:
    merged = pipeline.merge(peer, on="user_id", how="outer", suffixes=("_pipeline", "_peer"), indicator=True)
    both = merged.loc[merged["_merge"] == "both"]
    comparison = Comparison(
        pipeline_users=len(pipeline),
        peer_users=len(peer),
        missing_users=int((merged["_merge"] == "left_only").sum()),
        extra_users=int((merged["_merge"] == "right_only").sum()),
    )
    for column, kind in PEER_COLUMNS.items():
        if column == "user_id":
            continue
        left = _as_comparable(both[f"{column}_pipeline"], kind)
        right = _as_comparable(both[f"{column}_peer"], kind)
        comparison.mismatches[column] = int(_differs(left, right, kind).sum())
    return comparison
