"""Behaviour clusters with stable ids and readable names.

Long because feature shaping, the k search, stable ids and derived names are one model: every
step reads the same feature groups and fitted scaler.

Features (from ml_features_score and ml_user_category_mix) are grouped — activity, value, deal
affinity, hours, platform, lifecycle, engagement, category mix. Shares are shrunk towards the
population by the amount of behaviour behind them (a share of 3 events says little), heavy tails are
log-compressed, every column is standardised and clipped at 3 standard deviations (outliers), and
columns are weighted so a group weighs the same whatever its number of columns. KMeans is fitted
on a sample for each k of the configured range; among the k whose smallest cluster keeps the minimum
share the smallest wins unless a larger one has a silhouette better by a margin (a smaller lead is
noise), and every user is assigned to the nearest centroid. Inputs are sorted by user first, so the
same data gives the same clusters whatever order the warehouse returned it in.

Ids are stable across reruns: the new centroids are matched to the previous model's (Hungarian
assignment on their distance in today's feature space) and inherit their ids. Names are derived
from each centroid against the population, never from a fixed persona list: the 1-3 profile
columns where the centroid deviates most (in population standard deviations, at most one per
group) are put in words ("night-time, mobile app, coupon-heavy" / "夜间活跃、App端、爱用券");
colliding names get their next strongest word until they differ, and a cluster keeps its previous
words while they still hold. Profile columns without signal on the source are left out first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from ml_assets.config import MIN_CLUSTER_USERS, ClusteringConfig, effective_min_cluster_share
from ml_assets.screening import screen_features

log = logging.getLogger(__name__)

CONTEXT = "ml/user_clusters"  # names the model in log lines
CATEGORY_PREFIX = "category: "
CLIP = 3.0  # z-scores beyond this are outliers and are clipped
MINIBATCH_ABOVE = 20_000  # fit samples larger than this use MiniBatchKMeans

# column -> (group, log-compressed?)
PROFILE_COLUMNS: dict[str, tuple[str, bool]] = {
    "visits_per_month": ("activity", True),
    "orders_per_month": ("activity", True),
    "conversion": ("activity", False),
    "avg_order_value": ("value", True),
    "price_index": ("value", False),
    "coupon_share": ("deal", False),
    "discount_share": ("deal", False),
    "late_night_share": ("hours", False),
    "daytime_share": ("hours", False),
    "evening_share": ("hours", False),
    "app_share": ("platform", False),
    "web_share": ("platform", False),
    "mini_program_share": ("platform", False),
    "tenure_days": ("lifecycle", True),
    "recency_share": ("lifecycle", False),
    "events_per_session": ("engagement", True),
    "search_share": ("engagement", False),
}
# Columns of ml_features_score the profile is computed from (read nothing else).
FEATURE_INPUTS = (
    "user_id", "as_of_date", "events", "sessions", "orders", "active_day_rate", "order_rate",
    "orders_per_session", "avg_order_value", "price_index", "coupon_share", "discount_share", "night_share",
    "late_night_share", "morning_share", "afternoon_share", "evening_share", "app_share", "web_share",
    "mini_program_share", "tenure_days", "recency_share", "events_per_session", "search_share",
    "days_since_last_active",
)  # fmt: skip
FAMILY = "clusters"
GROUP_WEIGHTS = {
    "activity": 1.5,
    "value": 1.0,
    "deal": 1.0,
    "hours": 1.0,
    "platform": 1.0,
    "lifecycle": 1.25,
    "engagement": 0.5,
    "category": 3.0,
}


@dataclass(frozen=True)
class Descriptor:
    """Words for a centroid well above (high) or below (low) the population on one column; None: no word."""

    high: tuple[str, str] | None  # (English, Chinese)
    low: tuple[str, str] | None = None


# Words a marketer reads, per profile column: a cluster is named by the 1-3 columns on which its
# centroid deviates most from the population (standardised), at most one per feature group.
DESCRIPTORS: dict[str, Descriptor] = {
    "visits_per_month": Descriptor(("frequent", "常来"), ("infrequent", "少来")),
    "orders_per_month": Descriptor(("repeat-buying", "复购多"), ("rarely buying", "少购买")),
    "conversion": Descriptor(("decisive", "高转化"), ("browse-only", "只逛不买")),
    "avg_order_value": Descriptor(("high-spend", "高客单"), ("low-spend", "低客单")),
    "price_index": Descriptor(("premium", "偏好高价"), ("budget", "偏好低价")),
    "coupon_share": Descriptor(("coupon-heavy", "爱用券"), ("full-price", "少用券")),
    "discount_share": Descriptor(("discount-seeking", "追折扣")),
    "late_night_share": Descriptor(("night-time", "夜间活跃")),
    "daytime_share": Descriptor(("daytime", "白天活跃")),
    "evening_share": Descriptor(("evening", "晚间活跃")),
    "app_share": Descriptor(("mobile app", "App端")),
    "web_share": Descriptor(("web", "网页端")),
    "mini_program_share": Descriptor(("mini-program", "小程序")),
    "tenure_days": Descriptor(("long-standing", "老客"), ("new", "新客")),
    "recency_share": Descriptor(("lapsing", "沉睡"), ("recently active", "近期活跃")),
    "events_per_session": Descriptor(("deep-browsing", "深度浏览"), ("quick-visit", "浅浏览")),
    "search_share": Descriptor(("search-led", "爱搜索")),
}
TYPICAL = ("typical", "大众")  # a centroid close to the population on every column
NAME_MIN_Z = 0.5  # a column names a cluster when its centroid is this many sds from the population
NAME_KEEP_Z = 0.3  # a previous name is kept while each of its words still holds this well
NAME_WORDS = 3  # words in a name before disambiguation
NAME_MAX_WORDS = 5


# Pseudo-counts of the empirical-Bayes shrinkage of shares towards the population: a share seen over
# few events (or orders, interactions) says little, so it starts near the population's.
PRIOR_EVENTS = 20.0
PRIOR_ORDERS = 2.0
PRIOR_SESSIONS = 10.0
PRIOR_INTEREST = 20.0


def shrink(share: pd.Series, count: pd.Series, prior: float) -> pd.Series:
    """(share * n + population share * prior) / (n + prior); undefined shares get the population's."""
    n = count.fillna(0).clip(lower=0).astype(float)
    observed = share.fillna(0).astype(float)
    population = float((observed * n).sum() / n.sum()) if n.sum() > 0 else 0.0
    return (observed * n + population * prior) / (n + prior)


