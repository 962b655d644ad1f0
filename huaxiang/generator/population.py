"""Users: their latent persona and behaviour rates, their master data, and their dated upserts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from huaxiang.generator.clock import US_PER_DAY, Clock
from huaxiang.generator.columns import dates, pick, strings, timestamps
from huaxiang.generator.ids import format_ids, width_for
from huaxiang.generator.personas import EXPLORER, PERSONAS, persona_cdf, persona_param
from huaxiang.generator.reference import (
    CITIES,
    EMAIL_DOMAINS,
    GENDERS,
    L1_NAMES,
    PHONE_SECOND_DIGITS,
    PINYIN,
    REGISTER_CHANNELS,
)

NEW_USER_SHARE = 0.3  # users who register during the landed days; the rest exist before the start
UPDATE_SHARE = 0.02  # users who later change consent or city
CONSENT_FLIP_SHARE = 0.6  # of updates; the others are city moves
MAX_TENURE_DAYS = 3 * 365
BUY_CONCENTRATION = 6.0  # beta concentration of individual purchase rates around the persona mean
MAX_BUY_RATE = 0.8
MAX_VISIT_PROBABILITY = 0.95
CATEGORY_CONCENTRATION = 8.0  # dirichlet concentration of individual category preferences
MAIN_PLATFORM_SHARE = 0.8  # visits on the user's usual platform
# Explorers are most active right after registering and settle to a fraction of that.
NOVELTY_FLOOR = 0.45
NOVELTY_DAYS = 21.0
UNKNOWN_GENDER_SHARE = 0.05
QQ_EMAIL_SHARE = 0.3
EPOCH = date(1970, 1, 1)


@dataclass
class Population:
    persona: np.ndarray  # int8 persona code
    registered_us: np.ndarray  # int64
    land_day: np.ndarray  # day the user's first row lands (0 for users who existed before the start)
    first_updated_us: np.ndarray  # updated_at of that first row
    visit_rate: np.ndarray  # individual mean daily visit probability
    buy_rate: np.ndarray  # individual probability that a visit ends in an order
    category_cdf: np.ndarray  # (users, L1) cumulative category preference
    main_platform: np.ndarray
    user_ids: pa.Array
    id_width: int
    gender: np.ndarray
    birth_days: np.ndarray  # days since 1970-01-01
    city: np.ndarray
    channel: np.ndarray
    phone: pa.Array
    email: pa.Array
    consent: np.ndarray
    update_day: np.ndarray  # day of the single later update row, -1 if none
    update_us: np.ndarray
    consent_after: np.ndarray
    city_after: np.ndarray
    # sparse_buyers scenario: each user's mean days between purchases (None: the default shop).
    purchase_interval: np.ndarray | None = None

    @property
    def size(self) -> int:
        return len(self.persona)

    def consent_on(self, day: int) -> np.ndarray:
        """Marketing consent as known at the start of `day` (updates of earlier days applied)."""
        updated = (self.update_day >= 0) & (self.update_day < day)
        return np.where(updated, self.consent_after, self.consent)

    def rows(self, day: int) -> pa.Table:
        """Users landing on `day`: new registrations (or the whole existing base on day 0) and updates."""
        first = np.flatnonzero(self.land_day == day)
        updated = np.flatnonzero(self.update_day == day)
        idx = np.concatenate([first, updated])
        after = np.arange(len(idx)) >= len(first)
        city = np.where(after, self.city_after[idx], self.city[idx])
        return pa.table(
            {
                "user_id": pick(self.user_ids, idx),
                "gender": pick(strings(GENDERS), self.gender[idx]),
                "birth_date": dates(self.birth_days[idx]),
                "city": pick(strings([c.name for c in CITIES]), city),
                "province": pick(strings([c.province for c in CITIES]), city),
                "city_tier": pa.array(np.array([c.tier for c in CITIES], np.int16)[city]),
                "registered_at": timestamps(self.registered_us[idx]),
                "register_channel": pick(strings(REGISTER_CHANNELS), self.channel[idx]),
                "phone": pick(self.phone, idx),
                "email": pick(self.email, idx),
                "marketing_consent": pa.array(np.where(after, self.consent_after[idx], self.consent[idx])),
                "updated_at": timestamps(np.where(after, self.update_us[idx], self.first_updated_us[idx])),
            }
        )


def visit_probability(population: Population, clock: Clock, day: int) -> np.ndarray:
    """Probability that each user visits on `day`, if alive and registered."""
    tenure_days = np.maximum(clock.day_start_us[day] - population.registered_us, 0) / US_PER_DAY
    novelty = NOVELTY_FLOOR + (1 - NOVELTY_FLOOR) * np.exp(-tenure_days / NOVELTY_DAYS)
    novelty = np.where(population.persona == EXPLORER, novelty, 1.0)
    return np.minimum(population.visit_rate * clock.weekday_factor(day) * novelty, MAX_VISIT_PROBABILITY)


def daily_visits(population: Population, clock: Clock, day: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(probability of a first visit, expected further visits) per user on `day`.

    A scenario's demand factor multiplies the expected visits; what exceeds the one-visit cap comes
    as more visits that day (Poisson). Without a demand scenario it is `visit_probability`, None.
    """
    probability = visit_probability(population, clock, day)
    if not clock.shapes_demand:
        return probability, None
    expected = probability * clock.visit_multiplier(day)
    first = np.minimum(expected, MAX_VISIT_PROBABILITY)
    return first, expected - first


