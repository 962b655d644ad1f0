"""The `purchase_only` scenario: the generated shop landed as a purchase log, and its source profile.

What lands is what `huaxiang ingest` lands from a purchase-only export (mappings/uci_online_retail.yml,
mappings/clv_transactions.yml): orders and their lines, one purchase event per paid-for line, the
product catalog, and a user only from the day of her first order (registered_at = first seen), with
no gender, birth date, city tier, contact or consent; no other behaviour events, no campaigns, no
reviews. The truth then lists the users the log knows (those with an order in the landed days).
`landing/_source.json` says so in the same facts the ingest records (huaxiang/ingest/profile.py), so
each gate judges the data as what it is.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from huaxiang.generator.columns import pick, strings, timestamps
from huaxiang.generator.config import GeneratorConfig
from huaxiang.generator.population import Population
from huaxiang.generator.reference import CITIES, REGISTER_CHANNELS
from huaxiang.source_profile import GENERATED, SourceProfile

ACTIVITY_TABLES = ("orders", "events")


def purchase_only_tables(
    tables: dict[str, pa.Table], population: Population, orders: dict[str, np.ndarray], seen: np.ndarray
) -> dict[str, pa.Table]:
    """A day's tables as a purchase log: purchase events only; a user lands with her first order.

    `orders`: the day's orders in time order; `seen`: users landed so far (updated in place)."""
    events = tables["events"]
    tables["events"] = events.filter(pc.equal(events["event_type"], "purchase"))
    users, first = np.unique(orders["user"], return_index=True)
    new = ~seen[users]
    users, first_us = users[new], orders["ordered_us"][first[new]]
    by_time = np.argsort(first_us, kind="stable")
    users, first_us = users[by_time], first_us[by_time]
    seen[users] = True
    base = population.rows(0).schema
    columns = {
        "user_id": pick(population.user_ids, users),
        "city": pick(strings([c.name for c in CITIES]), population.city[users]),
        "province": pick(strings([c.province for c in CITIES]), population.city[users]),
        "registered_at": timestamps(first_us),
        "register_channel": pick(strings(REGISTER_CHANNELS), population.channel[users]),
        "updated_at": timestamps(first_us),
    }
    tables["users"] = pa.table([columns.get(f.name, pa.nulls(len(users), f.type)) for f in base], schema=base)
    return tables


def purchase_only_profile(config: GeneratorConfig, day_rows: dict[str, dict[str, int]]) -> SourceProfile:
    """The facts an ingest of a purchase log records, for the generated purchase log."""
    days = sorted({day for rows in day_rows.values() for day in rows})
    active = {day for table in ACTIVITY_TABLES for day, n in day_rows[table].items() if n > 0}
    facts = {
        "kind": GENERATED,
        "every_day": len(active) == len(days),
        "whole_days": True,
        "recorded": True,
        "provides_campaigns": False,
        "provides_clickstream": False,
        "provides_demographics": False,
        "reviews_name_products": True,
        "provides_reviews": False,
        "provides_consent": False,
        # Users are first sightings in the log (they land with their first order); the catalog is exported.
        "derived_users": True,
        "derived_products": False,
    }
    notes = [
        f"huaxiang generate --scenario {','.join(config.scenarios)} (seed {config.seed}, {config.users:,} users "
        f"× {config.days} days): a purchase log without clickstream, campaigns, reviews, demographics or consent"
    ]
    if not facts["every_day"]:
        notes.append(f"{len(days) - len(active)} of {len(days)} days have no order or event")
    return SourceProfile(
        name="generated purchase log (scenario purchase_only)",
        kind=GENERATED,
        facts=facts,
        day_rows={table: {day: rows.get(day, 0) for day in days} for table, rows in day_rows.items()},
        notes=tuple(notes),
    )
