"""Marketing campaigns: the schedule, randomised treatment/control assignment, and the touches."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from huaxiang.contract import CHANNELS
from huaxiang.generator.clock import US_PER_DAY, US_PER_SECOND, Clock
from huaxiang.generator.columns import strings, timestamps
from huaxiang.generator.ids import CAMPAIGN_WIDTH
from huaxiang.generator.personas import persona_param
from huaxiang.generator.population import Population
from huaxiang.generator.reference import CAMPAIGN_OBJECTIVES, CAMPAIGN_THEMES

SEND_HOURS = {"sms": (10, 12), "email": (8, 10), "push": (19, 21), "in_app": (12, 14)}  # local
BASE_OPEN_RATE = {"sms": 0.22, "email": 0.15, "push": 0.08, "in_app": 0.35}
BASE_CLICK_RATE = {"sms": 0.10, "email": 0.18, "push": 0.25, "in_app": 0.30}  # given opened
COST_PER_SEND = {"sms": 0.05, "email": 0.005, "push": 0.001, "in_app": 0.002}  # CNY
MAX_RESPONSE_RATE = 0.95
LAUNCH_HOUR = 8  # campaigns start at 08:00 local, before any send
TREATMENT_SHARE = 0.8
TARGET_SHARE_RANGE = (0.10, 0.30)
CAMPAIGN_GAP_DAYS = (3, 6)  # one or two campaigns a week
EFFECT_DAYS = 7  # a treatment lifts purchases for 7 days after the send; conversions count the same window
# Frequency cap: a user is not targeted again until the previous effect window has closed, so every
# purchase is influenced by at most one campaign and the true lift stays well defined.
CONTACT_GAP_DAYS = EFFECT_DAYS + 1
OPEN_DELAY_MEAN_S = 40 * 60
CLICK_DELAY_MEAN_S = 5 * 60


@dataclass(frozen=True)
class Campaign:
    number: int
    day: int
    channel: str
    objective: str
    name: str
    starts_us: int
    ends_us: int


@dataclass
class Assignment:
    campaign: Campaign
    users: np.ndarray  # sorted by sent_us
    treated: np.ndarray
    sent_us: np.ndarray
    opened_us: np.ndarray  # -1 when not opened
    clicked_us: np.ndarray  # -1 when not clicked


def schedule_campaigns(days: int, clock: Clock, rng: np.random.Generator) -> list[Campaign]:
    """Campaign start days, rotating channels; each effect window closes inside the landed days."""
    last_start = days - 1 - EFFECT_DAYS
    campaigns: list[Campaign] = []
    day = min(1, last_start)
    while 0 <= day <= last_start:
        objective = CAMPAIGN_OBJECTIVES[rng.integers(0, len(CAMPAIGN_OBJECTIVES))]
        themes = CAMPAIGN_THEMES[objective]
        starts = int(clock.day_start_us[day]) + LAUNCH_HOUR * 3600 * US_PER_SECOND
        campaigns.append(
            Campaign(
                number=len(campaigns) + 1,
                day=day,
                channel=CHANNELS[len(campaigns) % len(CHANNELS)],
                objective=objective,
                name=f"{themes[rng.integers(0, len(themes))]} {clock.date(day):%m%d}",
                starts_us=starts,
                ends_us=starts + EFFECT_DAYS * US_PER_DAY,
            )
        )
        day += int(rng.integers(*CAMPAIGN_GAP_DAYS))
    return campaigns


def campaign_code(number: int) -> str:
    return f"C{number:0{CAMPAIGN_WIDTH}d}"


def campaign_rows(campaigns: list[Campaign]) -> pa.Table:
    return pa.table(
        {
            "campaign_id": strings([campaign_code(c.number) for c in campaigns]),
            "name": strings([c.name for c in campaigns]),
            "channel": strings([c.channel for c in campaigns]),
            "objective": strings([c.objective for c in campaigns]),
            "starts_at": timestamps(np.array([c.starts_us for c in campaigns], np.int64)),
            "ends_at": timestamps(np.array([c.ends_us for c in campaigns], np.int64)),
            "cost_per_send": pa.array([COST_PER_SEND[c.channel] for c in campaigns], pa.float64()),
        }
    )


def _delay_within(remaining_us: np.ndarray, mean_s: float, rng: np.random.Generator) -> np.ndarray:
    """Exponential delay truncated to `remaining_us`, so opens and clicks stay on the send's day."""
    mean_us = mean_s * US_PER_SECOND
    tail = 1 - np.exp(-np.maximum(remaining_us, 0) / mean_us)
    return (-mean_us * np.log1p(-rng.random(len(remaining_us)) * tail)).astype(np.int64)


def assign(
    campaign: Campaign,
    population: Population,
    last_assigned_day: np.ndarray,
    clock: Clock,
    rng: np.random.Generator,
) -> Assignment:
    """Randomise a share of consenting, already registered users into treatment and control."""
    day = campaign.day
    eligible = (
        (population.registered_us < campaign.starts_us)
        & population.consent_on(day)
        & (day - last_assigned_day >= CONTACT_GAP_DAYS)
    )
    share = rng.uniform(*TARGET_SHARE_RANGE)
    users = np.flatnonzero(eligible & (rng.random(population.size) < share))
    treated = rng.random(len(users)) < TREATMENT_SHARE
    first_hour, last_hour = SEND_HOURS[campaign.channel]
    fraction = (first_hour + (last_hour - first_hour) * rng.random(len(users))) / 24
    sent = clock.at_fraction(day, fraction)
    order = np.lexsort((users, sent))
    users, treated, sent = users[order], treated[order], sent[order]

    channel = CHANNELS.index(campaign.channel)
    persona = population.persona[users]
    open_rate = BASE_OPEN_RATE[campaign.channel] * persona_param("open_multiplier")[persona, channel]
    opened = treated & (rng.random(len(users)) < np.minimum(open_rate, MAX_RESPONSE_RATE))
    click_rate = BASE_CLICK_RATE[campaign.channel] * persona_param("click_multiplier")[persona]
    clicked = opened & (rng.random(len(users)) < np.minimum(click_rate, MAX_RESPONSE_RATE))
    last_us = clock.bounds(day)[1] - 1
    # At least a second passes between send, open and click.
    opened_us = sent + US_PER_SECOND + _delay_within(last_us - sent - US_PER_SECOND, OPEN_DELAY_MEAN_S, rng)
    clicked_us = (
        opened_us
        + US_PER_SECOND
        + _delay_within(last_us - opened_us - US_PER_SECOND, CLICK_DELAY_MEAN_S, rng)
    )
    return Assignment(
        campaign=campaign,
        users=users,
        treated=treated,
        sent_us=sent,
        opened_us=np.where(opened, opened_us, -1),
        clicked_us=np.where(clicked, clicked_us, -1),
    )
