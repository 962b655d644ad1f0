"""Latent personas: the hidden user types whose parameters drive every generated table.

Each user belongs to one persona and draws individual values around the persona's means, so
behaviour inside a persona is heterogeneous and heavy-tailed while personas stay separable.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from huaxiang.generator.reference import L1_NAMES

# Relative weights of the local hour a session starts in (index 0 = 00:00-01:00).
_DAY_EVENING = (2, 1, 0.5, 0.3, 0.3, 0.5, 1.5, 3, 5, 6, 6, 6.5, 6.5, 5, 5, 5.5, 5.5, 6, 7, 8.5, 9, 8, 5, 2.5)
_EVENING = (
    1.5,
    0.8,
    0.4,
    0.2,
    0.2,
    0.5,
    1.5,
    3.5,
    5,
    5.5,
    5.5,
    6,
    7,
    5,
    4.5,
    4.5,
    5,
    5.5,
    7,
    9,
    10,
    9,
    5,
    2.5,
)
_LUNCH_AND_LATE = (
    3,
    1,
    0.5,
    0.3,
    0.3,
    0.5,
    1.5,
    3,
    4.5,
    6,
    6.5,
    7,
    7.5,
    5.5,
    5,
    5,
    5,
    5.5,
    6.5,
    8,
    9.5,
    9,
    5,
    3,
)
_DAYTIME = (1, 0.5, 0.3, 0.2, 0.2, 0.5, 1.5, 3, 5, 7, 7.5, 7, 6.5, 6, 6, 6, 6, 6, 6.5, 7, 7, 6, 3.5, 1.5)
_NIGHT = (9, 7, 4, 2, .8, .3, .3, .5, 1, 1.5, 2, 2.5, 2.5, 2, 2, 2, 2, 2.5, 3, 4, 5, 7, 10, 11)  # fmt: skip


@dataclass(frozen=True)
class Persona:
    name: str
    share_existing: float  # share among users registered before the start
    share_new: float  # share among users who register during the simulated period
    visit_rate: float  # mean daily visit probability
    visit_shape: float  # gamma shape of individual visit rates; lower = more heterogeneous
    buy_rate: float  # mean probability that a visit ends in an order
    churn_hazard: float  # daily probability of leaving for good
    events_per_session: float  # mean browse events per visit
    first_search: float  # probability a visit starts with a search
    browse_mix: tuple[float, ...]  # view, search, click, add_to_cart, favorite after the first event
    extra_line: float  # binomial p of each of up to 3 extra order lines
    extra_quantity: float  # probability a line has more than one unit
    price_alpha: float  # > 0 prefers cheaper items within a sub-category, < 0 dearer ones
    coupon_rate: float
    cancel_rate: float
    refund_rate: float
    review_rate: float  # share of paid orders that get a review
    ratings: tuple[float, ...]  # P(rating = 1..5)
    hours: tuple[float, ...]
    platforms: tuple[float, float, float]  # app, web, mini_program
    categories: dict[str, float]  # preferred L1 categories; others get a background weight
    open_multiplier: tuple[float, float, float, float]  # per channel sms, email, push, in_app
    click_multiplier: float
    uplift: float  # relative lift of the purchase probability while a campaign treatment is active
    consent_rate: float
    female_share: float
    age_mean: float
    age_sd: float
    register_channels: tuple[float, ...]  # app_store, search_ad, social, referral, organic, offline
    tenure_exponent: float  # > 1 skews pre-existing users towards recent registration


PERSONAS: tuple[Persona, ...] = (
    Persona(
        "high_value_loyal", share_existing=0.14, share_new=0.03, visit_rate=0.40, visit_shape=4.0,
        buy_rate=0.38, churn_hazard=0.0008, events_per_session=9, first_search=0.3,
        browse_mix=(0.52, 0.08, 0.25, 0.08, 0.07), extra_line=0.35, extra_quantity=0.25,
        price_alpha=-0.5, coupon_rate=0.06, cancel_rate=0.02, refund_rate=0.02, review_rate=0.25,
        ratings=(0.02, 0.02, 0.06, 0.25, 0.65), hours=_EVENING, platforms=(0.65, 0.20, 0.15),
        categories={"数码家电": 3, "美妆个护": 2.5, "服饰鞋包": 2.5, "珠宝配饰": 1.5, "家居家纺": 1.5},
        open_multiplier=(1.2, 1.4, 1.1, 1.2), click_multiplier=1.1, uplift=0.10, consent_rate=0.8,
        female_share=0.6, age_mean=36, age_sd=8, register_channels=(0.25, 0.15, 0.1, 0.1, 0.3, 0.1),
        tenure_exponent=0.6,
    ),
    Persona(
        "deal_hunter", share_existing=0.24, share_new=0.12, visit_rate=0.28, visit_shape=2.0,
        buy_rate=0.15, churn_hazard=0.003, events_per_session=11, first_search=0.5,
        browse_mix=(0.45, 0.15, 0.25, 0.08, 0.07), extra_line=0.25, extra_quantity=0.3,
        price_alpha=1.4, coupon_rate=0.85, cancel_rate=0.07, refund_rate=0.05, review_rate=0.15,
        ratings=(0.06, 0.06, 0.13, 0.30, 0.45), hours=_LUNCH_AND_LATE, platforms=(0.50, 0.15, 0.35),
        categories={"食品生鲜": 3, "家居家纺": 2.5, "美妆个护": 2, "母婴用品": 2, "服饰鞋包": 1.5},
        open_multiplier=(1.5, 1.2, 1.4, 1.5), click_multiplier=1.5, uplift=0.80, consent_rate=0.8,
        female_share=0.62, age_mean=38, age_sd=12, register_channels=(0.15, 0.15, 0.25, 0.25, 0.15, 0.05),
        tenure_exponent=1.0,
    ),
    Persona(
        "new_explorer", share_existing=0.05, share_new=0.60, visit_rate=0.30, visit_shape=2.0,
        buy_rate=0.07, churn_hazard=0.012, events_per_session=12, first_search=0.45,
        browse_mix=(0.50, 0.12, 0.26, 0.06, 0.06), extra_line=0.15, extra_quantity=0.1,
        price_alpha=0.3, coupon_rate=0.35, cancel_rate=0.08, refund_rate=0.04, review_rate=0.10,
        ratings=(0.04, 0.04, 0.10, 0.27, 0.55), hours=_DAY_EVENING, platforms=(0.60, 0.15, 0.25),
        categories={"服饰鞋包": 2, "运动户外": 2, "图书文娱": 2, "宠物用品": 1.5, "数码家电": 1.5},
        open_multiplier=(0.9, 0.8, 1.3, 1.4), click_multiplier=1.2, uplift=0.40, consent_rate=0.7,
        female_share=0.5, age_mean=26, age_sd=6, register_channels=(0.3, 0.2, 0.3, 0.1, 0.08, 0.02),
        tenure_exponent=2.0,
    ),
    Persona(
        "night_owl_mobile", share_existing=0.17, share_new=0.15, visit_rate=0.30, visit_shape=2.5,
        buy_rate=0.12, churn_hazard=0.003, events_per_session=10, first_search=0.3,
        browse_mix=(0.52, 0.08, 0.25, 0.08, 0.07), extra_line=0.2, extra_quantity=0.15,
        price_alpha=0.4, coupon_rate=0.30, cancel_rate=0.05, refund_rate=0.04, review_rate=0.10,
        ratings=(0.04, 0.05, 0.10, 0.28, 0.53), hours=_NIGHT, platforms=(0.88, 0.04, 0.08),
        categories={"数码家电": 3, "服饰鞋包": 2, "美妆个护": 2, "食品生鲜": 1.5, "图书文娱": 1},
        open_multiplier=(0.6, 0.5, 1.6, 1.6), click_multiplier=1.1, uplift=0.25, consent_rate=0.65,
        female_share=0.45, age_mean=25, age_sd=5, register_channels=(0.4, 0.1, 0.3, 0.1, 0.08, 0.02),
        tenure_exponent=1.3,
    ),
    Persona(
        "occasional_gift_buyer", share_existing=0.22, share_new=0.10, visit_rate=0.05, visit_shape=1.5,
        buy_rate=0.30, churn_hazard=0.002, events_per_session=6, first_search=0.4,
        browse_mix=(0.55, 0.10, 0.22, 0.07, 0.06), extra_line=0.3, extra_quantity=0.2,
        price_alpha=-0.3, coupon_rate=0.15, cancel_rate=0.03, refund_rate=0.03, review_rate=0.20,
        ratings=(0.03, 0.03, 0.08, 0.26, 0.60), hours=_DAYTIME, platforms=(0.40, 0.40, 0.20),
        categories={"珠宝配饰": 3.5, "美妆个护": 2.5, "食品生鲜": 1.5, "图书文娱": 1},
        open_multiplier=(1.0, 1.1, 0.7, 0.8), click_multiplier=0.9, uplift=0.50, consent_rate=0.6,
        female_share=0.4, age_mean=40, age_sd=10, register_channels=(0.1, 0.3, 0.1, 0.15, 0.25, 0.1),
        tenure_exponent=1.0,
    ),
    Persona(
        "dormant_churning", share_existing=0.18, share_new=0.0, visit_rate=0.12, visit_shape=2.0,
        buy_rate=0.06, churn_hazard=0.07, events_per_session=4, first_search=0.2,
        browse_mix=(0.60, 0.06, 0.22, 0.06, 0.06), extra_line=0.1, extra_quantity=0.1,
        price_alpha=0.6, coupon_rate=0.30, cancel_rate=0.06, refund_rate=0.05, review_rate=0.08,
        ratings=(0.10, 0.08, 0.15, 0.27, 0.40), hours=_DAY_EVENING, platforms=(0.50, 0.30, 0.20),
        categories={"服饰鞋包": 2, "食品生鲜": 2, "母婴用品": 1.5, "家居家纺": 1.5},
        open_multiplier=(0.5, 0.4, 0.4, 0.3), click_multiplier=0.6, uplift=0.30, consent_rate=0.6,
        female_share=0.5, age_mean=35, age_sd=12, register_channels=(0.2, 0.2, 0.15, 0.1, 0.2, 0.15),
        tenure_exponent=0.7,
    ),
)  # fmt: skip

PERSONA_NAMES: tuple[str, ...] = tuple(p.name for p in PERSONAS)
EXPLORER = PERSONA_NAMES.index("new_explorer")
BACKGROUND_CATEGORY_WEIGHT = 0.25


# Vector attributes that are distributions; persona_param normalises them to sum to one.
DISTRIBUTIONS = frozenset({"hours", "platforms", "categories", "ratings", "browse_mix", "register_channels"})


def _distribution(value: tuple[float, ...] | dict[str, float]) -> np.ndarray:
    if isinstance(value, dict):
        value = tuple(value.get(name, BACKGROUND_CATEGORY_WEIGHT) for name in L1_NAMES)
    vector = np.asarray(value, dtype=np.float64)
    return vector / vector.sum()


@cache
def persona_param(name: str) -> np.ndarray:
    """One persona attribute for all personas, indexable by persona code: a vector for scalar
    attributes, a matrix (one row per persona) for the others; distributions are normalised."""
    values = [getattr(p, name) for p in PERSONAS]
    if name in DISTRIBUTIONS:
        return np.stack([_distribution(v) for v in values])
    return np.array(values, dtype=np.float64)


def persona_cdf(name: str) -> np.ndarray:
    """Row-wise cumulative distribution of a vector attribute, last column forced to exactly 1."""
    cdf = np.cumsum(persona_param(name), axis=1)
    cdf[:, -1] = 1.0
    return cdf


def paid_share() -> np.ndarray:
    """Probability that an order of each persona ends up paid (neither cancelled nor refunded)."""
    return 1.0 - persona_param("cancel_rate") - persona_param("refund_rate")
