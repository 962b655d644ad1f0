"""Models degrade, never crash (issue 14, item 3).

On a real purchase-only export `ml/purchase_propensity` crashed inside scikit-learn ("window shape
cannot be larger than input array shape", histogram binning of a feature with no values). These
tests rebuild that input — an all-null column, a constant column, the features of a purchase-only
log — and prove the fits now drop such columns with a reason (logged and recorded), still produce
calibrated scores that rank at least as well as BG/NBD, and that a failure left over is one line
naming the asset and the cause.
"""

from __future__ import annotations

import logging

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from ml_assets import bgnbd, clustering, propensity
from ml_assets import purchase_log as pl
from ml_assets.config import ClusteringConfig, PropensityConfig
from ml_assets.failures import failure_message
from ml_assets.screening import ALL_NULL, screen_features
from orchestration.assets.ml import PURCHASE_PROPENSITY, model_failures
from tests.test_ml_units import DAYS, FEATURES, SMALL, labelled_rows


def test_the_crash_of_the_issue_is_scikit_learns_on_an_all_null_column() -> None:
    """The cause, reproduced: gradient boosting cannot bin a column without values."""
    training = labelled_rows(500, DAYS[:1]).assign(open_rate=np.nan)
    with pytest.raises(ValueError, match="window shape cannot be larger than input array shape"):
        HistGradientBoostingClassifier().fit(training[[*FEATURES, "open_rate"]], training["purchased"])


def test_screening_drops_all_null_constant_and_almost_empty_columns_with_reasons(caplog) -> None:
    frame = pd.DataFrame(
        {
            "useful": np.arange(100.0),
            "empty": np.nan,
            "constant": 3.0,
            "constant_or_null": np.where(np.arange(100) % 2 == 0, 1.0, np.nan),
            "rare": np.where(np.arange(100) < 4, np.arange(100.0), np.nan),
            "infinite": np.inf,
        }
    )
    with caplog.at_level(logging.WARNING, logger="ml_assets.screening"):
        screen = screen_features(frame, [*frame.columns, "absent"], context="ml/test")
    assert screen.kept == ["useful"]
    assert screen.dropped["empty"] == ALL_NULL
    assert screen.dropped["constant"] == "constant (3)"
    assert screen.dropped["constant_or_null"].startswith("constant (1) where present")
    assert screen.dropped["rare"].startswith("values on 4 of 100 rows")
    assert screen.dropped["infinite"] == "no finite values"
    assert screen.dropped["absent"] == "not in the feature table"
    assert "ml/test: feature empty dropped before fitting: no values (all null)" in caplog.text


def test_propensity_fits_with_an_all_null_and_a_constant_feature(caplog) -> None:
    training = labelled_rows(2_000, DAYS).assign(open_rate=np.nan, marketing_consent=1)
    names = [*FEATURES, "open_rate", "marketing_consent"]
    with caplog.at_level(logging.WARNING, logger="ml_assets.screening"):
        fit = propensity.fit_propensity(training, names, training, SMALL)
    assert fit.fallback_reason is None and fit.evaluated and fit.validation.roc_auc > 0.75
    assert fit.dropped_features == {
        "observed_days": "constant (30)",  # the fixture observes everyone for 30 days
        "open_rate": ALL_NULL,
        "marketing_consent": "constant (1)",
    }
    assert "open_rate" not in fit.model.feature_names
    assert propensity.fit_info(fit)["dropped_features"] == fit.dropped_features  # in the model record
    scores = fit.model.predict(training)  # scoring frames still carry the dropped columns: ignored
    assert np.isfinite(scores).all() and ((scores >= 0) & (scores <= 1)).all()
    assert "feature open_rate dropped before fitting" in caplog.text


def test_no_feature_with_signal_falls_back_with_a_reason_instead_of_crashing() -> None:
    training = labelled_rows(2_000, DAYS).assign(activity=np.nan, recency=np.nan, noise=0.0, observed_days=30)
    training["orders"] = 1
    fit = propensity.fit_propensity(training, FEATURES, training, SMALL)
    assert fit.model.kind == propensity.HEURISTIC_KIND
    assert "no feature carries a signal" in fit.fallback_reason and "activity" in fit.fallback_reason


