"""Generator scenarios (`huaxiang generate --scenario`): each changes what it says, the truth follows.

Small shops, so the module stays fast: the long history (promotions and the Chinese New Year dip
over 430 days) is the largest run.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from huaxiang.business_calendar import load_calendar
from huaxiang.cli import SCENARIO_NAMES, build_parser
from huaxiang.generator import GenerationReport, GeneratorConfig, generate
from huaxiang.generator.scenarios import SCENARIOS, parse_scenarios
from huaxiang.source_profile import load_source_profile

TZ = "Asia/Shanghai"


@dataclass
class Shop:
    config: GeneratorConfig
    report: GenerationReport
    root: Path
    seconds: float

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    def table(self, name: str) -> pd.DataFrame:
        frame = duckdb.sql(
            f"select *, regexp_extract(filename, 'date=([0-9-]+)', 1)::date as _day "
            f"from read_parquet('{self.landing}/{name}/*/*.parquet', filename = true)"
        ).df()
        frame["_day"] = pd.to_datetime(frame["_day"]).dt.date
        return frame

    def daily(self, name: str, column: str | None = None) -> pd.Series:
        """Rows (or distinct `column` values) per landed day, every landed day present."""
        frame = self.table(name)
        grouped = frame.groupby("_day")[column].nunique() if column else frame.groupby("_day").size()
        return grouped.reindex(self.report.days, fill_value=0)

    def truth(self) -> pd.DataFrame:
        return pd.read_parquet(self.root / "truth" / "users.parquet")


def _generate(root: Path, **options: object) -> Shop:
    config = GeneratorConfig(**options)  # type: ignore[arg-type]
    began = time.perf_counter()
    report = generate(config, root / "landing", root / "truth", progress=False)
    return Shop(config, report, root, time.perf_counter() - began)


def _special(shop: Shop) -> dict:
    return load_calendar(shop.root).special_days(shop.report.days[0], shop.report.days[-1])


def _ordinary_median(series: pd.Series, special: dict, around: date, days: int = 35) -> float:
    """Median of the ordinary (non-calendar) days within `days` of `around`."""
    window = [d for d in series.index if abs((d - around).days) <= days and d not in special]
    return float(series.loc[window].median())


@pytest.fixture(scope="module")
def long_shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    """430 days with promotions and the New Year dip: 双11 twice, 618, 双12, 年货节 and 春节 2026."""
    return _generate(
        tmp_path_factory.mktemp("long"),
        users=500,
        days=430,
        start=date(2025, 10, 1),
        seed=3,
        scenarios=("promotions", "cny_dip"),
    )


def test_scenario_names_parse_from_repeated_and_comma_separated_options() -> None:
    assert parse_scenarios(["weekly,promotions", "weekly", " cny_dip "]) == ("promotions", "weekly", "cny_dip")
    assert parse_scenarios([]) == ()
    with pytest.raises(ValueError, match="unknown scenario 'black_friday'"):
        parse_scenarios(["promotions,black_friday"])
    assert SCENARIO_NAMES == tuple(SCENARIOS)
    args = build_parser().parse_args(["generate", "--scenario", "weekly,promotions", "--scenario", "sparse_buyers"])
    assert GeneratorConfig(users=1, days=1, scenarios=tuple(args.scenario)).scenarios == (
        "promotions",
        "weekly",
        "sparse_buyers",
    )
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "--scenario", "nope"])


def test_long_history_is_quick_and_promotions_recur_every_year(long_shop: Shop) -> None:
    assert len(long_shop.report.days) == 430
    assert long_shop.seconds < 30, f"500 users × 430 days took {long_shop.seconds:.1f}s"
    special = _special(long_shop)
    orders, sessions = long_shop.daily("orders"), long_shop.daily("events", "session_id")
    peaks = {d: info.name for d, info in special.items() if info.peak and info.kind == "promotion"}
    double_11 = sorted(d for d, name in peaks.items() if name == "double_11")
    assert double_11 == [date(2025, 11, 11), date(2026, 11, 11)]
    for peak in [*double_11, date(2026, 6, 18)]:
        order_ratio = orders[peak] / _ordinary_median(orders, special, peak)
        session_ratio = sessions[peak] / _ordinary_median(sessions, special, peak)
        assert 5 <= order_ratio <= 12, f"{peak}: orders {order_ratio:.1f}x an ordinary day"
        assert 3.5 <= session_ratio <= 8, f"{peak}: visits {session_ratio:.1f}x an ordinary day"
    # The calendar's run-up days before a peak rise towards it (the day before: ≈ 2× orders).
    for peak in [*double_11, date(2026, 6, 18)]:
        eve = peak - timedelta(days=1)
        assert special[eve].offset == -1
        assert orders[eve] > 1.3 * _ordinary_median(orders, special, peak), f"{eve}: {orders[eve]} orders"
    double_12 = orders[date(2025, 12, 12)] / _ordinary_median(orders, special, date(2025, 12, 12))
    assert 1.5 <= double_12 < orders[date(2025, 11, 11)] / _ordinary_median(orders, special, date(2025, 11, 11))
    # 年货节 (the calendar's new_year_goods days before 春节 2026) is a bump.
    goods = [d for d, info in special.items() if info.name == "new_year_goods" and d.year == 2026]
    assert orders.loc[goods].mean() > 1.2 * _ordinary_median(orders, special, goods[0], days=45)


def test_chinese_new_year_dips_for_about_a_week(long_shop: Shop) -> None:
    special = _special(long_shop)
    festival = sorted(d for d, info in special.items() if info.name == "chinese_new_year" and d.year == 2026)
    assert len(festival) >= 7
    orders = long_shop.daily("orders")
    ordinary = _ordinary_median(orders, special, festival[0], days=60)
    week = orders.loc[festival[:6]].mean() / ordinary
    assert 0.15 <= week <= 0.45, f"orders over the festival week at {week:.2f} of an ordinary day"
    assert orders.loc[festival].max() < 0.6 * ordinary


# The content of a small default run as the generator wrote it before scenarios existed (d576b24):
# scenarios must change nothing unless selected. Content, not file bytes, so a Parquet writer
# upgrade does not move it; a change to the default shop's behaviour does.
DEFAULT_CONTENT_DIGEST = "b10d7a10840db0b75f2c501157e722a38505b632cd87414f5527fce153736ee2"


def _content_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.parquet")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(repr(pq.read_table(path).to_pydict()).encode())
    return digest.hexdigest()


def test_without_a_scenario_the_output_is_what_it_was(tmp_path: Path) -> None:
    config = GeneratorConfig(users=200, days=5, holdout_days=3, bad_rate=0.02, seed=3)
    generate(config, tmp_path / "landing", tmp_path / "truth", progress=False)
    assert _content_digest(tmp_path) == DEFAULT_CONTENT_DIGEST
    assert not (tmp_path / "landing" / "_source.json").exists()


def test_without_a_scenario_nothing_changes_on_calendar_days(tmp_path: Path) -> None:
    plain = _generate(tmp_path / "plain", users=800, days=20, start=date(2026, 11, 1), seed=2)
    orders = plain.daily("orders")
    assert orders[date(2026, 11, 11)] < 2 * orders.median()


def test_weekly_scenario_lifts_weekends_by_15_to_35_percent(tmp_path: Path) -> None:
    def weekend_ratio(shop: Shop, name: str, column: str | None = None) -> float:
        series = shop.daily(name, column)
        weekend = np.array([d.weekday() >= 5 for d in series.index])
        return float(series[weekend].mean() / series[~weekend].mean())

    options = dict(users=2500, days=56, start=date(2026, 3, 2), seed=4)
    weekly = _generate(tmp_path / "weekly", **options, scenarios=("weekly",))
    plain = _generate(tmp_path / "plain", **options)
    assert 1.15 <= weekend_ratio(weekly, "events", "session_id") <= 1.35
    assert 1.15 <= weekend_ratio(weekly, "orders") <= 1.4
    assert weekend_ratio(weekly, "events", "session_id") > weekend_ratio(plain, "events", "session_id") + 0.05


def test_acquisition_stops_for_good(tmp_path: Path) -> None:
    shop = _generate(tmp_path / "stop", users=1500, days=50, seed=6, scenarios=("acquisition_stops",))
    stop = shop.report.days[shop.config.acquisition_stop_day]
    assert stop == date(2026, 6, 1) + timedelta(days=30)
    users = shop.table("users")
    registered = users["registered_at"].dt.tz_convert(TZ).dt.date
    new = users[registered >= shop.report.days[0]]
    assert len(new[new["_day"] < stop]) > 300
    assert (registered < stop).all()  # (a later row of an earlier user may land after the stop)
    # Their volume goes with them: visits by users who signed up during the history fall after the stop.
    events = shop.table("events")
    newcomers = set(new["user_id"])
    sessions = events[events["user_id"].isin(newcomers)].groupby("_day")["session_id"].nunique()
    before = sessions.loc[[d for d in sessions.index if stop - timedelta(days=5) <= d < stop]].mean()
    after = sessions.loc[[d for d in sessions.index if d >= stop + timedelta(days=14)]].mean()
    assert after < 0.8 * before


def test_sparse_buyers_buy_every_two_to_four_months(tmp_path: Path) -> None:
    shop = _generate(
        tmp_path / "sparse", users=800, days=360, seed=8, holdout_days=30, scenarios=("sparse_buyers",)
    )
    orders = shop.table("orders")
    paid = orders[orders["status"] == "paid"].sort_values("ordered_at")
    gaps = paid.groupby("user_id")["ordered_at"].diff().dropna().dt.total_seconds() / 86400
    assert len(gaps) > 300
    assert 60 <= gaps.median() <= 120, f"median inter-purchase interval {gaps.median():.0f} days"
    assert gaps.quantile(0.1) >= 29
    # Few visits in between: about a visit a month, against several a week in the default shop.
    sessions = shop.table("events").groupby("user_id")["session_id"].nunique()
    assert sessions.sum() / (len(shop.truth()) * 360 / 30) < 2.5
    # The truth knows the cycles: calibrated on average and near-perfectly ranked.
    truth = shop.truth()
    assert abs(truth["p_purchase_holdout"].mean() - truth["purchased_in_holdout"].mean()) < 0.03
    buyers = truth[truth["purchased_in_holdout"]]["p_purchase_holdout"].mean()
    others = truth[~truth["purchased_in_holdout"]]["p_purchase_holdout"].mean()
    assert buyers > others + 0.5


def test_promotion_in_the_holdout_raises_the_true_purchase_probability(tmp_path: Path) -> None:
    options = dict(users=1500, days=60, start=date(2026, 9, 10), seed=9, holdout_days=30)  # holdout: 双11
    promoted = _generate(tmp_path / "promoted", **options, scenarios=("promotions",)).truth()
    plain = _generate(tmp_path / "plain", **options).truth()
    assert promoted["p_purchase_holdout"].mean() > plain["p_purchase_holdout"].mean() + 0.03
    for truth in (promoted, plain):
        assert abs(truth["p_purchase_holdout"].mean() - truth["purchased_in_holdout"].mean()) < 0.03


def test_purchase_only_lands_a_purchase_log_with_its_profile(tmp_path: Path) -> None:
    shop = _generate(tmp_path / "log", users=800, days=20, seed=10, holdout_days=10, bad_rate=0.01,
                     scenarios=("purchase_only",))  # fmt: skip
    assert set(shop.table("events")["event_type"]) == {"purchase"}
    for name in ("campaigns", "campaign_sends", "reviews"):
        assert shop.report.rows_per_table[name] == 0
    users, orders = shop.table("users"), shop.table("orders")
    for column in ("gender", "birth_date", "city_tier", "phone", "email", "marketing_consent"):
        assert users[column].isna().all(), column
    # A user is known from her first order: she lands that day, first seen at that order.
    first_order = orders.groupby("user_id")["ordered_at"].min()
    orphans = json.loads((shop.root / "truth" / "bad_rows.json").read_text())["orders"].get("orphan_user", 0)
    assert set(users["user_id"]) <= set(first_order.index)
    assert len(set(first_order.index) - set(users["user_id"])) <= orphans
    landed = users.set_index("user_id")
    assert (landed["registered_at"] == first_order.reindex(landed.index)).all()
    assert set(shop.truth()["user_id"]) == set(users["user_id"])

    profile = load_source_profile(shop.landing)
    assert profile.kind == "generated" and profile.facts["recorded"]
    assert sorted(profile.missing_signals) == sorted(["campaigns", "clickstream", "demographics", "reviews", "consent"])
    for name in ("orders", "events", "users", "reviews"):
        assert profile.day_rows[name] == {d.isoformat(): int(n) for d, n in shop.daily(name).items()}
    document = json.loads((shop.landing / "_source.json").read_text(encoding="utf-8"))
    assert document["facts"]["provides_clickstream"] is False

    # A later generate without the scenario is the strict generator again.
    _generate(tmp_path / "log", users=50, days=2, seed=10)
    assert not (shop.landing / "_source.json").exists()
