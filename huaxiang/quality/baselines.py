"""What a day's volume should be: robust, weekday- and calendar-aware baselines for the volume frames.

The volume kind's SQL only counts rows per day (the run's window plus a year of history: one row
per day, so it stays small on any table); this module turns the counts into a judgement in plain
Python, the same on DuckDB and Spark:

* **Ordinary days** are judged against ordinary days only: the median of the last
  `weekday_weeks` landed days of the same weekday within `recent_days` (a Monday against Mondays)
  when there are at least three of them, else the median of the last `trailing_days` landed days.
  Calendar days (618, 双11, Chinese New Year … from `huaxiang.business_calendar`) never enter an
  ordinary baseline.
* **Calendar days** are judged against the same day of the same event in past years, as a *lift*
  over the ordinary baseline of their time: a 双11 that lifts volume 6× is normal when past 双11s
  lifted it 5-8×, whatever the shop's size then. A first occurrence in the history is not judged.
* **Warm-up**: fewer than `min_history` ordinary landed days before a day → no ratio at all.
* **Robust spread**: `robust_z` is the log-ratio over the day-to-day noise of log volume on the
  recent ordinary days (1.4826 × the median absolute deviation of successive differences, ÷√2:
  a growing shop's trend is not noise), floored by the Poisson noise of the baseline (1/√rows) and
  by `min_spread`, so that a quiet synthetic shop and a noisy real one are judged by their own
  variability. Suites warn on |robust_z| and block only on an extreme `ratio`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median

import pandas as pd

from huaxiang.business_calendar import CalendarDay, load_calendar

MAD_TO_SIGMA = 1.4826  # the MAD of a normal distribution is 0.6745 σ
MIN_SAME_WEEKDAYS = 3
# Promotions are less repeatable than ordinary days: their spread is at least this (log scale).
MIN_PROMOTION_SPREAD = 0.25
# A day without rows is a fault only where rows were expected: the same 20 rows a day from which a
# ratio is judged. Rows come in clumps (lines of one order, events of one session), so a shop
# expecting 5 order lines a day has ~2 orders and an empty day every few weeks by chance; a tiny
# shop's quiet day, or a holiday, is empty by nature.
MIN_EXPECTED_FOR_EMPTY = 20

VOLUME_COLUMNS = (
    "day",
    "rows",
    "baseline",
    "baseline_days",
    "baseline_rows",
    "calendar_event",
    "ratio",
    "robust_z",
    "unexpected_empty",
    "recorded_rows",
    "recorded_difference",
)


@dataclass(frozen=True)
class VolumeSettings:
    trailing_days: int = 7
    weekday_weeks: int = 4
    recent_days: int = 56
    min_history: int = 7
    min_baseline_rows: int = 20
    min_spread: float = 0.1


@dataclass(frozen=True)
class _Baseline:
    rows: float
    days: int
    kind: str
    spread: float


def volume_judgement(counts: pd.DataFrame, settings: Mapping[str, object] | VolumeSettings) -> pd.DataFrame:
    """`counts` (day, rows, in_window, recorded_rows: every day with rows in the lookback plus every
    window day) → one row per window day with its baseline, ratio and robust z (VOLUME_COLUMNS)."""
    options = settings if isinstance(settings, VolumeSettings) else VolumeSettings(**settings)  # type: ignore[arg-type]
    rows = {_day(day): int(n) for day, n in zip(counts["day"], counts["rows"], strict=True) if int(n) > 0}
    window = [_day(day) for day, inside in zip(counts["day"], counts["in_window"], strict=True) if bool(inside)]
    recorded = dict(zip((_day(d) for d in counts["day"]), counts["recorded_rows"], strict=True))
    days = sorted({*rows, *window})
    special = load_calendar().special_days(days[0], days[-1]) if days else {}
    judge = _Judge(rows, special, options)
    records = []
    for day in sorted(window):
        landed = rows.get(day, 0)
        baseline, event = judge.expected(day)
        ratio = robust_z = None
        if baseline is not None and baseline.rows >= max(options.min_baseline_rows, 1):
            ratio = landed / baseline.rows
            if landed > 0:
                robust_z = math.log(ratio) / baseline.spread
        unexpected_empty = landed == 0 and judge.expects_rows(day, baseline, event)
        recorded_rows = recorded.get(day)
        recorded_rows = None if recorded_rows is None or pd.isna(recorded_rows) else int(recorded_rows)
        records.append(
            {
                "day": day,
                "rows": landed,
                "baseline": baseline.kind if baseline else judge.unjudged_reason(day, event),
                "baseline_days": baseline.days if baseline else 0,
                "baseline_rows": baseline.rows if baseline else None,
                "calendar_event": event.label if event else None,
                "ratio": ratio,
                "robust_z": robust_z,
                "unexpected_empty": int(unexpected_empty),
                "recorded_rows": recorded_rows,
                "recorded_difference": None if recorded_rows is None else landed - recorded_rows,
            }
        )
    frame = pd.DataFrame.from_records(records, columns=list(VOLUME_COLUMNS))
    for column in ("baseline_rows", "ratio", "robust_z"):
        frame[column] = frame[column].astype("float64")
    for column in ("recorded_rows", "recorded_difference"):
        frame[column] = frame[column].astype("Int64")
    return frame


class _Judge:
    def __init__(self, rows: dict[date, int], special: dict[date, CalendarDay], options: VolumeSettings) -> None:
        self.rows = rows
        self.special = special
        self.options = options
        self.ordinary = sorted(day for day in rows if day not in special)

    def expected(self, day: date) -> tuple[_Baseline | None, CalendarDay | None]:
        event = self.special.get(day)
        ordinary = self.ordinary_baseline(day)
        if event is None or ordinary is None:
            return ordinary if event is None else None, event
        lifts = [
            self.rows[past] / baseline.rows
            for past, info in self.special.items()
            if past < day and past in self.rows and info.name == event.name and info.offset == event.offset
            and info.year != event.year
            and (baseline := self.ordinary_baseline(past)) is not None and baseline.rows > 0
        ]
        if not lifts:
            return None, event
        log_lifts = [math.log(lift) for lift in lifts]
        spread = max(ordinary.spread, MIN_PROMOTION_SPREAD, _mad(log_lifts) * MAD_TO_SIGMA if len(lifts) > 1 else 0)
        years = "year" if len(lifts) == 1 else "years"
        kind = f"{event.label}: {len(lifts)} past {years}' lift {median(lifts):.2f}× over ordinary days"
        return _Baseline(ordinary.rows * median(lifts), ordinary.days, kind, spread), event

    def ordinary_baseline(self, day: date) -> _Baseline | None:
        o = self.options
        history = [d for d in self.ordinary if day - timedelta(days=o.recent_days) <= d < day]
        if len(history) < o.min_history:
            return None
        same_weekday = [d for d in history if d.weekday() == day.weekday()][-o.weekday_weeks :]
        if len(same_weekday) >= MIN_SAME_WEEKDAYS:
            chosen, kind = same_weekday, f"median of the last {len(same_weekday)} {day.strftime('%A')}s"
        else:
            chosen = history[-o.trailing_days :]
            kind = f"median of the last {len(chosen)} ordinary days"
        level = median(self.rows[d] for d in chosen)
        # Day-to-day noise from successive differences of log volume (÷√2: each difference holds two
        # days' noise), so that a trend — a shop growing or shrinking — is not mistaken for noise.
        logs = [math.log(self.rows[d]) for d in history[-29:]]
        steps = [b - a for a, b in zip(logs, logs[1:], strict=False)]
        noise = MAD_TO_SIGMA * _mad(steps) / math.sqrt(2)
        spread = max(noise, 1 / math.sqrt(max(level, 1)), o.min_spread)
        return _Baseline(float(level), len(chosen), kind, spread)

    def expects_rows(self, day: date, baseline: _Baseline | None, event: CalendarDay | None) -> bool:
        """Should the day hold rows? Yes where its baseline expects MIN_EXPECTED_FOR_EMPTY or more;
        in the warm-up, where the days so far held that many (the first day: always); on a first
        calendar occurrence, unless it is a holiday (a shop may close)."""
        if baseline is not None:
            return baseline.rows >= MIN_EXPECTED_FOR_EMPTY
        if event is not None and event.kind == "holiday":
            return False
        before = [self.rows[d] for d in self.ordinary if d < day][-self.options.trailing_days :]
        return not before or median(before) >= MIN_EXPECTED_FOR_EMPTY

    def unjudged_reason(self, day: date, event: CalendarDay | None) -> str:
        if self.ordinary_baseline(day) is None:
            return f"warm-up: fewer than {self.options.min_history} ordinary landed days before it"
        if event is not None:
            return f"first {event.label} in the history: not judged"
        return "not judged"


def _mad(values: list[float]) -> float:
    center = median(values)
    return median(abs(value - center) for value in values)


def _day(value: object) -> date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()
