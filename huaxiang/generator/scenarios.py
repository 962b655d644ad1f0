"""Scenarios: switches that make the generated shop behave like a real one (`--scenario NAME`).

Without a scenario the generator is what it always was (byte-identical output for a seed). Each
scenario changes only what it names, and they combine (`--scenario promotions,weekly,cny_dip`):

* `promotions` — the business calendar's promotions (huaxiang/business_calendar.yml: 618, 双11,
  双12, 年货节) lift visits and the share of visits that end in an order: 双11 ≈ 6× visits and
  ≈ 9× orders on its peak, 618 ≈ 5× / 6.5×, 双12 ≈ 2.5× / 3×, with a run-up over the days the calendar
  gives each event and a ≈ 1.5× 年货节 bump before Chinese New Year. Every year of the history.
* `weekly` — a stronger weekly cycle: weekends ≈ 25 % above the weekday mean (the default is ≈ 17 %).
* `cny_dip` — the calendar's Chinese New Year and the logistics stop before it: orders fall to
  ≈ 30 % of an ordinary day over the festival week, ramping down over the stop before it.
* `acquisition_stops` — new users sign up only before 60 % of the landed days; none after.
* `sparse_buyers` — every user buys on a renewal cycle: an individual mean inter-purchase interval
  of 60–120 days, the next purchase due a gamma-distributed interval after the last; visits between
  purchases are rare (a tenth of the usual rate) and end in an order only when a promotion or a
  campaign treatment pushes them to.
* `purchase_only` — a purchase log: only purchase events, no campaigns, no reviews, users without
  gender, birth date, city tier, contact or consent; the landing carries a source profile saying so.

The calendar days are the ones the raw volume gates call special (`load_calendar()` of the home),
so the generator and the gates agree on which days are not ordinary.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import numpy as np

SCENARIOS: dict[str, str] = {
    "promotions": "618, 双11, 双12 spikes (5–10× orders on the peaks) and a 年货节 bump, every year",
    "weekly": "weekends about 25 % above weekdays",
    "cny_dip": "Chinese New Year logistics stop: orders at about 30 % for the festival week",
    "acquisition_stops": "no new users after 60 % of the landed days",
    "sparse_buyers": "users buy every 60–120 days, with few visits in between",
    "purchase_only": "a purchase log: no clickstream, campaigns, reviews, demographics or consent",
}

# weekly: Monday .. Sunday visit factors (weekend mean / weekday mean ≈ 1.25).
WEEKLY_VISIT_FACTOR = np.array([0.94, 0.96, 0.96, 0.97, 1.02, 1.20, 1.22])

# promotions: (visit factor, buy factor) on an event's peak; the run-up rises linearly from
# RUN_UP_START to the event's run-up top on the day before the peak. Orders ≈ visit × buy factor.
PROMOTION_PEAK: dict[str, tuple[float, float]] = {
    "double_11": (6.0, 1.5),
    "mid_year_618": (5.0, 1.3),
    "double_12": (2.5, 1.2),
    "new_year_goods": (1.3, 1.15),
}
PROMOTION_RUN_UP_TOP: dict[str, tuple[float, float]] = {
    "double_11": (2.0, 1.15),
    "mid_year_618": (1.8, 1.15),
    "double_12": (1.4, 1.1),
    "new_year_goods": (1.3, 1.15),  # a flat bump
}
RUN_UP_START = (1.15, 1.05)
# cny_dip: order factor (visits and buying each take its square root) by calendar event. The
# logistics stop before the festival (6 to 2 days before New Year's Day) ramps down day by day;
# the festival week (the eve to the end of the public holiday) stays low.
CNY_STOP_ORDER_FACTOR = (0.8, 0.7, 0.6, 0.5, 0.4)  # by day of the stop (its offset 0, 1, ...)
CNY_ORDER_FACTOR = 0.3
CNY_LAST_DAYS_ORDER_FACTOR = 0.4  # from the fifth day after New Year's Day, as logistics restart
CNY_EVENTS = ("chinese_new_year", "pre_cny_logistics_stop")

ACQUISITION_STOP_SHARE = 0.6  # share of the landed days after which nobody signs up

SPARSE_INTERVAL_DAYS = (60.0, 120.0)  # each user's mean inter-purchase interval, uniform
SPARSE_REGULARITY = 9.0  # gamma shape of an interval around the user's mean (CV 1/3)
SPARSE_MIN_GAP_DAYS = 30  # no interval is shorter (keeps the truth exact for holdouts ≤ 30 days)
SPARSE_VISIT_SCALE = 0.1  # visits between purchases, as a share of the persona's usual rate


def parse_scenarios(values: Iterable[str] | None) -> tuple[str, ...]:
    """Scenario names from repeated and/or comma-separated options, deduplicated, in catalog order."""
    chosen: set[str] = set()
    for value in values or ():
        for name in (part.strip() for part in value.split(",")):
            if not name:
                continue
            if name not in SCENARIOS:
                raise ValueError(f"unknown scenario '{name}' (known: {', '.join(SCENARIOS)})")
            chosen.add(name)
    return tuple(name for name in SCENARIOS if name in chosen)


def _ramp(peak_offset: int, run_up_days: int, top: tuple[float, float]) -> tuple[float, float]:
    """Run-up factors `peak_offset` (< 0) days before the peak, rising from RUN_UP_START to `top`."""
    if run_up_days <= 1:
        return top
    share = (run_up_days + peak_offset) / (run_up_days - 1)  # 0 on the first run-up day, 1 the day before the peak
    return (
        RUN_UP_START[0] + share * (top[0] - RUN_UP_START[0]),
        RUN_UP_START[1] + share * (top[1] - RUN_UP_START[1]),
    )


def calendar_factors(
    scenarios: tuple[str, ...], start: date, n_days: int, special_days: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Per-day (visit, buy) factors from the calendar's special days for the selected scenarios.

    `special_days`: date → huaxiang.business_calendar.CalendarDay (name, kind, peak, offset, year),
    from a few weeks before `start` on, so that a run-up cut by the first day keeps its slope.
    """
    visit, buy = np.ones(n_days), np.ones(n_days)
    promotions, dip = "promotions" in scenarios, "cny_dip" in scenarios
    # Run-up length per occurrence: the most negative offset of the event's days.
    run_up: dict[tuple[str, int], int] = {}
    for info in special_days.values():
        key = (info.name, info.year)
        run_up[key] = max(run_up.get(key, 0), -info.offset)
    for day in range(n_days):
        info = special_days.get(start + timedelta(days=day))
        if info is None:
            continue
        if promotions and info.name in PROMOTION_PEAK:
            if info.name == "new_year_goods" or info.offset > 0:
                factors = PROMOTION_RUN_UP_TOP[info.name] if info.offset <= 0 else RUN_UP_START
            elif info.offset == 0:
                factors = PROMOTION_PEAK[info.name]
            else:
                factors = _ramp(info.offset, run_up[(info.name, info.year)], PROMOTION_RUN_UP_TOP[info.name])
            visit[day], buy[day] = factors
        elif dip and info.name in CNY_EVENTS:
            if info.name == "pre_cny_logistics_stop":
                stop_day = min(max(info.offset, 0), len(CNY_STOP_ORDER_FACTOR) - 1)
                order = CNY_STOP_ORDER_FACTOR[stop_day]
            else:
                order = CNY_LAST_DAYS_ORDER_FACTOR if info.offset >= 5 else CNY_ORDER_FACTOR
            visit[day] = buy[day] = float(np.sqrt(order))
    return visit, buy
