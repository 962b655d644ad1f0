"""BG/NBD (ml_assets/bgnbd.py): the fit recovers known parameters, the predictions are consistent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ml_assets import bgnbd

# The CDNOW estimates of Fader, Hardie & Lee (2005), in weeks; here read as days.
TRUE = {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43}


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    T = np.random.default_rng(1).integers(30, 270, 8_000).astype(float)
    return bgnbd.simulate(**TRUE, customers=8_000, T=T, seed=3, horizon=30)


def test_the_fit_recovers_the_parameters_it_was_simulated_with(simulated) -> None:
    model = bgnbd.fit_bgnbd(simulated["x"], simulated["t_x"], simulated["T"])
    assert model.r == pytest.approx(TRUE["r"], rel=0.15)
    assert model.alpha == pytest.approx(TRUE["alpha"], rel=0.3)
    assert model.a == pytest.approx(TRUE["a"], rel=0.3)
    assert model.b == pytest.approx(TRUE["b"], rel=0.4)
    assert model.customers == len(simulated) and np.isfinite(model.log_likelihood)


def test_predictions_match_the_simulated_future(simulated) -> None:
    model = bgnbd.fit_bgnbd(simulated["x"], simulated["t_x"], simulated["T"])
    x, t_x, T = simulated["x"], simulated["t_x"], simulated["T"]
    expected = model.expected_purchases(30, x, t_x, T)
    p_any = model.p_purchase(30, x, t_x, T)
    bought = simulated["future"] > 0
    assert expected.mean() == pytest.approx(simulated["future"].mean(), rel=0.1)
    assert p_any.mean() == pytest.approx(bought.mean(), abs=0.015)
    assert roc_auc_score(bought, p_any) > 0.8
    assert (p_any <= expected + 1e-9).all()  # P(Y > 0) <= E[Y] for a count
    assert ((0 <= p_any) & (p_any <= 1)).all()


def test_p_alive_behaves_as_the_model_says() -> None:
    model = bgnbd.BGNBD(**TRUE)
    assert model.p_alive(np.array([0.0]), np.array([0.0]), np.array([100.0]))[0] == 1.0  # never repeated
    # The same purchases, the last one long ago: less likely alive than a recent one.
    old, recent = model.p_alive(np.array([5.0, 5.0]), np.array([20.0, 95.0]), np.array([100.0, 100.0]))
    assert old < recent
    # More time passing raises the chance of a purchase in the window only through the window length.
    assert model.p_purchase(60, 5.0, 95.0, 100.0) > model.p_purchase(30, 5.0, 95.0, 100.0)


def test_summaries_from_point_in_time_features() -> None:
    features = pd.DataFrame(
        {
            "orders": [3, 1, 0, 2],
            "days_since_first_order": [50, 10, np.nan, 7],
            "days_since_last_order": [5, 10, np.nan, 7],
            "observed_days": [60, 11, 30, 8],
        }
    )
    s = bgnbd.summaries(features)
    assert s["x"].tolist() == [2, 0, 0, 0]  # two orders on one day are no repeat in time
    assert s["t_x"].tolist() == [45, 0, 0, 0]
    assert s["T"].tolist() == [50, 10, 29, 7]


def test_a_fit_on_degenerate_data_stays_finite() -> None:
    nobody_repeats = bgnbd.fit_bgnbd(np.zeros(50), np.zeros(50), np.full(50, 40.0))
    assert all(np.isfinite(v) and v > 0 for v in nobody_repeats.params.values())
    assert nobody_repeats.p_purchase(30, 0.0, 0.0, 40.0) < 0.2
    with pytest.raises(bgnbd.BGNBDError):
        bgnbd.fit_bgnbd(np.array([]), np.array([]), np.array([]))


def test_fit_is_deterministic_and_order_independent(simulated) -> None:
    first = bgnbd.fit_bgnbd(simulated["x"], simulated["t_x"], simulated["T"])
    shuffled = simulated.sample(frac=1.0, random_state=4)
    second = bgnbd.fit_bgnbd(shuffled["x"], shuffled["t_x"], shuffled["T"])
    assert first.params == pytest.approx(second.params, rel=1e-9)


def test_evaluate_reports_the_baseline_and_judges_clusters_on_ids() -> None:
    from huaxiang.commands import evaluate

    rng = np.random.default_rng(0)
    outcome = rng.uniform(size=2_000) < 0.3
    scored = pd.DataFrame(
        {
            "purchased_in_holdout": outcome,
            "score": np.clip(np.where(outcome, 0.6, 0.2) + rng.normal(0, 0.2, 2_000), 0, 1),
            "bgnbd": np.clip(np.where(outcome, 0.5, 0.3) + rng.normal(0, 0.2, 2_000), 0, 1),
        }
    )
    figures = {f.name: f for f in evaluate.bgnbd_figures(scored)}
    assert figures[evaluate.AUC_OVER_BGNBD].passed and figures[evaluate.AUC_OVER_BGNBD].value > 0
    clustered = pd.DataFrame(
        {
            "cluster_id": [0, 0, 0, 1, 1, 2],
            "cluster_name": ["a", "a", "a", "b", "b", "c"],
            "persona": ["p", "p", "q", "q", "q", "p"],
        }
    )
    cluster_list, table = evaluate.cluster_figures(clustered)
    by_name = {f.name: f for f in cluster_list}
    assert by_name[evaluate.CLUSTER_PURITY].value == pytest.approx(5 / 6)
    assert by_name[evaluate.PERSONAS_RECOVERED].value == 2 and by_name[evaluate.PERSONAS_RECOVERED].passed
    missing = evaluate.cluster_figures(clustered.assign(persona=["p", "p", "p", "s", "s", "p"]))[0][2]
    assert missing.passed  # p and s each dominate a cluster
    lost = evaluate.cluster_figures(clustered.assign(persona=["p", "p", "s", "p", "p", "p"]))[0][2]
    assert not lost.passed and "missing: s" in lost.target


def test_the_purchase_only_benchmark_measures_both_on_the_same_holdout() -> None:
    from bench import ml_baseline
    from ml_assets.purchase_log import PurchaseLogSpec

    row = ml_baseline.measure(PurchaseLogSpec(customers=1_500, days=200, mean_gap_days=45, seed=1))
    assert row["users"] > 1_000 and 0 < row["buyers_in_holdout"] < 1
    assert row["model_auc"] >= row["bgnbd_auc"] - 0.02 and row["bgnbd_auc"] > 0.6
    assert set(row["validation"]) >= {"bgnbd", "logistic_regression"}
