"""Derived cut points: a Python reference of the dbt derivation of the tag thresholds.

The same rules as dbt_project/macros/tag_cut_points.sql (tag_cut_point_specs) and
models/intermediate/fct_lifecycle_thresholds.sql, for Python peers of the profile (bench/peer.py)
and as an independent check of the SQL (tests/test_tag_cut_points.py compares them).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any


@dataclass(frozen=True)
class CutPointSpec:
    """How the `auto` cut points of one var are derived (see the macro tag_cut_point_specs)."""

    var: str
    metric: str
    population: Callable[[Any], Any]  # a row mask over the user facts (a pandas DataFrame)
    levels: tuple[float | None, ...]  # a quantile per cut point; None = `first`
    bound: str  # at_most: the quantile itself; at_least: one step above it
    step: Decimal
    first: Decimal | None = None


QUINTILES, MEDIAN_AND_P80 = (0.2, 0.4, 0.6, 0.8), (None, 0.5, 0.8)
ONE, CENT = Decimal(1), Decimal("0.01")


def _buyers(facts: Any) -> Any:
    return facts.orders_total > 0


def _buyers_365d(facts: Any) -> Any:
    return facts.orders_365d > 0


def _repeat_buyers(facts: Any) -> Any:
    return facts.orders_365d >= 2


def _active_30d(facts: Any) -> Any:
    return facts.active_days_30d > 0


CUT_POINT_SPECS = {
    spec.var: spec
    for spec in (
        CutPointSpec("rfm_recency_days", "recency_days", _buyers, QUINTILES, "at_most", ONE),
        CutPointSpec("rfm_frequency_orders", "orders_365d", _buyers, QUINTILES, "at_least", ONE),
        CutPointSpec("rfm_monetary_cny", "revenue_365d", _buyers, QUINTILES, "at_least", CENT),
        CutPointSpec("frequency_band_orders", "orders_365d", _repeat_buyers, MEDIAN_AND_P80, "at_least", ONE, 2 * ONE),
        CutPointSpec("aov_band_cny", "aov_365d", _buyers_365d, (0.25, 0.75, 0.95), "at_least", CENT),
        CutPointSpec("activity_level_days", "active_days_30d", _active_30d, MEDIAN_AND_P80, "at_least", ONE, ONE),
    )
}  # fmt: skip


def quantile_disc(values: Iterable[Any], level: float) -> Decimal | None:
    """SQL PERCENTILE_DISC: the smallest value with at least `level` of the values at or below it."""
    ordered = sorted(Decimal(str(value)) for value in values)
    if not ordered:
        return None
    position = math.ceil(Fraction(str(level)) * len(ordered))  # exact: 0.6 × 10 is 6, not 6.000…1
    return ordered[max(position, 1) - 1]


def _greatest(*values: Decimal | None) -> Decimal | None:
    """SQL greatest: nulls are skipped, null only when every value is."""
    present = [value for value in values if value is not None]
    return max(present) if present else None


def derive_cut_points(facts: Any, var: str) -> list[Decimal | None]:
    """The `auto` cut points of `var` from the user facts (fct_user_facts columns, a DataFrame)."""
    spec = CUT_POINT_SPECS[var]
    values = facts.loc[spec.population(facts), spec.metric].dropna().tolist()
    cuts: list[Decimal | None] = []
    for level in spec.levels:
        if level is None:
            raw = spec.first
        else:
            quantile = quantile_disc(values, level)
            raw = None if quantile is None else quantile + (spec.step if spec.bound == "at_least" else 0)
        previous = cuts[-1] + spec.step if cuts and cuts[-1] is not None else None
        cuts.append(raw if not cuts else _greatest(raw, previous))
    return cuts


def derive_lifecycle_thresholds(
    purchase_days: Iterable[tuple[str, date]], as_of: date, variables: Mapping[str, Any]
) -> dict[str, int]:
    """silent / churned / reactivated days from (user, purchase day) pairs, as fct_lifecycle_thresholds."""
    days_by_user: dict[str, set[date]] = defaultdict(set)
    for user_id, day in purchase_days:
        if day <= as_of:
            days_by_user[user_id].add(day)
    gaps: list[int] = []
    repeat_buyers = 0
    for days in days_by_user.values():
        ordered = sorted(days)
        pairs = zip(ordered, ordered[1:], strict=False)
        recent = [(later - earlier).days for earlier, later in pairs if (as_of - later).days < 365]
        gaps += recent
        repeat_buyers += bool(recent)

    def fixed(name: str) -> int | None:
        value = variables[name]
        return None if str(value).strip().lower() == "auto" else int(value)

    silent_floor, churned_floor = (
        int(variables["lifecycle_silent_days_floor"]),
        int(variables["lifecycle_churned_days_floor"]),
    )
    enough = repeat_buyers >= int(variables["lifecycle_min_repeat_buyers"])
    auto_silent = max(int(quantile_disc(gaps, 0.5)), silent_floor) if enough else silent_floor
    auto_churned = max(int(quantile_disc(gaps, 0.9)), churned_floor) if enough else churned_floor
    fixed_silent, fixed_churned = fixed("lifecycle_silent_days"), fixed("lifecycle_churned_days")
    if fixed_silent is not None:
        silent = fixed_silent
    else:
        silent = auto_silent if fixed_churned is None else min(auto_silent, fixed_churned)
    churned = fixed_churned if fixed_churned is not None else max(auto_churned, silent)
    reactivated = fixed("lifecycle_reactivated_days")
    return {
        "silent_days": silent,
        "churned_days": churned,
        "reactivated_days": silent if reactivated is None else reactivated,
    }
