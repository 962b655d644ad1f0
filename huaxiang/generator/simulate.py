"""One simulated day: churn, visits, the event funnel, orders with their lines, and future reviews.

Long because a simulated day is one vectorised pass (churn, visits, funnel, orders, reviews)
whose stages hand each other the day's numpy columns.

Everything is vectorised over the day's visits, events and order lines; the only Python loops are
over personas, categories or days. A day's output is plain numpy columns (`DayActivity`); turning
them into Arrow tables is left to `tables.py`, so holdout days cost only the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from huaxiang.contract import EVENT_TYPES, ORDER_STATUSES
from huaxiang.generator.catalog import SUBCATEGORIES, Catalog, ProductSampler
from huaxiang.generator.clock import US_PER_DAY, US_PER_SECOND, Clock
from huaxiang.generator.personas import persona_cdf, persona_param
from huaxiang.generator.population import MAIN_PLATFORM_SHARE, Population, daily_visits
from huaxiang.generator.reference import (
    L1_NAMES,
    PERCENT_COUPON_RATE,
    THRESHOLD_COUPONS,
    review_texts,
    search_queries,
)
from huaxiang.generator.scenarios import SPARSE_MIN_GAP_DAYS, SPARSE_REGULARITY

MAX_BROWSE_EVENTS = 40
MAX_EXTRA_LINES = 3  # orders have 1..4 distinct products
BROWSE_GAP_S = (20, 70)  # minimum seconds between events + exponential mean
CHECKOUT_GAP_S = (30, 60)  # last add_to_cart -> payment
FIRST_VISIT_DELAY_S = (60, 600)  # a new user's first visit starts shortly after signing up
REVIEW_DELAY_DAYS = (1, 10)

VIEW, SEARCH, ADD_TO_CART, PURCHASE = (EVENT_TYPES.index(t) for t in ("view", "search", "add_to_cart", "purchase"))
PAID, CANCELLED, REFUNDED = (ORDER_STATUSES.index(s) for s in ("paid", "cancelled", "refunded"))
COUPON_THRESHOLDS = np.array([c.threshold_cents for c in THRESHOLD_COUPONS])
COUPON_AMOUNTS = np.array([c.amount_cents for c in THRESHOLD_COUPONS])
NO_COUPON = -1
PERCENT_COUPON = len(THRESHOLD_COUPONS)  # coupon code index of the percentage coupon


def _flat_text(groups: list[list[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Concatenate text groups; returns all texts, each group's offset and size."""
    sizes = np.array([len(g) for g in groups])
    return [t for g in groups for t in g], np.cumsum(sizes) - sizes, sizes


QUERY_TEXTS, QUERY_OFFSET, QUERY_COUNT = _flat_text([search_queries(L1_NAMES[l1], sub) for l1, sub in SUBCATEGORIES])
REVIEW_TEXTS, REVIEW_OFFSET, REVIEW_COUNT = _flat_text([review_texts(r) for r in range(1, 6)])


@dataclass
class SimState:
    """Per-user latent state carried from day to day, and running id counters."""

    alive: np.ndarray
    window_from_us: np.ndarray  # active campaign treatment window (from, to]
    window_to_us: np.ndarray
    window_multiplier: np.ndarray
    last_assigned_day: np.ndarray
    next_session: int = 1
    next_event: int = 1
    next_order: int = 1
    next_review: int = 1
    next_send: int = 1
    pending_reviews: dict[int, list[dict[str, np.ndarray]]] = field(default_factory=dict)
    # sparse_buyers: the day each user's next purchase is due (None without the scenario).
    next_due: np.ndarray | None = None
    # purchase_only: users landed so far (a purchase log knows a user from her first order).
    seen: np.ndarray | None = None

    @classmethod
    def initial(cls, users: int) -> SimState:
        return cls(
            alive=np.ones(users, bool),
            window_from_us=np.full(users, -1, np.int64),
            window_to_us=np.full(users, -1, np.int64),
            window_multiplier=np.ones(users),
            last_assigned_day=np.full(users, -(10**6), np.int64),
        )