def profile_frame(features: pd.DataFrame, category_mix: pd.DataFrame, top_categories: int) -> pd.DataFrame:
    """Interpretable per-user values (index user_id) the clusters are built and described from.

    Shares are shrunk towards the population by how much behaviour they rest on; a user never
    active counts the whole observable period as time since the last visit.
    """
    f = features.set_index("user_id")
    events, sessions, orders = f["events"], f["sessions"], f["orders"]
    profile = pd.DataFrame(index=f.index)
    profile["visits_per_month"] = f["active_day_rate"].fillna(0) * 30
    profile["orders_per_month"] = f["order_rate"].fillna(0) * 30
    profile["conversion"] = shrink(f["orders_per_session"], sessions, PRIOR_SESSIONS)
    profile["avg_order_value"] = f["avg_order_value"].fillna(0)
    profile["price_index"] = shrink(f["price_index"], events, PRIOR_EVENTS)
    profile["coupon_share"] = shrink(f["coupon_share"], orders, PRIOR_ORDERS)
    profile["discount_share"] = shrink(f["discount_share"], orders, PRIOR_ORDERS)
    profile["late_night_share"] = shrink(f["night_share"] + f["late_night_share"], events, PRIOR_EVENTS)
    profile["daytime_share"] = shrink(f["morning_share"] + f["afternoon_share"], events, PRIOR_EVENTS)
    profile["evening_share"] = shrink(f["evening_share"], events, PRIOR_EVENTS)
    for platform in ("app", "web", "mini_program"):
        profile[f"{platform}_share"] = shrink(f[f"{platform}_share"], events, PRIOR_EVENTS)
    profile["tenure_days"] = f["tenure_days"].clip(lower=0).fillna(0)
    profile["recency_share"] = f["recency_share"].fillna(1.0)
    profile["events_per_session"] = f["events_per_session"].fillna(0)
    profile["search_share"] = shrink(f["search_share"], events, PRIOR_EVENTS)
    return profile.join(_category_shares(category_mix, profile.index, top_categories))


