"""The pandas peer: what a user would write instead of the pipeline, for the user profile.

Long because the peer recomputes the profile's rule tags end to end, one function per dbt model
it mirrors, and must stay readable side by side with them.

Read the landed Parquet, clean it with staging's rules, roll it up per user and day, aggregate per
user as of the last landed day, then label: RFM scores and segment, value tier, lifecycle stage and
the other rule tags of `user_profile` that follow from orders, events and reviews. The definitions
are the dbt models' (models/staging, int_user_daily, fct_user_facts, user_profile) and the cut
points are read from the dbt project's vars: a var set to `auto` (the default) is derived from the
shop's own data with huaxiang.codegen.cut_points' Python reference of the dbt derivation
(derive_lifecycle_thresholds before the user facts, derive_cut_points on the profile), a number or a
list is used as written.
Category, brand, price, campaign and model tags are not computed (PEER_COLUMNS lists what is). Money
is kept in integer cents.

Run as a module (`python -m bench.peer …`) it writes the profile to Parquet and its phase timings
to JSON, so the harness can run it in a subprocess under a memory and time limit.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from huaxiang.codegen.cut_points import CUT_POINT_SPECS, derive_cut_points, derive_lifecycle_thresholds
from huaxiang.landing import day_parts
from huaxiang.settings import DBT_PROJECT_DIR

MALFORMED_TEXT = "[\x00-\x08\ufffd]"  # U+FFFD or a C0 control character (macros/cleaning.sql)
EVENT_TYPES = ["view", "search", "click", "add_to_cart", "favorite", "purchase"]
PLATFORMS = ["app", "web", "mini_program"]
ORDER_STATUSES = ["paid", "cancelled", "refunded"]
HOUR_SLOTS = [("night", 0, 5), ("morning", 6, 11), ("afternoon", 12, 17), ("evening", 18, 21), ("late_night", 22, 23)]
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# (segment, R range, FM range): first match wins (macros/tags.sql rfm_segment_rules).
RFM_SEGMENTS = [
    ("champions", (5, 5), (4, 5)),
    ("loyal_customers", (3, 4), (4, 5)),
    ("potential_loyalist", (4, 5), (2, 3)),
    ("new_customers", (5, 5), (1, 1)),
    ("promising", (4, 4), (1, 1)),
    ("need_attention", (3, 3), (3, 3)),
    ("about_to_sleep", (3, 3), (1, 2)),
    ("cant_lose", (1, 2), (5, 5)),
    ("at_risk", (1, 2), (3, 4)),
    ("hibernating", (2, 2), (1, 2)),
    ("lost", (1, 1), (1, 2)),
]
CITY_TIERS = {1: "tier_1", 2: "new_tier_1", 3: "tier_2", 4: "tier_3", 5: "tier_4_below"}

# The user_profile columns the peer computes, with how they compare: exact for keys, counts, text,
# dates and money (cents); within a tolerance for ratios (`float`) and per-order averages (`money_ratio`).
PEER_COLUMNS = {
    "user_id": "text",
    "gender": "text",
    "age": "int",
    "city": "text",
    "province": "text",
    "city_tier": "int",
    "register_channel": "text",
    "marketing_consent": "bool",
    "registered_at": "timestamp",
    "tenure_days": "int",
    "first_active_date": "date",
    "last_active_date": "date",
    "first_order_date": "date",
    "last_order_date": "date",
    "recency_days": "int",
    "orders_30d": "int",
    "revenue_30d": "money",
    "orders_90d": "int",
    "revenue_90d": "money",
    "orders_365d": "int",
    "revenue_365d": "money",
    "orders_total": "int",
    "revenue_total": "money",
    "aov": "money_ratio",
    "coupon_order_share": "float",
    "active_days_30d": "int",
    "events_30d": "int",
    "preferred_platform": "text",
    "preferred_hour_slot": "text",
    "age_band": "text",
    "city_tier_label": "text",
    "value_tier": "text",
    "rfm_r": "int",
    "rfm_f": "int",
    "rfm_m": "int",
    "rfm_segment": "text",
    "frequency_band": "text",
    "aov_band": "text",
    "coupon_order_share_90d": "float",
    "best_hour_slot": "text",
    "best_weekday": "text",
    "activity_level": "text",
    "is_cart_abandoner": "bool",
    "review_style": "text",
    "avg_rating": "float",
    "lifecycle_stage": "text",
    "tenure_band": "text",
    "days_inactive": "int",
    "coupon_lover": "bool",
    "as_of": "date",
}


def is_auto(value: Any) -> bool:
    """The var asks for a derived value (macro is_auto_var: `auto`, any case, spaces ignored)."""
    return str(value).strip().lower() == "auto"


@dataclass(frozen=True)
class TagRules:
    """Thresholds and cut points of the tags, from the dbt project's vars.

    The lifecycle days and the cut points of CUT_POINT_SPECS may be the string `auto`: with_lifecycle
    and with_cut_points replace them with the values derived from the data.
    """

    lifecycle_new_days: int
    lifecycle_silent_days: int | str
    lifecycle_churned_days: int | str
    lifecycle_reactivated_days: int | str
    lifecycle_silent_days_floor: int
    lifecycle_churned_days_floor: int
    lifecycle_min_repeat_buyers: int
    rfm_recency_days: list[float] | str
    rfm_frequency_orders: list[float] | str
    rfm_monetary_cny: list[float] | str
    value_tier_high_share: float
    value_tier_mid_share: float
    frequency_band_orders: list[float] | str
    aov_band_cny: list[float] | str
    coupon_lover_min_orders: int
    coupon_lover_min_share: float
    cart_abandoner_days: int
    activity_level_days: list[float] | str
    review_style_rating: list[float]

    @classmethod
    def from_dbt_project(cls, project_file: Path = DBT_PROJECT_DIR / "dbt_project.yml") -> TagRules:
        variables = yaml.safe_load(project_file.read_text())["vars"]
        return cls(**{name: variables[name] for name in cls.__dataclass_fields__})

    def with_lifecycle(self, daily: pd.DataFrame, as_of: pd.Timestamp) -> TagRules:
        """The lifecycle days, `auto` ones derived from the purchase days (fct_lifecycle_thresholds)."""
        purchases = daily.loc[(daily["orders"] > 0) & (daily["activity_date"] <= as_of)]
        purchase_days = zip(purchases["user_id"], purchases["activity_date"].dt.date, strict=True)
        variables = {name: getattr(self, name) for name in self.__dataclass_fields__ if name.startswith("lifecycle_")}
        thresholds = derive_lifecycle_thresholds(purchase_days, as_of.date(), variables)
        return dataclasses.replace(
            self,
            lifecycle_silent_days=thresholds["silent_days"],
            lifecycle_churned_days=thresholds["churned_days"],
            lifecycle_reactivated_days=thresholds["reactivated_days"],
        )

    def with_cut_points(self, facts: pd.DataFrame) -> TagRules:
        """Every `auto` cut-point var derived from the user facts (marts.tag_cut_points).

        `facts` has the columns of fct_user_facts the derivation reads, money in CNY. A cut point
        with nothing to derive from is null in the mart and reached by nobody: NaN here.
        """
        derived = {
            var: [np.nan if cut is None else float(cut) for cut in derive_cut_points(facts, var)]
            for var in CUT_POINT_SPECS
            if is_auto(getattr(self, var))
        }
        return dataclasses.replace(self, **derived)


# ── reading ──────────────────────────────────────────────────────────────────────────────────────


def read_table(landing_dir: Path, table: str, last_day: date) -> pd.DataFrame:
    """Every landed day of a table up to `last_day`, with the landing day as `_partition_date`."""
    frames = []
    for folder in sorted((landing_dir / table).glob("date=*")):
        day = date.fromisoformat(folder.name.removeprefix("date="))
        if day <= last_day:
            for part in day_parts(folder):  # every part of the day, as the raw load reads them
                frame = pd.read_parquet(part)
                frame["_partition_date"] = pd.Timestamp(day)
                frames.append(frame)
    return pd.concat(frames, ignore_index=True)


# ── staging: the rows no reject rule matches ─────────────────────────────────────────────────────


def local_time(utc: pd.Series, timezone: str) -> pd.Series:
    return utc.dt.tz_convert(timezone).dt.tz_localize(None)


def has_malformed_text(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    found = pd.Series(False, index=frame.index)
    for column in columns:
        found |= frame[column].str.contains(MALFORMED_TEXT, regex=True, na=False)
    return found


def first_of_key(frame: pd.DataFrame, key: list[str], order: list[str]) -> pd.Series:
    """True for the row `row_number() over (partition by key order by order)` ranks first."""
    repeated = frame.duplicated(key, keep=False)
    first = ~repeated
    candidates = frame.loc[repeated].sort_values(order, kind="stable")
    first.loc[candidates.index[~candidates.duplicated(key)]] = True
    return first


def normalized(codes: pd.Series) -> pd.Series:
    return codes.str.strip().str.lower()


def timestamp_faults(frame: pd.DataFrame, column: str, timezone: str) -> pd.Series:
    """future_timestamp, missing_timestamp and partition_mismatch: the local day is not the landing day."""
    local_day = local_time(frame[column], timezone).dt.normalize()
    return frame[column].isna() | (local_day != frame["_partition_date"])


def clean_users(raw: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Clean user versions, valid from their local update day until the next version's."""
    order = [
        "_partition_date",
        "gender",
        "birth_date",
        "city",
        "province",
        "city_tier",
        "registered_at",
        "register_channel",
        "phone",
        "email",
        "marketing_consent",
    ]
    rejected = (
        raw["user_id"].isna()
        | ~first_of_key(raw, ["user_id", "updated_at"], order)
        | timestamp_faults(raw, "updated_at", timezone)
        | has_malformed_text(raw, ["user_id", "gender", "city", "province", "register_channel", "phone", "email"])
    )
    users = raw.loc[~rejected].sort_values(["user_id", "updated_at"])
    superseded_at = users.groupby("user_id")["updated_at"].shift(-1)
    gender = normalized(users["gender"])
    return pd.DataFrame(
        {
            "user_id": users["user_id"],
            "gender": np.select(
                [gender.isin(["male", "m", "男"]), gender.isin(["female", "f", "女"])], ["male", "female"], "unknown"
            ),
            "birth_date": pd.to_datetime(users["birth_date"]),
            "city": users["city"].str.strip().replace("", None),
            "province": users["province"].str.strip().replace("", None),
            "city_tier": users["city_tier"],
            "registered_at": users["registered_at"],
            "registered_date": local_time(users["registered_at"], timezone).dt.normalize(),
            "register_channel": normalized(users["register_channel"]),
            "marketing_consent": users["marketing_consent"].fillna(False).astype(bool),
            "valid_from_date": local_time(users["updated_at"], timezone).dt.normalize(),
            "valid_to_date": local_time(superseded_at, timezone).dt.normalize(),
        }
    )


