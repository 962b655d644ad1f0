"""Purchase propensity: P(>= 1 paid order in the H days after the as-of day), calibrated.

Long because it is one model's life cycle (screening, candidates, time-based selection,
calibration, the order-rate fallback, the choice of the scoring model) over shared data classes.

Point in time: the training rows are features as of T - H - k*step with labels from the H days
after each (dbt models ml_features_train / ml_labels_train); scoring uses features as of T
(ml_features_score). The feature list is whatever the dbt macro `user_features_as_of` emits.

Model selection is time-based: candidates are fitted on the earlier as-of days and judged on the
latest one, for users held out of training (no user is on both sides). Gradient boosting competes
with a logistic baseline, each calibrated by cross-validation grouped by user. The winner is refitted,
calibrated, on every row. Without enough labelled rows (short history, very few buyers) a
documented order-rate heuristic is used instead of failing.

Before fitting, the features are screened on the training rows (`ml_assets.screening`): columns
with no values, one value or almost no values on this source are dropped with a logged reason, kept
in the fit (`dropped_features`) and the model record. A purchase-only source leaves mostly the
order history; for it the BG/NBD model of repeat buying (`ml_assets.bgnbd`) is both an input (its
P(alive), expected purchases and P(purchase in H days), fitted on the training rows without labels)
and a candidate of its own, so the chosen model ranks at least as well as BG/NBD on validation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from ml_assets import bgnbd
from ml_assets.config import PropensityConfig
from ml_assets.failures import cause_of
from ml_assets.gates import GateOutcome, model_status, propensity_model_gates
from ml_assets.metrics import BinaryMetrics, binary_metrics, calibration_table, deciles
from ml_assets.registry import ModelRecord, ModelRegistry, new_version
from ml_assets.screening import FeatureScreen, screen_features

FAMILY = "propensity"
HEURISTIC_KIND = "order_rate_heuristic"
# Columns the heuristic needs; both are part of the dbt feature macro.
ORDERS, OBSERVED_DAYS = "orders", "observed_days"
HEURISTIC_INPUTS = (ORDERS, OBSERVED_DAYS)
# Columns of ml_features_score a fallback (BG/NBD or the heuristic) scores from.
FALLBACK_INPUTS = ("user_id", *dict.fromkeys((*HEURISTIC_INPUTS, *bgnbd.INPUTS)))
HASH_BUCKETS = 10_000
BGNBD_KIND = "bgnbd"
BGNBD_OUTPUTS = ("bgnbd_p_alive", "bgnbd_expected", "bgnbd_p_purchase")
CONTEXT = "ml/propensity_model"  # names the model in log lines

log = logging.getLogger(__name__)


class OrderRateModel:
    """Fallback without labels: P = 1 - exp(-H * rate), the user's paid orders per observable day
    shrunk towards the population rate by `prior_days` pseudo-days (empirical Bayes, Poisson)."""

    def __init__(self, horizon_days: int, population_rate: float, prior_days: float) -> None:
        self.horizon_days = horizon_days
        self.population_rate = population_rate
        self.prior_days = prior_days

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        orders = features[ORDERS].fillna(0).to_numpy(float)
        days = features[OBSERVED_DAYS].fillna(0).clip(lower=0).to_numpy(float)
        rate = (orders + self.population_rate * self.prior_days) / (days + self.prior_days)
        positive = 1 - np.exp(-self.horizon_days * rate)
        return np.column_stack([1 - positive, positive])


def _bgnbd_inputs(matrix: Any, index: tuple[int, ...]) -> pd.DataFrame:
    values = np.asarray(matrix, dtype=float)
    return pd.DataFrame({name: values[:, i] for name, i in zip(bgnbd.INPUTS, index, strict=True)})


def _fit_bgnbd_or_none(inputs: pd.DataFrame) -> bgnbd.BGNBD | None:
    try:
        return bgnbd.fit_bgnbd_frame(inputs)
    except (bgnbd.BGNBDError, ValueError, FloatingPointError) as error:
        log.warning("%s: BG/NBD could not be fitted (%s); its features are left empty", CONTEXT, error)
        return None


class BGNBDFeatures(TransformerMixin, BaseEstimator):
    """Appends BG/NBD P(alive), expected purchases and P(>= 1 purchase) in H days to the matrix.

    The BG/NBD is fitted (without labels) on the rows the pipeline is fitted on; `index` gives the
    positions of orders, days since first/last order and observed days among the columns."""

    def __init__(self, horizon_days: int = 30, index: tuple[int, ...] = ()) -> None:
        self.horizon_days = horizon_days
        self.index = index

    def fit(self, X: Any, y: Any = None) -> BGNBDFeatures:  # noqa: N803 (scikit-learn's names)
        self.model_ = _fit_bgnbd_or_none(_bgnbd_inputs(X, self.index))
        return self

    def transform(self, X: Any) -> np.ndarray:  # noqa: N803
        values = np.asarray(X, dtype=float)
        if self.model_ is None:
            extra = np.full((len(values), len(BGNBD_OUTPUTS)), np.nan)
        else:
            extra = self.model_.predict_frame(_bgnbd_inputs(values, self.index), self.horizon_days).to_numpy(float)
        return np.hstack([values, extra])


class BGNBDClassifier(ClassifierMixin, BaseEstimator):
    """The BG/NBD baseline as a classifier: P(>= 1 purchase in H days) from the order history alone.

    BG/NBD needs no labels, so it is refitted on the rows it scores (the whole population as of the
    scoring day: the history the baseline itself is fitted on); the calibration around it is a
    sigmoid, monotone, so the ranking is exactly BG/NBD's on that history. `fit` keeps the
    parameters of the training rows for a scoring frame too small to fit on."""

    def __init__(self, horizon_days: int = 30, index: tuple[int, ...] = (), refit_min_rows: int = 200) -> None:
        self.horizon_days = horizon_days
        self.index = index
        self.refit_min_rows = refit_min_rows

    def fit(self, X: Any, y: Any) -> BGNBDClassifier:  # noqa: N803
        self.classes_ = np.array([False, True])
        self.model_ = bgnbd.fit_bgnbd_frame(_bgnbd_inputs(X, self.index))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        inputs = _bgnbd_inputs(X, self.index)
        model = self.model_
        if len(inputs) >= self.refit_min_rows:
            model = _fit_bgnbd_or_none(inputs) or model
        positive = model.predict_frame(inputs, self.horizon_days)["bgnbd_p_purchase"].to_numpy(float)
        return np.column_stack([1 - positive, positive])

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        return self.predict_proba(X)[:, 1] >= 0.5


def bgnbd_index(feature_names: list[str]) -> tuple[int, ...] | None:
    """Positions of the BG/NBD inputs among the features, or None when one is missing."""
    if not all(name in feature_names for name in bgnbd.INPUTS):
        return None
    return tuple(feature_names.index(name) for name in bgnbd.INPUTS)


@dataclass
class PropensityModel:
    """What is persisted: the estimator with the feature list and horizon it was fitted for."""

    estimator: Any
    feature_names: list[str]
    horizon_days: int
    kind: str

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        missing = sorted(set(self.feature_names) - set(features.columns))
        if missing:
            raise ValueError(f"features missing for the propensity model: {', '.join(missing)}")
        matrix = features[self.feature_names].astype("float64")
        # Not clipped: a model that leaves [0, 1] is broken, and the scoring gate must see it.
        return self.estimator.predict_proba(matrix)[:, 1]


@dataclass
class PropensityFit:
    model: PropensityModel
    split: str
    train_rows: int
    train_positives: int
    train_as_of: list[str]
    validation: BinaryMetrics | None = None
    candidates: dict[str, BinaryMetrics] = field(default_factory=dict)
    calibration: pd.DataFrame | None = None
    calibration_method: str | None = None
    fallback_reason: str | None = None
    dropped_features: dict[str, str] = field(default_factory=dict)

    @property
    def evaluated(self) -> bool:
        return self.validation is not None and not np.isnan(self.validation.roc_auc)


def candidate_estimators(config: PropensityConfig, feature_names: list[str] | None = None) -> dict[str, Any]:
    """Gradient boosting (handles missing values and interactions) and the logistic baseline; when
    the order history is among the features, both also get the BG/NBD predictions as inputs, and
    BG/NBD itself competes (the baseline a purchase-only source must at least match)."""
    index = bgnbd_index(list(feature_names)) if feature_names is not None else None

    def with_bgnbd(steps: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        return [("bgnbd", BGNBDFeatures(config.horizon_days, index)), *steps] if index is not None else steps

    candidates: dict[str, Any] = {
        "hist_gradient_boosting": Pipeline(
            with_bgnbd(
                [
                    (
                        "model",
                        HistGradientBoostingClassifier(
                            learning_rate=0.05,
                            max_iter=400,
                            max_leaf_nodes=15,
                            min_samples_leaf=100,
                            l2_regularization=1.0,
                            early_stopping=True,
                            validation_fraction=0.1,
                            n_iter_no_change=20,
                            random_state=config.random_state,
                        ),
                    )
                ]
            )
        ),
        "logistic_regression": Pipeline(
            with_bgnbd(
                [
                    ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                    # arcsinh tames heavy tails (counts, money) and keeps signs (price index).
                    ("compress", FunctionTransformer(np.arcsinh, feature_names_out="one-to-one")),
                    ("scale", StandardScaler()),
                    ("model", LogisticRegression(C=0.5, max_iter=2_000)),
                ]
            )
        ),
    }
    if index is not None:
        candidates[BGNBD_KIND] = BGNBDClassifier(config.horizon_days, index)
    return candidates


def held_out_users(user_ids: pd.Series, share: float, seed: int) -> np.ndarray:
    """A stable pseudo-random share of users (by a hash of the id), the same in every run."""
    hashed = pd.util.hash_pandas_object(user_ids.astype(str) + f"#{seed}", index=False).to_numpy()
    return (hashed % HASH_BUCKETS) < share * HASH_BUCKETS


def choose_candidate(candidates: dict[str, BinaryMetrics], config: PropensityConfig) -> str:
    """Best validation ranking wins (the Brier score breaks ties, then the candidate order) — but a
    learned model must beat the BG/NBD baseline by `baseline_auc_margin`: on one validation day a
    smaller lead is noise, and on a purchase-only source BG/NBD is the model to beat."""
    order = list(candidates)

    def rank(name: str) -> tuple[float, float, int]:
        return round(candidates[name].roc_auc, 3), -candidates[name].brier, -order.index(name)

    best = max(candidates, key=rank)
    if BGNBD_KIND in candidates and best != BGNBD_KIND:
        lead = candidates[best].roc_auc - candidates[BGNBD_KIND].roc_auc
        if not lead >= config.baseline_auc_margin:
            log.info(
                "%s: %s leads BG/NBD by %.4f AUC on validation, less than the %.3f margin: BG/NBD is chosen",
                CONTEXT, best, lead, config.baseline_auc_margin,
            )  # fmt: skip
            return BGNBD_KIND
    return best


def time_based_split(frame: pd.DataFrame, config: PropensityConfig) -> tuple[np.ndarray, np.ndarray, str]:
    """Train on the earlier as-of days, validate on the latest, with disjoint users.

    With a single as-of day (history shorter than H + one snapshot step + the minimum history) only
    the user split is possible; the description says which one was used.
    """
    as_of = pd.to_datetime(frame["as_of_date"])
    latest = as_of.max()
    held_out = held_out_users(frame["user_id"], config.validation_share, config.random_state)
    if as_of.nunique() > 1:
        train, valid = (as_of < latest).to_numpy() & ~held_out, (as_of == latest).to_numpy() & held_out
        earlier = ", ".join(sorted(d.date().isoformat() for d in as_of[as_of < latest].unique()))
        description = (
            f"time-based: fit on as-of {earlier}, validate on as-of {latest.date()} "
            f"({config.validation_share:.0%} of users, never in training)"
        )
    else:
        train, valid = ~held_out, held_out
        description = f"user split only (one as-of day, {latest.date()}: history too short for a time split)"
    return train, valid, description


def _calibrated(estimator: Any, frame: pd.DataFrame, config: PropensityConfig) -> tuple[CalibratedClassifierCV, str]:
    """The estimator wrapped in cross-validated calibration with folds grouped by user."""
    positives = int(frame["purchased"].sum())
    method = "isotonic" if positives >= config.isotonic_min_positives else "sigmoid"
    if isinstance(estimator, BGNBDClassifier):
        method = "sigmoid"  # monotone: keeps BG/NBD's ranking (isotonic would tie scores)
    folds = GroupKFold(n_splits=config.calibration_folds).split(frame, groups=frame["user_id"])
    return CalibratedClassifierCV(estimator, method=method, cv=list(folds), ensemble=True), method


def _fit_calibrated(
    estimator: Any, frame: pd.DataFrame, feature_names: list[str], config: PropensityConfig
) -> tuple[CalibratedClassifierCV, str]:
    model, method = _calibrated(estimator, frame, config)
    model.fit(frame[feature_names].astype("float64"), frame["purchased"].astype(bool))
    return model, method


def _predict(model: Any, frame: pd.DataFrame, feature_names: list[str]) -> np.ndarray:
    return model.predict_proba(frame[feature_names].astype("float64"))[:, 1]


def heuristic_model(score_features: pd.DataFrame, config: PropensityConfig) -> PropensityModel:
    orders = score_features[ORDERS].fillna(0).sum()
    days = score_features[OBSERVED_DAYS].fillna(0).clip(lower=0).sum()
    rate = float(orders / days) if days > 0 else 0.0
    estimator = OrderRateModel(config.horizon_days, rate, config.prior_days)
    return PropensityModel(estimator, list(HEURISTIC_INPUTS), config.horizon_days, HEURISTIC_KIND)


def bgnbd_fallback_model(score_features: pd.DataFrame, config: PropensityConfig) -> PropensityModel | None:
    """BG/NBD fitted on the scoring day's history (no labels needed), when the features hold the
    order history and at least `min_class_rows` users bought again; else None.

    On a purchase-only source the order-rate heuristic overshoots badly (a user is first observed on
    the day of the first order, so one order in a few observed days reads as a daily habit: mean
    score 0.71-0.97 against a realised 0.26-0.45 on simulated logs of 20-60 days), while BG/NBD's
    Brier score is about half the heuristic's and it ranks better (docs/ml.md)."""
    if not all(name in score_features.columns for name in bgnbd.INPUTS) or score_features.empty:
        return None
    summaries = bgnbd.summaries(score_features)
    repeaters = int((summaries["x"] > 0).sum())
    if repeaters < config.min_class_rows:
        return None
    index = tuple(range(len(bgnbd.INPUTS)))
    try:
        estimator = BGNBDClassifier(config.horizon_days, index).fit(score_features[list(bgnbd.INPUTS)], None)
    except (bgnbd.BGNBDError, ValueError, FloatingPointError) as error:
        log.warning("%s: BG/NBD fallback could not be fitted (%s)", CONTEXT, error)
        return None
    return PropensityModel(estimator, list(bgnbd.INPUTS), config.horizon_days, BGNBD_KIND)