def _category_shares(category_mix: pd.DataFrame, users: pd.Index, top: int) -> pd.DataFrame:
    """Interest share of each of the `top` categories with the most interest overall, shrunk likewise."""
    if category_mix.empty or top <= 0:
        return pd.DataFrame(index=users)
    weights = category_mix.pivot_table(index="user_id", columns="category_l1", values="weight", aggfunc="sum")
    weights = weights.reindex(users).fillna(0.0)
    total = weights.sum(axis=1)
    population = weights.sum() / total.sum()
    shares = weights.add(population * PRIOR_INTEREST, axis=1).div(total + PRIOR_INTEREST, axis=0)
    leading = population.nlargest(top).index
    return shares[leading].rename(columns=lambda name: f"{CATEGORY_PREFIX}{name}")


def column_groups(columns: list[str]) -> dict[str, str]:
    return {c: PROFILE_COLUMNS[c][0] if c in PROFILE_COLUMNS else "category" for c in columns}


def transform(profile: pd.DataFrame) -> pd.DataFrame:
    """Log-compress the heavy-tailed columns (the space centroids and profiles are compared in)."""
    out = profile.astype(float).copy()
    for column, (_, compress) in PROFILE_COLUMNS.items():
        if compress and column in out:
            out[column] = np.log1p(out[column].clip(lower=0))
    return out


@dataclass
class Scaler:
    """Standardisation plus group weights: z-scores per column, clipped (outliers), times the weight."""

    columns: list[str]
    center: np.ndarray
    scale: np.ndarray
    weight: np.ndarray

    @classmethod
    def fit(cls, transformed: pd.DataFrame, group_sizes: dict[str, int] | None = None) -> Scaler:
        """`group_sizes`: columns per group the weights are shared by (default: the columns present).
        Columns left out for lack of signal still count, so dropping a constant column (whose
        z-score is 0 anyway) changes no distance."""
        values = transformed.to_numpy(float)
        std = values.std(axis=0)
        groups = column_groups(list(transformed.columns))
        sizes = pd.Series(group_sizes) if group_sizes else pd.Series(groups).value_counts()
        weight = np.array([GROUP_WEIGHTS[groups[c]] / np.sqrt(sizes[groups[c]]) for c in transformed.columns])
        return cls(list(transformed.columns), values.mean(axis=0), np.where(std > 1e-12, std, 1.0), weight)

    def apply(self, transformed: pd.DataFrame) -> np.ndarray:
        aligned = transformed.reindex(columns=self.columns, fill_value=0.0).to_numpy(float)
        return np.clip((aligned - self.center) / self.scale, -CLIP, CLIP) * self.weight


@dataclass
class ClusterModel:
    """What is persisted: enough to assign users and to keep ids and names in the next run."""

    scaler: Scaler
    kmeans: KMeans | MiniBatchKMeans
    ids: np.ndarray  # stable id of each KMeans label
    names: dict[int, str]
    names_zh: dict[int, str]
    centroids: pd.DataFrame  # index stable id, transformed (unscaled) feature means
    silhouette: float
    k_scores: dict[int, float] = field(default_factory=dict)
    name_keys: dict[int, list[str]] = field(default_factory=dict)  # the words behind each name
    dropped_features: dict[str, str] = field(default_factory=dict)  # profile column -> why it was left out


