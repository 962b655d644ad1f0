"""Top-N product recommendations from the user × product × day rollup.

Three scores per (user, candidate product), each normalised by the user's maximum, are blended:

* co-occurrence — item-item cosine similarity of users' weighted interactions (view, click,
  favourite, cart, purchase; log-damped, the strongest items per user), summed over the items
  the user interacted with;
* category affinity — the user's interest share in a category times the item's popularity within it;
* popularity — overall interest, the only signal for a user without history (cold start).

Items the user already bought are never recommended. The same scoring with only the popularity
score is the baseline the evaluation compares with: recommend from the days before the last
`holdout_days`, then measure hit-rate and recall@N on the purchases of those days.

DuckDB sums the rollup into one row per (user, product), as integer codes; the rest is sparse
matrices, so memory follows the interactions, never users × items: item similarities are computed
for a block of items at a time (their top neighbours kept), users are scored a chunk at a time
(their top N kept). Ties go to the smaller product id.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
from scipy import sparse

from ml_assets.config import RecommendationConfig
from ml_assets.features import USER_PRODUCT_DAILY
from ml_assets.metrics import hit_rate_and_recall

SOURCES = ("co-occurrence", "category affinity", "popularity")
OUTPUT_COLUMNS = ("user_id", "product_id", "score", "source", "rank")
ITEM_BLOCK = 512  # items whose similarities are computed at once
USER_CHUNK = 2048  # users scored at once (~1,000-2,000 candidates each)

# Each user, product and category as its rank in sorted order (a code): the interactions travel as
# integers, not strings (the id strings were 486 MiB of the Arrow result at M, 10.7M pairs), and
# DuckDB groups by integer keys. The three small code lists cost a distinct scan of the rollup each.
_CODES_SQL = """
user_codes as (
    select user_id, cast(row_number() over (order by user_id) - 1 as integer) as code
    from (select distinct user_id from {rollup} where activity_date <= $cutoff)
),
item_codes as (
    select product_id, cast(row_number() over (order by product_id) - 1 as integer) as code
    from (select distinct product_id from {rollup} where activity_date <= $cutoff)
),
category_codes as (
    select category_l1, cast(row_number() over (order by category_l1) - 1 as integer) as code
    from (select distinct category_l1 from {rollup} where activity_date <= $cutoff and category_l1 is not null)
)"""

_INTERACTIONS_SQL = """
with {codes}
select
    users.code as user_code,
    items.code as item_code,
    coalesce(max(categories.code), -1) as category_code,  -- codes keep the order: the largest category
    cast(sum({weight}) as double) as weight,  -- the sum is exact (decimal), its uses are not
    sum(rollup.purchased_units) > 0 as bought