def fallback_model(score_features: pd.DataFrame, config: PropensityConfig) -> PropensityModel:
    """What scores without a judged model: BG/NBD when the history supports it, else the order-rate heuristic."""
    score_features = score_features.sort_values("user_id", kind="stable", ignore_index=True)  # fixed float sums
    return bgnbd_fallback_model(score_features, config) or heuristic_model(score_features, config)


def _too_little(frame: pd.DataFrame, config: PropensityConfig) -> str | None:
    positives = int(frame["purchased"].sum()) if len(frame) else 0
    negatives = len(frame) - positives
    if min(positives, negatives) < config.min_class_rows:
        return (
            f"{len(frame)} labelled training rows ({positives} buyers, {negatives} non-buyers); "
            f"at least {config.min_class_rows} of each are needed to fit and judge a model"
        )
    return None


def _sample(frame: pd.DataFrame, config: PropensityConfig) -> pd.DataFrame:
    if len(frame) <= config.max_train_rows:
        return frame
    return frame.sample(config.max_train_rows, random_state=config.random_state)


def fit_propensity(
    training: pd.DataFrame,
    feature_names: list[str],
    score_features: pd.DataFrame,
    config: PropensityConfig,
) -> PropensityFit:
    """Select, calibrate and fit the propensity model on the labelled rows (user_id, as_of_date,
    purchased, features…); falls back to BG/NBD or the order-rate heuristic when they are too few."""
    with threadpool_limits(limits=config.threads):
        return _fit_propensity(training, feature_names, score_features, config)