def clean_events(raw: pd.DataFrame, known_users: pd.Index, timezone: str) -> pd.DataFrame:
    order = [
        "_partition_date",
        "occurred_at",
        "user_id",
        "session_id",
        "event_type",
        "product_id",
        "search_query",
        "platform",
    ]
    event_type, platform = normalized(raw["event_type"]), normalized(raw["platform"])
    rejected = (
        raw["event_id"].isna()
        | raw["user_id"].isna()
        | ~first_of_key(raw, ["event_id"], order)
        | ~raw["user_id"].isin(known_users)
        | timestamp_faults(raw, "occurred_at", timezone)
        | has_malformed_text(
            raw, ["event_id", "user_id", "session_id", "event_type", "product_id", "search_query", "platform"]
        )
        | ~event_type.isin(EVENT_TYPES)
        | ~platform.isin(PLATFORMS)
    )
    events = raw.loc[~rejected]
    local = local_time(events["occurred_at"], timezone)
    hour = local.dt.hour
    return pd.DataFrame(
        {
            "user_id": events["user_id"],
            "session_id": events["session_id"],
            "event_type": event_type[~rejected],
            "platform": platform[~rejected],
            "activity_date": local.dt.normalize(),
            "hour_slot": np.select(
                [hour.between(first, last) for _, first, last in HOUR_SLOTS], [name for name, _, _ in HOUR_SLOTS], ""
            ),
        }
    )


