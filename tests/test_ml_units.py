"""ML pure functions on small synthetic frames: metrics, registry, gates, propensity, clusters, recommendations.

Long because the models share its frame builders; each section tests one module of ml_assets/."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from ml_assets import clustering, gates, metrics, propensity, recommendations
from ml_assets.config import ClusteringConfig, MLConfig, PropensityConfig, RecommendationConfig
from ml_assets.registry import ModelRecord, ModelRegistry, new_version

# ---------------------------------------------------------------------------------------------- metrics


def test_deciles_are_equal_tenths_with_ten_on_top() -> None:
    scores = np.linspace(0, 1, 1000)
    result = metrics.deciles(scores)
    assert result[-1] == 10 and result[0] == 1
    assert np.bincount(result)[1:].tolist() == [100] * 10
    assert metrics.deciles(np.full(20, 0.5)).tolist().count(10) == 2  # ties split by position


def test_lift_calibration_and_binary_metrics() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20_000)
    y = rng.uniform(size=20_000) < p  # perfectly calibrated scores
    result = metrics.binary_metrics(y, p)
    assert 0.8 < result.roc_auc < 0.9 and result.brier == pytest.approx(1 / 6, abs=0.01)
    assert result.top_decile_lift == pytest.approx(0.95 / 0.5, rel=0.05)
    table = metrics.calibration_table(y, p)
    assert table["decile"].tolist() == list(range(10, 0, -1))
    assert np.allclose(table["predicted"], table["observed"], atol=0.03)


def test_psi_is_small_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(1)
    reference = rng.beta(2, 5, 10_000)
    assert metrics.population_stability_index(reference, rng.beta(2, 5, 10_000)) < 0.02
    assert metrics.population_stability_index(reference, rng.beta(5, 2, 10_000)) > 0.25


def test_psi_is_not_fooled_by_a_shared_score_moving_a_little() -> None:
    # A fallback model gives 60 % of users the same floor score; the next day that floor is a hair
    # lower. The distribution did not move: no drift (an edge on the floor read it as PSI 4.5).
    rng = np.random.default_rng(3)
    spread = rng.uniform(0.1, 0.99, 4_000)
    yesterday = np.concatenate([np.full(6_000, 0.08186), spread])
    today = np.concatenate([np.full(6_000, 0.08134), spread + rng.normal(0, 0.002, 4_000)])
    assert metrics.population_stability_index(yesterday, today) < 0.05
    # a real move still shows: a fifth of users at the floor instead of three fifths
    moved = np.concatenate([np.full(2_000, 0.08134), spread, spread])
    assert metrics.population_stability_index(yesterday, moved) > 0.25


def test_hit_rate_and_recall() -> None:
    recommended = {"a": ["p1", "p2"], "b": ["p3"], "c": ["p9"]}
    purchased = {"a": {"p2", "p5"}, "b": {"p4"}, "d": set()}
    hit, recall, users = metrics.hit_rate_and_recall(recommended, purchased)
    assert (hit, recall, users) == (0.5, 0.25, 2)


# --------------------------------------------------------------------------------------------- registry


def test_registry_keeps_versions_with_status_and_loads_them(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path, "propensity")
    assert registry.latest("approved") is None
    for status, value in [("approved", 1), ("rejected", 2)]:
        record = ModelRecord("propensity", new_version(), status, "test", "now", metrics={"roc_auc": value / 10})
        registry.save({"value": value}, record)
    assert [r.status for r in registry.records()] == ["approved", "rejected"]
    approved = registry.latest("approved")
    assert approved.metrics == {"roc_auc": 0.1}
    assert registry.load(approved.version)[0] == {"value": 1}
    assert not list(tmp_path.glob("propensity/.*"))  # no partial folder left behind


def test_config_from_environment() -> None:
    config = MLConfig.from_env({"HUAXIANG_ML_RECOMMENDATIONS_TOP_N": "20", "HUAXIANG_ML_PROPENSITY_AUC_FLOOR": "0.7"})
    assert config.recommendations.top_n == 20 and config.propensity.auc_floor == 0.7
    assert config.clustering == ClusteringConfig()


# ------------------------------------------------------------------------------------------------ gates


def test_propensity_gates() -> None:
    config = PropensityConfig(auc_floor=0.65, auc_tolerance=0.02)
    assert [g.passed for g in gates.propensity_model_gates(0.80, None, config)] == [True, True]
    assert [g.passed for g in gates.propensity_model_gates(0.60, None, config)] == [False, True]
    assert [g.passed for g in gates.propensity_model_gates(0.77, 0.80, config)] == [True, False]
    unjudged = gates.propensity_model_gates(None, 0.80, config)
    assert all(g.passed and "not evaluable" in g.description for g in unjudged)
    assert gates.model_status(unjudged, evaluated=False) == "unevaluated"
    assert gates.model_status(gates.propensity_model_gates(0.60, None, config), evaluated=True) == "rejected"


def test_score_and_cluster_gates() -> None:
    eligible = pd.Series(["a", "b", "c"])
    good = pd.DataFrame({"user_id": ["a", "b", "c"], "score": [0.0, 0.5, 1.0]})
    assert all(g.passed for g in gates.score_gates(good, eligible))
    bad = pd.DataFrame({"user_id": ["a", "b", "b"], "score": [np.nan, 0.5, 1.2]})
    in_range, complete = gates.score_gates(bad, eligible)
    assert not in_range.passed and in_range.metadata["out_of_range"] == 2
    assert not complete.passed and complete.metadata == {"eligible": 3, "unscored": 1, "duplicates": 1}

    assignments = pd.DataFrame({"user_id": list("abcdefghij"), "cluster_id": [0] * 9 + [1]})
    cover, small = gates.cluster_gates(assignments, pd.Series(list("abcdefghij")), min_share=0.2)
    assert cover.passed and not small.passed
    assert gates.drift_gate(None, np.array([0.1])).passed


# ------------------------------------------------------------------------------------------- propensity


def labelled_rows(users: int, as_of_days: list[date], seed: int = 0) -> pd.DataFrame:
    """Training rows whose label follows a logistic in two features (plus noise features)."""
    rng = np.random.default_rng(seed)
    frames = []
    for as_of in as_of_days:
        activity = rng.gamma(2.0, 1.0, users)
        recency = rng.uniform(0, 30, users)
        logit = -1.0 + 1.2 * activity - 0.1 * recency
        frames.append(
            pd.DataFrame(
                {
                    "user_id": [f"U{i:05d}" for i in range(users)],
                    "as_of_date": pd.Timestamp(as_of),
                    "purchased": rng.uniform(size=users) < 1 / (1 + np.exp(-logit)),
                    "activity": activity,
                    "recency": np.where(rng.uniform(size=users) < 0.1, np.nan, recency),
                    "noise": rng.normal(size=users),
                    "orders": rng.poisson(activity),
                    "observed_days": np.full(users, 30),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


FEATURES = ["activity", "recency", "noise", "orders", "observed_days"]
DAYS = [date(2026, 6, 1), date(2026, 6, 8), date(2026, 6, 15)]
SMALL = PropensityConfig(calibration_folds=2)


def test_propensity_selects_calibrates_and_validates_on_the_latest_as_of_day() -> None:
    training = labelled_rows(3_000, DAYS)
    fit = propensity.fit_propensity(training, FEATURES, training, SMALL)
    assert fit.fallback_reason is None and fit.evaluated
    assert fit.split.startswith("time-based") and "validate on as-of 2026-06-15" in fit.split
    assert set(fit.candidates) == {"hist_gradient_boosting", "logistic_regression"}
    assert fit.model.kind in fit.candidates
    assert fit.validation.roc_auc > 0.75
    assert abs(fit.validation.mean_score - fit.validation.base_rate) < 0.03  # calibrated
    assert len(fit.calibration) == 10


def test_propensity_time_split_keeps_users_and_days_apart() -> None:
    training = labelled_rows(2_000, DAYS)
    train, valid, _ = propensity.time_based_split(training, SMALL)
    assert set(training.loc[train, "user_id"]).isdisjoint(training.loc[valid, "user_id"])
    assert training.loc[train, "as_of_date"].max() < training.loc[valid, "as_of_date"].min()
    single = labelled_rows(2_000, DAYS[:1])
    _, _, description = propensity.time_based_split(single, SMALL)
    assert description.startswith("user split only")


def test_propensity_falls_back_to_the_order_rate_heuristic_without_enough_labels() -> None:
    few = labelled_rows(60, DAYS[:1])
    score_features = labelled_rows(200, DAYS[-1:], seed=3)
    fit = propensity.fit_propensity(few, FEATURES, score_features, SMALL)
    assert fit.model.kind == propensity.HEURISTIC_KIND and not fit.evaluated
    assert "at least 50" in fit.fallback_reason
    scores = fit.model.predict(score_features)
    assert ((scores > 0) & (scores < 1)).all()
    # More orders over the same observed days means a higher probability.
    assert (np.diff(scores[np.argsort(score_features["orders"].to_numpy(), kind="stable")]) >= 0).all()
    empty = fit.model.predict(score_features.iloc[:0])
    assert len(empty) == 0


def test_score_users_output() -> None:
    features = labelled_rows(500, DAYS[-1:])
    model = propensity.heuristic_model(features, SMALL)
    scores = propensity.score_users(model, features, "v1")
    assert list(scores.columns) == [
        "user_id", "as_of", "score", "decile", "horizon_days", "model_version", "model_kind",
    ]  # fmt: skip
    assert scores["decile"].between(1, 10).all() and scores["as_of"].iloc[0] == DAYS[-1]
    assert scores.loc[scores["score"].idxmax(), "decile"] == 10


def test_a_rejected_model_is_registered_but_never_scores(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path, propensity.FAMILY)
    training = labelled_rows(2_000, DAYS)
    strict = replace(SMALL, auc_floor=0.999)

    def train() -> propensity.TrainingOutcome:
        return propensity.train_and_register(training, FEATURES, training, registry, strict)

    choice = propensity.choose_scoring_model(registry, train, training, strict)
    assert choice.trained.record.status == "rejected"
    assert choice.model.kind == propensity.HEURISTIC_KIND and choice.version == propensity.HEURISTIC_KIND
    assert registry.latest("approved") is None and registry.latest("rejected") is not None

    approved = propensity.train_and_register(training, FEATURES, training, registry, SMALL)
    assert approved.record.status == "approved"
    choice = propensity.choose_scoring_model(registry, train, training, SMALL)
    assert choice.version == approved.record.version and choice.trained is None
    # A much weaker successor is rejected by the no-regression gate.
    weak = propensity.train_and_register(training, ["noise", "observed_days"], training, registry, SMALL)
    assert weak.record.status == "rejected"
    assert registry.latest("approved").version == approved.record.version


# ------------------------------------------------------------------------------------------- clustering

GROUPS = {
    # name: (active_day_rate, order_rate, coupon_share, late-night share, app_share, tenure_days)
    "loyal": (0.45, 0.15, 0.05, 0.10, 0.6, 700),
    "deal": (0.30, 0.05, 0.90, 0.10, 0.5, 500),
    "owl": (0.30, 0.04, 0.30, 0.70, 0.9, 300),
    "new": (0.25, 0.01, 0.30, 0.10, 0.6, 10),
}


def synthetic_features(users_per_group: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for code, (name, (active, orders, coupon, late, app, tenure)) in enumerate(GROUPS.items()):
        n = users_per_group
        events = rng.poisson(200, n)
        rows.append(
            pd.DataFrame(
                {
                    "user_id": [f"{name}-{i}" for i in range(n)],
                    "as_of_date": pd.Timestamp("2026-07-30"),
                    "events": events,
                    "sessions": events // 10,
                    "orders": rng.poisson(orders * 60, n),
                    "active_day_rate": np.clip(rng.normal(active, 0.03, n), 0, 1),
                    "order_rate": np.clip(rng.normal(orders, 0.01, n), 0, None),
                    "orders_per_session": np.clip(rng.normal(orders / active, 0.02, n), 0, 1),
                    "avg_order_value": rng.lognormal(6, 0.3, n),
                    "price_index": rng.normal(0, 0.1, n),
                    "coupon_share": np.clip(rng.normal(coupon, 0.05, n), 0, 1),
                    "discount_share": np.clip(rng.normal(coupon / 10, 0.01, n), 0, 1),
                    "night_share": np.clip(rng.normal(late / 2, 0.03, n), 0, 1),
                    "late_night_share": np.clip(rng.normal(late / 2, 0.03, n), 0, 1),
                    "morning_share": (1 - late) / 3,
                    "afternoon_share": (1 - late) / 3,
                    "evening_share": (1 - late) / 3,
                    "app_share": np.clip(rng.normal(app, 0.05, n), 0, 1),
                    "web_share": np.clip(rng.normal((1 - app) / 2, 0.03, n), 0, 1),
                    "mini_program_share": np.clip(rng.normal((1 - app) / 2, 0.03, n), 0, 1),
                    "tenure_days": np.maximum(rng.normal(tenure, tenure / 10 + 2, n), 0).round(),
                    "recency_share": rng.uniform(0, 0.2, n),
                    "events_per_session": rng.normal(10, 1, n),
                    "search_share": rng.uniform(0.05, 0.2, n),
                    "days_since_last_active": rng.integers(0, 10, n),
                }
            )
        )
        truth += [code] * n
    features = pd.concat(rows, ignore_index=True)
    truth_codes = np.array(truth)
    # Each group leans to its own mix of two categories.
    food = 10.0 * (1 + truth_codes) + rng.normal(0, 1, len(features))
    mix = pd.DataFrame(
        {
            "user_id": np.repeat(features["user_id"].to_numpy(), 2),
            "category_l1": np.tile(["食品生鲜", "数码家电"], len(features)),
            "weight": np.column_stack([food, 50.0 - food]).ravel(),
        }
    )
    return features, mix, truth_codes


CLUSTERS = ClusteringConfig(k_min=2, k_max=6, n_init=2)


def test_clusters_recover_groups_and_name_them_by_their_profile() -> None:
    features, mix, truth = synthetic_features(300)
    result = clustering.fit_clusters(features, mix, None, CLUSTERS)
    labels = result.assignments.set_index("user_id").loc[features["user_id"], "cluster_id"].to_numpy()
    assert adjusted_rand_score(truth, labels) > 0.9
    assert len(result.model.ids) == 4
    names = result.assignments.assign(group=truth).groupby("group")["cluster_name"].agg(lambda s: s.mode()[0])
    # Named from each centroid against the population, never from a persona list.
    words = {group: set(name.split(", ")) for group, name in names.items()}
    assert words[0] & {"frequent", "repeat-buying", "decisive"}  # loyal: visits and buys the most
    assert "coupon-heavy" in words[1]  # deal hunters
    assert {"night-time", "mobile app"} <= words[2]  # night owls on the app
    assert "new" in words[3]  # tenure of days
    assert all(1 <= len(w) <= clustering.NAME_WORDS for w in words.values())
    zh = result.assignments.drop_duplicates("cluster_id").set_index("cluster_id")["cluster_name_zh"]
    assert any("爱用券" in name for name in zh)
    assert result.assignments["confidence"].between(0, 1).all()
    assert result.assignments["cluster_name"].nunique() == result.assignments["cluster_id"].nunique()
    profile = clustering.describe_clusters(features, mix, result.assignments)
    assert profile["users"].sum() == len(features) and profile["share"].sum() == pytest.approx(1.0)


def test_cluster_ids_and_names_are_stable_across_reruns() -> None:
    features, mix, _ = synthetic_features(300)
    first = clustering.fit_clusters(features, mix, None, CLUSTERS)
    # Another sample of the same population, in another order, fitted with another seed.
    again, mix_again, _ = synthetic_features(300, seed=7)
    again = again.sample(frac=1.0, random_state=3)
    second = clustering.fit_clusters(again, mix_again, first.model, replace(CLUSTERS, random_state=11))
    by_name_first = {name: cid for cid, name in first.model.names.items()}
    by_name_second = {name: cid for cid, name in second.model.names.items()}
    assert by_name_first == by_name_second


def test_k_respects_the_minimum_cluster_share() -> None:
    features, mix, _ = synthetic_features(200)
    tiny = synthetic_features(3, seed=5)[0].assign(user_id=lambda f: "odd-" + f["user_id"], tenure_days=5000)
    result = clustering.fit_clusters(pd.concat([features, tiny]), mix, None, replace(CLUSTERS, min_cluster_share=0.05))
    assert result.assignments["cluster_id"].value_counts(normalize=True).min() >= 0.05


def test_names_are_unique_deterministic_and_keep_their_words_while_they_hold() -> None:
    rng = np.random.default_rng(0)
    population = pd.DataFrame(
        {"coupon_share": rng.uniform(0, 1, 400), "app_share": rng.uniform(0, 1, 400),
         "late_night_share": rng.uniform(0, 1, 400), "tenure_days": rng.uniform(0, 6, 400)}
    )  # fmt: skip
    centroids = pd.DataFrame(
        {
            "coupon_share": [0.95, 0.95, 0.05, 0.5],
            "app_share": [0.8, 0.5, 0.5, 0.5],
            "late_night_share": [0.5, 0.75, 0.5, 0.5],
            "tenure_days": [3.0, 3.0, 3.0, 3.1],
        },
        index=[0, 1, 2, 3],
    )
    names, names_zh, keys = clustering.name_clusters(centroids, population)
    assert names == {0: "coupon-heavy, mobile app", 1: "coupon-heavy, night-time", 2: "full-price", 3: "typical"}
    assert names_zh == {0: "爱用券、App端", 1: "爱用券、夜间活跃", 2: "少用券", 3: "大众"}
    assert keys[2] == ["coupon_share-"]
    assert clustering.name_clusters(centroids.iloc[::-1], population)[0] == names  # order-independent
    # A cluster keeps its previous words while they still hold; words that no longer hold are replaced.
    previous = {0: ["app_share+", "coupon_share+"], 2: ["late_night_share+"]}
    again = clustering.name_clusters(centroids, population, previous)[0]
    assert again[0] == "mobile app, coupon-heavy" and again[2] == "full-price"


def test_identical_centroids_still_get_distinct_names() -> None:
    population = pd.DataFrame({"coupon_share": [0.0, 1.0, 0.5, 0.5]})
    centroids = pd.DataFrame({"coupon_share": [0.9, 0.9, 0.9]}, index=[4, 2, 7])
    names, names_zh, _ = clustering.name_clusters(centroids, population)
    assert names == {2: "coupon-heavy", 4: "coupon-heavy 2", 7: "coupon-heavy 3"}
    assert names_zh[4] == "爱用券 2"


# -------------------------------------------------------------------------------------- recommendations

AS_OF = date(2026, 7, 30)


def interaction_warehouse(rows: list[tuple[str, int, str, str, int, int]]) -> duckdb.DuckDBPyConnection:
    """An in-memory facts.int_user_product_daily from (user, days before AS_OF, product, category, views, units)."""
    frame = pd.DataFrame(rows, columns=["user_id", "days_ago", "product_id", "category_l1", "views", "purchased_units"])
    frame["activity_date"] = [AS_OF - timedelta(days=int(d)) for d in frame.pop("days_ago")]
    for column in ("clicks", "favorites", "carts"):
        frame[column] = 0
    conn = duckdb.connect()
    conn.execute("create schema facts")
    conn.register("frame", frame)
    conn.execute("create table facts.int_user_product_daily as select * from frame")
    conn.unregister("frame")
    return conn


def test_recommendations_follow_cooccurrence_exclude_purchases_and_serve_cold_users() -> None:
    rows = []
    # Whoever looks at shoes looks at socks; everyone buys the bestseller.
    for i in range(30):
        rows += [(f"fan{i}", 5, "shoes", "apparel", 3, 0), (f"fan{i}", 4, "socks", "apparel", 2, 1)]
        rows += [(f"fan{i}", 3, "bestseller", "food", 4, 1)]
    rows += [("newbie", 1, "shoes", "apparel", 1, 0), ("buyer", 2, "shoes", "apparel", 1, 1)]
    conn = interaction_warehouse(rows)
    config = RecommendationConfig(top_n=2)
    recs = recommendations.recommend(conn, pd.Series(["newbie", "buyer", "stranger"]), AS_OF, config)
    by_user = recs.groupby("user_id")["product_id"].agg(list).to_dict()
    assert by_user["newbie"][0] == "socks"
    assert "shoes" not in by_user["buyer"]  # bought already
    assert by_user["stranger"] == ["bestseller", "socks"]  # cold start: the most popular
    assert set(recs.loc[recs["user_id"] == "stranger", "source"]) == {"popularity"}
    assert recs.groupby("user_id")["rank"].apply(list).map(lambda ranks: ranks == list(range(1, len(ranks) + 1))).all()


def test_interactions_arrive_as_codes_of_the_sorted_values_summed_per_user_and_product() -> None:
    """The recommender reads integers: each code is the value's rank in sorted order, a product
    without a category is -1, days after the cutoff are left out, rows come in (user, product) order."""
    rows = [
        ("u2", 3, "p9", "food", 1, 0),
        ("u2", 2, "p9", "food", 2, 1),  # the same pair a day later: summed, bought
        ("u1", 2, "p5", None, 4, 0),  # no category
        ("u10", 1, "p9", "food", 1, 0),
        ("u3", 0, "p7", "toys", 5, 0),  # after the cutoff
    ]
    data = recommendations.read_interactions(
        interaction_warehouse(rows), AS_OF - timedelta(days=1), RecommendationConfig()
    )
    assert data.users.tolist() == ["u1", "u10", "u2"] and data.items.tolist() == ["p5", "p9"]
    assert data.categories.tolist() == ["food"]
    pairs = list(zip(data.users[data.user], data.items[data.item], data.category, data.bought, strict=True))
    assert pairs == [("u1", "p5", -1, False), ("u10", "p9", 0, False), ("u2", "p9", 0, True)]
    config = RecommendationConfig()
    assert data.weight.tolist() == [
        4 * config.weight_view,
        config.weight_view,
        3 * config.weight_view + config.weight_purchase,
    ]
    assert data.user.dtype == np.int32 and data.item.dtype == np.int32


def test_recommendation_evaluation_recommends_at_the_cutoff_and_scores_later_new_purchases() -> None:
    rows = []
    for i in range(40):
        rows += [(f"fan{i}", 20, "shoes", "apparel", 3, 0), (f"fan{i}", 19, "socks", "apparel", 1, 0)]
        rows += [(f"fan{i}", 18, "bestseller", "food", 5, 1)]
    rows += [(f"fan{i}", 2, "socks", "apparel", 0, 1) for i in range(10)]  # new purchases after the cutoff
    rows += [(f"fan{i}", 2, "bestseller", "food", 0, 1) for i in range(10, 20)]  # re-purchases: not counted
    rows += [(f"fan{i}", 1, "gadget", "tech", 9, 0) for i in range(40)]  # after the cutoff: unknown at it
    conn = interaction_warehouse(rows)
    config = RecommendationConfig(top_n=1, holdout_days=7)
    result = recommendations.evaluate_recommendations(conn, AS_OF, config)
    assert result.users == 10 and result.cutoff == AS_OF - timedelta(days=7)
    bought = recommendations.held_out_purchases(conn, result.cutoff, AS_OF)
    assert bought == {f"fan{i}": {"socks"} for i in range(10)}
    recs = recommendations.recommend(conn, pd.Series(sorted(bought)), result.cutoff, config)
    assert "gadget" not in set(recs["product_id"])
    expected = np.mean(
        [set(recs.loc[recs["user_id"] == user, "product_id"]) >= items for user, items in bought.items()]
    )
    assert result.hit_rate == expected


def test_assigning_to_fitted_centroids_gives_the_fit_s_own_assignments() -> None:
    """The daily run's cluster assignment (no refit) is the fit's on the same data, rows in the caller's order."""
    features, mix, _ = synthetic_features(300)
    fitted = clustering.fit_clusters(features, mix, None, CLUSTERS)
    shuffled = features.sample(frac=1.0, random_state=3).reset_index(drop=True)
    assigned = clustering.assign_clusters(shuffled, mix, fitted.model, CLUSTERS)
    assert assigned["user_id"].tolist() == shuffled["user_id"].astype(str).tolist()
    expected = fitted.assignments.set_index("user_id").loc[assigned["user_id"]].reset_index()
    pd.testing.assert_frame_equal(assigned, expected, check_exact=False, rtol=1e-9)


def test_carried_scores_join_the_new_ones_with_deciles_over_everyone() -> None:
    from ml_assets import incremental

    features = labelled_rows(400, DAYS[-1:])
    model = propensity.heuristic_model(features, SMALL)
    full = propensity.score_users(model, features, "v1")
    changed = full["user_id"].isin(full["user_id"].iloc[::3])
    fresh = propensity.score_users(model, features[changed.to_numpy()], "v1")
    carried = full.loc[~changed, ["user_id", "score"]].sample(frac=1.0, random_state=1)
    merged = incremental.carry_scores(fresh, carried, DAYS[-1], model, "v1")
    # The same scores as a full scoring, so the same deciles, columns and types.
    pd.testing.assert_frame_equal(merged, full.sort_values("user_id", ignore_index=True))
    nobody_changed = incremental.carry_scores(fresh.iloc[:0], full[["user_id", "score"]], DAYS[-1], model, "v1")
    pd.testing.assert_frame_equal(nobody_changed, full.sort_values("user_id", ignore_index=True))