class PropensityFitError(RuntimeError):
    """No candidate model could be fitted: the message says which and why, in one line."""


def _fallback(
    training: pd.DataFrame,
    score_features: pd.DataFrame,
    config: PropensityConfig,
    reason: str,
    split: str,
    as_of_days: list[str],
    screen: FeatureScreen | None,
) -> PropensityFit:
    model = fallback_model(score_features, config)
    history = int(score_features[OBSERVED_DAYS].max()) if len(score_features) else 0
    if model.kind == BGNBD_KIND:
        reason += (
            "; BG/NBD, which needs no labels, is fitted on the scoring day's order history and scores instead "
            "(not calibrated on outcomes)"
        )
    if history < config.horizon_days:
        what = "BG/NBD" if model.kind == BGNBD_KIND else "the order-rate heuristic"
        reason += (
            f"; the data covers at most {history} day(s), less than the {config.horizon_days}-day horizon: "
            f"{what} extrapolates that short history (scores are indicative only)"
        )
    log.warning("propensity fallback (%s): %s", model.kind, reason)
    return PropensityFit(
        model=model,
        split=split,
        train_rows=len(training),
        train_positives=int(training["purchased"].sum()) if len(training) else 0,
        train_as_of=as_of_days,
        fallback_reason=reason,
        dropped_features=screen.dropped if screen else {},
    )


