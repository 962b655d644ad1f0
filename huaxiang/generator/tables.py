"""Arrow tables in the raw contract's shape, built from a simulated day's numpy columns."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from huaxiang.contract import EVENT_TYPES, ORDER_STATUSES, PLATFORMS, VARIANTS
from huaxiang.generator.campaigns import Assignment, campaign_code
from huaxiang.generator.catalog import Catalog
from huaxiang.generator.columns import pick, strings, timestamps
from huaxiang.generator.ids import (
    EVENT_WIDTH,
    ORDER_WIDTH,
    REVIEW_WIDTH,
    SEND_WIDTH,
    SESSION_WIDTH,
    format_ids,
)
from huaxiang.generator.population import Population
from huaxiang.generator.reference import PERCENT_COUPON_ID, THRESHOLD_COUPONS
from huaxiang.generator.simulate import QUERY_TEXTS, REVIEW_TEXTS

COUPON_IDS = strings([c.coupon_id for c in THRESHOLD_COUPONS] + [PERCENT_COUPON_ID])
QUERIES = strings(QUERY_TEXTS)
REVIEWS = strings(REVIEW_TEXTS)


def _amount(cents: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(cents) / 100.0, pa.float64())


def events_table(events: dict[str, np.ndarray], population: Population, catalog: Catalog) -> pa.Table:
    return pa.table(
        {
            "event_id": format_ids("E", events["number"], EVENT_WIDTH),
            "user_id": pick(population.user_ids, events["user"]),
            "session_id": format_ids("S", events["session"], SESSION_WIDTH),
            "event_type": pick(strings(EVENT_TYPES), events["type"]),
            "product_id": pick(catalog.product_ids, events["product"], mask=events["product"] < 0),
            "search_query": pick(QUERIES, events["query"], mask=events["query"] < 0),
            "platform": pick(strings(PLATFORMS), events["platform"]),
            "occurred_at": timestamps(events["occurred_us"]),
        }
    )


def orders_table(orders: dict[str, np.ndarray], population: Population) -> pa.Table:
    gross, discount = orders["gross_cents"], orders["discount_cents"]
    return pa.table(
        {
            "order_id": format_ids("O", orders["number"], ORDER_WIDTH),
            "user_id": pick(population.user_ids, orders["user"]),
            "ordered_at": timestamps(orders["ordered_us"]),
            "status": pick(strings(ORDER_STATUSES), orders["status"]),
            "platform": pick(strings(PLATFORMS), orders["platform"]),
            "coupon_id": pick(COUPON_IDS, orders["coupon"], mask=orders["coupon"] < 0),
            "gross_amount": _amount(gross),
            "discount_amount": _amount(discount),
            "paid_amount": _amount(gross - discount),
        }
    )


def items_table(items: dict[str, np.ndarray], catalog: Catalog) -> pa.Table:
    return pa.table(
        {
            "order_id": format_ids("O", items["order"], ORDER_WIDTH),
            "product_id": pick(catalog.product_ids, items["product"]),
            "quantity": pa.array(items["quantity"].astype(np.int32)),
            "unit_price": _amount(items["unit_cents"]),
            "ordered_at": timestamps(items["ordered_us"]),
        }
    )


def reviews_table(reviews: dict[str, np.ndarray], population: Population, catalog: Catalog) -> pa.Table:
    return pa.table(
        {
            "review_id": format_ids("R", reviews["number"], REVIEW_WIDTH),
            "order_id": format_ids("O", reviews["order"], ORDER_WIDTH),
            "user_id": pick(population.user_ids, reviews["user"]),
            "product_id": pick(catalog.product_ids, reviews["product"]),
            "rating": pa.array(reviews["rating"].astype(np.int16)),
            "review_text": pick(REVIEWS, reviews["text"]),
            "created_at": timestamps(reviews["created_us"]),
        }
    )


def sends_table(assignment: Assignment, first_number: int, population: Population) -> pa.Table:
    count = len(assignment.users)
    campaign_id = campaign_code(assignment.campaign.number)
    return pa.table(
        {
            "send_id": format_ids("CS", first_number + np.arange(count), SEND_WIDTH),
            "campaign_id": pa.array([campaign_id] * count, pa.string()),
            "user_id": pick(population.user_ids, assignment.users),
            "variant": pick(strings(VARIANTS), np.where(assignment.treated, 0, 1)),
            "sent_at": timestamps(assignment.sent_us),
            "opened_at": timestamps(assignment.opened_us, mask=assignment.opened_us < 0),
            "clicked_at": timestamps(assignment.clicked_us, mask=assignment.clicked_us < 0),
        }
    )
