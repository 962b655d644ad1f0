"""Generator configuration, the run report, and the seeding scheme."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from huaxiang.generator.scenarios import ACQUISITION_STOP_SHARE, parse_scenarios

# Independent random streams, so that e.g. injecting bad rows never changes the clean data.
POPULATION_STREAM = 1
CATALOG_STREAM = 2
CAMPAIGN_STREAM = 3
DAY_STREAM = 4
BAD_ROW_STREAM = 5
SCENARIO_STREAM = 6  # latent state only scenarios draw (e.g. sparse buyers' purchase cycles)


@dataclass(frozen=True)
class GeneratorConfig:
    users: int
    days: int
    start: date = date(2026, 6, 1)
    seed: int = 42
    holdout_days: int = 0
    bad_rate: float = 0.0
    timezone: str = "Asia/Shanghai"
    products: int | None = None  # initial catalog size; default scales with users
    scenarios: tuple[str, ...] = ()  # see huaxiang.generator.scenarios; () is the default shop

    def __post_init__(self) -> None:
        if self.users < 1 or self.days < 1:
            raise ValueError("users and days must be at least 1")
        if self.seed < 0 or self.holdout_days < 0:
            raise ValueError("seed and holdout_days must be non-negative")
        if not 0.0 <= self.bad_rate <= 0.5:
            raise ValueError("bad_rate must be within [0, 0.5]")
        if self.products is not None and self.products < 1:
            raise ValueError("products must be at least 1")
        object.__setattr__(self, "scenarios", parse_scenarios(self.scenarios))

    def has(self, scenario: str) -> bool:
        return scenario in self.scenarios

    @property
    def acquisition_stop_day(self) -> int:
        """The first landed day on which nobody signs up any more (`days` without the scenario)."""
        if not self.has("acquisition_stops"):
            return self.days
        return max(1, round(self.days * ACQUISITION_STOP_SHARE))

    @property
    def catalog_size(self) -> int:
        if self.products is not None:
            return self.products
        return min(max(self.users // 20, 300), 20_000)


@dataclass
class GenerationReport:
    rows_per_table: dict[str, int]  # rows landed, bad rows included
    days: list[date]  # landed business days
    bad_rows: dict[str, dict[str, int]]  # table -> reject reason -> injected rows
    seconds: float


def rng_for(seed: int, stream: int, *keys: int) -> np.random.Generator:
    """A generator for one stream (and e.g. one day) that does not depend on what others drew."""
    return np.random.default_rng(np.random.SeedSequence([seed, stream, *keys]))
