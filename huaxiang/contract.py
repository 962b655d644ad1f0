"""The raw data contract (ARCHITECTURE.md §3): what every source lands, one day at a time.

Every producer (the generator, every bring-your-own-data adapter) writes these tables as Parquet
files under `landing/<table>/date=YYYY-MM-DD/*.parquet`, where the date is the business-
timezone day of the row's `partition_column`. Timestamps are UTC. The raw loader adds
`_partition_date` when it copies a file into `raw.<table>`; nothing else is changed on the way in.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

UTC_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class RawTable:
    name: str
    schema: pa.Schema
    key: tuple[str, ...]
    # Column whose business-timezone date decides the landing partition.
    partition_column: str
    description: str


RAW_TABLES: dict[str, RawTable] = {
    t.name: t
    for t in [
        RawTable(
            "users",
            pa.schema(
                [
                    ("user_id", pa.string()),
                    ("gender", pa.string()),  # male | female | unknown
                    ("birth_date", pa.date32()),
                    ("city", pa.string()),
                    ("province", pa.string()),
                    ("city_tier", pa.int16()),  # 1 一线, 2 新一线, 3 二线, 4 三线, 5 四线及以下
                    ("registered_at", UTC_TS),
                    ("register_channel", pa.string()),
                    ("phone", pa.string()),
                    ("email", pa.string()),
                    ("marketing_consent", pa.bool_()),
                    ("updated_at", UTC_TS),
                ]
            ),
            key=("user_id",),
            partition_column="updated_at",
            description="User master data as dated upserts: a user appears on each day it was created or changed.",
        ),
        RawTable(
            "products",
            pa.schema(
                [
                    ("product_id", pa.string()),
                    ("title", pa.string()),
                    ("category_l1", pa.string()),
                    ("category_l2", pa.string()),
                    ("brand", pa.string()),
                    ("list_price", pa.float64()),
                    ("updated_at", UTC_TS),
                ]
            ),
            key=("product_id",),
            partition_column="updated_at",
            description="Product catalog as dated upserts.",
        ),
        RawTable(
            "events",
            pa.schema(
                [
                    ("event_id", pa.string()),
                    ("user_id", pa.string()),
                    ("session_id", pa.string()),
                    ("event_type", pa.string()),  # view search click add_to_cart favorite purchase
                    ("product_id", pa.string()),
                    ("search_query", pa.string()),
                    ("platform", pa.string()),  # app web mini_program
                    ("occurred_at", UTC_TS),
                ]
            ),
            key=("event_id",),
            partition_column="occurred_at",
            description="Behaviour events (clickstream).",
        ),
        RawTable(
            "orders",
            pa.schema(
                [
                    ("order_id", pa.string()),
                    ("user_id", pa.string()),
                    ("ordered_at", UTC_TS),
                    ("status", pa.string()),  # paid cancelled refunded
                    ("platform", pa.string()),
                    ("coupon_id", pa.string()),
                    ("gross_amount", pa.float64()),
                    ("discount_amount", pa.float64()),
                    ("paid_amount", pa.float64()),
                ]
            ),
            key=("order_id",),
            partition_column="ordered_at",
            description="Orders, one row per order.",
        ),
        RawTable(
            "order_items",
            pa.schema(
                [
                    ("order_id", pa.string()),
                    ("product_id", pa.string()),
                    ("quantity", pa.int32()),
                    ("unit_price", pa.float64()),
                    ("ordered_at", UTC_TS),
                ]
            ),
            key=("order_id", "product_id"),
            partition_column="ordered_at",
            description="Order lines; carries its order's timestamp so it lands in the same partition.",
        ),
        RawTable(
            "campaigns",
            pa.schema(
                [
                    ("campaign_id", pa.string()),
                    ("name", pa.string()),
                    ("channel", pa.string()),  # sms email push in_app
                    ("objective", pa.string()),
                    ("starts_at", UTC_TS),
                    ("ends_at", UTC_TS),
                    ("cost_per_send", pa.float64()),
                ]
            ),
            key=("campaign_id",),
            partition_column="starts_at",
            description="Marketing campaigns, landed on the day they start.",
        ),
        RawTable(
            "campaign_sends",
            pa.schema(
                [
                    ("send_id", pa.string()),
                    ("campaign_id", pa.string()),
                    ("user_id", pa.string()),
                    ("variant", pa.string()),  # treatment control
                    ("sent_at", UTC_TS),
                    ("opened_at", UTC_TS),
                    ("clicked_at", UTC_TS),
                ]
            ),
            key=("send_id",),
            partition_column="sent_at",
            description="One row per campaign touch; control-group rows are assigned but not sent.",
        ),
        RawTable(
            "reviews",
            pa.schema(
                [
                    ("review_id", pa.string()),
                    ("order_id", pa.string()),
                    ("user_id", pa.string()),
                    ("product_id", pa.string()),
                    ("rating", pa.int16()),
                    ("review_text", pa.string()),
                    ("created_at", UTC_TS),
                ]
            ),
            key=("review_id",),
            partition_column="created_at",
            description="Product reviews.",
        ),
    ]
}

EVENT_TYPES = ("view", "search", "click", "add_to_cart", "favorite", "purchase")
PLATFORMS = ("app", "web", "mini_program")
ORDER_STATUSES = ("paid", "cancelled", "refunded")
CHANNELS = ("sms", "email", "push", "in_app")
VARIANTS = ("treatment", "control")