def _draw_personas(n_existing: int, n_new: int, rng: np.random.Generator) -> np.ndarray:
    existing = rng.choice(len(PERSONAS), n_existing, p=persona_param("share_existing"))
    new = rng.choice(len(PERSONAS), n_new, p=persona_param("share_new"))
    return np.concatenate([existing, new]).astype(np.int8)


def _draw_registration(
    persona: np.ndarray, n_existing: int, days: int, clock: Clock, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Registration time and landing day; existing users registered up to three years before.

    New users sign up on one of the first `days` days (all landed days, or those before an
    acquisition stop)."""
    exponent = persona_param("tenure_exponent")[persona[:n_existing]]
    age_days = 1 + (MAX_TENURE_DAYS - 1) * rng.random(n_existing) ** exponent
    existing_us = clock.day_start_us[0] - (age_days * US_PER_DAY).astype(np.int64)
    n_new = len(persona) - n_existing
    new_day = rng.integers(0, days, n_new)
    day_len = clock.day_start_us[new_day + 1] - clock.day_start_us[new_day]
    # Sign-ups happen between 08:00 and 21:00, which leaves room for the first visit the same day.
    fraction = (8 + 13 * rng.random(n_new)) / 24
    new_us = clock.day_start_us[new_day] + (fraction * day_len).astype(np.int64)
    registered = np.concatenate([existing_us, new_us])
    land_day = np.concatenate([np.zeros(n_existing, np.int64), new_day])
    return registered, land_day


def _draw_category_cdf(persona: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    base = persona_param("categories")
    prefs = np.empty((len(persona), len(L1_NAMES)))
    for code in range(len(PERSONAS)):
        members = np.flatnonzero(persona == code)
        prefs[members] = rng.dirichlet(CATEGORY_CONCENTRATION * base[code], len(members))
    cdf = np.cumsum(prefs, axis=1)
    cdf[:, -1] = 1.0
    return cdf.astype(np.float32)


def _draw_choice(persona: np.ndarray, param: str, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per user from a persona's distribution (e.g. platforms)."""
    return (rng.random(len(persona))[:, None] >= persona_cdf(param)[persona]).sum(axis=1).astype(np.int8)


def _draw_contacts(n: int, rng: np.random.Generator) -> tuple[pa.Array, pa.Array]:
    second = np.array(PHONE_SECOND_DIGITS)[rng.integers(0, len(PHONE_SECOND_DIGITS), n)]
    phone_numbers = 10**10 + second * 10**9 + rng.integers(0, 10**9, n)
    phones = pc.cast(pa.array(phone_numbers), pa.string())
    syllables = strings(PINYIN)
    local = pc.binary_join_element_wise(
        pick(syllables, rng.integers(0, len(PINYIN), n)),
        pick(syllables, rng.integers(0, len(PINYIN), n)),
        pc.cast(pa.array(rng.integers(10, 10_000, n)), pa.string()),
        "",
    )
    qq = rng.random(n) < QQ_EMAIL_SHARE
    local = pc.if_else(pa.array(qq), pc.cast(pa.array(rng.integers(10**7, 10**10, n)), pa.string()), local)
    domain = pc.if_else(pa.array(qq), "qq.com", pick(strings(EMAIL_DOMAINS), rng.integers(0, len(EMAIL_DOMAINS), n)))
    return phones, pc.binary_join_element_wise(local, domain, "@")


def _draw_birth_days(persona: np.ndarray, start: date, rng: np.random.Generator) -> np.ndarray:
    """Birth dates for ages 16..70 at the start date."""
    age = rng.normal(persona_param("age_mean")[persona], persona_param("age_sd")[persona])
    age = np.clip(np.round(age), 16, 69)
    days_before = (age * 365.25).astype(np.int64) + rng.integers(1, 365, len(persona))
    return (start - EPOCH).days - days_before


def _draw_updates(
    land_day: np.ndarray,
    consent: np.ndarray,
    city: np.ndarray,
    days: int,
    clock: Clock,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A few users change consent or city once, on a landed day after their first row."""
    n = len(land_day)
    has_update = (land_day < days - 1) & (rng.random(n) < UPDATE_SHARE)
    update_day = np.where(has_update, rng.integers(land_day + 1, np.maximum(land_day + 2, days)), -1)
    safe_day = np.maximum(update_day, 0)
    day_len = clock.day_start_us[safe_day + 1] - clock.day_start_us[safe_day]
    update_us = clock.day_start_us[safe_day] + ((0.02 + 0.96 * rng.random(n)) * day_len).astype(np.int64)
    flips = rng.random(n) < CONSENT_FLIP_SHARE
    moved_city = (city + 1 + rng.integers(0, len(CITIES) - 1, n)) % len(CITIES)
    consent_after = np.where(has_update & flips, ~consent, consent)
    city_after = np.where(has_update & ~flips, moved_city, city)
    return update_day, update_us, consent_after, city_after


def build_population(
    users: int, days: int, clock: Clock, rng: np.random.Generator, signup_days: int | None = None
) -> Population:
    """`signup_days`: new users sign up on the first that many days (default: all `days`)."""
    n_new = round(users * NEW_USER_SHARE)
    n_existing = users - n_new
    persona = _draw_personas(n_existing, n_new, rng)
    registered, land_day = _draw_registration(
        persona, n_existing, days if signup_days is None else signup_days, clock, rng
    )
    # Number users in registration order so that ids sort like sign-up time.
    order = np.argsort(registered, kind="stable")
    persona, registered, land_day = persona[order], registered[order], land_day[order]

    mean_visit = persona_param("visit_rate")[persona]
    shape = persona_param("visit_shape")[persona]
    visit_rate = np.minimum(rng.gamma(shape, mean_visit / shape), MAX_VISIT_PROBABILITY)
    mean_buy = persona_param("buy_rate")[persona]
    buy_rate = np.minimum(rng.beta(mean_buy * BUY_CONCENTRATION, (1 - mean_buy) * BUY_CONCENTRATION), MAX_BUY_RATE)

    female = rng.random(users) < persona_param("female_share")[persona]
    gender = np.where(female, GENDERS.index("female"), GENDERS.index("male"))
    gender = np.where(rng.random(users) < UNKNOWN_GENDER_SHARE, GENDERS.index("unknown"), gender)
    city_weights = np.array([c.population for c in CITIES])
    city = rng.choice(len(CITIES), users, p=city_weights / city_weights.sum())
    consent = rng.random(users) < persona_param("consent_rate")[persona]
    phones, emails = _draw_contacts(users, rng)

    update_day, update_us, consent_after, city_after = _draw_updates(land_day, consent, city, days, clock, rng)

    width = width_for(users, 7)
    return Population(
        persona=persona,
        registered_us=registered,
        land_day=land_day,
        # The existing base is loaded in one batch at the first midnight; new users land as they sign up.
        first_updated_us=np.maximum(registered, clock.day_start_us[0]),
        visit_rate=visit_rate,
        buy_rate=buy_rate,
        category_cdf=_draw_category_cdf(persona, rng),
        main_platform=_draw_choice(persona, "platforms", rng),
        user_ids=format_ids("U", np.arange(1, users + 1), width),
        id_width=width,
        gender=gender.astype(np.int8),
        birth_days=_draw_birth_days(persona, clock.start, rng),
        city=city,
        channel=_draw_choice(persona, "register_channels", rng),
        phone=phones,
        email=emails,
        consent=consent,
        update_day=update_day,
        update_us=update_us,
        consent_after=consent_after,
        city_after=city_after,
    )
