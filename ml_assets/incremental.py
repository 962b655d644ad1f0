"""What a one-day run recomputes and what it keeps (docs/ml.md, "Daily runs cost a day's work").

A single-partition run after a previous run does not redo every user:

* recommendations: only users with a row of `facts.int_user_product_daily` dated on the run's day or
  after their own recommendations' as-of (they interacted since; a re-run of a day with late rows
  recomputes that day's users), plus users who have none yet; the others keep their rows and
  as-of; users gone from the feature table lose theirs;
* scores: only users with a row of `facts.int_user_daily` (visits, orders, campaign sends) or a new
  version of their user record dated after the previous scoring day, plus users without a score
  that day; the others' scores are carried to the new as-of and the deciles are recomputed over
  everyone. Only a model that scores row by row is used this way, and only when it is the model
  that scored the previous day: a new version (the weekly retrain) rescores everyone.

An inactive user's feature row changes too (days since the last visit grow by one every day), so a
carried score is the user's score as of the last day something happened to them; the weekly
retrain rescores everyone, which bounds that lag to a week.

Every function takes an engine of `huaxiang.engines` (DuckDB or Spark) and reads through Arrow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from huaxiang.engines import Engine
from ml_assets.features import ML_SCHEMA, SCORE_FEATURES, USER_PRODUCT_DAILY, read_frame, relation_exists
from ml_assets.metrics import deciles
from ml_assets.propensity import PropensityModel

RECOMMENDATIONS = f"{ML_SCHEMA}.user_recommendations"
SCORES = f"{ML_SCHEMA}.purchase_propensity"
USER_DAILY = "facts.int_user_daily"
USER_VERSIONS = "staging.stg_users_versions"
# Kinds whose score of a user depends on that user's row only (BG/NBD and the order-rate heuristic are
# refitted on the whole scoring population: scoring a part of it would change the scores).
ROW_WISE_KINDS = frozenset({"hist_gradient_boosting", "logistic_regression"})

# Every current user, flagged when the recommendations must be recomputed ($day: the run's day).
_RECOMMENDATION_PLAN = f"""
with latest as (
    select user_id, max(as_of) as as_of from {RECOMMENDATIONS} group by user_id
),
recent as (
    select user_id, max(activity_date) as last_day
    from {USER_PRODUCT_DAILY}
    where activity_date >= least((select min(as_of) from latest) + 1, cast('$day' as date))
    group by user_id
),
plan as (
    select
        users.user_id,
        coalesce(
            latest.as_of is null or recent.last_day > latest.as_of or recent.last_day >= cast('$day' as date), false
        ) as recompute  -- null (no recent row) is false: kept
    from {SCORE_FEATURES} as users
    left join latest on latest.user_id = users.user_id
    left join recent on recent.user_id = users.user_id
)
"""


@dataclass(frozen=True)
class RecommendationPlan:
    users: pd.Series  # users to recommend for now, sorted
    kept: pa.Table | None  # every other current user's rows, as they are (None: nothing to keep)


def recommendation_plan(engine: Engine, day: date) -> RecommendationPlan:
    """Users who interacted on `day` or after their recommendations' as-of or have none, and the rows
    of every other current user (ordered by user and rank)."""
    if not relation_exists(engine, RECOMMENDATIONS):
        return RecommendationPlan(read_frame(engine, SCORE_FEATURES, ["user_id"])["user_id"].astype(str), None)
    plan = _RECOMMENDATION_PLAN.replace("$day", day.isoformat())
    users = engine.read_arrow(f"{plan} select user_id from plan where recompute order by user_id")
    kept = engine.read_arrow(
        f"""{plan}
        select recommendations.*
        from {RECOMMENDATIONS} as recommendations
        inner join plan on plan.user_id = recommendations.user_id and not plan.recompute
        order by recommendations.user_id, recommendations.rank
        """
    )
    return RecommendationPlan(users.column("user_id").to_pandas().astype(str), kept)


# ml.user_recommendations, typed here: a shop with no products recommends nothing, and an empty
# frame would leave every column's type to guesswork (the mart's contract expects these).
RECOMMENDATION_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("product_id", pa.string()),
        ("score", pa.float64()),
        ("source", pa.string()),
        ("rank", pa.int32()),
        ("as_of", pa.date32()),
    ]
)


def merge_recommendations(new: pd.DataFrame, kept: pa.Table | None) -> pa.Table:
    """The kept rows and the new ones as one table, ordered by user and rank."""
    if len(new):
        columns = new[RECOMMENDATION_SCHEMA.names]
        table = pa.Table.from_pandas(columns, schema=RECOMMENDATION_SCHEMA, preserve_index=False)
    else:
        table = RECOMMENDATION_SCHEMA.empty_table()
    if kept is None:
        return table
    if not len(new):
        return kept
    merged = pa.concat_tables([kept.select(table.column_names).cast(table.schema), table])
    return merged.sort_by([("user_id", "ascending"), ("rank", "ascending")])


@dataclass(frozen=True)
class ScorePlan:
    features: pd.DataFrame  # feature rows of the users to score now
    carried: pd.DataFrame  # user_id, score of the users whose previous score is carried forward
    previous_as_of: date | None  # the scoring day the carried scores come from


def previous_scoring(engine: Engine, as_of: date) -> tuple[date, list[str]] | None:
    """The latest scoring day before `as_of` and the model versions that scored it."""
    if not relation_exists(engine, SCORES):
        return None
    rows = engine.read_arrow(
        f"select as_of, model_version from {SCORES} "
        f"where as_of = (select max(as_of) from {SCORES} where as_of < cast('{as_of.isoformat()}' as date)) "
        "group by as_of, model_version order by model_version"
    )
    if not rows.num_rows:
        return None
    return rows.column("as_of")[0].as_py(), rows.column("model_version").to_pylist()


def score_plan(engine: Engine, previous_as_of: date) -> ScorePlan:
    """Users active, with a new user version or unscored since `previous_as_of` (their feature rows),
    and the previous scores of the other current users."""
    since = f"cast('{previous_as_of.isoformat()}' as date)"
    changed = f"""
        with previous as (select user_id, score from {SCORES} where as_of = {since}),
        changed as (
            select user_id from {SCORE_FEATURES}
            where user_id not in (select user_id from previous)
            union
            select user_id from {USER_DAILY} where activity_date > {since}
            union
            select user_id from {USER_VERSIONS} where valid_from_date > {since}
        )
    """
    features = engine.read_arrow(
        f"{changed} select features.* from {SCORE_FEATURES} as features "
        "where features.user_id in (select user_id from changed) order by features.user_id"
    ).to_pandas()
    carried = engine.read_arrow(
        f"{changed} select previous.user_id, previous.score from previous "
        f"where previous.user_id in (select user_id from {SCORE_FEATURES}) "
        "and previous.user_id not in (select user_id from changed) order by previous.user_id"
    ).to_pandas()
    return ScorePlan(features, carried, previous_as_of)


def carry_scores(
    scored: pd.DataFrame, carried: pd.DataFrame, as_of: date, model: PropensityModel, model_version: str
) -> pd.DataFrame:
    """The new scores (`propensity.score_users`) and the carried ones, stamped with the run's as-of and
    model, as one frame ordered by user, with deciles over everyone, as a full scoring gives them."""
    forward = carried.assign(
        as_of=as_of, horizon_days=model.horizon_days, model_version=model_version, model_kind=model.kind
    )
    merged = pd.concat([scored.drop(columns="decile"), forward], ignore_index=True)
    merged["user_id"] = merged["user_id"].astype(str)
    merged = merged.sort_values("user_id", kind="stable", ignore_index=True)
    merged["decile"] = deciles(merged["score"].to_numpy(), merged["user_id"].to_numpy()).astype(np.int32)
    merged["horizon_days"] = merged["horizon_days"].astype(np.int32)
    return merged[list(scored.columns)]
