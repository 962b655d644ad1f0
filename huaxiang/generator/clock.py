"""Business-day calendar: local midnights of the business timezone, as UTC microseconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

US_PER_SECOND = 1_000_000
US_PER_HOUR = 3600 * US_PER_SECOND
US_PER_DAY = 24 * US_PER_HOUR

# Weekends and Friday evenings bring more visits (Monday = 0).
WEEKDAY_VISIT_FACTOR = np.array([0.95, 1.0, 1.0, 1.0, 1.05, 1.15, 1.15])


@dataclass(frozen=True)
class Clock:
    start: date
    day_start_us: np.ndarray  # int64, local midnight of day i in UTC micros; one extra entry at the end
    weekday_factors: np.ndarray = field(default_factory=lambda: WEEKDAY_VISIT_FACTOR)
    # Scenario demand per day (huaxiang.generator.scenarios): expected visits and the chance that a
    # visit ends in an order are multiplied by them. None: no scenario changes demand (the default).
    visit_factor: np.ndarray | None = None
    buy_factor: np.ndarray | None = None

    @classmethod
    def build(cls, start: date, n_days: int, timezone: str) -> Clock:
        zone = ZoneInfo(timezone)
        starts = [
            int(datetime.combine(start + timedelta(days=i), datetime.min.time(), zone).timestamp()) * US_PER_SECOND
            for i in range(n_days + 1)
        ]
        return cls(start, np.array(starts, dtype=np.int64))

    def date(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def bounds(self, day: int) -> tuple[int, int]:
        """[start, end) of a local day in UTC micros (23 or 25 hours on DST switch days)."""
        return int(self.day_start_us[day]), int(self.day_start_us[day + 1])

    def at_fraction(self, day: int, fraction: np.ndarray) -> np.ndarray:
        """Timestamps at a fraction (0..1) of the local day: 0.5 is about local noon."""
        begin, end = self.bounds(day)
        return begin + (np.asarray(fraction) * (end - begin)).astype(np.int64)

    def day_of(self, ts_us: np.ndarray) -> np.ndarray:
        """Day index of UTC micros; -1 before the calendar, the number of days after it."""
        return np.searchsorted(self.day_start_us, ts_us, side="right") - 1

    def weekday_factor(self, day: int) -> float:
        return float(self.weekday_factors[self.date(day).weekday()])

    @property
    def shapes_demand(self) -> bool:
        """Whether a scenario multiplies visits or buying on some days."""
        return self.visit_factor is not None

    def visit_multiplier(self, day: int) -> float:
        return 1.0 if self.visit_factor is None else float(self.visit_factor[day])

    def buy_multiplier(self, day: int) -> float:
        return 1.0 if self.buy_factor is None else float(self.buy_factor[day])
