"""Top-N product recommendations, computed in DuckDB from the user × product × day rollup.

Three scores per (user, candidate product), each normalised by the user's maximum, are blended:

* co-occurrence — item-item cosine similarity of users' weighted interactions (view, click,
  favourite, cart, purchase; log-damped, the strongest items per user), summed over the items
  the user interacted with;
* category affinity — the user's interest share in a category times the item's popularity within it;
* popularity — overall interest, the only signal for a user without history (cold start).

Items the user already bought are never recommended. The same query with only the popularity
score is the baseline the evaluation compares with: recommend from the days before the last
`holdout_days`, then measure hit-rate and recall@N on the purchases of those days.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import duckdb
import pandas as pd

from ml_assets.config import RecommendationConfig
from ml_assets.features import USER_PRODUCT_DAILY
from ml_assets.metrics import hit_rate_and_recall

SOURCES = ("co-occurrence", "category affinity", "popularity")

_RECOMMEND_SQL = """
with interactions as (
    select
        user_id,
        product_id,
        max(category_l1) as category_l1,
        sum({weight}) as weight,
        sum(purchased_units) > 0 as bought
    from {rollup}
    where activity_date <= $cutoff
    group by user_id, product_id
),

user_items as (
    select user_id, product_id, ln(1 + weight) as strength
    from interactions
    qualify row_number() over (partition by user_id order by weight desc, product_id) <= {max_items}
),

item_norms as (
    select product_id, sqrt(sum(strength * strength)) as norm
    from user_items
    group by product_id
),

item_pairs as (
    select a.product_id as item, b.product_id as neighbour, sum(a.strength * b.strength) as dot
    from user_items as a
    inner join user_items as b on a.user_id = b.user_id and a.product_id <> b.product_id
    group by a.product_id, b.product_id
),

neighbours as (
    select item_pairs.item, item_pairs.neighbour, item_pairs.dot / (items.norm * others.norm) as similarity
    from item_pairs
    inner join item_norms as items on item_pairs.item = items.product_id
    inner join item_norms as others on item_pairs.neighbour = others.product_id
    qualify row_number() over (partition by item_pairs.item order by similarity desc, item_pairs.neighbour)
        <= {neighbours}
),

cooccurrence as (
    select
        user_items.user_id,
        neighbours.neighbour as product_id,
        sum(user_items.strength * neighbours.similarity) as score
    from user_items
    inner join neighbours on user_items.product_id = neighbours.item
    group by user_items.user_id, neighbours.neighbour
),

popularity as (
    select product_id, max(category_l1) as category_l1, sum(weight) as weight
    from interactions
    group by product_id
),

category_popularity as (
    select product_id, category_l1, weight / sum(weight) over (partition by category_l1) as share
    from popularity
    where category_l1 is not null
    qualify row_number() over (partition by category_l1 order by weight desc, product_id) <= {per_category}
),

user_categories as (
    select user_id, category_l1, sum(weight) / sum(sum(weight)) over (partition by user_id) as affinity
    from interactions
    where category_l1 is not null
    group by user_id, category_l1
),

category_scores as (
    select user_categories.user_id, category_popularity.product_id,
        user_categories.affinity * category_popularity.share as score
    from user_categories
    inner join category_popularity on user_categories.category_l1 = category_popularity.category_l1
),

popular as (
    select product_id, weight / max(weight) over () as score
    from popularity
    qualify row_number() over (order by weight desc, product_id) <= {popular_candidates}
),

targets as (
    select distinct cast(user_id as varchar) as user_id from target_users
),

candidates as (
    select targets.user_id, cooccurrence.product_id, cooccurrence.score as cooccurrence,
        0.0 as category, 0.0 as popularity
    from cooccurrence inner join targets on cooccurrence.user_id = targets.user_id
    union all
    select targets.user_id, category_scores.product_id, 0.0, category_scores.score, 0.0
    from category_scores inner join targets on category_scores.user_id = targets.user_id
    union all
    select targets.user_id, popular.product_id, 0.0, 0.0, popular.score
    from targets cross join popular
),

combined as (
    select user_id, product_id, sum(cooccurrence) as cooccurrence, sum(category) as category,
        sum(popularity) as popularity
    from candidates
    group by user_id, product_id
),

normalised as (
    select
        user_id,
        product_id,
        {blend_cooccurrence} * coalesce(cooccurrence / nullif(max(cooccurrence) over (partition by user_id), 0), 0)
            as cooccurrence,
        {blend_category} * coalesce(category / nullif(max(category) over (partition by user_id), 0), 0) as category,
        {blend_popularity} * popularity as popularity
    from combined
),

scored as (
    select
        normalised.user_id,
        normalised.product_id,
        normalised.cooccurrence + normalised.category + normalised.popularity as score,
        case greatest(normalised.cooccurrence, normalised.category, normalised.popularity)
            when normalised.cooccurrence then '{source_cooccurrence}'
            when normalised.category then '{source_category}'
            else '{source_popularity}'
        end as source
    from normalised
    left join interactions
        on normalised.user_id = interactions.user_id
        and normalised.product_id = interactions.product_id
        and interactions.bought
    where interactions.user_id is null
)

