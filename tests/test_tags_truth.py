"""Tags against the generator's ground truth: each user's latent persona is known, so the tags that
describe a persona's behaviour can be scored, not eyeballed.

One module-scoped warehouse: 5 000 users × 60 days, landed, loaded and built by `dbt build` (every
dbt test blocking). No ML step runs: the `ml` tables are created empty. Thresholds sit below what
the default seed measures (docs/marts.md has the confusion tables) with room for other seeds.
"""

from __future__ import annotations

import pandas as pd
import pytest

from huaxiang.warehouse import connect
from tests.dbt_fixtures import create_ml_tables
from tests.test_dbt_staging import load_days, run_dbt

USERS, DAYS, SEED = 5_000, 60, 11

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """user_profile joined to the true persona of each user."""
    from huaxiang.generator import GeneratorConfig, generate

    home = tmp_path_factory.mktemp("tags_truth")
    config = GeneratorConfig(users=USERS, days=DAYS, seed=SEED, bad_rate=0.01)
    report = generate(config, home / "landing", home / "truth", progress=False)
    load_days(home, home / "landing", report.days)
    create_ml_tables(home / "warehouse.duckdb")
    run_dbt(home, "build")
    with connect(home / "warehouse.duckdb", read_only=True) as conn:
        return conn.execute(
            "select profile.*, truth.persona from marts.user_profile as profile "
            "inner join read_parquet(?) as truth on profile.user_id = truth.user_id",
            [str(home / "truth" / "users.parquet")],
        ).df()


def share_by_persona(tagged: pd.DataFrame, column: str, values: set) -> pd.Series:
    """Per persona, the share of its users whose tag is one of `values`."""
    return tagged[column].isin(values).groupby(tagged.persona).mean()


def confusion(tagged: pd.DataFrame, column: str) -> str:
    return pd.crosstab(tagged.persona, tagged[column], normalize="index").round(3).to_string()


def test_every_user_is_profiled_once(tagged: pd.DataFrame) -> None:
    assert len(tagged) == tagged.user_id.nunique() >= USERS


def test_deal_hunters_are_highly_price_sensitive(tagged: pd.DataFrame) -> None:
    high = share_by_persona(tagged, "price_sensitivity", {"high"})
    table = confusion(tagged, "price_sensitivity")
    assert high["deal_hunter"] >= 0.75, table
    assert high.drop("deal_hunter").max() <= 0.35, table
    assert high["high_value_loyal"] <= 0.02, table
    tagged_high = tagged[tagged.price_sensitivity == "high"]
    assert (tagged_high.persona == "deal_hunter").mean() >= 0.55, table


def test_deal_hunters_with_orders_are_coupon_lovers(tagged: pd.DataFrame) -> None:
    buyers = tagged[tagged.orders_90d >= 2]
    lovers = buyers.coupon_lover.groupby(buyers.persona).mean()
    table = lovers.round(3).to_string()
    assert lovers["deal_hunter"] >= 0.7, table
    assert lovers.drop("deal_hunter").max() <= 0.3, table
    assert (tagged[tagged.coupon_lover].persona == "deal_hunter").mean() >= 0.75, table


def test_dormant_users_are_silent_or_churned(tagged: pd.DataFrame) -> None:
    gone = share_by_persona(tagged, "lifecycle_stage", {"silent", "churned"})
    table = confusion(tagged, "lifecycle_stage")
    assert gone["dormant_churning"] >= 0.9, table
    assert gone["high_value_loyal"] <= 0.15, table


def test_night_owls_are_most_active_at_night(tagged: pd.DataFrame) -> None:
    night = share_by_persona(tagged, "best_hour_slot", {"night", "late_night"})
    table = confusion(tagged, "best_hour_slot")
    assert night["night_owl_mobile"] >= 0.5, table
    assert night.drop("night_owl_mobile").max() <= 0.1, table


def test_high_value_loyal_users_are_mostly_high_value(tagged: pd.DataFrame) -> None:
    high = share_by_persona(tagged, "value_tier", {"high"})
    table = confusion(tagged, "value_tier")
    assert high["high_value_loyal"] >= 0.55, table
    assert (tagged[tagged.value_tier == "high"].persona == "high_value_loyal").mean() >= 0.6, table
    loyal = share_by_persona(tagged, "rfm_segment", {"champions", "loyal_customers"})
    assert loyal["high_value_loyal"] >= 0.6, confusion(tagged, "rfm_segment")
