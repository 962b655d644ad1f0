"""The product catalog: initial assortment, later launches and price changes, and product choice."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from huaxiang.generator.clock import Clock
from huaxiang.generator.columns import pick, strings, timestamps
from huaxiang.generator.ids import format_ids, width_for
from huaxiang.generator.personas import persona_param
from huaxiang.generator.reference import BRANDS, CATEGORIES, L1_NAMES, TITLE_ADJECTIVES, SubCategory

NEW_PRODUCT_RATE = 0.002  # launches per day, as a share of the initial catalog
PRICE_CHANGE_RATE = 0.003  # price changes per day, as a share of the initial catalog
PRICE_CHANGE_RANGE = (0.8, 1.2)
POPULARITY_SIGMA = 1.0  # lognormal spread of product popularity (a few best sellers)
# Dear sub-categories sell less often: demand falls with the sub-category's typical price.
L2_DEMAND_ELASTICITY = 0.6

# Sub-categories flattened: index -> (L1 index, definition)
SUBCATEGORIES: tuple[tuple[int, SubCategory], ...] = tuple(
    (l1, sub) for l1, name in enumerate(L1_NAMES) for sub in CATEGORIES[name]
)


def _price_cents(yuan: np.ndarray) -> np.ndarray:
    """Shop-style prices ending in .90 (e.g. 158.90)."""
    return np.floor(yuan).astype(np.int64) * 100 + 90


@dataclass
class Catalog:
    l1: np.ndarray
    l2: np.ndarray  # index into SUBCATEGORIES
    brand: pa.Array
    title: pa.Array
    price_cents: np.ndarray  # current list price; changes apply from the day after they land
    popularity: np.ndarray
    land_day: np.ndarray
    land_us: np.ndarray
    product_ids: pa.Array
    id_width: int
    change_day: np.ndarray  # scheduled price changes, one row each
    change_product: np.ndarray
    change_cents: np.ndarray
    change_us: np.ndarray

    @property
    def size(self) -> int:
        return len(self.l1)

    def available(self, day: int) -> int:
        """Products buyable on `day` (a prefix of the catalog); a launch is buyable from the next day."""
        return int(np.count_nonzero(self.land_day < max(day, 1)))

    def rows(self, day: int) -> pa.Table:
        """Catalog rows landing on `day`: launches (the whole assortment on day 0) and price changes."""
        launched = np.flatnonzero(self.land_day == day)
        changed = np.flatnonzero(self.change_day == day)
        idx = np.concatenate([launched, self.change_product[changed]])
        prices = np.concatenate([self.price_cents[launched], self.change_cents[changed]])
        l2 = self.l2[idx]
        return pa.table(
            {
                "product_id": pick(self.product_ids, idx),
                "title": pick(self.title, idx),
                "category_l1": pick(strings(L1_NAMES), self.l1[idx]),
                "category_l2": pick(strings([sub.name for _, sub in SUBCATEGORIES]), l2),
                "brand": pick(self.brand, idx),
                "list_price": pa.array(prices / 100.0),
                "updated_at": timestamps(np.concatenate([self.land_us[launched], self.change_us[changed]])),
            }
        )

    def apply_price_changes(self, day: int) -> None:
        changed = self.change_day == day
        self.price_cents[self.change_product[changed]] = self.change_cents[changed]


def _titles(l1: np.ndarray, l2: np.ndarray, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """Brand and title per product, e.g. '星耀 2026新款智能手机 256GB' (catalog-sized, not per event)."""
    brands, titles = [], []
    picks = rng.random((len(l1), 4))
    for c1, c2, (a, b, n, s) in zip(l1, l2, picks, strict=True):
        sub = SUBCATEGORIES[c2][1]
        brand_list = BRANDS[L1_NAMES[c1]]
        brand = brand_list[int(a * len(brand_list))]
        adjective = TITLE_ADJECTIVES[int(b * len(TITLE_ADJECTIVES))]
        noun = sub.nouns[int(n * len(sub.nouns))]
        spec = sub.specs[int(s * len(sub.specs))]
        brands.append(brand)
        titles.append(f"{brand} {adjective}{noun} {spec}")
    return brands, titles


def _launch_schedule(
    n_initial: int, days: int, clock: Clock, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    launches = rng.poisson(NEW_PRODUCT_RATE * n_initial, max(days - 1, 0))
    land_day = np.concatenate([np.zeros(n_initial, np.int64), np.repeat(np.arange(1, days), launches)])
    day_len = clock.day_start_us[land_day + 1] - clock.day_start_us[land_day]
    fraction = np.where(land_day == 0, 0.0, 0.05 + 0.9 * rng.random(len(land_day)))
    return land_day, clock.day_start_us[land_day] + (fraction * day_len).astype(np.int64)


def _price_change_schedule(
    price_cents: np.ndarray, land_day: np.ndarray, days: int, clock: Clock, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    price = price_cents.copy()
    day_list, product_list, cents_list = [], [], []
    for day in range(1, days):
        candidates = np.flatnonzero(land_day < day)
        count = min(rng.poisson(PRICE_CHANGE_RATE * np.count_nonzero(land_day == 0)), len(candidates))
        chosen = np.sort(rng.choice(candidates, count, replace=False))
        price[chosen] = _price_cents(price[chosen] / 100 * rng.uniform(*PRICE_CHANGE_RANGE, count))
        day_list.append(np.full(count, day))
        product_list.append(chosen)
        cents_list.append(price[chosen])
    change_day = np.concatenate([np.zeros(0, np.int64), *day_list])
    begin = clock.day_start_us[change_day]
    fraction = 0.05 + 0.9 * rng.random(len(change_day))
    change_us = begin + (fraction * (clock.day_start_us[change_day + 1] - begin)).astype(np.int64)
    return (
        change_day,
        np.concatenate([np.zeros(0, np.int64), *product_list]),
        np.concatenate([np.zeros(0, np.int64), *cents_list]),
        change_us,
    )


def build_catalog(n_initial: int, days: int, clock: Clock, rng: np.random.Generator) -> Catalog:
    land_day, land_us = _launch_schedule(n_initial, days, clock, rng)
    n = len(land_day)
    # Every sub-category is represented before the rest is drawn at random.
    l2 = np.concatenate([np.arange(min(n, len(SUBCATEGORIES))), rng.integers(0, len(SUBCATEGORIES), n)])[:n]
    l1 = np.array([SUBCATEGORIES[i][0] for i in range(len(SUBCATEGORIES))])[l2]
    median = np.array([sub.median_price for _, sub in SUBCATEGORIES])[l2]
    sigma = np.array([sub.price_sigma for _, sub in SUBCATEGORIES])[l2]
    price_cents = _price_cents(rng.lognormal(np.log(median), sigma))
    brands, titles = _titles(l1, l2, rng)
    width = width_for(n, 6)
    change_day, change_product, change_cents, change_us = _price_change_schedule(
        price_cents, land_day, days, clock, rng
    )
    return Catalog(
        l1=l1,
        l2=l2,
        brand=strings(brands),
        title=strings(titles),
        price_cents=price_cents,
        popularity=rng.lognormal(0.0, POPULARITY_SIGMA, n),
        land_day=land_day,
        land_us=land_us,
        product_ids=format_ids("P", np.arange(1, n + 1), width),
        id_width=width,
        change_day=change_day,
        change_product=change_product,
        change_cents=change_cents,
        change_us=change_us,
    )


class ProductSampler:
    """Draws products for (persona, L1 category) pairs in one vectorised search.

    Within each L1 category the weight of a product is its popularity, damped for dear sub-categories,
    times (price / sub-category median) ** -alpha of the persona, so deal hunters drift to cheap items
    and loyal buyers to dear ones. All personas' and
    categories' cumulative weights are laid end to end on one axis, segment (p, c) spanning
    [p*L + c, p*L + c + 1), so a single searchsorted serves every row.
    """

    def __init__(self, catalog: Catalog, n_available: int) -> None:
        l1 = catalog.l1[:n_available]
        self.order = np.argsort(l1, kind="stable")
        segment = l1[self.order]
        n_l1 = len(L1_NAMES)
        begin = np.searchsorted(segment, np.arange(n_l1))
        end = np.searchsorted(segment, np.arange(n_l1), side="right")
        median = np.array([sub.median_price for _, sub in SUBCATEGORIES])
        l2_median = median[catalog.l2[self.order]]
        relative_price = catalog.price_cents[self.order] / 100 / l2_median
        popularity = catalog.popularity[self.order] * l2_median**-L2_DEMAND_ELASTICITY
        keys = []
        for code, alpha in enumerate(persona_param("price_alpha")):
            cumulative = np.cumsum(popularity * relative_price**-alpha)
            before = np.concatenate([[0.0], cumulative])
            share = (cumulative - before[begin][segment]) / (before[end] - before[begin])[segment]
            share[end[end > begin] - 1] = 1.0
            keys.append(code * n_l1 + segment + share)
        self.keys = np.concatenate(keys)
        self.n_l1 = n_l1

    def draw(self, persona: np.ndarray, l1: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        target = persona * self.n_l1 + l1 + rng.random(len(l1)) * (1 - 1e-9)
        position = np.searchsorted(self.keys, target, side="right")
        return self.order[position % len(self.order)]
