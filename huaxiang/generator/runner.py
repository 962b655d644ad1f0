"""`generate`: simulate day by day, land each business day's eight tables, then write the truth."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from huaxiang.contract import RAW_TABLES
from huaxiang.generator.bad_rows import BadRowInjector
from huaxiang.generator.campaigns import (
    EFFECT_DAYS,
    Assignment,
    Campaign,
    assign,
    campaign_rows,
    schedule_campaigns,
)
from huaxiang.generator.catalog import Catalog, ProductSampler, build_catalog
from huaxiang.generator.clock import US_PER_DAY, Clock
from huaxiang.generator.config import (
    BAD_ROW_STREAM,
    CAMPAIGN_STREAM,
    CATALOG_STREAM,
    DAY_STREAM,
    POPULATION_STREAM,
    SCENARIO_STREAM,
    GenerationReport,
    GeneratorConfig,
    rng_for,
)
from huaxiang.generator.personas import persona_param
from huaxiang.generator.population import Population, build_population
from huaxiang.generator.scenarios import (
    SPARSE_INTERVAL_DAYS,
    SPARSE_VISIT_SCALE,
    WEEKLY_VISIT_FACTOR,
    calendar_factors,
)
from huaxiang.generator.simulate import (
    REVIEW_DELAY_DAYS,
    DayActivity,
    SimState,
    apply_churn,
    schedule_reviews,
    simulate_day,
    take_reviews,
)
from huaxiang.generator.source import purchase_only_profile, purchase_only_tables
from huaxiang.generator.tables import events_table, items_table, orders_table, reviews_table, sends_table
from huaxiang.generator.truth import (
    campaign_conversion,
    campaign_lift_rows,
    holdout_purchase_probability,
    write_truth,
)
from huaxiang.landing import write_partition
from huaxiang.source_profile import remove_source_profile, write_source_profile

# Calendar days looked at before the first day, so that a run-up cut by the start keeps its slope.
CALENDAR_LOOKBACK_DAYS = 60


@dataclass
class World:
    config: GeneratorConfig
    clock: Clock
    population: Population
    catalog: Catalog
    campaigns: list[Campaign]


def _scenario_clock(config: GeneratorConfig, clock: Clock, home: Path | None) -> Clock:
    """The clock with the scenarios' weekly cycle and calendar demand factors."""
    if config.has("weekly"):
        clock = replace(clock, weekday_factors=WEEKLY_VISIT_FACTOR)
    if config.has("promotions") or config.has("cny_dip"):
        from huaxiang.business_calendar import load_calendar

        n_days = len(clock.day_start_us) - 1
        special = load_calendar(home).special_days(
            config.start - timedelta(days=CALENDAR_LOOKBACK_DAYS), clock.date(n_days - 1)
        )
        visit, buy = calendar_factors(config.scenarios, config.start, n_days, special)
        clock = replace(clock, visit_factor=visit, buy_factor=buy)
    return clock


def _sparse_buyers(config: GeneratorConfig, population: Population) -> np.ndarray:
    """Sparse buyers: individual purchase cycles, rarer visits; returns the first due day per user."""
    rng = rng_for(config.seed, SCENARIO_STREAM)
    interval = rng.uniform(*SPARSE_INTERVAL_DAYS, population.size)
    population.purchase_interval = interval
    population.visit_rate = population.visit_rate * SPARSE_VISIT_SCALE
    # Users are met at a random point of their cycle (new users: of their first cycle).
    return population.land_day + np.floor(rng.random(population.size) * interval).astype(np.int64)


def build_world(config: GeneratorConfig, home: Path | None = None) -> World:
    """`home`: where a `calendar.yml` extends the business calendar (promotions and cny_dip)."""
    # The calendar reaches past the holdout so that late reviews and truth windows can be dated.
    clock = Clock.build(config.start, config.days + config.holdout_days + REVIEW_DELAY_DAYS[1] + 2, config.timezone)
    clock = _scenario_clock(config, clock, home)
    population = build_population(
        config.users,
        config.days,
        clock,
        rng_for(config.seed, POPULATION_STREAM),
        signup_days=config.acquisition_stop_day,
    )
    return World(
        config=config,
        clock=clock,
        population=population,
        catalog=build_catalog(config.catalog_size, config.days, clock, rng_for(config.seed, CATALOG_STREAM)),
        campaigns=(
            []
            if config.has("purchase_only")
            else schedule_campaigns(config.days, clock, rng_for(config.seed, CAMPAIGN_STREAM))
        ),
    )