@dataclass
class DayActivity:
    events: dict[str, np.ndarray]
    orders: dict[str, np.ndarray]
    items: dict[str, np.ndarray]
    paid_users: np.ndarray


def _choose(cdf: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row of a row-wise cumulative distribution."""
    return (rng.random(len(cdf))[:, None] >= cdf).sum(axis=1)


def _draw_products(
    population: Population, users: np.ndarray, sampler: ProductSampler, rng: np.random.Generator
) -> np.ndarray:
    l1 = _choose(population.category_cdf[users], rng)
    return sampler.draw(population.persona[users], l1, rng)


def apply_churn(population: Population, state: SimState, day: int, rng: np.random.Generator) -> None:
    """Users registered before `day` leave for good with their persona's daily hazard."""
    hazard = persona_param("churn_hazard")[population.persona]
    leaving = (population.land_day < day) & (rng.random(population.size) < hazard)
    state.alive &= ~leaving


def _order_lines(
    population: Population,
    buyers: np.ndarray,
    catalog: Catalog,
    sampler: ProductSampler,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order lines (order index, product, quantity); a product drawn twice becomes one line."""
    persona = population.persona[buyers]
    drawn = 1 + rng.binomial(MAX_EXTRA_LINES, persona_param("extra_line")[persona])
    order = np.repeat(np.arange(len(buyers)), drawn)
    product = _draw_products(population, buyers[order], sampler, rng)
    keys, counts = np.unique(order * catalog.size + product, return_counts=True)
    order, product = keys // catalog.size, keys % catalog.size
    more = rng.random(len(keys)) < persona_param("extra_quantity")[population.persona[buyers[order]]]
    quantity = counts + np.where(more, rng.integers(1, 4, len(keys)), 0)
    return order, product, quantity


def _coupons(gross: np.ndarray, uses_coupon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best applicable 满减 coupon, or the percentage coupon below the smallest threshold."""
    best = np.searchsorted(COUPON_THRESHOLDS, gross, side="right") - 1
    percent = np.maximum(np.rint(gross * PERCENT_COUPON_RATE), 1).astype(np.int64)
    discount = np.where(best >= 0, COUPON_AMOUNTS[np.maximum(best, 0)], percent)
    code = np.where(best >= 0, best, PERCENT_COUPON)
    return np.where(uses_coupon, code, NO_COUPON), np.where(uses_coupon, discount, 0)


def _event_offsets(
    first: np.ndarray,
    session_of: np.ndarray,
    checkout: np.ndarray,
    is_purchase: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Microseconds since the session start: minutes between browse steps, a second between paid lines."""
    total = len(session_of)
    gap_s = BROWSE_GAP_S[0] + rng.exponential(BROWSE_GAP_S[1], total)
    gap_s = np.where(checkout, CHECKOUT_GAP_S[0] + rng.exponential(CHECKOUT_GAP_S[1], total), gap_s)
    gap_s = np.where(is_purchase & ~checkout, 1.0, gap_s)
    gap = (gap_s * US_PER_SECOND).astype(np.int64)
    gap[first] = 0
    offset = np.cumsum(gap)
    return offset - offset[first][session_of]


@dataclass
class _Visits:
    users: np.ndarray  # one visit (session) per visiting user
    persona: np.ndarray
    start_us: np.ndarray
    platform: np.ndarray
    buys: np.ndarray  # indices of the visits that end in an order


@dataclass
class _Funnel:
    session_of: np.ndarray  # visit index of each event, events grouped by visit in step order
    first: np.ndarray  # index of each visit's first event
    last: np.ndarray  # index of each visit's last event
    n_browse: np.ndarray
    event_type: np.ndarray
    product: np.ndarray  # -1 for searches
    query: np.ndarray  # -1 unless a search
    offset_us: np.ndarray  # time since the visit started


def _draw_visits(population: Population, state: SimState, clock: Clock, day: int, rng: np.random.Generator) -> _Visits:
    """Who visits, when (local hour profile), on which platform, and whether the visit ends in an order.

    Scenarios: a demand factor above the one-visit cap brings further visits (a user may visit
    several times on a promotion day) and multiplies the chance to buy; a sparse buyer visits on the
    day a purchase is due and buys then, other visits buy only from the lift of a promotion or a
    campaign treatment.
    """
    begin, _ = clock.bounds(day)
    newcomer = (population.land_day == day) & (population.registered_us >= begin)
    present = state.alive & (population.land_day <= day)
    first_visit, more_visits = daily_visits(population, clock, day)
    visit_draw = rng.random(population.size) < first_visit
    forced = newcomer
    due = None
    if state.next_due is not None:
        due = state.next_due == day
        forced = newcomer | due
    users = np.flatnonzero(present & (visit_draw | forced))
    primary = np.ones(len(users), bool)  # the user's first visit of the day
    if more_visits is not None:
        more = rng.poisson(np.where(present, more_visits, 0.0))
        users = np.concatenate([users, np.repeat(np.arange(population.size), more)])
        primary = np.arange(len(users)) < len(primary)
    persona = population.persona[users]
    n = len(users)

    hour = _choose(persona_cdf("hours")[persona], rng)
    start = clock.at_fraction(day, (hour + rng.random(n)) / 24)
    first_delay = rng.integers(*FIRST_VISIT_DELAY_S, n) * US_PER_SECOND
    start = np.where(newcomer[users] & primary, population.registered_us[users] + first_delay, start)
    usual = rng.random(n) < MAIN_PLATFORM_SHARE
    other = _choose(persona_cdf("platforms")[persona], rng)
    platform = np.where(usual, population.main_platform[users], other)

    # A running campaign treatment lifts the chance that the visit ends in an order.
    treated = (start > state.window_from_us[users]) & (start <= state.window_to_us[users])
    multiplier = np.where(treated, state.window_multiplier[users], 1.0)
    if clock.shapes_demand:
        multiplier = multiplier * clock.buy_multiplier(day)
    if due is not None:
        lift = np.minimum(population.buy_rate[users] * np.maximum(multiplier - 1.0, 0.0), 1.0)
        buys = np.flatnonzero((due[users] & primary) | (rng.random(n) < lift))
    else:
        buys = np.flatnonzero(rng.random(n) < np.minimum(population.buy_rate[users] * multiplier, 1.0))
    return _Visits(users, persona, start, platform, buys)


def _funnel(
    visits: _Visits,
    lines_per_order: np.ndarray,
    line_product: np.ndarray,
    population: Population,
    catalog: Catalog,
    sampler: ProductSampler,
    rng: np.random.Generator,
) -> _Funnel:
    """Events of each visit: browse steps, then per order line an add_to_cart and, at checkout, a purchase."""
    n = len(visits.users)
    n_browse = 1 + np.minimum(
        rng.poisson(persona_param("events_per_session")[visits.persona] - 1), MAX_BROWSE_EVENTS - 1
    )
    n_lines = np.zeros(n, np.int64)
    n_lines[visits.buys] = lines_per_order
    n_events = n_browse + 2 * n_lines
    session_of = np.repeat(np.arange(n), n_events)
    first = np.cumsum(n_events) - n_events
    position = np.arange(len(session_of)) - first[session_of]
    step = position - n_browse[session_of]  # < 0 while browsing, then cart lines, then purchase lines
    is_browse = step < 0
    is_cart = ~is_browse & (step < n_lines[session_of])
    is_purchase = ~is_browse & ~is_cart
    checkout = is_purchase & (step == n_lines[session_of])

    event_persona = visits.persona[session_of]
    browse_type = _choose(persona_cdf("browse_mix")[event_persona], rng)
    opens_with_search = rng.random(len(session_of)) < persona_param("first_search")[event_persona]
    browse_type = np.where(position == 0, np.where(opens_with_search, SEARCH, VIEW), browse_type)
    event_type = np.select([is_browse, is_cart], [browse_type, ADD_TO_CART], PURCHASE)

    product = np.empty(len(session_of), np.int64)
    product[is_browse] = _draw_products(population, visits.users[session_of[is_browse]], sampler, rng)
    order_of_visit = np.full(n, -1)
    order_of_visit[visits.buys] = np.arange(len(visits.buys))
    line_start = np.cumsum(lines_per_order) - lines_per_order
    in_order = ~is_browse
    line_step = np.where(is_cart, step, step - n_lines[session_of])[in_order]
    product[in_order] = line_product[line_start[order_of_visit[session_of[in_order]]] + line_step]
    is_search = event_type == SEARCH
    l2 = catalog.l2[product[is_search]]
    query = np.full(len(session_of), -1)
    query[is_search] = QUERY_OFFSET[l2] + (rng.random(len(l2)) * QUERY_COUNT[l2]).astype(np.int64)

    offset = _event_offsets(first, session_of, checkout, is_purchase, rng)
    last = first + n_events - 1
    return _Funnel(session_of, first, last, n_browse, event_type, np.where(is_search, -1, product), query, offset)


def _checkout(
    gross: np.ndarray, persona: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coupon, discount and final status of each order."""
    uses_coupon = rng.random(len(persona)) < persona_param("coupon_rate")[persona]
    coupon, discount = _coupons(gross, uses_coupon)
    draw = rng.random(len(persona))
    cancel = persona_param("cancel_rate")[persona]
    refund = persona_param("refund_rate")[persona]
    status = np.select([draw < cancel, draw < cancel + refund], [CANCELLED, REFUNDED], PAID)
    return coupon, discount, status


def simulate_day(
    population: Population,
    catalog: Catalog,
    sampler: ProductSampler,
    state: SimState,
    clock: Clock,
    day: int,
    rng: np.random.Generator,
) -> DayActivity:
    """Simulate one day's visits, their events and orders; ids are numbered in time order."""
    visits = _draw_visits(population, state, clock, day, rng)
    buyers = visits.users[visits.buys]
    line_order, line_product, quantity = _order_lines(population, buyers, catalog, sampler, rng)
    lines_per_order = np.bincount(line_order, minlength=len(buyers))
    funnel = _funnel(visits, lines_per_order, line_product, population, catalog, sampler, rng)

    # Keep each whole visit inside its business day, so that it lands in one partition.
    begin, end = clock.bounds(day)
    duration = funnel.offset_us[funnel.last]
    start = np.maximum(np.minimum(visits.start_us, end - 1 - duration), begin)
    occurred = start[funnel.session_of] + funnel.offset_us

    # One order per buying visit, placed at the first purchase event (checkout).
    ordered = occurred[funnel.first[visits.buys] + funnel.n_browse[visits.buys] + lines_per_order]
    line_cents = quantity * catalog.price_cents[line_product]
    gross = np.rint(np.bincount(line_order, weights=line_cents, minlength=len(buyers))).astype(np.int64)
    order_persona = visits.persona[visits.buys]
    coupon, discount, status = _checkout(gross, order_persona, rng)

    # Number visits, events and orders in time order, so that ids sort like time.
    session_number = _number_in_order(start, state.next_session)
    state.next_session += len(start)
    by_time = np.argsort(occurred, kind="stable")
    event_number = state.next_event + np.arange(len(by_time))
    state.next_event += len(by_time)
    order_number = _number_in_order(ordered, state.next_order)
    state.next_order += len(buyers)
    if state.next_due is not None:
        _reschedule_purchases(population, state, day, buyers, status, rng)
    by_order = np.argsort(order_number, kind="stable")
    by_line = np.lexsort((line_product, order_number[line_order]))
    session_of = funnel.session_of[by_time]
    first_line = np.cumsum(lines_per_order) - lines_per_order

    return DayActivity(
        events={
            "number": event_number,
            "user": visits.users[session_of],
            "session": session_number[session_of],
            "type": funnel.event_type[by_time],
            "product": funnel.product[by_time],
            "query": funnel.query[by_time],
            "platform": visits.platform[session_of],
            "occurred_us": occurred[by_time],
        },
        orders={
            "number": order_number[by_order],
            "user": buyers[by_order],
            "persona": order_persona[by_order],
            "ordered_us": ordered[by_order],
            "status": status[by_order],
            "platform": visits.platform[visits.buys][by_order],
            "coupon": coupon[by_order],
            "gross_cents": gross[by_order],
            "discount_cents": discount[by_order],
            "first_product": line_product[first_line][by_order],
        },
        items={
            "order": order_number[line_order][by_line],
            "product": line_product[by_line],
            "quantity": quantity[by_line],
            "unit_cents": catalog.price_cents[line_product][by_line],
            "ordered_us": ordered[line_order][by_line],
        },
        paid_users=np.unique(buyers[status == PAID]),
    )


def _reschedule_purchases(
    population: Population,
    state: SimState,
    day: int,
    buyers: np.ndarray,
    status: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Sparse buyers: a paid order, or the order of a purchase that was due, starts the next cycle."""
    assert state.next_due is not None and population.purchase_interval is not None
    restart = np.unique(np.concatenate([buyers[status == PAID], buyers[state.next_due[buyers] == day]]))
    gap = population.purchase_interval[restart] * rng.gamma(SPARSE_REGULARITY, 1 / SPARSE_REGULARITY, len(restart))
    state.next_due[restart] = day + np.maximum(np.rint(gap).astype(np.int64), SPARSE_MIN_GAP_DAYS)


def _number_in_order(times: np.ndarray, first_number: int) -> np.ndarray:
    number = np.empty(len(times), np.int64)
    number[np.argsort(times, kind="stable")] = first_number + np.arange(len(times))
    return number


def schedule_reviews(
    state: SimState, orders: dict[str, np.ndarray], clock: Clock, landed_days: int, rng: np.random.Generator
) -> None:
    """Some paid orders get a review a few days later; it waits in `pending_reviews` for its day.

    Reviews that would be created after the last landed day are dropped, never landed.
    """
    persona = orders["persona"]
    reviewed = (orders["status"] == PAID) & (rng.random(len(persona)) < persona_param("review_rate")[persona])
    low, high = REVIEW_DELAY_DAYS
    delay = rng.integers(low, high + 1, len(persona)) * US_PER_DAY + rng.integers(0, US_PER_DAY, len(persona))
    created = orders["ordered_us"] + delay
    created_day = clock.day_of(created)
    rating = 1 + _choose(persona_cdf("ratings")[persona], rng)
    text = REVIEW_OFFSET[rating - 1] + (rng.random(len(persona)) * REVIEW_COUNT[rating - 1]).astype(np.int64)
    keep = reviewed & (created_day < landed_days)
    for day in np.unique(created_day[keep]):
        chosen = keep & (created_day == day)
        state.pending_reviews.setdefault(int(day), []).append(
            {
                "order": orders["number"][chosen],
                "user": orders["user"][chosen],
                "product": orders["first_product"][chosen],
                "rating": rating[chosen],
                "text": text[chosen],
                "created_us": created[chosen],
            }
        )


def take_reviews(state: SimState, day: int) -> dict[str, np.ndarray]:
    """The reviews created on `day`, in time order and numbered."""
    batches = state.pending_reviews.pop(day, [])
    columns = ("order", "user", "product", "rating", "text", "created_us")
    merged = {c: np.concatenate([np.zeros(0, np.int64), *(b[c] for b in batches)]) for c in columns}
    by_time = np.argsort(merged["created_us"], kind="stable")
    reviews = {c: v[by_time] for c, v in merged.items()}
    reviews["number"] = state.next_review + np.arange(len(by_time))
    state.next_review += len(by_time)
    return reviews
