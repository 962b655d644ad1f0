"""The best propensity any model can reach from the landed history: a Bayes reference for `huaxiang evaluate`.

The generator's oracle (`truth/users.parquet: p_purchase_holdout`) knows each user's exact visit
and buy rates and whether the user has already churned — things no history reveals exactly. This
reference is the posterior predictive probability of a paid order in the holdout days given
everything a perfect model could know: the user's persona and the generator's priors for it, and
the user's landed history (the days with a visit, the checkouts). Visits and churn form a two-state
hidden Markov chain (alive → churned, absorbing) integrated over prior samples of the visit and buy
rates. Campaign uplift during the landed days is ignored, so the reference is near-optimal, not
exact. It bounds what the realised AUC and Brier score of a learned model can reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from huaxiang.generator.clock import US_PER_DAY, Clock
from huaxiang.generator.personas import EXPLORER, PERSONA_NAMES, paid_share, persona_param
from huaxiang.generator.population import (
    BUY_CONCENTRATION,
    MAX_BUY_RATE,
    MAX_VISIT_PROBABILITY,
    NOVELTY_DAYS,
    NOVELTY_FLOOR,
)

SAMPLES = 600  # prior draws per user
CHUNK = 1_000  # users per vectorised block


@dataclass(frozen=True)
class History:
    personas: np.ndarray  # persona code per user
    registered_days: np.ndarray  # registration time in days since the first landed midnight (may be < 0)
    visits: np.ndarray  # (users, landed days) bool: a session that day
    checkouts: np.ndarray  # orders of any status over the landed days


def load_history(conn: duckdb.DuckDBPyConnection, users: pd.DataFrame, clock: Clock, days: int) -> History:
    """Visits and checkouts per user from the warehouse, aligned with `users` (user_id, persona)."""
    index = {user: i for i, user in enumerate(users["user_id"])}
    registered = conn.execute("select user_id, epoch_us(registered_at_utc) from staging.stg_users").fetchall()
    registered_days = np.zeros(len(users))
    for user, micros in registered:
        if user in index:
            registered_days[index[user]] = (micros - clock.day_start_us[0]) / US_PER_DAY
    daily = conn.execute(
        "select user_id, activity_date, sessions > 0, orders + orders_cancelled + orders_refunded "
        "from facts.int_user_daily"
    ).fetch_df()
    daily = daily[daily["user_id"].isin(index)]
    rows = daily["user_id"].map(index).to_numpy()
    offsets = (pd.to_datetime(daily["activity_date"]) - pd.Timestamp(clock.start)).dt.days.to_numpy()
    inside = (offsets >= 0) & (offsets < days)
    visits = np.zeros((len(users), days), dtype=bool)
    visits[rows[inside], offsets[inside]] = daily.iloc[:, 2].to_numpy(bool)[inside]
    checkouts = np.bincount(rows, weights=daily.iloc[:, 3].to_numpy(float), minlength=len(users))
    codes = {name: code for code, name in enumerate(PERSONA_NAMES)}
    return History(users["persona"].map(codes).to_numpy(), registered_days, visits, checkouts)


def _day_factors(clock: Clock, days: int) -> np.ndarray:
    return np.array([clock.weekday_factor(day) for day in range(days)])


def _block(
    history: History, rows: slice, clock: Clock, landed: int, horizon: int, rng: np.random.Generator
) -> np.ndarray:
    persona = history.personas[rows]
    n = len(persona)
    shape = persona_param("visit_shape")[persona][:, None]
    mean_visit = persona_param("visit_rate")[persona][:, None]
    visit_rate = np.minimum(rng.gamma(shape, mean_visit / shape, (n, SAMPLES)), MAX_VISIT_PROBABILITY)
    mean_buy = persona_param("buy_rate")[persona][:, None]
    buy_rate = np.minimum(
        rng.beta(mean_buy * BUY_CONCENTRATION, (1 - mean_buy) * BUY_CONCENTRATION, (n, SAMPLES)), MAX_BUY_RATE
    )
    hazard = persona_param("churn_hazard")[persona][:, None]
    registered = history.registered_days[rows]
    land_day = np.maximum(np.floor(registered), 0).astype(int)
    newcomer = registered >= 0
    weekday = _day_factors(clock, landed + horizon)

    def visit_probability(day: int) -> np.ndarray:
        tenure = np.maximum(day - registered, 0)
        novelty = np.where(
            persona == EXPLORER, NOVELTY_FLOOR + (1 - NOVELTY_FLOOR) * np.exp(-tenure / NOVELTY_DAYS), 1.0
        )
        return np.minimum(visit_rate * (weekday[day] * novelty)[:, None], MAX_VISIT_PROBABILITY)

    # Forward pass over the landed days: probability of the history so far and being alive / churned.
    alive, churned = np.ones((n, SAMPLES)), np.zeros((n, SAMPLES))
    visits = history.visits[rows]
    for day in range(landed):
        present = (day >= land_day)[:, None]
        churn_now = (day > land_day)[:, None]
        churned = np.where(churn_now, churned + alive * hazard, churned)
        alive = np.where(churn_now, alive * (1 - hazard), alive)
        # A newcomer's first visit right after signing up is forced, so it carries no evidence.
        judged = present & ~(newcomer & (day == land_day))[:, None]
        seen = visits[:, day][:, None]
        q = visit_probability(day)
        alive = np.where(judged, alive * np.where(seen, q, 1 - q), alive)
        churned = np.where(judged & seen, 0.0, churned)
    total_visits = visits.sum(axis=1)[:, None]
    checkouts = np.minimum(history.checkouts[rows][:, None], total_visits)
    evidence = (alive + churned) * buy_rate**checkouts * (1 - buy_rate) ** (total_visits - checkouts)
    p_alive = alive / np.maximum(alive + churned, 1e-300)

    # P(no paid order in the holdout days | alive at the end of the landed days), churn each day.
    paid = buy_rate * paid_share()[persona][:, None]
    stay, gone = np.ones((n, SAMPLES)), np.zeros((n, SAMPLES))
    for day in range(landed, landed + horizon):
        gone += stay * hazard
        stay = stay * (1 - hazard) * (1 - visit_probability(day) * paid)
    buys = p_alive * (1 - (stay + gone))
    return (evidence * buys).sum(axis=1) / np.maximum(evidence.sum(axis=1), 1e-300)


def reference_probabilities(
    conn: duckdb.DuckDBPyConnection, users: pd.DataFrame, clock: Clock, landed: int, horizon: int, seed: int = 0
) -> np.ndarray:
    """Posterior P(>= 1 paid order in the `horizon` days after the `landed` days) for each row of `users`."""
    history = load_history(conn, users, clock, landed)
    rng = np.random.default_rng(seed)
    result = np.zeros(len(users))
    for start in range(0, len(users), CHUNK):
        rows = slice(start, min(start + CHUNK, len(users)))
        result[rows] = _block(history, rows, clock, landed, horizon, rng)
    return result