def _start_campaigns(world: World, state: SimState, day: int, lift_rows: list[dict[str, object]]) -> list[Assignment]:
    """Assign today's campaigns, open the treatment windows and record each campaign's true lift."""
    assignments = []
    for campaign in (c for c in world.campaigns if c.day == day):
        rng = rng_for(world.config.seed, CAMPAIGN_STREAM, day, campaign.number)
        assignment = assign(campaign, world.population, state.last_assigned_day, world.clock, rng)
        users = assignment.users
        state.last_assigned_day[users] = day
        treated = users[assignment.treated]
        sent = assignment.sent_us[assignment.treated]
        state.window_from_us[treated] = sent
        state.window_to_us[treated] = sent + EFFECT_DAYS * US_PER_DAY
        state.window_multiplier[treated] = 1 + persona_param("uplift")[world.population.persona[treated]]
        p_treated, p_control = campaign_conversion(
            assignment, world.population, state.alive, world.clock, state.next_due
        )
        lift_rows += campaign_lift_rows(assignment, world.population.persona[users], p_treated, p_control)
        assignments.append(assignment)
    return assignments


def _day_tables(
    world: World, state: SimState, day: int, activity: DayActivity, assignments: list[Assignment]
) -> dict[str, pa.Table]:
    population, catalog = world.population, world.catalog
    sends = []
    for assignment in assignments:
        sends.append(sends_table(assignment, state.next_send, population))
        state.next_send += len(assignment.users)
    empty_sends = RAW_TABLES["campaign_sends"].schema.empty_table()
    tables = {
        "users": population.rows(day),
        "products": catalog.rows(day),
        "events": events_table(activity.events, population, catalog),
        "orders": orders_table(activity.orders, population),
        "order_items": items_table(activity.items, catalog),
        "campaigns": campaign_rows([c for c in world.campaigns if c.day == day]),
        "campaign_sends": pa.concat_tables(sends) if sends else empty_sends,
        "reviews": reviews_table(take_reviews(state, day), population, catalog),
    }
    if state.seen is not None:
        tables = purchase_only_tables(tables, population, activity.orders, state.seen)
    return tables


def generate(config: GeneratorConfig, landing_dir: Path, truth_dir: Path, progress: bool = True) -> GenerationReport:
    """Land `config.days` business days of raw data and write the ground truth next to it.

    Holdout days are simulated after the landed days with the same process but not landed; they only
    decide `purchased_in_holdout` in the truth.
    """
    began = time.perf_counter()
    world = build_world(config, landing_dir.parent)
    population, catalog, clock = world.population, world.catalog, world.clock
    state = SimState.initial(population.size)
    if config.has("sparse_buyers"):
        state.next_due = _sparse_buyers(config, population)
    if config.has("purchase_only"):
        state.seen = np.zeros(population.size, bool)
    injector = BadRowInjector(config.bad_rate, population.id_width, catalog.id_width)
    rows = dict.fromkeys(RAW_TABLES, 0)
    day_rows: dict[str, dict[str, int]] = {name: {} for name in RAW_TABLES}
    lift_rows: list[dict[str, object]] = []
    purchased = np.zeros(population.size, bool)
    p_holdout = np.zeros(population.size)
    for day in tqdm(range(config.days + config.holdout_days), desc="generate", unit="day", disable=not progress):
        if day == config.days:
            p_holdout = holdout_purchase_probability(
                population, state.alive, clock, day, config.holdout_days, state.next_due
            )
        rng = rng_for(config.seed, DAY_STREAM, day)
        apply_churn(population, state, day, rng)
        landed = day < config.days
        assignments = _start_campaigns(world, state, day, lift_rows) if landed else []
        sampler = ProductSampler(catalog, catalog.available(day))
        activity = simulate_day(population, catalog, sampler, state, clock, day, rng)
        if landed:
            if not config.has("purchase_only"):
                schedule_reviews(state, activity.orders, clock, config.days, rng)
            tables = _day_tables(world, state, day, activity, assignments)
            bad_rng = rng_for(config.seed, BAD_ROW_STREAM, day)
            product_pool = catalog.product_ids[: catalog.available(day + 1)]
            for name, table in tables.items():
                table = injector.inject(name, table, bad_rng, product_pool)
                write_partition(landing_dir, name, clock.date(day), table)
                rows[name] += table.num_rows
                day_rows[name][clock.date(day).isoformat()] = table.num_rows
        else:
            purchased[activity.paid_users] = True
        catalog.apply_price_changes(day)
    known = None if state.seen is None else state.seen.copy()  # a purchase log knows its buyers only
    write_truth(truth_dir, population, p_holdout, purchased, lift_rows, injector.counts, known)
    if config.has("purchase_only"):
        # A purchase log is judged as one: the profile says which signals it lacks.
        write_source_profile(landing_dir, purchase_only_profile(config, day_rows))
    else:
        # No source profile is the strict (generator) profile: drop one an earlier ingest left behind.
        remove_source_profile(landing_dir)
    return GenerationReport(
        rows_per_table=rows,
        days=[clock.date(d) for d in range(config.days)],
        bad_rows=injector.counts,
        seconds=time.perf_counter() - began,
    )