# ----------------------------------------------------------------------------------- purchase-only


@pytest.fixture(scope="module")
def purchase_only() -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """A purchase-only shop: 3,000 customers over 300 days, a purchase every ~2-4 months."""
    spec = pl.PurchaseLogSpec(customers=3_000, days=300, mean_gap_days=90, seed=5)
    log = pl.simulate_log(spec)
    as_of = spec.days - 1
    training = pl.training_frame(log, as_of, 30)
    score = pl.features_as_of(log, as_of)
    outcome = score["user_id"].map(pl.labels(log, as_of, 30)).fillna(False).astype(bool).to_numpy()
    return training, score, outcome


def test_purchase_only_features_would_crash_the_old_fit(purchase_only) -> None:
    training, _, _ = purchase_only
    names = pl.feature_names(training)
    with pytest.raises(ValueError, match="window shape"):
        HistGradientBoostingClassifier(max_iter=5).fit(training[names].astype(float), training["purchased"])


def test_purchase_only_propensity_is_calibrated_and_ranks_at_least_as_well_as_bgnbd(purchase_only) -> None:
    training, score, outcome = purchase_only
    fit = propensity.fit_propensity(training, pl.feature_names(training), score, PropensityConfig())
    assert fit.fallback_reason is None
    assert {"events_per_session", "app_share", "price_index"} <= set(fit.dropped_features)
    assert propensity.BGNBD_KIND in fit.candidates
    scores = fit.model.predict(score)
    baseline = bgnbd.fit_bgnbd_frame(score).predict_frame(score, 30)["bgnbd_p_purchase"].to_numpy()
    auc, baseline_auc = roc_auc_score(outcome, scores), roc_auc_score(outcome, baseline)
    # At least as well as BG/NBD fitted on the same history (within the noise of a 3,000-user holdout).
    assert auc >= baseline_auc - 0.01, (auc, baseline_auc)
    assert abs(scores.mean() - outcome.mean()) < 0.03  # calibrated in the large


def test_purchase_only_clusters_leave_out_empty_behaviour_and_are_named_from_orders(purchase_only) -> None:
    _, score, _ = purchase_only
    features = score.reindex(columns=list(clustering.FEATURE_INPUTS))
    mix = pd.DataFrame({"user_id": [], "category_l1": [], "weight": []})
    result = clustering.fit_clusters(features, mix, None, ClusteringConfig(k_min=2, k_max=5, n_init=2))
    dropped = result.model.dropped_features
    assert {"late_night_share", "app_share", "search_share"} <= set(dropped)
    assert result.assignments["cluster_id"].nunique() >= 2
    names = result.model.names.values()
    assert len(set(names)) == len(names)
    behaviour = {"night-time", "mobile app", "web", "mini-program", "search-led", "daytime", "evening"}
    assert not any(set(name.split(", ")) & behaviour for name in names)  # no word without data behind it


# ------------------------------------------------------------------------------------------- failures


def test_a_failure_is_one_line_naming_the_asset_and_the_cause() -> None:
    error = ValueError("window shape cannot be larger than input array shape\n  File ...")
    message = failure_message("ml/purchase_propensity", error, "fitting the propensity model")
    assert message == (
        "ml/purchase_propensity failed while fitting the propensity model: "
        "ValueError: window shape cannot be larger than input array shape"
    )
    with pytest.raises(dg.Failure) as raised, model_failures(PURCHASE_PROPENSITY, "scoring"):
        raise KeyError("orders")
    assert raised.value.description == "ml/purchase_propensity failed while scoring: KeyError: 'orders'"
    assert "\n" not in raised.value.description


def test_when_every_candidate_fails_the_error_says_which_and_why(monkeypatch) -> None:
    class Broken(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):  # noqa: N803
            raise ValueError("window shape cannot be larger than input array shape")

        def predict_proba(self, X):  # noqa: N803
            raise AssertionError("never fitted")

    monkeypatch.setattr(propensity, "candidate_estimators", lambda config, names=None: {"broken": Broken()})
    training = labelled_rows(2_000, DAYS)
    with pytest.raises(propensity.PropensityFitError, match="broken: ValueError: window shape"):
        propensity.fit_propensity(training, FEATURES, training, SMALL)