def _fit_propensity(
    training: pd.DataFrame,
    feature_names: list[str],
    score_features: pd.DataFrame,
    config: PropensityConfig,
) -> PropensityFit:
    # Sampling, the calibration folds and the fits follow the row order: fix it by the key.
    training = training.sort_values(["user_id", "as_of_date"], kind="stable", ignore_index=True)
    score_features = score_features.sort_values("user_id", kind="stable", ignore_index=True)
    training = _sample(training, config)
    as_of_days = sorted(pd.to_datetime(training["as_of_date"]).dt.date.astype(str).unique())
    positives = int(training["purchased"].sum()) if len(training) else 0
    reason = _too_little(training, config)
    train, valid, split = time_based_split(training, config) if reason is None else (None, None, "none")
    if reason is None:
        reason = _too_little(training[train], config) or _too_little(training[valid], config)
    if reason is not None:
        return _fallback(training, score_features, config, reason, split, as_of_days, None)

    # Features without signal on this source are dropped (logged, recorded), judged on the fit rows.
    screen = screen_features(training[train], feature_names, context=CONTEXT)
    if not screen.kept:
        reason = f"no feature carries a signal on this source ({screen.describe()})"
        return _fallback(training, score_features, config, reason, split, as_of_days, screen)
    kept = screen.kept

    fit_rows, valid_rows = training[train], training[valid]
    candidates: dict[str, BinaryMetrics] = {}
    validation_scores: dict[str, np.ndarray] = {}
    failures: dict[str, str] = {}
    for name, estimator in candidate_estimators(config, kept).items():
        try:
            model, _ = _fit_calibrated(estimator, fit_rows, kept, config)
            validation_scores[name] = _predict(model, valid_rows, kept)
        except Exception as error:  # noqa: BLE001 — one candidate failing must not sink the others
            failures[name] = cause_of(error)
            log.warning("%s: candidate %s failed and is skipped: %s", CONTEXT, name, failures[name])
            continue
        candidates[name] = binary_metrics(valid_rows["purchased"], validation_scores[name])
    if not candidates:
        raise PropensityFitError(
            "no propensity candidate could be fitted: " + "; ".join(f"{k}: {v}" for k, v in failures.items())
        )
    chosen = choose_candidate(candidates, config)

    final, method = _fit_calibrated(candidate_estimators(config, kept)[chosen], training, kept, config)
    return PropensityFit(
        model=PropensityModel(final, list(kept), config.horizon_days, chosen),
        split=split,
        train_rows=len(training),
        train_positives=positives,
        train_as_of=as_of_days,
        validation=candidates[chosen],
        candidates=candidates,
        calibration=calibration_table(valid_rows["purchased"], validation_scores[chosen]),
        calibration_method=method,
        dropped_features=screen.dropped,
    )


