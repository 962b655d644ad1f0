"""The synthetic generator: determinism, the raw contract, persona signal, bad rows and ground truth."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from huaxiang.contract import RAW_TABLES
from huaxiang.generator import REJECT_REASONS, GenerationReport, GeneratorConfig, generate

TZ = "Asia/Shanghai"
NIGHT_HOURS = (22, 23, 0, 1)
BAD_TEXT = "[\x00-\x08\ufffd]"


@dataclass
class Run:
    config: GeneratorConfig
    report: GenerationReport
    landing: Path
    truth: Path

    def table(self, name: str) -> pd.DataFrame:
        """All landed rows of a table, with the folder's day (`_day`) and the row's place in its file."""
        frames = []
        for path in sorted((self.landing / name).glob("date=*/part-0.parquet")):
            frame = pq.read_table(path).to_pandas()
            frame["_day"] = date.fromisoformat(path.parent.name.removeprefix("date="))
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def personas(self) -> pd.DataFrame:
        return pd.read_parquet(self.truth / "users.parquet")


def _generate(root: Path, config: GeneratorConfig) -> Run:
    report = generate(config, root / "landing", root / "truth", progress=False)
    return Run(config, report, root / "landing", root / "truth")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Run:
    config = GeneratorConfig(users=3000, days=21, holdout_days=14, seed=11)
    return _generate(tmp_path_factory.mktemp("clean"), config)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Run:
    config = GeneratorConfig(users=1500, days=12, seed=5, bad_rate=0.02)
    return _generate(tmp_path_factory.mktemp("dirty"), config)


def _local_date(stamps: pd.Series) -> pd.Series:
    return stamps.dt.tz_convert(TZ).dt.date


def _digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    config = GeneratorConfig(users=400, days=10, holdout_days=3, bad_rate=0.02, seed=3)
    first = _digests(_generate(tmp_path / "a", config).landing.parent)
    second = _digests(_generate(tmp_path / "b", config).landing.parent)
    other = _digests(_generate(tmp_path / "c", replace(config, seed=4)).landing.parent)
    assert first == second
    assert len(first) == 8 * 10 + 3
    assert first.keys() == other.keys()
    assert all(first[name] != other[name] for name in first if "events" in name or "orders" in name)


def test_bad_rows_are_appended_and_leave_the_clean_rows_untouched(tmp_path: Path) -> None:
    config = GeneratorConfig(users=400, days=8, seed=2)
    clean = _generate(tmp_path / "clean", config)
    dirty = _generate(tmp_path / "dirty", replace(config, bad_rate=0.05))
    for name in RAW_TABLES:
        for path in sorted((clean.landing / name).glob("date=*/part-0.parquet")):
            expected = pq.read_table(path)
            landed = pq.read_table(dirty.landing / path.relative_to(clean.landing))
            assert landed.slice(0, expected.num_rows).equals(expected), path
    assert sum(dirty.report.rows_per_table.values()) > sum(clean.report.rows_per_table.values())


def test_every_table_lands_every_day_in_the_contract_schema(clean: Run) -> None:
    for name, spec in RAW_TABLES.items():
        files = sorted((clean.landing / name).glob("date=*/part-0.parquet"))
        assert [date.fromisoformat(f.parent.name[5:]) for f in files] == clean.report.days, name
        for file in files:
            assert pq.read_schema(file).equals(spec.schema), file
        assert clean.report.rows_per_table[name] == sum(pq.read_metadata(f).num_rows for f in files)


def test_clean_rows_land_on_the_local_day_of_their_partition_column(clean: Run) -> None:
    for name, spec in RAW_TABLES.items():
        rows = clean.table(name)
        assert (_local_date(rows[spec.partition_column]) == rows["_day"]).all(), name


def test_clean_keys_are_unique_and_references_resolve(clean: Run) -> None:
    users, products = clean.table("users"), clean.table("products")
    first_user_day = users.groupby("user_id")["_day"].min()
    first_product_day = products.groupby("product_id")["_day"].min()
    for name in ("events", "orders", "campaign_sends", "reviews"):
        rows = clean.table(name)
        key = RAW_TABLES[name].key
        assert not rows.duplicated(list(key)).any() and rows[list(key)].notna().all().all(), name
        assert (rows["user_id"].map(first_user_day) <= rows["_day"]).all(), name
    assert not users.duplicated(["_day", "user_id"]).any()
    assert not products.duplicated(["_day", "product_id"]).any()

    items, orders = clean.table("order_items"), clean.table("orders")
    assert not items.duplicated(["order_id", "product_id"]).any()
    assert (items["product_id"].map(first_product_day) <= items["_day"]).all()
    order_day = orders.set_index("order_id")["_day"]
    assert (items["order_id"].map(order_day) == items["_day"]).all()
    assert set(orders["order_id"]) == set(items["order_id"])


def test_orders_add_up_and_events_follow_the_funnel(clean: Run) -> None:
    orders, items, events = clean.table("orders"), clean.table("order_items"), clean.table("events")
    gross = (items["quantity"] * items["unit_price"]).groupby(items["order_id"]).sum()
    assert (orders["gross_amount"] - orders["order_id"].map(gross)).abs().max() < 0.005
    assert ((orders["gross_amount"] - orders["discount_amount"] - orders["paid_amount"]).abs() < 0.005).all()
    assert (orders["paid_amount"] >= 0).all() and (orders["discount_amount"] >= 0).all()
    assert ((orders["discount_amount"] > 0) == orders["coupon_id"].notna()).all()
    assert 0.85 < (orders["status"] == "paid").mean() < 0.95

    search = events["event_type"] == "search"
    assert events.loc[search, "product_id"].isna().all() and events.loc[search, "search_query"].notna().all()
    assert (
        events.loc[~search, "product_id"].notna().all() and events.loc[~search, "search_query"].isna().all()
    )
    assert (events["event_type"] == "purchase").sum() == len(items)
    counts = events["event_type"].value_counts()
    assert counts["view"] > counts["click"] > counts["add_to_cart"] > counts["purchase"]
    ordered = events.sort_values(["session_id", "occurred_at"])
    step = ordered.groupby("session_id")["occurred_at"].diff().dropna()
    assert (step > pd.Timedelta(0)).all()


def test_campaign_sends_are_randomised_among_consenting_registered_users(clean: Run) -> None:
    campaigns, sends, users = clean.table("campaigns"), clean.table("campaign_sends"), clean.table("users")
    assert len(campaigns) >= 3 and set(sends["campaign_id"]) == set(campaigns["campaign_id"])
    assert 0.75 < (sends["variant"] == "treatment").mean() < 0.85
    control = sends["variant"] == "control"
    assert sends.loc[control, ["opened_at", "clicked_at"]].isna().all().all()
    opened = sends["opened_at"].notna()
    assert (sends.loc[opened, "opened_at"] > sends.loc[opened, "sent_at"]).all()
    assert (sends["clicked_at"].isna() | (sends["clicked_at"] > sends["opened_at"])).all()
    registered = users.groupby("user_id")["registered_at"].first()
    starts = campaigns.set_index("campaign_id")["starts_at"]
    assert (sends["user_id"].map(registered) < sends["campaign_id"].map(starts)).all()


def _orders_by_persona(run: Run) -> pd.DataFrame:
    return run.table("orders").merge(run.personas()[["user_id", "persona"]], on="user_id")


def test_deal_hunters_use_coupons_far_more_than_loyal_buyers(clean: Run) -> None:
    coupon_share = _orders_by_persona(clean).assign(coupon=lambda o: o["coupon_id"].notna())
    share = coupon_share.groupby("persona")["coupon"].mean()
    assert share["deal_hunter"] > share["high_value_loyal"] + 0.5


def test_night_owls_browse_late_and_on_the_app(clean: Run) -> None:
    events = clean.table("events").merge(clean.personas()[["user_id", "persona"]], on="user_id")
    events["night"] = events["occurred_at"].dt.tz_convert(TZ).dt.hour.isin(NIGHT_HOURS)
    night = events.groupby("persona")["night"].mean()
    others = night.drop("night_owl_mobile")
    assert night["night_owl_mobile"] > 0.3 and night["night_owl_mobile"] > 2 * others.max()
    owls = events[events["persona"] == "night_owl_mobile"]
    assert (owls["platform"] == "app").mean() > 0.8


def test_dormant_users_are_mostly_gone_in_the_last_third(clean: Run) -> None:
    last_third = clean.report.days[-clean.config.days // 3]
    events = clean.table("events")
    active = set(events.loc[events["_day"] >= last_third, "user_id"])
    personas = clean.personas()
    inactive = (~personas["user_id"].isin(active)).groupby(personas["persona"]).mean()
    assert inactive["dormant_churning"] > 0.7
    assert inactive["dormant_churning"] > inactive["high_value_loyal"] + 0.5


def test_loyal_buyers_spend_the_most_per_user(clean: Run) -> None:
    paid = _orders_by_persona(clean).query("status == 'paid'")
    spend = paid.groupby("persona")["paid_amount"].sum() / clean.personas().groupby("persona").size()
    assert spend.idxmax() == "high_value_loyal"


def _reject_reasons(run: Run) -> dict[str, dict[str, int]]:
    """Classify every landed row by the staging rules, first match wins, independently of the generator."""
    users = run.table("users")
    first_user_day = users.groupby("user_id")["_day"].min()
    found: dict[str, dict[str, int]] = {}
    for name, spec in RAW_TABLES.items():
        rows = run.table(name)
        reason = pd.Series(None, index=rows.index, dtype=object)

        def mark(mask: pd.Series, code: str, reason: pd.Series = reason) -> None:
            reason[reason.isna() & mask] = code

        keys = list(spec.key)
        null_key = rows[keys].isna().any(axis=1)
        if "user_id" in rows:
            null_key |= rows["user_id"].isna()
        mark(null_key, "null_key")
        mark(rows.duplicated(["_day", *keys]) & ~null_key, "duplicate")
        if "user_id" in rows:
            first_day = rows["user_id"].map(first_user_day)
            mark(first_day.isna() | (first_day > rows["_day"]), "orphan_user")
        negative = {
            "orders": lambda r: (r["paid_amount"] < 0) | (r["gross_amount"] < 0),
            "order_items": lambda r: (r["unit_price"] < 0) | (r["quantity"] <= 0),
            "products": lambda r: r["list_price"] < 0,
        }
        if name in negative:
            mark(negative[name](rows), "negative_amount")
        mark(_local_date(rows[spec.partition_column]) > rows["_day"], "future_timestamp")
        text_columns = [f.name for f in spec.schema if str(f.type) == "string"]
        malformed = pd.concat(
            [rows[c].fillna("").str.contains(BAD_TEXT, regex=True) for c in text_columns], axis=1
        ).any(axis=1)
        mark(malformed, "malformed_text")
        counts = reason.value_counts().to_dict()
        if counts:
            found[name] = {code: int(n) for code, n in counts.items()}
    return found


def test_injected_bad_rows_match_an_independent_classification(dirty: Run) -> None:
    recorded = json.loads((dirty.truth / "bad_rows.json").read_text(encoding="utf-8"))
    assert recorded == dirty.report.bad_rows
    assert _reject_reasons(dirty) == recorded
    reasons = {code for per_table in recorded.values() for code in per_table}
    assert reasons == set(REJECT_REASONS)
    injected = sum(recorded["events"].values())
    assert 0.015 < injected / dirty.report.rows_per_table["events"] < 0.025


def test_clean_data_breaks_no_reject_rule(clean: Run) -> None:
    assert _reject_reasons(clean) == {}
    assert json.loads((clean.truth / "bad_rows.json").read_text(encoding="utf-8")) == {}


def test_holdout_truth_is_calibrated_and_discriminates(clean: Run) -> None:
    truth = clean.personas()
    assert set(truth["user_id"]) == set(clean.table("users")["user_id"])
    assert len(truth) == clean.config.users
    realised = truth["purchased_in_holdout"].mean()
    assert abs(truth["p_purchase_holdout"].mean() - realised) < 0.03
    assert roc_auc_score(truth["purchased_in_holdout"], truth["p_purchase_holdout"]) > 0.75


def test_without_holdout_the_truth_window_is_empty(dirty: Run) -> None:
    truth = dirty.personas()
    assert (truth["p_purchase_holdout"] == 0).all() and not truth["purchased_in_holdout"].any()


def test_campaign_truth_has_a_positive_lift_strongest_for_deal_hunters(clean: Run) -> None:
    lift = pd.read_parquet(clean.truth / "campaign_lift.parquet")
    overall = lift[lift["persona"] == "__all__"]
    assert set(overall["campaign_id"]) == set(clean.table("campaigns")["campaign_id"])
    assert (overall["true_lift"] > 0).all()
    by_persona = lift.groupby("persona")["true_lift"].mean()
    assert by_persona["deal_hunter"] > by_persona["high_value_loyal"]
    counts = (
        lift[lift["persona"] != "__all__"].groupby("campaign_id")[["users_treatment", "users_control"]].sum()
    )
    totals = overall.set_index("campaign_id")[["users_treatment", "users_control"]]
    assert counts.sort_index().equals(totals.sort_index())


def test_every_injected_fault_is_a_staging_reject_reason_in_its_precedence() -> None:
    from huaxiang.generator.bad_rows import INJECTED_FAULTS
    from huaxiang.settings import dbt_vars

    precedence = dbt_vars()["reject_precedence"]
    assert set(REJECT_REASONS) == INJECTED_FAULTS
    assert list(REJECT_REASONS) == sorted(REJECT_REASONS, key=precedence.index)
