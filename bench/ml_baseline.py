"""Propensity vs. BG/NBD on purchase-only histories: `python -m bench.ml_baseline [--customers N]`.

Each scenario simulates a customer/date/amount log (`ml_assets.purchase_log`), builds the training
rows and scoring features a purchase-only source gives the dbt feature macro, fits the propensity
model exactly as `ml/propensity_model` does (screening, candidates, time-based validation,
calibration), and scores the holdout: the 30 days after the history. BG/NBD is fitted on the same
history (the scoring day's features). Writes bench/results/ml_baseline.json and prints a markdown
table (docs/ml.md).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from sklearn.metrics import brier_score_loss, roc_auc_score

from ml_assets import bgnbd, propensity
from ml_assets import purchase_log as pl
from ml_assets.config import PropensityConfig

RESULTS = Path(__file__).parent / "results" / "ml_baseline.json"
HORIZON = 30
SCENARIOS: dict[str, pl.PurchaseLogSpec] = {
    # A purchase every 2-4 months, fairly regular (gamma gaps of shape 3), 400 days of history.
    "sparse buyers, regular": pl.PurchaseLogSpec(mean_gap_days=90, regularity=3.0, days=400),
    # The same rate, Poisson gaps: BG/NBD's own assumptions.
    "sparse buyers, Poisson": pl.PurchaseLogSpec(mean_gap_days=90, regularity=1.0, days=400),
    # Monthly buyers, Poisson, 200 days.
    "monthly buyers, Poisson": pl.PurchaseLogSpec(mean_gap_days=30, regularity=1.0, days=200),
    # Short history: 120 days, a purchase every ~2 months.
    "short history": pl.PurchaseLogSpec(mean_gap_days=60, regularity=2.0, days=120),
}


def measure(spec: pl.PurchaseLogSpec) -> dict[str, float | int | str]:
    log = pl.simulate_log(spec)
    as_of = spec.days - 1
    training = pl.training_frame(log, as_of, HORIZON)
    score = pl.features_as_of(log, as_of)
    outcome = score["user_id"].map(pl.labels(log, as_of, HORIZON)).fillna(False).astype(bool).to_numpy()
    started = time.perf_counter()
    fit = propensity.fit_propensity(training, pl.feature_names(training), score, PropensityConfig())
    scores = fit.model.predict(score)
    seconds = time.perf_counter() - started
    baseline = bgnbd.fit_bgnbd_frame(score).predict_frame(score, HORIZON)["bgnbd_p_purchase"].to_numpy()
    return {
        "users": len(score),
        "buyers_in_holdout": round(float(outcome.mean()), 4),
        "model": fit.model.kind,
        "model_auc": round(float(roc_auc_score(outcome, scores)), 4),
        "bgnbd_auc": round(float(roc_auc_score(outcome, baseline)), 4),
        "model_brier": round(float(brier_score_loss(outcome, scores)), 4),
        "bgnbd_brier": round(float(brier_score_loss(outcome, baseline)), 4),
        "model_mean": round(float(np.mean(scores)), 4),
        "bgnbd_mean": round(float(np.mean(baseline)), 4),
        "validation": {name: round(m.roc_auc, 4) for name, m in fit.candidates.items()},
        "dropped_features": len(fit.dropped_features),
        "fit_seconds": round(seconds, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=4_000)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    for name, spec in SCENARIOS.items():
        for seed in range(args.seeds):
            run = replace(spec, customers=args.customers, seed=seed)
            rows.append({"scenario": name, "seed": seed, "spec": asdict(run), **measure(run)})
            r = rows[-1]
            print(
                f"| {name} | {seed} | {r['users']} | {r['buyers_in_holdout']:.3f} | {r['model']} | "
                f"{r['model_auc']:.4f} | {r['bgnbd_auc']:.4f} | {r['model_brier']:.4f} | {r['bgnbd_brier']:.4f} |",
                flush=True,
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