def score_users(model: PropensityModel, features: pd.DataFrame, model_version: str) -> pd.DataFrame:
    """One row per user: score, decile (10 = likeliest), as_of, horizon and the model that scored."""
    scores = model.predict(features)
    return pd.DataFrame(
        {
            "user_id": features["user_id"].astype(str).to_numpy(),
            "as_of": pd.to_datetime(features["as_of_date"]).dt.date.to_numpy(),
            "score": scores,
            "decile": deciles(scores, features["user_id"].astype(str).to_numpy()).astype(np.int32),
            "horizon_days": np.full(len(features), model.horizon_days, dtype=np.int32),
            "model_version": model_version,
            "model_kind": model.kind,
        }
    )


@dataclass
class TrainingOutcome:
    fit: PropensityFit
    record: ModelRecord
    gates: list[GateOutcome]


def fit_info(fit: PropensityFit) -> dict[str, Any]:
    """What the record keeps about how the model was fitted (JSON-ready)."""
    return {
        "horizon_days": fit.model.horizon_days,
        "features": fit.model.feature_names,
        "split": fit.split,
        "train_rows": fit.train_rows,
        "train_positives": fit.train_positives,
        "train_as_of": fit.train_as_of,
        "calibration_method": fit.calibration_method,
        "candidates": {name: metrics.as_dict() for name, metrics in fit.candidates.items()},
        "calibration_table": fit.calibration.round(4).to_dict("records") if fit.calibration is not None else [],
        "fallback_reason": fit.fallback_reason,
        "dropped_features": dict(fit.dropped_features),
    }