# ---------------------------------------------------------------------------- through the Dagster asset


def _purchase_only_warehouse(home, purchase_only) -> None:
    """facts.ml_features_train / ml_labels_train / ml_features_score as a purchase-only source gives them."""
    import duckdb

    training, score, _ = purchase_only
    labels = training[["user_id", "as_of_date", "purchased"]].assign(horizon_days=30)
    home.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        conn.execute("create schema facts")
        for name, frame in {
            "ml_features_train": training.drop(columns=["purchased"]),
            "ml_labels_train": labels,
            "ml_features_score": score,
        }.items():
            conn.register("frame", frame)
            conn.execute(f"create table facts.{name} as select * from frame")
            conn.unregister("frame")


def _scoring_asset_run(home) -> dg.ExecuteInProcessResult:
    from ml_assets.config import MLConfig
    from orchestration.assets.ml import build_scoring_asset
    from orchestration.resources import WarehouseResource

    asset = build_scoring_asset(MLConfig().propensity)
    return dg.materialize([asset], resources={"warehouse": WarehouseResource(home=str(home))}, raise_on_error=False)


def test_the_scoring_asset_on_a_purchase_only_source_reports_what_it_dropped(tmp_path, purchase_only) -> None:
    _purchase_only_warehouse(tmp_path, purchase_only)
    result = _scoring_asset_run(tmp_path)
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    metadata = result.asset_materializations_for_node(PURCHASE_PROPENSITY.to_python_identifier())[0].metadata
    assert metadata["model_kind"].value in ("hist_gradient_boosting", "logistic_regression", propensity.BGNBD_KIND)
    dropped = metadata["dropped_features"].value
    assert "app_share" in dropped and "no values (all null)" in dropped


def test_a_model_failure_in_the_asset_is_one_line_naming_it(tmp_path, purchase_only, monkeypatch) -> None:
    class Broken(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):  # noqa: N803
            raise ValueError("window shape cannot be larger than input array shape")

        def predict_proba(self, X):  # noqa: N803
            raise AssertionError("never fitted")

    monkeypatch.setattr(propensity, "candidate_estimators", lambda config, names=None: {"broken": Broken()})
    _purchase_only_warehouse(tmp_path, purchase_only)
    result = _scoring_asset_run(tmp_path)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data
    first_line = failure.error.message.strip().splitlines()[0]
    assert first_line.endswith(
        "ml/purchase_propensity failed while fitting the propensity model: PropensityFitError: "
        "no propensity candidate could be fitted: broken: ValueError: window shape cannot be larger than input "
        "array shape"
    ), first_line


def test_too_short_a_purchase_only_history_falls_back_to_bgnbd_not_the_overshooting_heuristic() -> None:
    """40 days of a monthly-buying shop: no labelled window yet. The order-rate heuristic reads one
    order in a few observed days as a daily habit; BG/NBD, which needs no labels, stays near the realised rate."""
    spec = pl.PurchaseLogSpec(customers=3_000, days=40, mean_gap_days=30, regularity=1.0, seed=0)
    log = pl.simulate_log(spec)
    score = pl.features_as_of(log, spec.days - 1)
    outcome = score["user_id"].map(pl.labels(log, spec.days - 1, 30)).fillna(False).astype(bool).to_numpy()
    # dbt drops training snapshots with under 14 days of history before them: as of days 9 and 2, both.
    no_labels = pl.training_frame(log, spec.days - 1, 30).iloc[:0]
    fit = propensity.fit_propensity(no_labels, pl.feature_names(score), score, SMALL)
    assert fit.model.kind == propensity.BGNBD_KIND and "BG/NBD, which needs no labels" in fit.fallback_reason
    scores = fit.model.predict(score)
    heuristic = propensity.heuristic_model(score, SMALL).predict(score)
    assert abs(scores.mean() - outcome.mean()) < 0.05 < abs(heuristic.mean() - outcome.mean())
    assert roc_auc_score(outcome, scores) >= roc_auc_score(outcome, heuristic)
    # Without repeat buyers to fit on, the heuristic stays the fallback.
    first_orders = score.assign(orders=1, days_since_last_order=score["days_since_first_order"])
    assert propensity.fallback_model(first_orders, SMALL).kind == propensity.HEURISTIC_KIND