def clean_orders(raw: pd.DataFrame, known_users: pd.Index, timezone: str) -> pd.DataFrame:
    order = [
        "_partition_date",
        "ordered_at",
        "user_id",
        "status",
        "platform",
        "coupon_id",
        "gross_amount",
        "discount_amount",
        "paid_amount",
    ]
    status, platform = normalized(raw["status"]), normalized(raw["platform"])
    rejected = (
        raw["order_id"].isna()
        | raw["user_id"].isna()
        | ~first_of_key(raw, ["order_id"], order)
        | ~raw["user_id"].isin(known_users)
        | (raw["gross_amount"] < 0)
        | (raw["discount_amount"] < 0)
        | (raw["paid_amount"] < 0)
        | timestamp_faults(raw, "ordered_at", timezone)
        | has_malformed_text(raw, ["order_id", "user_id", "status", "platform", "coupon_id"])
        | ~status.isin(ORDER_STATUSES)
        | ~platform.isin(PLATFORMS)
    )
    orders = raw.loc[~rejected]
    return pd.DataFrame(
        {
            "user_id": orders["user_id"],
            "status": status[~rejected],
            "used_coupon": orders["coupon_id"].str.strip().fillna("") != "",
            "paid_cents": (orders["paid_amount"] * 100).round().astype("int64"),
            "activity_date": local_time(orders["ordered_at"], timezone).dt.normalize(),
        }
    )


