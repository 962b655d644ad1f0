"""The hand-written floor: `bench/handwritten.sql`, one DuckDB script from the landed Parquet to the
profile columns the pandas peer computes (bench/peer.py PEER_COLUMNS).

The compiled-SQL floor (bench/floor.py) runs the pipeline's own SQL, every model of it; this one is
what a SQL analyst would write for the shared columns alone, in one connection, so the pipeline is
also measured against the least SQL that gives the same values. The script's placeholders take the
tag vars of dbt_project.yml (TagRules): a var set to `auto` is derived in the script, as the dbt
models derive it; a number or a list is written in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from bench.peer import HOUR_SLOTS, PEER_COLUMNS, PLATFORMS, RFM_SEGMENTS, TagRules, is_auto
from huaxiang.codegen.cut_points import CUT_POINT_SPECS

SCRIPT = Path(__file__).with_name("handwritten.sql")
# Who each `auto` cut point is derived over (the populations of huaxiang.codegen.cut_points'
# CUT_POINT_SPECS, in SQL).
POPULATIONS = {
    "rfm_recency_days": "orders_total > 0",
    "rfm_frequency_orders": "orders_total > 0",
    "rfm_monetary_cny": "orders_total > 0",
    "frequency_band_orders": "orders_365d >= 2",
    "aov_band_cny": "orders_365d > 0",
    "activity_level_days": "active_days_30d > 0",
}


@dataclass
class HandwrittenResult:
    seconds: float  # the script's statement, reading the Parquet included
    profile: pd.DataFrame  # PEER_COLUMNS, money in cents


def _label_of_max(columns: list[str], labels: list[str], condition: str | None = None) -> str:
    """SQL for the label of the largest sum, ties to the earlier label, null when every sum is 0."""
    where = f" filter (where {condition})" if condition else ""
    sums = [f"coalesce(sum({column}){where}, 0)" for column in columns]
    branches = [
        f"when {total} >= greatest({', '.join(sums[i + 1 :])}) then '{label}'"
        for i, (total, label) in enumerate(zip(sums[:-1], labels[:-1], strict=True))
    ]
    return f"case when {' + '.join(sums)} = 0 then null {' '.join(branches)} else '{labels[-1]}' end"


def _cut_points_select(var: str, value: object) -> str:
    """A one-row select of the var's cut points as columns `<var>_1`, `<var>_2`, …"""
    spec = CUT_POINT_SPECS[var]
    if not is_auto(value):
        cuts = [str(cut) for cut in value]  # type: ignore[union-attr]
        source = ""
    else:
        cuts = []
        for level in spec.levels:
            if level is None:
                raw = str(spec.first)
            else:
                raw = f"quantile_disc({spec.metric}, {level})" + (f" + {spec.step}" if spec.bound == "at_least" else "")
            # Ties collapse two quantiles: the later cut is raised one step above the earlier.
            cuts.append(raw if not cuts else f"greatest({raw}, {cuts[-1]} + {spec.step})")
        source = f" from derivation where {POPULATIONS[var]}"
    columns = ", ".join(f"cast({cut} as decimal(18, 2)) as {var}_{index}" for index, cut in enumerate(cuts, 1))
    return f"(select {columns}{source})"


def _rfm_segments() -> str:
    fm = "floor((rfm_f + rfm_m) / 2.0 + 0.5)"
    return "\n        ".join(
        f"when rfm_r between {r_low} and {r_high} and {fm} between {fm_low} and {fm_high} then '{name}'"
        for name, (r_low, r_high), (fm_low, fm_high) in RFM_SEGMENTS
    )


def _fixed(value: object) -> str:
    return "null" if is_auto(value) else str(int(value))  # type: ignore[call-overload]


def render(landing_dir: Path, last_day: date, timezone: str, rules: TagRules) -> str:
    slots = [name for name, _, _ in HOUR_SLOTS]
    slot_columns = [f"events_{slot}" for slot in slots]
    cut_points = "select * from " + "\n        cross join ".join(
        _cut_points_select(var, getattr(rules, var)) for var in CUT_POINT_SPECS
    )
    critical, generous = rules.review_style_rating
    return SCRIPT.read_text().format(
        landing=landing_dir.as_posix(),
        last_day=last_day.isoformat(),
        timezone=timezone,
        min_repeat_buyers=int(rules.lifecycle_min_repeat_buyers),
        silent_floor=int(rules.lifecycle_silent_days_floor),
        churned_floor=int(rules.lifecycle_churned_days_floor),
        fixed_silent=_fixed(rules.lifecycle_silent_days),
        fixed_churned=_fixed(rules.lifecycle_churned_days),
        fixed_reactivated=_fixed(rules.lifecycle_reactivated_days),
        lifecycle_new_days=int(rules.lifecycle_new_days),
        preferred_platform=_label_of_max([f"events_{p}" for p in PLATFORMS], PLATFORMS),
        preferred_hour_slot=_label_of_max(slot_columns, slots),
        best_hour_slot=_label_of_max(slot_columns, slots, "days_ago < 90"),
        cut_points=cut_points,
        rfm_segments=_rfm_segments(),
        value_tier_high_share=float(rules.value_tier_high_share),
        value_tier_mid_share=float(rules.value_tier_mid_share),
        cart_abandoner_days=int(rules.cart_abandoner_days),
        review_critical=float(critical),
        review_generous=float(generous),
        coupon_lover_min_orders=int(rules.coupon_lover_min_orders),
        coupon_lover_min_share=float(rules.coupon_lover_min_share),
    )


def run_handwritten(
    landing_dir: Path, last_day: date, timezone: str, memory_limit: str, threads: int
) -> HandwrittenResult:
    """Run the script in a fresh in-memory DuckDB; the clock runs over its statement only."""
    sql = render(landing_dir, last_day, timezone, TagRules.from_dbt_project())
    with duckdb.connect(config={"memory_limit": memory_limit, "threads": threads}) as conn:
        started = time.perf_counter()
        conn.execute(sql)
        seconds = time.perf_counter() - started
        profile = conn.execute(f"select {', '.join(PEER_COLUMNS)} from hw_profile").arrow().read_all().to_pandas()
    return HandwrittenResult(seconds, profile)
