"""Tag thresholds that adapt to the shop (docs/tags.md, "How the thresholds are chosen").

Two shaped shops the generator's thresholds were never tuned to (tests/dbt_fixtures.py
`shaped_shop`): buyers who purchase every 2-4 months over 14 months, once with a thin behaviour
log and once purchase-only. Each is built with `dbt build` on the derived (`auto`) defaults, then
the profile is rebuilt with the generator's old fixed cut points to show both what `auto` fixes
and that a fixed var overrides the derived value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from huaxiang.codegen.cut_points import CUT_POINT_SPECS, derive_cut_points, derive_lifecycle_thresholds
from huaxiang.settings import dbt_vars
from huaxiang.warehouse import connect
from tests.dbt_fixtures import create_ml_tables, load_shop, shaped_shop
from tests.test_dbt_staging import run_dbt

# The generator-tuned values the defaults were before `auto` (docs/tags.md).
FIXED_VARS = {
    "rfm_recency_days": [5, 10, 20, 40],
    "rfm_frequency_orders": [2, 3, 5, 8],
    "rfm_monetary_cny": [300, 1000, 3000, 8000],
    "frequency_band_orders": [2, 4, 8],
    "aov_band_cny": [200, 500, 1500],
    "activity_level_days": [1, 4, 10],
    "lifecycle_silent_days": 14,
    "lifecycle_churned_days": 30,
    "lifecycle_reactivated_days": 14,
}
TAG_MODELS = ["fct_lifecycle_thresholds", "fct_user_facts", "tag_cut_points", "user_profile"]
BUILT = ["+user_profile", "+tag_cut_points"]


@dataclass(frozen=True)
class Build:
    segments: dict[str, float]  # rfm_segment → share of buyers
    lifecycle: dict[str, float]  # lifecycle_stage → share of buyers
    scores: dict[str, dict[int, float]]  # rfm_r / rfm_f / rfm_m → score → share of buyers
    cut_points: dict[tuple[str, int], tuple[float | None, str, str]]  # (var, index) → (cut point, method, derived_from)


@dataclass(frozen=True)
class Shop:
    auto: Build
    fixed: Build
    warehouse: Path


def read_build(warehouse: Path) -> Build:
    with connect(warehouse, read_only=True) as conn:

        def shares(column: str) -> dict:
            rows = conn.execute(
                f"select {column}, count(*) / sum(count(*)) over () from marts.user_profile "
                "where orders_total > 0 group by 1"
            ).fetchall()
            return {value: share for value, share in rows}

        cut_points = {
            (var, index): (None if cut is None else float(cut), method, derived_from)
            for var, index, cut, method, derived_from in conn.execute(
                "select threshold_var, cut_point_index, cut_point, method, derived_from from marts.tag_cut_points"
            ).fetchall()
        }
        return Build(
            segments=shares("rfm_segment"),
            lifecycle=shares("lifecycle_stage"),
            scores={score: shares(score) for score in ("rfm_r", "rfm_f", "rfm_m")},
            cut_points=cut_points,
        )


def build_shop(home: Path, kind: str) -> Shop:
    warehouse = home / "warehouse.duckdb"
    load_shop(warehouse, shaped_shop(kind))
    create_ml_tables(warehouse)
    # data tests and contracts on the way; the dbt unit tests run with every full build elsewhere
    run_dbt(home, "build", "--select", *BUILT, "--exclude", "user_tag_history", "--exclude-resource-type", "unit_test")
    auto = read_build(warehouse)
    run_dbt(home, "run", "--select", *TAG_MODELS, variables=FIXED_VARS)
    return Shop(auto=auto, fixed=read_build(warehouse), warehouse=warehouse)


@pytest.fixture(scope="module")
def sparse_buyers(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return build_shop(tmp_path_factory.mktemp("sparse_buyers"), "sparse_buyers")


@pytest.fixture(scope="module")
def purchase_only(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return build_shop(tmp_path_factory.mktemp("purchase_only"), "purchase_only")


@pytest.fixture(params=["sparse_buyers", "purchase_only"])
def shop(request: pytest.FixtureRequest) -> Shop:
    return request.getfixturevalue(request.param)


def test_no_rfm_segment_holds_more_than_half_of_the_buyers(shop: Shop) -> None:
    assert max(shop.auto.segments.values()) <= 0.5, shop.auto.segments
    # the generator's fixed cut points pile these buyers into one segment: what `auto` fixes
    assert max(shop.fixed.segments.values()) > 0.5, shop.fixed.segments


def test_rfm_scores_spread_over_the_buyers(shop: Shop) -> None:
    recency = shop.auto.scores["rfm_r"]
    assert set(recency) == {1, 2, 3, 4, 5} and max(recency.values()) <= 0.3, recency
    monetary = shop.auto.scores["rfm_m"]
    assert set(monetary) == {1, 2, 3, 4, 5} and max(monetary.values()) <= 0.3, monetary
    # orders tie heavily (one order for many buyers): F keeps ties together but still spreads
    frequency = shop.auto.scores["rfm_f"]
    assert len(frequency) >= 3 and max(frequency.values()) <= 0.6, frequency


def test_lifecycle_days_follow_the_repurchase_rhythm(shop: Shop) -> None:
    silent, silent_method, silent_from = shop.auto.cut_points[("lifecycle_silent_days", 1)]
    churned, churned_method, _ = shop.auto.cut_points[("lifecycle_churned_days", 2)]
    # buyers come back every 60-120 days: silent after about the median gap, churned after the 90th percentile
    assert 75 <= silent <= 105 and silent_method == "derived", silent_from
    assert 105 <= churned <= 125 and churned_method == "derived"
    assert "gaps in days between consecutive purchase days" in silent_from
    # with the generator's 14 / 30 days nearly every buyer was churned
    assert shop.fixed.lifecycle.get("churned", 0) > 0.6, shop.fixed.lifecycle
    assert shop.auto.lifecycle.get("churned", 0) < shop.fixed.lifecycle["churned"] - 0.2, shop.auto.lifecycle


def test_a_fixed_var_overrides_the_derived_cut_points(sparse_buyers: Shop) -> None:
    derived = sparse_buyers.auto.cut_points
    fixed = sparse_buyers.fixed.cut_points
    assert derived[("rfm_recency_days", 1)][1] == "derived"
    assert "20th percentile" in derived[("rfm_recency_days", 1)][2]
    for var in ("rfm_recency_days", "rfm_frequency_orders", "rfm_monetary_cny", "aov_band_cny"):
        values = [fixed[(var, index)] for index in range(1, len(FIXED_VARS[var]) + 1)]
        assert [value for value, _, _ in values] == FIXED_VARS[var], var
        assert {method for _, method, _ in values} == {"fixed"}
        assert values[0][2] == f"fixed in dbt_project.yml (var {var})"
    assert fixed[("lifecycle_silent_days", 1)][:2] == (14, "fixed")
    assert fixed[("lifecycle_churned_days", 2)][:2] == (30, "fixed")
    assert derived[("rfm_recency_days", 4)][0] != fixed[("rfm_recency_days", 4)][0]


def test_the_python_reference_derives_the_same_cut_points(shop: Shop) -> None:
    """huaxiang.codegen.cut_points' derivation (for Python peers such as bench/peer.py) agrees with the dbt models."""
    with connect(shop.warehouse, read_only=True) as conn:
        facts = conn.execute("select * from facts.fct_user_facts").df()  # its facts do not depend on thresholds
        purchase_days = conn.execute(
            "select user_id, activity_date from facts.int_user_daily where orders > 0"
        ).fetchall()
        (as_of,) = conn.execute("select as_of from facts.fct_lifecycle_thresholds").fetchone()
    for var, spec in CUT_POINT_SPECS.items():
        expected = [shop.auto.cut_points[(var, index)][0] for index in range(1, len(spec.levels) + 1)]
        assert [float(cut) for cut in derive_cut_points(facts, var)] == expected, var
    lifecycle = derive_lifecycle_thresholds(purchase_days, as_of, dbt_vars())
    assert lifecycle == {
        "silent_days": shop.auto.cut_points[("lifecycle_silent_days", 1)][0],
        "churned_days": shop.auto.cut_points[("lifecycle_churned_days", 2)][0],
        "reactivated_days": shop.auto.cut_points[("lifecycle_reactivated_days", 3)][0],
    }


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["sparse_buyers", "purchase_only"])
def test_generated_scenarios_spread_the_rfm_segments(tmp_path: Path, scenario: str) -> None:
    """The generator's own real-shop scenarios (`huaxiang generate --scenario …`), 400 days."""
    from huaxiang.generator import GeneratorConfig, generate
    from tests.test_dbt_staging import load_days

    config = GeneratorConfig(users=500, days=400, seed=11, bad_rate=0.0, scenarios=(scenario,))
    report = generate(config, tmp_path / "landing", tmp_path / "truth", progress=False)
    load_days(tmp_path, tmp_path / "landing", report.days)
    create_ml_tables(tmp_path / "warehouse.duckdb")
    run_dbt(
        tmp_path, "build", "--select", *BUILT, "--exclude", "user_tag_history", "--exclude-resource-type", "unit_test"
    )
    build = read_build(tmp_path / "warehouse.duckdb")
    assert max(build.segments.values()) <= 0.5, build.segments
    assert set(build.scores["rfm_r"]) == {1, 2, 3, 4, 5}, build.scores