def train_and_register(
    training: pd.DataFrame,
    feature_names: list[str],
    score_features: pd.DataFrame,
    registry: ModelRegistry,
    config: PropensityConfig,
) -> TrainingOutcome:
    """Fit a new version, judge it against the floor and the last approved version, and persist it
    with its status (approved, rejected or unevaluated)."""
    approved = registry.latest("approved")
    fit = fit_propensity(training, feature_names, score_features, config)
    gates = propensity_model_gates(
        fit.validation.roc_auc if fit.validation else None,
        approved.metrics.get("roc_auc") if approved else None,
        config,
    )
    record = ModelRecord(
        family=registry.family,
        version=new_version(),
        status=model_status(gates, fit.evaluated),
        kind=fit.model.kind,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        metrics=fit.validation.as_dict() if fit.validation else {},
        info=fit_info(fit),
    )
    registry.save(fit.model, record)
    return TrainingOutcome(fit, record, gates)


@dataclass(frozen=True)
class ScoringChoice:
    model: PropensityModel
    version: str
    note: str
    trained: TrainingOutcome | None = None


def choose_scoring_model(
    registry: ModelRegistry,
    train: Callable[[], TrainingOutcome],
    score_features: pd.DataFrame,
    config: PropensityConfig,
) -> ScoringChoice:
    """The latest approved version; without one, a version trained now unless it was rejected —
    a rejected model is never used: BG/NBD (when the history supports it) or the order-rate
    heuristic scores instead."""
    approved = registry.latest("approved")
    if approved is not None:
        model, _ = registry.load(approved.version)
        return ScoringChoice(model, approved.version, f"latest approved model {approved.version}")
    outcome = train()
    if outcome.record.status != "rejected":
        note = f"no approved model yet: trained {outcome.record.version} now ({outcome.record.status})"
        if outcome.fit.fallback_reason:
            note += f"; fallback {outcome.fit.model.kind}: {outcome.fit.fallback_reason}"
        return ScoringChoice(outcome.fit.model, outcome.record.version, note, outcome)
    fallback = fallback_model(score_features, config)
    note = f"no approved model and {outcome.record.version} was rejected: {fallback.kind} scores instead"
    return ScoringChoice(fallback, fallback.kind, note, outcome)