def clean_reviews(raw: pd.DataFrame, known_users: pd.Index, known_orders: pd.Index, timezone: str) -> pd.DataFrame:
    order = ["_partition_date", "created_at", "order_id", "user_id", "product_id", "rating", "review_text"]
    rejected = (
        raw["review_id"].isna()
        | raw["user_id"].isna()
        | ~first_of_key(raw, ["review_id"], order)
        | ~raw["user_id"].isin(known_users)
        | timestamp_faults(raw, "created_at", timezone)
        | has_malformed_text(raw, ["review_id", "order_id", "user_id", "product_id", "review_text"])
        | (raw["order_id"].notna() & ~raw["order_id"].isin(known_orders))
        | ~raw["rating"].between(1, 5)
    )
    reviews = raw.loc[~rejected]
    return pd.DataFrame(
        {
            "user_id": reviews["user_id"],
            "rating": reviews["rating"].astype("int64"),
            "activity_date": local_time(reviews["created_at"], timezone).dt.normalize(),
        }
    )


# ── one row per user and active day ──────────────────────────────────────────────────────────────


def daily_rollup(events: pd.DataFrame, orders: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    keys = ["user_id", "activity_date"]
    by_day = events.groupby(keys)
    event_days = pd.concat(
        [
            by_day.size().rename("events"),
            events.groupby([*keys, "hour_slot"]).size().unstack(fill_value=0).add_prefix("events_"),
            events.groupby([*keys, "platform"]).size().unstack(fill_value=0).add_prefix("events_"),
        ],
        axis=1,
    )
    sessions = (
        events.assign(has_cart=events["event_type"] == "add_to_cart", has_purchase=events["event_type"] == "purchase")
        .groupby(["user_id", "session_id", "activity_date"], dropna=False)[["has_cart", "has_purchase"]]
        .any()
    )
    abandoned = (sessions["has_cart"] & ~sessions["has_purchase"]).groupby(level=keys).sum()
    paid = orders.assign(
        paid=orders["status"] == "paid",
        revenue_cents=orders["paid_cents"].where(orders["status"] == "paid", 0),
        coupon_orders=(orders["status"] == "paid") & orders["used_coupon"],
    )
    order_days = paid.groupby(keys).agg(
        any_order=("paid", "size"),
        orders=("paid", "sum"),
        revenue_cents=("revenue_cents", "sum"),
        coupon_orders=("coupon_orders", "sum"),
    )
    review_days = reviews.groupby(keys).agg(reviews=("rating", "size"), rating_sum=("rating", "sum"))
    daily = pd.concat([event_days, abandoned.rename("sessions_abandoned"), order_days, review_days], axis=1)
    daily = daily.fillna(0).astype("int64")
    for name in [f"events_{slot}" for slot, _, _ in HOUR_SLOTS] + [f"events_{p}" for p in PLATFORMS]:
        if name not in daily:
            daily[name] = 0
    daily["is_active"] = (daily["events"] > 0) | (daily["any_order"] > 0) | (daily["reviews"] > 0)
    return daily.reset_index()


# ── per-user facts as of a day ───────────────────────────────────────────────────────────────────


def label_of_max(counts: pd.DataFrame, labels: list[str]) -> pd.Series:
    """The label of the largest count, ties to the earlier label; null when every count is 0."""
    label = pd.Series(np.array(labels, dtype=object)[counts.to_numpy().argmax(axis=1)], index=counts.index)
    return label.where(counts.sum(axis=1) > 0)


def user_facts(daily: pd.DataFrame, as_of: pd.Timestamp, silent_days: int) -> pd.DataFrame:
    daily = daily.loc[daily["activity_date"] <= as_of].copy()
    daily["days_ago"] = (as_of - daily["activity_date"]).dt.days
    by_user = daily.groupby("user_id")
    active = daily.loc[daily["is_active"]]

    def last_day_where(mask: pd.Series) -> pd.Series:
        return daily.loc[mask].groupby("user_id")["activity_date"].max()

    def windowed(column: str, days: int) -> pd.Series:
        return daily[column].where(daily["days_ago"] < days, 0).groupby(daily["user_id"]).sum()

    facts = pd.DataFrame(
        {
            "first_active_date": active.groupby("user_id")["activity_date"].min(),
            "last_active_date": active.groupby("user_id")["activity_date"].max(),
            "first_order_date": daily.loc[daily["orders"] > 0].groupby("user_id")["activity_date"].min(),
            "last_order_date": last_day_where(daily["orders"] > 0),
            "last_cart_abandoned_date": last_day_where(daily["sessions_abandoned"] > 0),
            "orders_total": by_user["orders"].sum(),
            "revenue_total": by_user["revenue_cents"].sum(),
            "coupon_orders_total": by_user["coupon_orders"].sum(),
            "coupon_orders_90d": windowed("coupon_orders", 90),
            "active_days_30d": (daily["is_active"] & (daily["days_ago"] < 30)).groupby(daily["user_id"]).sum(),
            "events_30d": windowed("events", 30),
            "reviews_total": by_user["reviews"].sum(),
            "rating_sum_total": by_user["rating_sum"].sum(),
        }
    )
    for days in (30, 90, 365):
        facts[f"orders_{days}d"] = windowed("orders", days)
        facts[f"revenue_{days}d"] = windowed("revenue_cents", days)

    slots = [slot for slot, _, _ in HOUR_SLOTS]
    facts["preferred_platform"] = label_of_max(by_user[[f"events_{p}" for p in PLATFORMS]].sum(), PLATFORMS)
    facts["preferred_hour_slot"] = label_of_max(by_user[[f"events_{s}" for s in slots]].sum(), slots)
    recent = daily.loc[daily["days_ago"] < 90]
    facts["best_hour_slot"] = label_of_max(recent.groupby("user_id")[[f"events_{s}" for s in slots]].sum(), slots)
    weekday_events = (
        recent.assign(weekday=recent["activity_date"].dt.dayofweek)  # 0 = Monday
        .pivot_table(index="user_id", columns="weekday", values="events", aggfunc="sum", fill_value=0)
        .reindex(columns=range(7), fill_value=0)
    )
    facts["best_weekday"] = label_of_max(weekday_events, WEEKDAYS)

    # The latest day a user came back after more than `silent_days` without activity.
    active = active.sort_values(["user_id", "activity_date"])
    gap_days = (active["activity_date"] - active.groupby("user_id")["activity_date"].shift()).dt.days
    facts["last_reactivated_date"] = active.loc[gap_days > silent_days + 1].groupby("user_id")["activity_date"].max()
    return facts


def as_of_day(daily: pd.DataFrame, users: pd.DataFrame) -> pd.Timestamp:
    """The latest landed day: the latest activity day or user version (macro as_of_date)."""
    return max(daily["activity_date"].max(), users["valid_from_date"].max())


# ── the profile ──────────────────────────────────────────────────────────────────────────────────


def holds(condition: pd.Series) -> pd.Series:
    """A condition as SQL's `where` reads it: null is not true."""
    return condition.fillna(False).astype(bool)


def score_at_most(values: pd.Series, cut_points: list[float]) -> pd.Series:
    """5 when within the first cut point … 1 beyond the last; null stays null."""
    score = pd.Series(1, index=values.index, dtype="Int64")
    for rank, cut in reversed(list(enumerate(cut_points))):
        score = score.mask(holds(values <= cut), len(cut_points) + 1 - rank)
    return score.mask(values.isna())


def score_at_least(values: pd.Series, cut_points: list[float]) -> pd.Series:
    """1 + how many cut points the value reaches; null stays null."""
    score = pd.Series(1, index=values.index, dtype="Int64")
    for rank, cut in enumerate(cut_points):
        score = score.mask(holds(values >= cut), rank + 2)
    return score.mask(values.isna())


def band(values: pd.Series, cut_points: list[float], labels: list[str], null_label: str = "unknown") -> pd.Series:
    """labels[i] below cut point i, labels[-1] from the last; null → `null_label` (macros/tags.sql band)."""
    label = pd.Series(labels[-1], index=values.index, dtype=object)
    for cut, name in reversed(list(zip(cut_points, labels, strict=False))):
        label = label.mask(holds(values < cut), name)
    return label.mask(values.isna(), null_label)


def rfm_segment(r: pd.Series, f: pd.Series, m: pd.Series) -> pd.Series:
    fm = np.floor((f + m) / 2.0 + 0.5)
    segment = pd.Series(None, index=r.index, dtype=object)
    for name, (r_low, r_high), (fm_low, fm_high) in reversed(RFM_SEGMENTS):
        segment = segment.mask(holds(r.between(r_low, r_high) & fm.between(fm_low, fm_high)), name)
    return segment.mask(r.isna() | f.isna() | m.isna(), "no_purchase")


def completed_years(birth: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    before_birthday = (birth.dt.month * 100 + birth.dt.day) > (as_of.month * 100 + as_of.day)
    return (as_of.year - birth.dt.year - before_birthday.astype("Int64")).astype("Int64")


def ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return (numerator / denominator.where(denominator != 0)).astype("float64")


def days_between(earlier: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    return (as_of - earlier).dt.days.astype("Int64")


def user_profile(users: pd.DataFrame, facts: pd.DataFrame, as_of: pd.Timestamp, rules: TagRules) -> pd.DataFrame:
    current = users.loc[
        (users["valid_from_date"] <= as_of) & (users["valid_to_date"].isna() | (users["valid_to_date"] > as_of))
    ]
    p = current.set_index("user_id").join(facts)
    counts = [
        "orders_30d",
        "orders_90d",
        "orders_365d",
        "orders_total",
        "active_days_30d",
        "events_30d",
        "coupon_orders_90d",
        "coupon_orders_total",
        "reviews_total",
        "rating_sum_total",
    ]
    money = ["revenue_30d", "revenue_90d", "revenue_365d", "revenue_total"]
    p[counts + money] = p[counts + money].fillna(0).astype("int64")

    p["age"] = completed_years(p["birth_date"], as_of)
    p["tenure_days"] = days_between(p["registered_date"], as_of)
    p["days_inactive"] = days_between(p["last_active_date"].fillna(p["registered_date"]), as_of)
    p["recency_days"] = days_between(p["last_order_date"], as_of)
    p["aov"] = ratio(p["revenue_total"], p["orders_total"]).round()
    # CNY to the cent the way the pipeline's cast(double as decimal(18, 2)) rounds (half up): its
    # value is the boundary of the derived AOV bands, so a half cent must round the same.
    aov_365d = np.floor(ratio(p["revenue_365d"] / 100, p["orders_365d"]) * 100 + 0.5) / 100
    p["coupon_order_share"] = ratio(p["coupon_orders_total"], p["orders_total"])
    p["coupon_order_share_90d"] = ratio(p["coupon_orders_90d"], p["orders_90d"])
    p["avg_rating"] = ratio(p["rating_sum_total"], p["reviews_total"])

    p["age_band"] = band(
        p["age"], [18, 25, 30, 35, 40, 50], ["under_18", "18_24", "25_29", "30_34", "35_39", "40_49", "50_plus"]
    )
    p["city_tier_label"] = p["city_tier"].map(CITY_TIERS).fillna("unknown")
    p["value_tier"] = value_tier(p, rules)
    rules = rules.with_cut_points(
        pd.DataFrame(
            {
                "recency_days": p["recency_days"],
                "orders_total": p["orders_total"],
                "orders_365d": p["orders_365d"],
                "revenue_365d": p["revenue_365d"] / 100,
                "aov_365d": aov_365d,
                "active_days_30d": p["active_days_30d"],
            }
        )
    )
    buyer = p["orders_total"] > 0
    p["rfm_r"] = score_at_most(p["recency_days"], rules.rfm_recency_days)
    p["rfm_f"] = score_at_least(p["orders_365d"], rules.rfm_frequency_orders).where(buyer)
    p["rfm_m"] = score_at_least(p["revenue_365d"] / 100, rules.rfm_monetary_cny).where(buyer)
    p["rfm_segment"] = rfm_segment(p["rfm_r"], p["rfm_f"], p["rfm_m"])
    p["frequency_band"] = band(
        p["orders_365d"], rules.frequency_band_orders, ["one_time", "occasional", "regular", "frequent"]
    ).mask(p["orders_365d"] == 0, "none")
    p["aov_band"] = band(aov_365d, rules.aov_band_cny, ["low", "medium", "high", "premium"])
    p["best_hour_slot"] = p["best_hour_slot"].fillna("unknown")
    p["best_weekday"] = p["best_weekday"].fillna("unknown")
    p["activity_level"] = band(p["active_days_30d"], rules.activity_level_days, ["inactive", "low", "medium", "high"])
    abandoned_days_ago = days_between(p["last_cart_abandoned_date"], as_of)
    p["is_cart_abandoner"] = holds(
        (abandoned_days_ago < rules.cart_abandoner_days)
        & (p["last_order_date"].isna() | (p["last_order_date"] < p["last_cart_abandoned_date"]))
    )
    p["review_style"] = band(p["avg_rating"], rules.review_style_rating, ["critical", "balanced", "generous"]).mask(
        p["reviews_total"] == 0, "none"
    )
    p["lifecycle_stage"] = lifecycle_stage(p, as_of, rules)
    p["tenure_band"] = band(p["tenure_days"], [30, 90, 365, 1095], ["under_1m", "1_3m", "3_12m", "1_3y", "3y_plus"])
    p["coupon_lover"] = holds(
        (p["coupon_orders_90d"] >= rules.coupon_lover_min_orders)
        & (p["coupon_order_share_90d"] >= rules.coupon_lover_min_share)
    )
    p["as_of"] = as_of
    return p.reset_index()[list(PEER_COLUMNS)]


def value_tier(p: pd.DataFrame, rules: TagRules) -> pd.Series:
    """Buyers of the last 365 days by the share of buyers spending at least as much (cume_dist)."""
    buyers = p.loc[p["orders_365d"] > 0, "revenue_365d"]
    top_share = buyers.rank(method="max", ascending=False) / len(buyers)
    tier = pd.Series("none", index=p.index, dtype=object)
    tier[top_share.index] = np.select(
        [top_share <= rules.value_tier_high_share, top_share <= rules.value_tier_mid_share], ["high", "mid"], "low"
    )
    return tier


def lifecycle_stage(p: pd.DataFrame, as_of: pd.Timestamp, rules: TagRules) -> pd.Series:
    since_comeback = days_between(p["last_reactivated_date"], as_of)
    stages = ["churned", "silent", "new", "reactivated"]
    conditions = [
        p["days_inactive"] > rules.lifecycle_churned_days,
        p["days_inactive"] > rules.lifecycle_silent_days,
        p["tenure_days"] < rules.lifecycle_new_days,
        since_comeback < rules.lifecycle_reactivated_days,
    ]
    return pd.Series(np.select([holds(condition) for condition in conditions], stages, "active"), index=p.index)


# ── the whole program, timed by phase ────────────────────────────────────────────────────────────


class PhaseClock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


def build_profile(landing_dir: Path, last_day: date, timezone: str, clock: PhaseClock) -> pd.DataFrame:
    rules = TagRules.from_dbt_project()
    with clock.phase("read"):
        raw = {table: read_table(landing_dir, table, last_day) for table in ("users", "orders", "events", "reviews")}
    with clock.phase("staging"):
        known_users = pd.Index(raw["users"]["user_id"].dropna().unique())
        known_orders = pd.Index(raw["orders"]["order_id"].dropna().unique())
        users = clean_users(raw.pop("users"), timezone)
        orders = clean_orders(raw.pop("orders"), known_users, timezone)
        events = clean_events(raw.pop("events"), known_users, timezone)
        reviews = clean_reviews(raw.pop("reviews"), known_users, known_orders, timezone)
    with clock.phase("daily"):
        daily = daily_rollup(events, orders, reviews)
        del events, orders, reviews
    with clock.phase("facts"):
        as_of = as_of_day(daily, users)
        rules = rules.with_lifecycle(daily, as_of)
        facts = user_facts(daily, as_of, rules.lifecycle_silent_days)
    with clock.phase("profile"):
        return user_profile(users, facts, as_of, rules)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The pandas peer of the user profile (see bench/peer.py).")
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--last-day", type=date.fromisoformat, required=True)
    parser.add_argument("--timezone", required=True)
    parser.add_argument("--out", type=Path, required=True, help="profile Parquet")
    parser.add_argument("--timings", type=Path, required=True, help="phase timings JSON")
    args = parser.parse_args(argv)
    clock = PhaseClock()
    started = time.perf_counter()
    profile = build_profile(args.landing, args.last_day, args.timezone, clock)
    seconds = time.perf_counter() - started
    profile.to_parquet(args.out, index=False)
    args.timings.write_text(json.dumps({"seconds": seconds, "phases": clock.seconds, "rows": len(profile)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