from {rollup} as rollup
join user_codes as users on users.user_id = rollup.user_id
join item_codes as items on items.product_id = rollup.product_id
left join category_codes as categories on categories.category_l1 = rollup.category_l1
where rollup.activity_date <= $cutoff
group by users.code, items.code
order by users.code, items.code  -- sparse sums and ties follow the row order: keep it fixed
"""


def interactions_sql(config: RecommendationConfig, rollup: str = USER_PRODUCT_DAILY) -> str:
    """One row per (user, product) up to the date parameter $cutoff, as codes (see `code_lists_sql`):
    user, product, category (-1: none), weighted interest, bought."""
    weight = (
        f"rollup.views * {float(config.weight_view)} + rollup.clicks * {float(config.weight_click)} "
        f"+ rollup.favorites * {float(config.weight_favorite)} + rollup.carts * {float(config.weight_cart)} "
        f"+ rollup.purchased_units * {float(config.weight_purchase)}"
    )
    return _INTERACTIONS_SQL.format(codes=_CODES_SQL.format(rollup=rollup), rollup=rollup, weight=weight)


# kind → (column, its codes)
_CODED = {
    "user": ("user_id", "user_codes"),
    "item": ("product_id", "item_codes"),
    "category": ("category_l1", "category_codes"),
}


def code_lists_sql(kind: str, rollup: str = USER_PRODUCT_DAILY) -> str:
    """The values of `kind` (user, item or category) up to $cutoff, in code order."""
    column, codes = _CODED[kind]
    return f"with {_CODES_SQL.format(rollup=rollup)} select {column} from {codes} order by code"


@dataclass(frozen=True)
class Interactions:
    """The (user, product) rows as codes into sorted users, items and categories (-1: no category)."""

    users: np.ndarray
    items: np.ndarray
    categories: np.ndarray
    user: np.ndarray
    item: np.ndarray
    category: np.ndarray
    weight: np.ndarray
    bought: np.ndarray


def read_interactions(conn: duckdb.DuckDBPyConnection, cutoff: date, config: RecommendationConfig) -> Interactions:
    parameters = {"cutoff": cutoff}
    values = {
        kind: np.asarray(
            conn.execute(code_lists_sql(kind), parameters).to_arrow_table().column(0).to_pylist(), dtype=str
        )
        for kind in _CODED
    }
    table = conn.execute(interactions_sql(config), parameters).to_arrow_table()
    return Interactions(
        users=values["user"],
        items=values["item"],
        categories=values["category"],
        user=table["user_code"].to_numpy(),
        item=table["item_code"].to_numpy(),
        category=table["category_code"].to_numpy(),
        weight=table["weight"].to_numpy(),
        bought=table["bought"].to_numpy(zero_copy_only=False),
    )


def _first_per_group(groups: np.ndarray, limit: int, *keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the first `limit` rows of each group ordered by `keys` (first key first), and their rank."""
    order = np.lexsort((*reversed(keys), groups))
    ordered = groups[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(order) else np.empty(0, np.int64)
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    return order[rank < limit], rank[rank < limit]


def _top_per_row(matrix: sparse.csr_matrix, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and value of each row's `limit` largest entries (ties: smaller column), in that order."""
    counts = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(matrix.shape[0]), counts)
    if matrix.nnz == 0:
        return rows, matrix.indices, matrix.data
    # Only entries at or above the row's limit-th largest value (ties kept) need sorting.
    padded = np.full((matrix.shape[0], counts.max()), -np.inf)
    padded[rows, np.arange(matrix.nnz) - np.repeat(matrix.indptr[:-1], counts)] = matrix.data
    k = min(limit, padded.shape[1])
    threshold = -np.partition(-padded, k - 1, axis=1)[:, k - 1]
    near = np.flatnonzero(matrix.data >= threshold[rows])
    keep, _ = _first_per_group(rows[near], limit, -matrix.data[near], matrix.indices[near])
    chosen = near[keep]
    return rows[chosen], matrix.indices[chosen], matrix.data[chosen]


def _row_normalised(matrix: sparse.csr_matrix, blend: float) -> sparse.csr_matrix:
    """blend × value / the row's largest value."""
    matrix = matrix.tocsr(copy=True)
    counts = np.diff(matrix.indptr)
    filled = counts > 0
    row_max = np.zeros(len(counts))
    row_max[filled] = np.maximum.reduceat(matrix.data, matrix.indptr[:-1][filled])
    matrix.data = blend * (matrix.data / np.repeat(row_max, counts))
    return matrix


def _values_at(matrix: sparse.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """matrix[rows, cols] elementwise (0 where absent), by search in the sorted entry keys."""
    matrix.sort_indices()
    width = matrix.shape[1]
    keys = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr)) * width + matrix.indices
    wanted = rows.astype(np.int64) * width + cols
    found = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
    hit = (keys[found] == wanted) if len(keys) else np.zeros(len(wanted), dtype=bool)
    return np.where(hit, matrix.data[found] if len(keys) else 0.0, 0.0)


def _strongest_items(data: Interactions, config: RecommendationConfig) -> sparse.csr_matrix:
    """users × items: ln(1 + weight) of each user's `max_items_per_user` strongest items (one spare empty row)."""
    rows, _ = _first_per_group(data.user, int(config.max_items_per_user), -data.weight, data.item)
    return sparse.csr_matrix(
        (np.log(1 + data.weight[rows]), (data.user[rows], data.item[rows])),
        shape=(len(data.users) + 1, len(data.items)),
    )


def item_neighbours(strength: sparse.csr_matrix, limit: int) -> sparse.csr_matrix:
    """items × items: cosine similarity of the item columns, each item's `limit` most similar others."""
    n_items = strength.shape[1]
    norms = np.sqrt(np.asarray(strength.multiply(strength).sum(axis=0)).ravel())
    by_item = strength.T.tocsr()
    rows, cols, values = [], [], []
    for start in range(0, n_items, ITEM_BLOCK):
        dots = (by_item[start : start + ITEM_BLOCK] @ strength).tocsr()
        row_of = np.repeat(np.arange(dots.shape[0]), np.diff(dots.indptr))
        dots.data[dots.indices == row_of + start] = 0.0  # an item is not its own neighbour
        dots.eliminate_zeros()
        row_of = np.repeat(np.arange(dots.shape[0]), np.diff(dots.indptr))
        dots.data = dots.data / (norms[row_of + start] * norms[dots.indices])
        top_rows, top_cols, top_values = _top_per_row(dots, limit)
        rows.append(top_rows + start)
        cols.append(top_cols)
        values.append(top_values)
    return sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(n_items, n_items)
    )


@dataclass(frozen=True)
class _Model:
    """Everything the scoring of a chunk of users needs, computed once per cutoff."""

    strength: sparse.csr_matrix  # users × items (last row empty: users without history)
    neighbours: sparse.csr_matrix  # items × items similarity
    affinity: sparse.csr_matrix  # users × categories: share of the user's interest
    category_shares: sparse.csr_matrix  # categories × items: share within the category (most popular only)
    popular: np.ndarray  # item codes
    popular_scores: np.ndarray  # weight / the largest weight
    bought: sparse.csr_matrix  # users × items


