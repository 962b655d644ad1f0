"""Purchase-only data for tests and measurements: a simulated customer/date/amount log and the
point-in-time features the dbt macro `user_features_as_of` gives such a source.

A purchase-only export (UCI Online Retail and most ERP/POS extracts) knows when each customer bought
and for how much — nothing about visits, hours or platforms. Its users appear with their first order
(registered = first purchase), so the behaviour features of the macro are null or zero. This module
reproduces that shape without the warehouse, so the propensity fit can be measured against BG/NBD on
many histories in seconds (docs/ml.md); the same comparison through the whole graph is
`huaxiang evaluate` on an ingested or generated home.

The log: each customer arrives on a uniform day of the history, then buys with gamma-distributed
gaps (shape `regularity`: 1 = Poisson, higher = more regular, e.g. every 2–4 months), at a rate drawn
from a gamma across customers, and may lapse after each purchase (beta-distributed chance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

WINDOWS = (7, 30, 90)


@dataclass(frozen=True)
class PurchaseLogSpec:
    customers: int = 4_000
    days: int = 400  # landed history
    holdout_days: int = 30  # simulated after the history (the outcome scored against)
    mean_gap_days: float = 90.0  # typical days between purchases of an active customer
    rate_shape: float = 2.0  # gamma shape of the purchase rate across customers (lower = more spread)
    regularity: float = 3.0  # gamma shape of the gaps: 1 = Poisson, 3+ = fairly regular
    lapse_a: float = 1.0  # beta(a, b): chance to lapse after each purchase
    lapse_b: float = 6.0
    seed: int = 0


def simulate_log(spec: PurchaseLogSpec) -> pd.DataFrame:
    """One row per purchase: customer_id, day (0 = first day of the history), amount."""
    rng = np.random.default_rng(spec.seed)
    end = spec.days + spec.holdout_days
    arrival = rng.integers(0, spec.days, spec.customers)
    rate = rng.gamma(spec.rate_shape, 1.0 / (spec.rate_shape * spec.mean_gap_days), spec.customers)
    lapse = rng.beta(spec.lapse_a, spec.lapse_b, spec.customers)
    spend = rng.lognormal(3.5, 0.6, spec.customers)
    customers, days, amounts = [], [], []
    for i in range(spec.customers):
        t = float(arrival[i])
        while t < end:
            customers.append(i)
            days.append(int(t))
            amounts.append(round(float(spend[i] * rng.lognormal(0, 0.3)), 2))
            if rng.uniform() < lapse[i]:
                break
            t += rng.gamma(spec.regularity, 1.0 / (spec.regularity * rate[i]))
    return pd.DataFrame({"customer_id": [f"c{c:06d}" for c in customers], "day": days, "amount": amounts}).sort_values(
        ["customer_id", "day"], ignore_index=True
    )


def features_as_of(log: pd.DataFrame, as_of: int) -> pd.DataFrame:
    """The macro's features of every customer known on day `as_of` (first purchase <= as_of)."""
    seen = log[log["day"] <= as_of]
    if seen.empty:
        return pd.DataFrame()
    ago = as_of - seen["day"]
    by = seen.assign(ago=ago).groupby("customer_id", sort=True)
    daily = seen.groupby(["customer_id", "day"], sort=True)["amount"].agg(["size", "sum"]).reset_index()
    daily["ago"] = as_of - daily["day"]
    per_day = daily.groupby("customer_id", sort=True)
    f = pd.DataFrame(index=by.size().index)
    f["orders"] = by.size()
    f["revenue"] = by["amount"].sum()
    f["active_days"] = per_day.size()
    first, last = by["ago"].max(), by["ago"].min()
    f["days_since_first_order"] = first
    f["days_since_last_order"] = last
    f["days_since_first_active"] = first
    f["days_since_last_active"] = last
    f["tenure_days"] = first
    f["observed_days"] = first + 1
    for window in WINDOWS:
        recent = daily[daily["ago"] < window].groupby("customer_id")
        f[f"orders_{window}d"] = recent["size"].sum().reindex(f.index).fillna(0)
        f[f"active_days_{window}d"] = recent.size().reindex(f.index).fillna(0)
        f[f"revenue_{window}d"] = recent["sum"].sum().reindex(f.index).fillna(0.0)
        for kind in ("sessions", "events", "carts"):
            f[f"{kind}_{window}d"] = 0
    f["sessions"] = f["events"] = 0
    f["order_rate"] = f["orders"] / f["observed_days"]
    f["active_day_rate"] = f["active_days"] / f["observed_days"]
    f["revenue_rate"] = f["revenue"] / f["observed_days"]
    f["recency_share"] = f["days_since_last_active"] / f["observed_days"]
    f["active_day_share"] = f["active_days"] / (f["days_since_first_active"] + 1)
    f["avg_order_value"] = f["revenue"] / f["orders"]
    f["coupon_share"] = 0.0  # no coupon column in the export: zero for every buyer
    # No behaviour log: every share of events is undefined (the column that crashed the fit).
    for column in ("events_per_session", "orders_per_session", "search_share", "night_share", "app_share",
                   "price_index", "open_rate", "age", "city_tier"):  # fmt: skip
        f[column] = np.nan
    f["marketing_consent"] = 0
    out = f.reset_index().rename(columns={"customer_id": "user_id"})
    out.insert(1, "as_of_date", pd.Timestamp("2020-01-01") + pd.Timedelta(days=as_of))
    return out


def labels(log: pd.DataFrame, as_of: int, horizon_days: int) -> pd.Series:
    """Per customer: bought in (as_of, as_of + horizon]."""
    window = log[(log["day"] > as_of) & (log["day"] <= as_of + horizon_days)]
    return pd.Series(True, index=pd.Index(window["customer_id"].unique(), name="user_id"))


def training_frame(log: pd.DataFrame, as_of: int, horizon_days: int, snapshots: int = 3, step: int = 7) -> pd.DataFrame:
    """Training rows as ml_features_train + ml_labels_train: features as of T − H − k·step, labels
    from the H days after each."""
    frames = []
    for k in range(snapshots):
        day = as_of - horizon_days - k * step
        f = features_as_of(log, day)
        if f.empty:
            continue
        bought = labels(log, day, horizon_days)
        f.insert(2, "purchased", f["user_id"].map(bought).fillna(False).astype(bool).to_numpy())
        frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def feature_names(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in ("user_id", "as_of_date", "purchased")]