select user_id, product_id, score, source,
    cast(row_number() over (partition by user_id order by score desc, product_id) as integer) as rank
from scored
qualify rank <= {top_n}
order by user_id, rank
"""


def recommendation_sql(config: RecommendationConfig, rollup: str = USER_PRODUCT_DAILY) -> str:
    """The query, for the users in a registered relation `target_users` and the date parameter $cutoff."""
    weight = (
        f"views * {float(config.weight_view)} + clicks * {float(config.weight_click)} "
        f"+ favorites * {float(config.weight_favorite)} + carts * {float(config.weight_cart)} "
        f"+ purchased_units * {float(config.weight_purchase)}"
    )
    return _RECOMMEND_SQL.format(
        rollup=rollup,
        weight=weight,
        max_items=int(config.max_items_per_user),
        neighbours=int(config.neighbours),
        per_category=int(config.candidates_per_category),
        # Enough popular items that N remain after removing what any user bought.
        popular_candidates=int(config.top_n) * 5,
        blend_cooccurrence=float(config.blend_cooccurrence),
        blend_category=float(config.blend_category),
        blend_popularity=float(config.blend_popularity),
        source_cooccurrence=SOURCES[0],
        source_category=SOURCES[1],
        source_popularity=SOURCES[2],
        top_n=int(config.top_n),
    )


def recommend(
    conn: duckdb.DuckDBPyConnection, users: pd.Series, cutoff: date, config: RecommendationConfig
) -> pd.DataFrame:
    """Top-N per user from the interactions up to `cutoff` (inclusive): user_id, product_id, score, source, rank."""
    conn.register("target_users", pd.DataFrame({"user_id": users.astype(str).unique()}))
    try:
        return conn.execute(recommendation_sql(config), {"cutoff": cutoff}).to_arrow_table().to_pandas()
    finally:
        conn.unregister("target_users")


def popularity_only(config: RecommendationConfig) -> RecommendationConfig:
    return replace(config, blend_cooccurrence=0.0, blend_category=0.0, blend_popularity=1.0)


@dataclass(frozen=True)
class RecommendationEvaluation:
    cutoff: date
    as_of: date
    users: int  # users with a purchase of a new item in the held-out days
    hit_rate: float
    recall: float
    baseline_hit_rate: float
    baseline_recall: float

    @property
    def hit_rate_lift(self) -> float:
        return self.hit_rate / self.baseline_hit_rate if self.baseline_hit_rate > 0 else float("nan")

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "cutoff": self.cutoff.isoformat(),
            "as_of": self.as_of.isoformat(),
            "users_evaluated": self.users,
            "hit_rate": round(self.hit_rate, 4),
            "recall": round(self.recall, 4),
            "baseline_hit_rate": round(self.baseline_hit_rate, 4),
            "baseline_recall": round(self.baseline_recall, 4),
            "hit_rate_lift": round(self.hit_rate_lift, 3),
        }


def held_out_purchases(conn: duckdb.DuckDBPyConnection, cutoff: date, as_of: date) -> dict[str, set[str]]:
    """Products bought in (cutoff, as_of] that the user had not bought by the cutoff."""
    rows = conn.execute(
        f"""
        select later.user_id, later.product_id
        from {USER_PRODUCT_DAILY} as later
        where later.activity_date > $cutoff and later.activity_date <= $as_of and later.purchased_units > 0
            and not exists (
                select 1 from {USER_PRODUCT_DAILY} as earlier
                where earlier.user_id = later.user_id and earlier.product_id = later.product_id
                    and earlier.activity_date <= $cutoff and earlier.purchased_units > 0
            )
        group by later.user_id, later.product_id
        """,
        {"cutoff": cutoff, "as_of": as_of},
    ).fetchall()
    purchased: dict[str, set[str]] = {}
    for user, product in rows:
        purchased.setdefault(user, set()).add(product)
    return purchased


def _as_lists(frame: pd.DataFrame) -> dict[str, list[str]]:
    return frame.groupby("user_id")["product_id"].agg(list).to_dict()


def evaluate_recommendations(
    conn: duckdb.DuckDBPyConnection, as_of: date, config: RecommendationConfig
) -> RecommendationEvaluation:
    """Hit-rate and recall@N of the blend and of popularity alone on the last `holdout_days` purchases."""
    cutoff = as_of - timedelta(days=config.holdout_days)
    purchased = held_out_purchases(conn, cutoff, as_of)
    users = pd.Series(sorted(purchased), dtype=str)
    hit, recall, evaluated = hit_rate_and_recall(_as_lists(recommend(conn, users, cutoff, config)), purchased)
    base_hit, base_recall, _ = hit_rate_and_recall(
        _as_lists(recommend(conn, users, cutoff, popularity_only(config))), purchased
    )
    return RecommendationEvaluation(cutoff, as_of, evaluated, hit, recall, base_hit, base_recall)
