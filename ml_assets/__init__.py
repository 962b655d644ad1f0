"""Machine learning on the user facts: pure Python, no Dagster (wired as assets by orchestration/assets/ml.py).

* `features`        — read the point-in-time feature tables (dbt `models/intermediate/ml/`) via Arrow
* `clustering`      — behaviour segments with stable ids and readable names
* `propensity`      — calibrated probability of a paid order in the next H days
* `bgnbd`           — the BG/NBD repeat-buying model (baseline, propensity input and candidate)
* `screening`       — drop features without signal on a source before a fit, with the reason
* `failures`        — one-line failure messages naming the asset and the cause
* `purchase_log`    — simulated purchase-only logs and their features (tests, bench/ml_baseline.py)
* `recommendations` — top-N products per user from co-occurrence, category affinity and popularity
* `metrics`         — ROC/PR-AUC, Brier, lift, calibration, PSI, hit-rate/recall@N
* `registry`        — fitted models on disk, versioned, with their metrics and approval status
* `gates`           — the model-quality rules the blocking checks apply
* `steps`           — what each ML asset does between the warehouse and the models, its metadata as plain values

docs/ml.md explains the design and records the measured figures.
"""
