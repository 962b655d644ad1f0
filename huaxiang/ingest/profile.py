"""The source profile an ingest records in `landing/_source.json` (see huaxiang.source_profile)."""

from __future__ import annotations

from datetime import date

import duckdb

from huaxiang.contract import RAW_TABLES
from huaxiang.ingest.mapping import Mapping
from huaxiang.ingest.tables import DAY, BuiltTable
from huaxiang.source_profile import INGESTED, SourceProfile

# Tables whose rows mark a day as a business day of the shop (users and products are upserts).
ACTIVITY_TABLES = ("orders", "events")


def _derived(mapping: Mapping, table: str) -> bool:
    """The table is built from a source that also feeds an activity table (orders, order lines,
    events): its rows are the log's first sightings, so its volume follows the log's."""
    if table not in mapping.tables:
        return False
    source = mapping.tables[table].from_
    return any(
        spec.from_ == source for name, spec in mapping.tables.items() if name in (*ACTIVITY_TABLES, "order_items")
    )


def _rows(con: duckdb.DuckDBPyConnection, built: dict[str, BuiltTable], table: str, where: str = "true") -> int:
    if table not in built:
        return 0
    return con.execute(f"SELECT count(*) FROM {built[table].plan.output} WHERE {where}").fetchone()[0]


def build_source_profile(
    con: duckdb.DuckDBPyConnection, mapping: Mapping, built: dict[str, BuiltTable], days: list[date]
) -> SourceProfile:
    """Facts about what was landed, computed on the landed rows (not on what the mapping names)."""
    day_rows: dict[str, dict[str, int]] = {}
    for table in RAW_TABLES:
        counts: dict[str, int] = {day.isoformat(): 0 for day in days}
        if table in built:
            rows = con.execute(f"SELECT {DAY}, count(*) FROM {built[table].plan.output} GROUP BY 1").fetchall()
            counts.update({day.isoformat(): int(n) for day, n in rows})
        day_rows[table] = counts

    active = {day for table in ACTIVITY_TABLES for day, n in day_rows[table].items() if n > 0}
    calendar_days = (days[-1] - days[0]).days + 1 if days else 0
    user_columns = mapping.tables["users"].columns if "users" in mapping.tables else {}
    facts = {
        "kind": INGESTED,
        "every_day": bool(days) and len(active) == calendar_days,
        "whole_days": mapping.whole_days,
        "recorded": True,
        "provides_campaigns": _rows(con, built, "campaigns") + _rows(con, built, "campaign_sends") > 0,
        "provides_clickstream": _rows(con, built, "events", "event_type IS DISTINCT FROM 'purchase'") > 0,
        "provides_demographics": _rows(
            con,
            built,
            "users",
            "gender IN ('male', 'female') OR birth_date IS NOT NULL OR city_tier IS NOT NULL",
        )
        > 0,
        "reviews_name_products": _rows(con, built, "reviews", "product_id IS NULL") == 0,
        "provides_reviews": _rows(con, built, "reviews") > 0,
        "provides_consent": "marketing_consent" in user_columns,
        **{f"derived_{table}": _derived(mapping, table) for table in ("users", "products")},
    }
    notes = []
    if days and not facts["every_day"]:
        notes.append(
            f"{calendar_days - len(active)} of {calendar_days} calendar days between {days[0]} and {days[-1]} "
            "have no order or event: days without data are normal for this source"
        )
    if not facts["reviews_name_products"]:
        unnamed = _rows(con, built, "reviews", "product_id IS NULL")
        notes.append(
            f"{unnamed:,} of {_rows(con, built, 'reviews'):,} reviews name no product (a review of an order "
            "without product lines)"
        )
    if not facts["whole_days"]:
        notes.append("not declared a 24-hour feed (mapping `whole_days`): a day's last row may be early")
    return SourceProfile(name=mapping.name, kind=INGESTED, facts=facts, day_rows=day_rows, notes=tuple(notes))
