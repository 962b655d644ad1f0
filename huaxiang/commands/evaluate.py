"""`huaxiang evaluate`: the ML acceptance figures on a generated warehouse, against the generator's truth.

Needs a warehouse built by `huaxiang run` from `huaxiang generate --holdout-days H` (H = the
propensity horizon, 30 by default): the truth then holds each user's persona, the oracle purchase
probability for the H days after the landed ones and the realised outcome. Printed (docs/ml.md):

* propensity — ROC-AUC and Brier score of the latest scores on the realised holdout outcome, next to
  the oracle's and the BG/NBD baseline's (fitted on the same history, the features as of the scoring
  day; the scores must rank at least as well); optionally (`--reference`) next to the best any model
  can do from the history;
* clusters — adjusted Rand index against the personas, purity (share of users in their cluster's
  dominant persona) and how many personas dominate a cluster of their own (cluster names are derived
  from the centroids, not from the personas, so they are not compared);
* recommendations — hit-rate@N on the last days' purchases against popularity alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, brier_score_loss, roc_auc_score

from huaxiang.errors import UserFacingError
from huaxiang.landing import landed_days
from huaxiang.settings import Settings
from huaxiang.warehouse import connect
from ml_assets import bgnbd
from ml_assets.config import MLConfig
from ml_assets.features import SCORE_FEATURES
from ml_assets.recommendations import evaluate_recommendations

AUC_SHARE_OF_ORACLE = 0.95
BRIER_RATIO_TO_ORACLE = 1.10
MIN_ARI = 0.5
MIN_HIT_RATE_LIFT = 1.2  # "a clear margin" over popularity: at least 20 % more hits
PERSONAS_RECOVERED = "personas dominating a cluster"
CLUSTER_PURITY = "cluster purity (users in their cluster's dominant persona)"
BGNBD_AUC = "BG/NBD ROC-AUC"
AUC_OVER_BGNBD = "propensity AUC - BG/NBD AUC"


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    target: str
    passed: bool | None = None  # None: for information


@dataclass
class EvaluationReport:
    data: str
    figures: list[Figure] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(figure.passed is not False for figure in self.figures)

    def figure(self, name: str) -> Figure:
        return next(figure for figure in self.figures if figure.name == name)

    def render(self) -> str:
        lines = [f"ML evaluation — {self.data}", ""]
        width = max(len(figure.name) for figure in self.figures) + 2
        for figure in self.figures:
            mark = {True: "✓", False: "✗", None: " "}[figure.passed]
            lines.append(f"  {mark} {figure.name:<{width}}{figure.value:>9.4f}   {figure.target}")
        for title, table in self.tables.items():
            lines += ["", f"{title}:", table.to_string(index=False)]
        return "\n".join(lines)


def _truth(settings: Settings) -> pd.DataFrame:
    path = settings.truth_dir / "users.parquet"
    if not path.is_file():
        raise UserFacingError(f"no ground truth at {path}: evaluate needs data from `huaxiang generate --holdout-days`")
    return pd.read_parquet(path)


def _read(conn, query: str) -> pd.DataFrame:
    return conn.execute(query).to_arrow_table().to_pandas()


def bgnbd_baseline(features: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """BG/NBD fitted on the scoring day's features (the same history the scores rest on): user_id and
    P(>= 1 purchase in the horizon) as `bgnbd`."""
    model = bgnbd.fit_bgnbd_frame(features)
    p = model.predict_frame(features, horizon_days)["bgnbd_p_purchase"].to_numpy()
    return pd.DataFrame({"user_id": features["user_id"].astype(str).to_numpy(), "bgnbd": p})


def bgnbd_figures(scored: pd.DataFrame) -> list[Figure]:
    """`scored`: score, bgnbd, purchased_in_holdout per user (the same holdout)."""
    outcome = scored["purchased_in_holdout"].astype(bool)
    auc, baseline = roc_auc_score(outcome, scored["score"]), roc_auc_score(outcome, scored["bgnbd"])
    return [
        Figure(BGNBD_AUC, baseline, "BG/NBD (Fader, Hardie & Lee 2005) fitted on the same history"),
        Figure("BG/NBD Brier", brier_score_loss(outcome, scored["bgnbd"]), "baseline"),
        Figure(AUC_OVER_BGNBD, auc - baseline, ">= 0: the scores rank at least as well as BG/NBD", auc >= baseline),
    ]


def propensity_figures(scored: pd.DataFrame, reference: np.ndarray | None) -> list[Figure]:
    """`scored`: score, p_purchase_holdout, purchased_in_holdout per user."""
    outcome = scored["purchased_in_holdout"].astype(bool)
    # The truth's probabilities can miss [0, 1] by rounding (1 - (1 - p) gives -2e-16); scores are not clipped.
    oracle = scored["p_purchase_holdout"].clip(0.0, 1.0)
    auc, oracle_auc = roc_auc_score(outcome, scored["score"]), roc_auc_score(outcome, oracle)
    brier = brier_score_loss(outcome, scored["score"])
    oracle_brier = brier_score_loss(outcome, oracle)
    figures = [
        Figure(
            "propensity ROC-AUC",
            auc,
            f">= {AUC_SHARE_OF_ORACLE} × oracle = {AUC_SHARE_OF_ORACLE * oracle_auc:.4f}",
            auc >= AUC_SHARE_OF_ORACLE * oracle_auc,
        ),
        Figure("oracle ROC-AUC", oracle_auc, "generator's true p_purchase_holdout"),
        Figure("AUC / oracle AUC", auc / oracle_auc, f"target >= {AUC_SHARE_OF_ORACLE}"),
        Figure(
            "propensity Brier",
            brier,
            f"<= {BRIER_RATIO_TO_ORACLE} × oracle = {BRIER_RATIO_TO_ORACLE * oracle_brier:.4f}",
            brier <= BRIER_RATIO_TO_ORACLE * oracle_brier,
        ),
        Figure("oracle Brier", oracle_brier, "generator's true p_purchase_holdout"),
        Figure("Brier / oracle Brier", brier / oracle_brier, f"target <= {BRIER_RATIO_TO_ORACLE}"),
        Figure("mean score", float(scored["score"].mean()), "calibration in the large: close to the realised rate"),
        Figure("realised purchase rate", float(outcome.mean()), "share of users with a paid order in the holdout"),
    ]
    if reference is not None:
        ref_auc, ref_brier = roc_auc_score(outcome, reference), brier_score_loss(outcome, reference)
        figures += [
            Figure("reference ROC-AUC", ref_auc, f"best from history = {ref_auc / oracle_auc:.3f} × oracle"),
            Figure("reference Brier", ref_brier, f"best from history = {ref_brier / oracle_brier:.3f} × oracle"),
        ]
    return figures


def cluster_figures(clustered: pd.DataFrame) -> tuple[list[Figure], pd.DataFrame]:
    """`clustered`: cluster_id, cluster_name, persona per user. Judged on ids (ARI, purity and the
    personas that dominate a cluster), never on names: names come from the centroids."""
    ari = adjusted_rand_score(clustered["persona"], clustered["cluster_id"])
    table = (
        clustered.groupby(["cluster_id", "cluster_name"])["persona"]
        .agg(
            users="size",
            dominant_persona=lambda s: s.value_counts().sort_index().idxmax(),
            purity=lambda s: s.value_counts(normalize=True).max(),
        )
        .reset_index()
    )
    purity = float((table["purity"] * table["users"]).sum() / table["users"].sum())
    personas = sorted(clustered["persona"].unique())
    recovered = sorted(set(table["dominant_persona"]))
    missing = [p for p in personas if p not in recovered]
    return (
        [
            Figure("cluster ARI vs persona", ari, f">= {MIN_ARI}", ari >= MIN_ARI),
            Figure(CLUSTER_PURITY, purity, "for information"),
            Figure(
                PERSONAS_RECOVERED,
                float(len(recovered)),
                f"of {len(personas)} personas; all must" + (f" (missing: {', '.join(missing)})" if missing else ""),
                not missing,
            ),
        ],
        table.sort_values("users", ascending=False).round(3),
    )


def recommendation_figures(hit_rate: float, baseline: float, recall: float, users: int, top_n: int) -> list[Figure]:
    return [
        Figure(
            f"hit-rate@{top_n}",
            hit_rate,
            f">= {MIN_HIT_RATE_LIFT} × popularity = {MIN_HIT_RATE_LIFT * baseline:.4f} ({users} held-out buyers)",
            hit_rate >= MIN_HIT_RATE_LIFT * baseline,
        ),
        Figure(f"popularity hit-rate@{top_n}", baseline, "baseline"),
        Figure(f"recall@{top_n}", recall, "share of held-out purchases recommended"),
    ]


def evaluate(settings: Settings, *, reference: bool = False) -> EvaluationReport:
    truth = _truth(settings)
    config = MLConfig.from_env()
    days = landed_days(settings.landing_dir)
    with connect(settings.warehouse_path, read_only=True) as conn:
        scores = _read(
            conn,
            "select user_id, score, as_of, horizon_days from ml.purchase_propensity "
            "where as_of = (select max(as_of) from ml.purchase_propensity)",
        )
        clusters = _read(conn, "select user_id, cluster_id, cluster_name from ml.user_clusters")
        as_of: date = scores["as_of"].max()
        rec = evaluate_recommendations(conn, as_of, config.recommendations)
        horizon = int(scores["horizon_days"].max())
        baseline = bgnbd_baseline(
            _read(conn, f"select user_id, {', '.join(bgnbd.INPUTS)} from {SCORE_FEATURES}"), horizon
        )
        reference_p = _reference(conn, truth, days, horizon, settings) if reference else None
    if days and as_of != days[-1]:
        raise UserFacingError(
            f"scores are as of {as_of} but the last landed day is {days[-1]}: run `huaxiang run` first"
        )
    scored = truth.merge(scores, on="user_id", how="left")
    if scored["score"].isna().any():
        raise UserFacingError(f"{int(scored['score'].isna().sum())} users of the truth have no score")
    clustered = truth.merge(clusters, on="user_id", how="inner")
    report = EvaluationReport(
        f"{len(truth):,} users, {len(days)} landed days {days[0]} .. {days[-1]}, scores as of {as_of}, "
        f"horizon {horizon} days"
        if days
        else f"{len(truth):,} users"
    )
    report.figures += propensity_figures(scored, None if reference_p is None else reference_p)
    report.figures += bgnbd_figures(scored.merge(baseline, on="user_id", how="left").fillna({"bgnbd": 0.0}))
    cluster_list, cluster_table = cluster_figures(clustered)
    report.figures += cluster_list
    report.figures += recommendation_figures(
        rec.hit_rate, rec.baseline_hit_rate, rec.recall, rec.users, config.recommendations.top_n
    )
    report.tables["clusters"] = cluster_table
    return report


def _reference(conn, truth: pd.DataFrame, days: list[date], horizon: int, settings: Settings) -> np.ndarray:
    from huaxiang.generator.clock import Clock
    from huaxiang.propensity_reference import reference_probabilities

    clock = Clock.build(days[0], len(days) + horizon + 1, settings.timezone)
    return reference_probabilities(conn, truth[["user_id", "persona"]], clock, len(days), horizon)