def _fit(data: Interactions, config: RecommendationConfig) -> _Model:
    n_users, n_items, n_categories = len(data.users) + 1, len(data.items), len(data.categories)
    strength = _strongest_items(data, config)
    neighbours = (
        item_neighbours(strength, int(config.neighbours))
        if config.blend_cooccurrence
        else sparse.csr_matrix((n_items, n_items))
    )
    item_weight = np.bincount(data.item, weights=data.weight, minlength=n_items)
    item_category = np.full(n_items, -1)
    np.maximum.at(item_category, data.item, data.category)
    known = np.flatnonzero(item_category >= 0)
    category_weight = np.bincount(item_category[known], weights=item_weight[known], minlength=n_categories)
    shares = item_weight[known] / category_weight[item_category[known]]
    per_category, _ = _first_per_group(
        item_category[known], int(config.candidates_per_category), -item_weight[known], known
    )
    category_shares = sparse.csr_matrix(
        (shares[per_category], (item_category[known][per_category], known[per_category])),
        shape=(n_categories, n_items),
    )
    categorised = data.category >= 0
    interest = sparse.csr_matrix(
        (data.weight[categorised], (data.user[categorised], data.category[categorised])),
        shape=(n_users, n_categories),
    )
    totals = np.asarray(interest.sum(axis=1)).ravel()
    interest.data = interest.data / np.repeat(totals, np.diff(interest.indptr))
    # Enough popular items that N remain after removing what any user bought.
    popular = np.lexsort((np.arange(n_items), -item_weight))[: int(config.top_n) * 5]
    return _Model(
        strength=strength,
        neighbours=neighbours,
        affinity=interest,
        category_shares=category_shares,
        popular=popular,
        popular_scores=item_weight[popular] / item_weight.max(),
        bought=sparse.csr_matrix(
            (np.ones(int(data.bought.sum())), (data.user[data.bought], data.item[data.bought])),
            shape=(n_users, n_items),
        ),
    )


def _score_chunk(model: _Model, rows: np.ndarray, config: RecommendationConfig) -> pd.DataFrame:
    """Top N of the users at `rows` of the model's matrices: row (position in `rows`), item, score, source, rank."""
    n, n_items = len(rows), model.strength.shape[1]
    cooccurrence = _row_normalised(model.strength[rows] @ model.neighbours, float(config.blend_cooccurrence))
    category = _row_normalised(model.affinity[rows] @ model.category_shares, float(config.blend_category))
    per_user = len(model.popular)
    popularity = sparse.csr_matrix(
        (
            np.tile(float(config.blend_popularity) * model.popular_scores, n),
            np.tile(model.popular, n),
            np.arange(n + 1) * per_user,
        ),
        shape=(n, n_items),
    )
    score = (cooccurrence + category + popularity).tocsr()
    score = (score - score.multiply(model.bought[rows])).tocsr()  # bought: exactly 0, dropped
    score.eliminate_zeros()
    user, item, value = _top_per_row(score, int(config.top_n))
    parts = np.vstack([_values_at(part, user, item) for part in (cooccurrence, category, popularity)])
    strongest = parts.max(axis=0)
    source = np.where(parts[0] == strongest, 0, np.where(parts[1] == strongest, 1, 2))
    starts = np.flatnonzero(np.r_[True, user[1:] != user[:-1]]) if len(user) else np.empty(0, np.int64)
    rank = np.arange(len(user)) - np.repeat(starts, np.diff(np.r_[starts, len(user)])) + 1
    return pd.DataFrame({"row": user, "item": item, "score": value, "source": source, "rank": rank})


def _chunks(count: int) -> Iterator[slice]:
    for start in range(0, count, USER_CHUNK):
        yield slice(start, min(start + USER_CHUNK, count))


def _positions(ordered: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index of each wanted value in the sorted array, len(ordered) where absent."""
    found = np.searchsorted(ordered, wanted)
    present = found < len(ordered)
    present[present] = ordered[found[present]] == wanted[present]
    return np.where(present, found, len(ordered))


def _empty_output() -> pd.DataFrame:
    dtypes = (object, object, np.float64, object, np.int32)
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in zip(OUTPUT_COLUMNS, dtypes, strict=True)})


def recommend(
    conn: duckdb.DuckDBPyConnection, users: pd.Series, cutoff: date, config: RecommendationConfig
) -> pd.DataFrame:
    """Top-N per user from the interactions up to `cutoff` (inclusive): user_id, product_id, score, source, rank."""
    targets = np.sort(users.astype(str).unique())
    data = read_interactions(conn, cutoff, config)
    if len(targets) == 0 or len(data.items) == 0:
        return _empty_output()
    model = _fit(data, config)
    rows = _positions(data.users, targets)  # users without history: the model's empty last row
    sources = np.asarray(SOURCES, dtype=object)
    frames = []
    for chunk in _chunks(len(targets)):
        scored = _score_chunk(model, rows[chunk], config)
        frames.append(
            pd.DataFrame(
                {
                    "user_id": targets[chunk][scored["row"].to_numpy()],
                    "product_id": data.items[scored["item"].to_numpy()],
                    "score": scored["score"].to_numpy(),
                    "source": sources[scored["source"].to_numpy()],
                    "rank": scored["rank"].to_numpy().astype(np.int32),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


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
