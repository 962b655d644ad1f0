"""Volume baselines: weekday- and calendar-aware, robust, with a warm-up (huaxiang/quality/baselines.py)
and the business calendar they read (huaxiang/business_calendar.py). Plain data, no warehouse."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from huaxiang.business_calendar import CalendarError, load_calendar
from huaxiang.quality.baselines import VolumeSettings, volume_judgement

START = date(2025, 3, 3)  # a Monday, far from any calendar event


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HUAXIANG_HOME", str(tmp_path))
    return tmp_path


def counts(rows: dict[date, int], window: tuple[date, date]) -> pd.DataFrame:
    days = sorted({*rows, *(window[0] + timedelta(days=i) for i in range((window[1] - window[0]).days + 1))})
    return pd.DataFrame(
        {
            "day": days,
            "rows": [rows.get(day, 0) for day in days],
            "in_window": [window[0] <= day <= window[1] for day in days],
            "recorded_rows": [None] * len(days),
        }
    )


def shop(days: int, *, level: float = 1000, weekend: float = 1.0, start: date = START, noise: float = 0.03) -> dict:
    """A steady shop: `level` rows a day, weekends × `weekend`, a deterministic ±noise wobble."""
    rows = {}
    for i in range(days):
        day = start + timedelta(days=i)
        factor = weekend if day.weekday() >= 5 else 1.0
        rows[day] = round(level * factor * (1 + noise * math.sin(i * 1.7)))
    return rows


def judge(rows: dict[date, int], first: date, last: date, **options) -> pd.DataFrame:
    return volume_judgement(counts(rows, (first, last)), VolumeSettings(**options)).set_index("day")


def test_weekly_seasonality_is_judged_against_the_same_weekday() -> None:
    rows = shop(70, weekend=1.4)
    frame = judge(rows, START + timedelta(days=35), START + timedelta(days=69))
    assert frame["ratio"].between(0.9, 1.1).all(), frame
    assert frame["robust_z"].abs().max() < 3.5
    saturday = START + timedelta(days=40)
    assert saturday.weekday() == 5 and "Saturdays" in frame.loc[saturday, "baseline"]


def test_the_first_days_are_a_warm_up_without_judgement() -> None:
    rows = shop(10)
    frame = judge(rows, START, START + timedelta(days=9))
    warm = frame.iloc[:7]
    assert warm["ratio"].isna().all() and warm["baseline"].str.startswith("warm-up").all()
    assert frame.iloc[7:]["ratio"].notna().all()


def test_a_true_drop_warns_and_a_collapse_is_extreme() -> None:
    rows = shop(60)
    drop_day, collapse_day = START + timedelta(days=50), START + timedelta(days=55)
    rows[drop_day] = 380  # acquisition stopped: 0.38 of the usual
    rows[collapse_day] = 40  # a truncated load
    frame = judge(rows, drop_day, collapse_day)
    assert 0.3 < frame.loc[drop_day, "ratio"] < 0.45 and frame.loc[drop_day, "robust_z"] < -3.5
    assert frame.loc[collapse_day, "ratio"] < 0.1


def test_double_11_is_judged_against_past_double_11s() -> None:
    first_year = shop(700, start=date(2024, 9, 1))
    for year, lift in ((2024, 6.0), (2025, 7.0)):
        first_year[date(year, 11, 11)] = round(first_year[date(year, 11, 11)] * lift)
    day_2024, day_2025 = date(2024, 11, 11), date(2025, 11, 11)
    frame = judge(first_year, day_2024, day_2025 + timedelta(days=1))
    assert frame.loc[day_2024, "calendar_event"] == "双11"
    assert pd.isna(frame.loc[day_2024, "ratio"]) and "first 双11" in frame.loc[day_2024, "baseline"]
    # 7× this year against 6× last year: within what a promotion varies, not an anomaly.
    assert 1.0 < frame.loc[day_2025, "ratio"] < 1.3 and abs(frame.loc[day_2025, "robust_z"]) < 3.5
    assert "1 past year" in frame.loc[day_2025, "baseline"]
    # Calendar days never enter an ordinary baseline: the day after 双11 is judged on ordinary days.
    assert 0.9 < frame.loc[date(2025, 11, 12), "ratio"] < 1.1


def test_chinese_new_year_dip_is_expected_in_its_second_year() -> None:
    rows = shop(470, start=date(2024, 11, 15))
    cny = load_calendar().event("chinese_new_year")
    for occurrence in cny.occurrences:
        day = occurrence.first
        while day <= occurrence.last:
            if day in rows:
                rows[day] = round(rows[day] * 0.3)
            day += timedelta(days=1)
    frame = judge(rows, date(2026, 2, 16), date(2026, 2, 22))
    assert frame["calendar_event"].eq("春节").all()
    assert frame["ratio"].between(0.8, 1.25).all(), frame[["rows", "baseline_rows", "ratio"]]


def test_a_home_calendar_adds_a_shop_event(_home: Path) -> None:
    (_home / "calendar.yml").write_text(
        "events:\n  - name: anniversary\n    label: 店庆\n    kind: promotion\n"
        "    recurring: {from: '03-08', to: '03-08'}\n",
        encoding="utf-8",
    )
    rows = shop(80, start=date(2025, 1, 1))
    rows[date(2025, 3, 8)] *= 8
    frame = judge(rows, date(2025, 3, 8), date(2025, 3, 8))
    assert frame.loc[date(2025, 3, 8), "calendar_event"] == "店庆"
    assert pd.isna(frame.loc[date(2025, 3, 8), "ratio"])


def test_the_calendar_names_its_days_and_refuses_a_bad_file(_home: Path) -> None:
    days = load_calendar().special_days(date(2026, 1, 1), date(2026, 12, 31))
    assert days[date(2026, 11, 11)].label == "双11" and days[date(2026, 11, 11)].peak
    assert days[date(2026, 6, 18)].name == "mid_year_618" and days[date(2026, 6, 16)].offset == -2
    assert date(2026, 6, 10) not in days  # the pre-sale weeks are ordinary unless a home declares them
    assert days[date(2026, 2, 17)].name == "chinese_new_year" and days[date(2026, 2, 17)].peak
    assert days[date(2026, 11, 27)].name == "black_friday"  # the fourth Friday of November 2026
    (_home / "calendar.yml").write_text("events:\n  - name: broken\n    kind: sale\n", encoding="utf-8")
    with pytest.raises(CalendarError, match="broken: kind must be one of promotion, holiday"):
        load_calendar()
