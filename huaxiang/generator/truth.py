"""Ground truth the generator knows and the warehouse must estimate: purchase propensity and campaign lift.

Probabilities come from the same latent model the simulation draws from (visit, purchase and churn
rates), not from realised outcomes, so models and A/B readouts can be scored against them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from huaxiang.generator.campaigns import EFFECT_DAYS, Assignment, campaign_code
from huaxiang.generator.clock import Clock
from huaxiang.generator.columns import strings
from huaxiang.generator.personas import PERSONA_NAMES, paid_share, persona_param
from huaxiang.generator.population import MAX_VISIT_PROBABILITY, Population, daily_visits, visit_probability

ALL_PERSONAS = "__all__"

CAMPAIGN_LIFT_SCHEMA = pa.schema(
    [
        ("campaign_id", pa.string()),
        ("persona", pa.string()),
        ("users_treatment", pa.int64()),
        ("users_control", pa.int64()),
        ("p_convert_treatment", pa.float64()),
        ("p_convert_control", pa.float64()),
        ("true_lift", pa.float64()),
    ]
)


def no_order_probability(daily_paid: Sequence[np.ndarray], hazard: np.ndarray, churns: Sequence[bool]) -> np.ndarray:
    """P(no paid order over consecutive days) for users alive at the start.

    Each day a user first survives churn (if that day `churns`, with probability 1 - hazard) and, if
    still alive, places a paid order with probability daily_paid[k]. Churn is absorbing.
    """
    alive_without = np.ones_like(hazard)
    churned_without = np.zeros_like(hazard)
    for paid, churn in zip(daily_paid, churns, strict=True):
        if churn:
            churned_without += alive_without * hazard
            alive_without = alive_without * (1 - hazard)
        alive_without = alive_without * (1 - paid)
    return alive_without + churned_without


def _scenario_shaped(population: Population, clock: Clock) -> bool:
    """Whether a scenario changes the daily purchase process (demand factors or sparse buyers)."""
    return clock.shapes_demand or population.purchase_interval is not None


def daily_paid_probability(
    population: Population,
    clock: Clock,
    day: int,
    users: np.ndarray,
    next_due: np.ndarray | None = None,
    multiplier: np.ndarray | float = 1.0,
    share: np.ndarray | float = 1.0,
) -> np.ndarray:
    """P(>= 1 paid order on `day`) for alive, registered `users` under the scenarios' process.

    Mirrors simulate._draw_visits: a first visit with probability p, Poisson further visits with mean
    x, each ending in a paid order with probability q, so P(none) = (1 - p q) exp(-x q). A sparse
    buyer whose purchase is due that day buys on that visit; her other visits buy only from the lift
    above 1 of a promotion or campaign. `share` is the part of the day that counts (a campaign window).
    """
    first, more = daily_visits(population, clock, day)
    expected = (first[users] + (0.0 if more is None else more[users])) * share
    first = np.minimum(expected, MAX_VISIT_PROBABILITY)
    more = expected - first
    lift = np.asarray(multiplier) * clock.buy_multiplier(day)
    paid = paid_share()[population.persona[users]]
    buy_rate = population.buy_rate[users]
    if population.purchase_interval is None:
        q = np.minimum(buy_rate * lift, 1.0) * paid
        return 1 - (1 - first * q) * np.exp(-more * q)
    q = np.minimum(buy_rate * np.maximum(lift - 1.0, 0.0), 1.0) * paid
    none = (1 - first * q) * np.exp(-more * q)
    if next_due is not None:
        due_none = (1 - paid * share) * np.exp(-more * q)
        none = np.where(next_due[users] == day, due_none, none)
    return 1 - none


def holdout_purchase_probability(
    population: Population,
    alive: np.ndarray,
    clock: Clock,
    first_day: int,
    horizon: int,
    next_due: np.ndarray | None = None,
) -> np.ndarray:
    """True P(>= 1 paid order in the holdout days) from each user's state at the end of the landed days.

    Sparse buyers (`next_due`): exact for holdouts up to SPARSE_MIN_GAP_DAYS, as no second cycle can
    start inside the window; beyond that a cancelled due order's next cycle is left out."""
    if horizon == 0:
        return np.zeros(population.size)
    persona = population.persona
    if _scenario_shaped(population, clock):
        everyone = np.arange(population.size)
        daily = [daily_paid_probability(population, clock, first_day + k, everyone, next_due) for k in range(horizon)]
    else:
        per_visit = population.buy_rate * paid_share()[persona]
        daily = [visit_probability(population, clock, first_day + k) * per_visit for k in range(horizon)]
    none = no_order_probability(daily, persona_param("churn_hazard")[persona], [True] * horizon)
    return np.where(alive, 1 - none, 0.0)