@dataclass
class ClusterResult:
    model: ClusterModel
    assignments: pd.DataFrame  # user_id, cluster_id, cluster_name, cluster_name_zh, distance, confidence


def _sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def _kmeans(k: int, n_rows: int, config: ClusteringConfig) -> KMeans | MiniBatchKMeans:
    if n_rows > MINIBATCH_ABOVE:
        return MiniBatchKMeans(k, n_init=config.n_init, random_state=config.random_state, batch_size=4096)
    return KMeans(k, n_init=config.n_init, random_state=config.random_state)


def _smallest_share(model: KMeans | MiniBatchKMeans, sample: np.ndarray) -> float:
    return float(np.bincount(model.predict(sample), minlength=model.n_clusters).min() / len(sample))


def pick_k(scores: dict[int, float], margin: float) -> int | None:
    """The k of `scores` (silhouette per acceptable k): the smallest, unless a larger one beats the
    best so far by more than `margin` — a lead below it is noise, and noise must not change k.
    Depends only on the scores, not on the order they were judged in."""
    chosen: int | None = None
    for k in sorted(scores):
        if chosen is None or scores[k] > scores[chosen] + margin:
            chosen = k
    return chosen


def choose_k(matrix: np.ndarray, config: ClusteringConfig) -> tuple[KMeans | MiniBatchKMeans, dict[int, float]]:
    """The smallest k in range whose smallest cluster keeps the minimum share, unless a larger such k
    has a silhouette better by more than `silhouette_margin` (`pick_k`).

    If none does, the largest smaller k that does (down to 2); failing that, k_min as is (the
    minimum-share check then reports it). Returns the model and the silhouette of each k judged.
    """
    sample = matrix[_sample_rows(len(matrix), config.fit_sample, config.random_state)]
    judged = sample[_sample_rows(len(sample), config.silhouette_sample, config.random_state + 1)]
    # Small data: no k with clusters below MIN_CLUSTER_USERS users (48 users allow at most 9).
    min_share = effective_min_cluster_share(len(sample), config.min_cluster_share)
    k_max = min(config.k_max, len(np.unique(sample, axis=0)) - 1, len(sample) // MIN_CLUSTER_USERS)
    if k_max < 2:
        log.warning(
            "clustering fallback: %d users (distinct profiles: %d) cannot form 2 clusters of %d users; "
            "one cluster holds everyone",
            len(sample), len(np.unique(sample, axis=0)), MIN_CLUSTER_USERS,
        )  # fmt: skip
        return _kmeans(1, len(sample), config).fit(sample), {}
    k_min = max(2, min(config.k_min, k_max))
    if (k_min, k_max) != (config.k_min, config.k_max) or min_share > config.min_cluster_share:
        log.warning(
            "clustering on small data: %d users; k searched in %d..%d (configured %d..%d), smallest cluster "
            "at least %.1f%% of users (configured %.1f%%, raised to %d users)",
            len(sample), k_min, k_max, config.k_min, config.k_max, 100 * min_share,
            100 * config.min_cluster_share, MIN_CLUSTER_USERS,
        )  # fmt: skip
    scores: dict[int, float] = {}
    models: dict[int, KMeans | MiniBatchKMeans] = {}
    for k in range(k_min, k_max + 1):
        model = _kmeans(k, len(sample), config).fit(sample)
        if _smallest_share(model, sample) < min_share:
            continue
        scores[k] = round(float(silhouette_score(judged, model.predict(judged))), 4)
        models[k] = model
    best = pick_k(scores, config.silhouette_margin)
    if best is not None:
        return models[best], scores
    for k in range(k_min - 1, 1, -1):
        model = _kmeans(k, len(sample), config).fit(sample)
        if _smallest_share(model, sample) >= min_share:
            log.warning("clustering fallback: no k in %d..%d keeps the minimum share; k = %d", k_min, k_max, k)
            return model, scores
    log.warning("clustering fallback: no k keeps the minimum share; k = %d (the gate reports it)", k_min)
    return _kmeans(k_min, len(sample), config).fit(sample), scores


def _match_ids(centroids: np.ndarray, previous: ClusterModel | None, scaler: Scaler) -> np.ndarray:
    """Stable id per new centroid: the matched previous id, new ids for the unmatched."""
    k = len(centroids)
    if previous is None or previous.centroids.empty:
        return np.arange(k)
    before = scaler.apply(previous.centroids.reindex(columns=scaler.columns, fill_value=0.0))
    now = scaler.apply(pd.DataFrame(centroids, columns=scaler.columns))
    cost = np.linalg.norm(now[:, None, :] - before[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(cost)
    ids = np.full(k, -1)
    ids[rows] = previous.centroids.index.to_numpy()[cols]
    next_id = int(previous.centroids.index.max()) + 1
    for row in np.flatnonzero(ids < 0):
        ids[row] = next_id
        next_id += 1
    return ids


def _word(column: str, z: float) -> tuple[str, str] | None:
    if column.startswith(CATEGORY_PREFIX):
        category = column[len(CATEGORY_PREFIX) :]
        return (f"{category}-focused", f"偏好{category}") if z > 0 else None
    descriptor = DESCRIPTORS.get(column)
    if descriptor is None:
        return None
    return descriptor.high if z > 0 else descriptor.low


def _key(column: str, z: float) -> str:
    return f"{column}{'+' if z > 0 else '-'}"


def centroid_z(centroids: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """Each centroid against the population, in population standard deviations per column."""
    columns = [c for c in centroids.columns if c in population.columns]
    std = population[columns].std()
    std = std.where(std > 1e-12, np.inf)  # a constant column describes no cluster
    return (centroids[columns] - population[columns].mean()) / std


def _ranked_words(z: pd.Series) -> list[tuple[str, float]]:
    """(key, |z|) of the columns with a word for their direction, strongest first, one per group;
    ties by column name (deterministic)."""
    groups = column_groups(list(z.index))
    ranked = sorted(
        ((column, float(value)) for column, value in z.items() if np.isfinite(value) and value != 0),
        key=lambda item: (-abs(item[1]), item[0]),
    )
    words, used = [], set()
    for column, value in ranked:
        if _word(column, value) is None or groups[column] in used:
            continue
        used.add(groups[column])
        words.append((_key(column, value), abs(value)))
    return words


def _render(keys: list[str]) -> tuple[str, str]:
    if not keys:
        return TYPICAL
    words = [_word(key[:-1], 1.0 if key.endswith("+") else -1.0) for key in keys]
    return ", ".join(w[0] for w in words if w), "、".join(w[1] for w in words if w)


def _still_holds(keys: list[str], z: pd.Series) -> bool:
    """Every word of a previous name still describes the centroid (same direction, strong enough)."""
    for key in keys:
        column, sign = key[:-1], 1.0 if key.endswith("+") else -1.0
        if column not in z or not np.isfinite(z[column]) or sign * z[column] < NAME_KEEP_Z:
            return False
    return bool(keys)


def name_keys(
    centroids: pd.DataFrame, population: pd.DataFrame, previous_keys: dict[int, list[str]] | None = None
) -> dict[int, list[str]]:
    """The words naming each cluster (keys like "coupon_share+"), unique across the clusters.

    A cluster is named by the up to NAME_WORDS columns where its centroid deviates most from the
    population (at least NAME_MIN_Z sds; none: "typical"); it keeps its previous words while they
    still hold. Clusters whose names collide get their next strongest word, in turn, until the names
    differ; failing that (identical profiles), a number is appended when rendered (`render_names`).
    """
    z = centroid_z(centroids, population)
    ids = sorted(int(i) for i in centroids.index)
    ranked = {cid: _ranked_words(z.loc[cid]) for cid in ids}
    keys: dict[int, list[str]] = {}
    for cid in ids:
        previous = (previous_keys or {}).get(cid)
        if previous and _still_holds(previous, z.loc[cid]):
            keys[cid] = list(previous)
        else:
            keys[cid] = [key for key, strength in ranked[cid][:NAME_WORDS] if strength >= NAME_MIN_Z]
    while True:
        by_name: dict[tuple[str, str], list[int]] = {}
        for cid in ids:
            by_name.setdefault(_render(keys[cid]), []).append(cid)
        extended = False
        for members in by_name.values():
            if len(members) < 2:
                continue
            for cid in members:
                spare = [key for key, _ in ranked[cid] if key not in keys[cid]]
                if spare and len(keys[cid]) < NAME_MAX_WORDS:
                    keys[cid].append(spare[0])
                    extended = True
        if not extended:
            return keys


def render_names(keys: dict[int, list[str]]) -> tuple[dict[int, str], dict[int, str]]:
    """English and Chinese names from the words; names still equal get " 2", " 3" … by id."""
    names, names_zh = {}, {}
    seen: dict[str, int] = {}
    for cid in sorted(keys):
        name, name_zh = _render(keys[cid])
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name, name_zh = f"{name} {seen[name]}", f"{name_zh} {seen[name]}"
        names[cid], names_zh[cid] = name, name_zh
    return names, names_zh


def name_clusters(
    centroids: pd.DataFrame, population: pd.DataFrame, previous_keys: dict[int, list[str]] | None = None
) -> tuple[dict[int, str], dict[int, str], dict[int, list[str]]]:
    """Unique, readable names (English, Chinese) from each centroid against the population, and their words."""
    keys = name_keys(centroids, population, previous_keys)
    names, names_zh = render_names(keys)
    return names, names_zh, keys


def fit_clusters(
    features: pd.DataFrame,
    category_mix: pd.DataFrame,
    previous: ClusterModel | None,
    config: ClusteringConfig,
) -> ClusterResult:
    with threadpool_limits(limits=config.threads):
        return _fit_clusters(features, category_mix, previous, config)


def _fit_clusters(
    features: pd.DataFrame,
    category_mix: pd.DataFrame,
    previous: ClusterModel | None,
    config: ClusteringConfig,
) -> ClusterResult:
    # The fit depends on the row order (sampling, k-means++ seeding, float sums): fix it by the key.
    # (The assignments come back in the caller's row order.)
    by_user = np.argsort(features["user_id"].astype(str).to_numpy(), kind="stable")
    features = features.iloc[by_user].reset_index(drop=True)
    category_mix = category_mix.sort_values(["user_id", "category_l1"], kind="stable", ignore_index=True)
    profile = profile_frame(features, category_mix, config.top_categories)
    # Columns without signal on this source (e.g. every hour share on a purchase-only log) are left out.
    screen = screen_features(profile, list(profile.columns), context=CONTEXT, min_non_null=1)
    group_sizes = pd.Series(column_groups(list(profile.columns))).value_counts().to_dict()
    profile = profile[screen.kept] if screen.kept else profile
    transformed = transform(profile)
    scaler = Scaler.fit(transformed, group_sizes)
    matrix = scaler.apply(transformed)
    kmeans, k_scores = choose_k(matrix, config)

    distances = kmeans.transform(matrix)
    labels = distances.argmin(axis=1)
    k = distances.shape[1]
    centroids = transformed.groupby(labels).mean().reindex(range(k)).fillna(0.0)
    ids = _match_ids(centroids.to_numpy(), previous, scaler)
    centroids.index = ids
    names, names_zh, keys = name_clusters(centroids, transformed, getattr(previous, "name_keys", None) or {})

    model = ClusterModel(
        scaler=scaler,
        kmeans=kmeans,
        ids=ids,
        names=names,
        names_zh=names_zh,
        name_keys=keys,
        dropped_features=screen.dropped,
        centroids=centroids,
        silhouette=k_scores.get(k, float("nan")),
        k_scores=k_scores,
    )
    assignments = _assignments(profile.index, distances, ids, names, names_zh)
    restored = np.empty_like(by_user)
    restored[by_user] = np.arange(len(by_user))
    return ClusterResult(model, assignments.iloc[restored].reset_index(drop=True))


def assign_clusters(
    features: pd.DataFrame, category_mix: pd.DataFrame, model: ClusterModel, config: ClusteringConfig
) -> pd.DataFrame:
    """Every user to the nearest centroid of a fitted model (no refit): the daily run between the
    weekly refits. Every category's share is computed, so the model's category columns are there
    even when today's top categories differ; the rows come back in the caller's order."""
    top = int(category_mix["category_l1"].nunique()) if len(category_mix) else 0
    profile = profile_frame(features, category_mix, top)
    with threadpool_limits(limits=config.threads):
        distances = model.kmeans.transform(model.scaler.apply(transform(profile)))
    return _assignments(profile.index, distances, model.ids, model.names, model.names_zh)


def _assignments(
    users: pd.Index, distances: np.ndarray, ids: np.ndarray, names: dict[int, str], names_zh: dict[int, str]
) -> pd.DataFrame:
    """Nearest cluster, the distance to it and a confidence: 1 - nearest / second-nearest distance."""
    order = np.argsort(distances, axis=1)
    nearest = distances[np.arange(len(users)), order[:, 0]]
    if distances.shape[1] > 1:
        second = distances[np.arange(len(users)), order[:, 1]]
        confidence = np.where(second > 0, 1 - nearest / np.maximum(second, 1e-12), 0.0)
    else:
        confidence = np.ones(len(users))
    cluster = ids[order[:, 0]]
    return pd.DataFrame(
        {
            "user_id": users.astype(str),
            "cluster_id": cluster.astype(np.int32),
            "cluster_name": [names[c] for c in cluster],
            "cluster_name_zh": [names_zh[c] for c in cluster],
            "distance": nearest,
            "confidence": np.clip(confidence, 0.0, 1.0),
        }
    )


def describe_clusters(features: pd.DataFrame, category_mix: pd.DataFrame, assignments: pd.DataFrame) -> pd.DataFrame:
    """Per cluster, in plain units: size, activity, value, deal use, hours, platform, lifecycle, top category."""
    f = features.set_index("user_id").join(assignments.set_index("user_id")[["cluster_id", "cluster_name"]])
    buyers = f["orders"] > 0
    grouped = f.groupby("cluster_id")
    table = pd.DataFrame(
        {
            "cluster_name": grouped["cluster_name"].first(),
            "users": grouped.size(),
            "share": grouped.size() / len(f),
            "visits_per_month": grouped["active_day_rate"].mean() * 30,
            "orders_per_month": grouped["order_rate"].mean() * 30,
            "buyer_share": buyers.groupby(f["cluster_id"]).mean(),
            "avg_order_value": f.loc[buyers].groupby("cluster_id")["avg_order_value"].mean(),
            "coupon_share": f.loc[buyers].groupby("cluster_id")["coupon_share"].mean(),
            "late_night_share": (f["night_share"] + f["late_night_share"]).groupby(f["cluster_id"]).mean(),
            "app_share": grouped["app_share"].mean(),
            "median_tenure_days": grouped["tenure_days"].median(),
            "median_days_since_visit": grouped["days_since_last_active"].median(),
        }
    )
    if not category_mix.empty:
        interest = category_mix.merge(assignments[["user_id", "cluster_id"]], on="user_id")
        by_category = interest.groupby(["cluster_id", "category_l1"])["weight"].sum()
        table["top_category"] = by_category.groupby(level=0).idxmax().map(lambda key: key[1])
    table.index.name = "cluster_id"
    return table.reset_index().sort_values("users", ascending=False, ignore_index=True)