def _share_of_day_after(assignment: Assignment, persona: np.ndarray, clock: Clock) -> np.ndarray:
    """Probability that a visit on the send day starts after the send (from the persona's hour profile)."""
    begin, end = clock.bounds(assignment.campaign.day)
    hour = (assignment.sent_us - begin) / (end - begin) * 24
    whole = np.floor(hour).astype(np.int64)
    weights = persona_param("hours")[persona]
    before = np.cumsum(weights, axis=1) - weights
    row = np.arange(len(whole))
    return 1 - (before[row, whole] + (hour - whole) * weights[row, whole])


def campaign_conversion(
    assignment: Assignment,
    population: Population,
    alive: np.ndarray,
    clock: Clock,
    next_due: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """True P(>= 1 paid order within EFFECT_DAYS after the send) if treated and if not, per assigned user.

    The window covers the rest of the send day after the send, six whole days, and the start of the
    seventh day up to the send's time of day; users churned before the send never convert.
    """
    users = assignment.users
    persona = population.persona[users]
    after = _share_of_day_after(assignment, persona, clock)
    day_share = [after, *[np.ones(len(users))] * (EFFECT_DAYS - 1), 1 - after]
    visits = [visit_probability(population, clock, assignment.campaign.day + k)[users] for k in range(EFFECT_DAYS + 1)]
    paid = paid_share()[persona]
    hazard = persona_param("churn_hazard")[persona]
    churns = [False] + [True] * EFFECT_DAYS  # the user is known alive on the send day

    def convert_shaped(multiplier: np.ndarray) -> np.ndarray:
        daily = [
            daily_paid_probability(population, clock, assignment.campaign.day + k, users, next_due, multiplier, share)
            for k, share in enumerate(day_share)
        ]
        return np.where(alive[users], 1 - no_order_probability(daily, hazard, churns), 0.0)

    def convert(multiplier: np.ndarray) -> np.ndarray:
        if _scenario_shaped(population, clock):
            return convert_shaped(multiplier)
        per_visit = np.minimum(population.buy_rate[users] * multiplier, 1.0) * paid
        daily = [v * per_visit * share for v, share in zip(visits, day_share, strict=True)]
        return np.where(alive[users], 1 - no_order_probability(daily, hazard, churns), 0.0)

    return convert(1 + persona_param("uplift")[persona]), convert(np.ones(len(users)))


def campaign_lift_rows(
    assignment: Assignment, persona: np.ndarray, p_treated: np.ndarray, p_control: np.ndarray
) -> list[dict[str, object]]:
    """One row per persona present and one for all assigned users (persona '__all__').

    p_convert_treatment / p_convert_control are the model's expected conversion if treated / if not,
    averaged over all assigned users of the group, so true_lift is exactly their difference.
    """
    campaign_id = campaign_code(assignment.campaign.number)
    groups = [(PERSONA_NAMES[code], persona == code) for code in np.unique(persona)]
    rows = []
    for name, member in [*groups, (ALL_PERSONAS, np.ones(len(persona), bool))]:
        rows.append(
            {
                "campaign_id": campaign_id,
                "persona": name,
                "users_treatment": int(np.count_nonzero(member & assignment.treated)),
                "users_control": int(np.count_nonzero(member & ~assignment.treated)),
                "p_convert_treatment": float(p_treated[member].mean()) if member.any() else 0.0,
                "p_convert_control": float(p_control[member].mean()) if member.any() else 0.0,
                "true_lift": float((p_treated[member] - p_control[member]).mean()) if member.any() else 0.0,
            }
        )
    return rows


def write_truth(
    truth_dir: Path,
    population: Population,
    p_holdout: np.ndarray,
    purchased: np.ndarray,
    lift_rows: list[dict[str, object]],
    bad_rows: dict[str, dict[str, int]],
    known: np.ndarray | None = None,
) -> None:
    """`known`: the users the landed source knows (all when None)."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    users = pa.table(
        {
            "user_id": population.user_ids,
            "persona": strings(PERSONA_NAMES).take(pa.array(population.persona.astype(np.int64))),
            # 1 - prod(1 - p) can round to -2e-16: a probability stays in [0, 1].
            "p_purchase_holdout": pa.array(np.clip(p_holdout, 0.0, 1.0), pa.float64()),
            "purchased_in_holdout": pa.array(purchased, pa.bool_()),
        }
    )
    if known is not None:
        users = users.filter(pa.array(known))
    pq.write_table(users, truth_dir / "users.parquet", compression="zstd")
    lift = pa.Table.from_pylist(lift_rows, schema=CAMPAIGN_LIFT_SCHEMA)
    pq.write_table(lift, truth_dir / "campaign_lift.parquet", compression="zstd")
    text = json.dumps(bad_rows, indent=2, sort_keys=True, ensure_ascii=False)
    (truth_dir / "bad_rows.json").write_text(text + "\n", encoding="utf-8")
