"""A small hand-made raw dataset for the dbt tests: a few users, four landed days, and one bad row
for every reject reason staging knows, each recorded with the reason it must be rejected for.

Times are written as business-local wall clock (Asia/Shanghai) and stored as UTC, as every source
does; a row's landing day is the local date of its partition column unless a fault says otherwise.
Long because it is data: one bad row per reject reason per table, each beside the reason it must get.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa

from huaxiang.contract import RAW_TABLES
from huaxiang.landing import write_partition
from huaxiang.warehouse import connect, load_partition

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
OLD_DAY = date(2024, 1, 15)
DAY1, DAY2, DAY3 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)
DAYS = (OLD_DAY, DAY1, DAY2, DAY3)

# The hand-checked user: paid 80 (OLD_DAY), 100 with a coupon (DAY1), 50 (DAY2); cancelled 30 (DAY3).
CHECKED_USER = "u1"
CHECKED_PHONE = "+86 138-0013-8000"
CHECKED_EMAIL = " Alice@Example.COM "

BROKEN = "\ufffd"  # what a failed decode leaves behind
CONTROL = "\x01"


# The ML assets' output tables, which the marts read (dbt source `ml`). Tests that build dbt without
# running the ML assets create them empty: no user is scored, model tags stay null.
ML_TABLES = {
    "user_clusters": "user_id varchar, cluster_id integer, cluster_name varchar",
    "purchase_propensity": "user_id varchar, score double, decile integer, as_of date, model_version varchar",
    "user_recommendations": (
        "user_id varchar, rank integer, product_id varchar, score double, source varchar, as_of date"
    ),
}


def create_ml_tables(warehouse: Path) -> None:
    """Create the `ml` source tables empty, unless they exist."""
    with connect(warehouse) as conn:
        conn.execute("create schema if not exists ml")
        for table, columns in ML_TABLES.items():
            conn.execute(f"create table if not exists ml.{table} ({columns})")


def local(text: str) -> datetime:
    """A business-local wall-clock time ('2024-03-01 09:00') as the UTC instant sources store."""
    return datetime.fromisoformat(text).replace(tzinfo=BUSINESS_TZ).astimezone(UTC)


@dataclass(frozen=True)
class ExpectedReject:
    table: str
    reason: str
    # Column values that identify the bad row in `stg_<table>_rejected`.
    match: dict


@dataclass
class RawFixture:
    rows: dict[str, dict[date, list[dict]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    rejects: list[ExpectedReject] = field(default_factory=list)

    def add(self, table: str, day: date, row: dict) -> None:
        self.rows[table][day].append(row)

    def bad(self, table: str, day: date, row: dict, reason: str, **match) -> None:
        """Land a bad row; `match` holds column values that find it among the rejects."""
        self.add(table, day, row)
        self.rejects.append(ExpectedReject(table, reason, match))

    def land(self, landing_dir: Path) -> None:
        for table, days in self.rows.items():
            for day, rows in days.items():
                write_partition(landing_dir, table, day, pa.Table.from_pylist(rows, RAW_TABLES[table].schema))

    def load(self, landing_dir: Path, warehouse: Path) -> None:
        """Load every table for every fixture day (a day without a file becomes empty)."""
        with connect(warehouse) as conn:
            for table in RAW_TABLES:
                for day in DAYS:
                    load_partition(conn, landing_dir, table, day)

    def raw_rows(self, table: str, day: date) -> int:
        return len(self.rows[table].get(day, []))


def user(user_id, updated_at, **overrides) -> dict:
    row = {
        "user_id": user_id,
        "gender": "F",
        "birth_date": date(1990, 6, 15),
        "city": "杭州",
        "province": "浙江",
        "city_tier": 2,
        "registered_at": local("2024-01-10 20:00"),
        "register_channel": " App_Store ",
        "phone": "13900000000",
        "email": f"{user_id}@example.com",
        "marketing_consent": True,
        "updated_at": updated_at,
    }
    return {**row, **overrides}


def product(product_id, **overrides) -> dict:
    row = {
        "product_id": product_id,
        "title": f"商品 {product_id}",
        "category_l1": "美妆",
        "category_l2": "护肤",
        "brand": "花想",
        "list_price": 99.0,
        "updated_at": local("2024-01-15 08:00"),
    }
    return {**row, **overrides}


def event(event_id, user_id, occurred, event_type="view", platform="app", **overrides) -> dict:
    row = {
        "event_id": event_id,
        "user_id": user_id,
        "session_id": f"s-{user_id}-{occurred[:10]}",
        "event_type": event_type,
        "product_id": "p1",
        "search_query": None,
        "platform": platform,
        "occurred_at": local(occurred),
    }
    return {**row, **overrides}


def order(order_id, user_id, ordered, paid, status="paid", coupon_id=None, discount=0.0, **overrides) -> dict:
    row = {
        "order_id": order_id,
        "user_id": user_id,
        "ordered_at": local(ordered),
        "status": status,
        "platform": "app",
        "coupon_id": coupon_id,
        "gross_amount": paid + discount,
        "discount_amount": discount,
        "paid_amount": paid,
    }
    return {**row, **overrides}


def item(order_id, product_id, ordered, quantity=1, unit_price=10.0, **overrides) -> dict:
    row = {
        "order_id": order_id,
        "product_id": product_id,
        "quantity": quantity,
        "unit_price": unit_price,
        "ordered_at": local(ordered),
    }
    return {**row, **overrides}


def campaign(campaign_id, starts, **overrides) -> dict:
    row = {
        "campaign_id": campaign_id,
        "name": f"春季活动 {campaign_id}",
        "channel": "sms",
        "objective": "reactivation",
        "starts_at": local(starts),
        "ends_at": local("2024-03-31 23:00"),
        "cost_per_send": 0.05,
    }
    return {**row, **overrides}


def send(send_id, user_id, sent, variant="treatment", opened=None, clicked=None, **overrides) -> dict:
    row = {
        "send_id": send_id,
        "campaign_id": "c1",
        "user_id": user_id,
        "variant": variant,
        "sent_at": local(sent),
        "opened_at": local(opened) if opened else None,
        "clicked_at": local(clicked) if clicked else None,
    }
    return {**row, **overrides}


def review(review_id, user_id, order_id, created, rating=5, **overrides) -> dict:
    row = {
        "review_id": review_id,
        "order_id": order_id,
        "user_id": user_id,
        "product_id": "p1",
        "rating": rating,
        "review_text": "很好用，会回购",
        "created_at": local(created),
    }
    return {**row, **overrides}


def build_fixture() -> RawFixture:
    f = RawFixture()
    future = "2024-03-09 10:00"  # local time well after the day these rows land in

    # users: u1 changes city on DAY2 (a superseded version, not a reject); u2, u3 plain.
    f.add("users", OLD_DAY, user("u1", local("2024-01-15 09:00"), phone=CHECKED_PHONE, email=CHECKED_EMAIL))
    f.add("users", OLD_DAY, user("u2", local("2024-01-15 09:30"), gender="male"))
    f.bad("users", OLD_DAY, user("u2", local("2024-01-15 09:30"), gender="male"), "duplicate", user_id="u2")
    f.add("users", DAY1, user("u3", local("2024-03-01 07:00"), gender=None, birth_date=None))
    f.add(
        "users",
        DAY2,
        user(
            "u1",
            local("2024-03-02 12:00"),
            city="上海",
            province="上海",
            city_tier=1,
            phone=CHECKED_PHONE,
            email=CHECKED_EMAIL,
        ),
    )
    f.bad("users", DAY1, user(None, local("2024-03-01 08:00"), city="无名"), "null_key", city="无名")
    f.bad("users", DAY1, user("u8", local(future)), "future_timestamp", user_id="u8")
    f.bad("users", DAY1, user("u9", local("2024-03-01 09:00"), city=f"杭{BROKEN}州"), "malformed_text", user_id="u9")

    # products
    for product_id in ("p1", "p2"):
        f.add("products", OLD_DAY, product(product_id))
    f.bad("products", OLD_DAY, product("p1"), "duplicate", product_id="p1")
    f.bad("products", OLD_DAY, product(None, title="无编号"), "null_key", title="无编号")
    f.bad("products", OLD_DAY, product("p4", list_price=-5.0), "negative_amount", product_id="p4")
    f.bad("products", OLD_DAY, product("p5", title=f"坏{CONTROL}标题"), "malformed_text", product_id="p5")
    f.bad("products", DAY1, product("p6", updated_at=local(future)), "future_timestamp", product_id="p6")

    # events: u1 on every day, including 01:30 local on DAY1 (still the previous day in UTC).
    f.add("events", OLD_DAY, event("e01", "u1", "2024-01-15 10:00"))
    f.add("events", DAY1, event("e11", "u1", "2024-03-01 01:30", platform="web"))
    f.add("events", DAY1, event("e12", "u1", "2024-03-01 20:15", "add_to_cart", platform="mini_program"))
    f.add("events", DAY1, event("e13", "u1", "2024-03-01 20:20", "purchase", platform="mini_program"))
    f.add("events", DAY1, event("e14", "u2", "2024-03-01 12:00", "search", product_id=None, search_query="面霜"))
    f.bad(
        "events",
        DAY1,
        event("e14", "u2", "2024-03-01 12:00", "search", product_id=None, search_query="面霜"),
        "duplicate",
        event_id="e14",
    )
    f.bad("events", DAY1, event(None, "u2", "2024-03-01 12:01", session_id="s-nokey"), "null_key", session_id="s-nokey")
    f.bad("events", DAY1, event("e15", "ghost", "2024-03-01 12:02"), "orphan_user", event_id="e15")
    f.bad("events", DAY1, event("e16", "u2", future), "future_timestamp", event_id="e16")
    f.bad(
        "events",
        DAY1,
        event("e17", "u2", "2024-03-01 12:03", "search", search_query=f"面{BROKEN}霜"),
        "malformed_text",
        event_id="e17",
    )
    f.bad("events", DAY1, event("e18", "u2", "2024-03-01 12:04", "teleport"), "invalid_code", event_id="e18")
    f.bad("events", DAY1, event("e19", "u2", "2024-02-29 12:04"), "partition_mismatch", event_id="e19")
    f.add("events", DAY2, event("e21", "u1", "2024-03-02 09:00", " VIEW ", platform="App"))
    f.add("events", DAY2, event("e22", "u1", "2024-03-02 09:05", "click"))
    f.add("events", DAY2, event("e23", "u3", "2024-03-02 23:30", "favorite", platform="web"))
    f.add("events", DAY3, event("e31", "u1", "2024-03-03 14:00"))

    # orders: u1 paid 80, 100 (coupon), 50 and cancelled 30; u2 paid 200.
    f.add("orders", OLD_DAY, order("o01", "u1", "2024-01-15 10:05", 80.0))
    f.add("orders", DAY1, order("o11", "u1", "2024-03-01 20:21", 100.0, coupon_id="CPN10", discount=10.0))
    f.add("orders", DAY2, order("o21", "u1", "2024-03-02 09:10", 50.0))
    f.add("orders", DAY3, order("o31", "u1", "2024-03-03 14:05", 30.0, status="cancelled"))
    f.add("orders", DAY3, order("o32", "u2", "2024-03-03 15:00", 200.0, status=" PAID "))
    f.bad("orders", DAY2, order("o21", "u1", "2024-03-02 09:10", 50.0), "duplicate", order_id="o21")
    f.bad("orders", DAY2, order(None, "u2", "2024-03-02 10:00", 1.0, coupon_id="NOKEY"), "null_key", coupon_id="NOKEY")
    f.bad("orders", DAY2, order("o23", "ghost", "2024-03-02 10:00", 5.0), "orphan_user", order_id="o23")
    f.bad("orders", DAY2, order("o24", "u2", "2024-03-02 10:00", -5.0), "negative_amount", order_id="o24")
    f.bad("orders", DAY2, order("o25", "u2", future, 5.0), "future_timestamp", order_id="o25")
    f.bad(
        "orders",
        DAY2,
        order("o26", "u2", "2024-03-02 10:00", 5.0, coupon_id=f"C{CONTROL}"),
        "malformed_text",
        order_id="o26",
    )
    f.bad("orders", DAY2, order("o27", "u2", "2024-03-02 10:00", 5.0, status="lost"), "invalid_code", order_id="o27")

    # order_items
    f.add("order_items", OLD_DAY, item("o01", "p1", "2024-01-15 10:05", 2, 40.0))
    f.add("order_items", DAY1, item("o11", "p1", "2024-03-01 20:21", 1, 60.0))
    f.add("order_items", DAY1, item("o11", "p2", "2024-03-01 20:21", 2, 25.0))
    f.add("order_items", DAY2, item("o21", "p2", "2024-03-02 09:10", 1, 50.0))
    f.add("order_items", DAY3, item("o31", "p1", "2024-03-03 14:05", 1, 30.0))
    f.add("order_items", DAY3, item("o32", "p2", "2024-03-03 15:00", 4, 50.0))
    f.bad(
        "order_items",
        DAY2,
        item("o21", "p2", "2024-03-02 09:10", 1, 50.0),
        "duplicate",
        order_id="o21",
        product_id="p2",
    )
    f.bad("order_items", DAY2, item(None, "p1", "2024-03-02 09:10", 7), "null_key", quantity=7)
    f.bad(
        "order_items",
        DAY2,
        item("o21", "p1", "2024-03-02 09:10", 0),
        "negative_amount",
        order_id="o21",
        product_id="p1",
    )
    f.bad("order_items", DAY2, item("o21", "p3", future), "future_timestamp", order_id="o21", product_id="p3")
    f.bad("order_items", DAY2, item("o21", f"p{BROKEN}", "2024-03-02 09:10"), "malformed_text", product_id=f"p{BROKEN}")
    f.bad("order_items", DAY2, item("o99", "p1", "2024-03-02 09:10"), "orphan_order", order_id="o99")

    # campaigns
    f.add("campaigns", DAY1, campaign("c1", "2024-03-01 09:00"))
    f.bad("campaigns", DAY1, campaign("c1", "2024-03-01 09:00"), "duplicate", campaign_id="c1")
    f.bad("campaigns", DAY1, campaign(None, "2024-03-01 09:00", name="无编号活动"), "null_key", name="无编号活动")
    f.bad(
        "campaigns", DAY1, campaign("c3", "2024-03-01 09:00", cost_per_send=-0.1), "negative_amount", campaign_id="c3"
    )
    f.bad("campaigns", DAY1, campaign("c4", future), "future_timestamp", campaign_id="c4")
    f.bad(
        "campaigns", DAY1, campaign("c5", "2024-03-01 09:00", name=f"活{BROKEN}动"), "malformed_text", campaign_id="c5"
    )
    f.bad("campaigns", DAY1, campaign("c6", "2024-03-01 09:00", channel="pigeon"), "invalid_code", campaign_id="c6")

    # campaign_sends: u1 opens and clicks the DAY1 send the next day; u2 is in the control group.
    f.add(
        "campaign_sends",
        DAY1,
        send("m1", "u1", "2024-03-01 10:00", opened="2024-03-02 08:00", clicked="2024-03-02 08:01"),
    )
    f.add("campaign_sends", DAY1, send("m2", "u2", "2024-03-01 10:00", variant="control"))
    f.bad(
        "campaign_sends",
        DAY1,
        send("m1", "u1", "2024-03-01 10:00", opened="2024-03-02 08:00", clicked="2024-03-02 08:01"),
        "duplicate",
        send_id="m1",
    )
    f.bad(
        "campaign_sends",
        DAY1,
        send(None, "u2", "2024-03-01 10:00", campaign_id="c-nokey"),
        "null_key",
        campaign_id="c-nokey",
    )
    f.bad("campaign_sends", DAY1, send("m4", "ghost", "2024-03-01 10:00"), "orphan_user", send_id="m4")
    f.bad("campaign_sends", DAY1, send("m5", "u2", future), "future_timestamp", send_id="m5")
    # Two faults at once (unknown and malformed user): the earlier reason in the precedence wins.
    f.bad("campaign_sends", DAY1, send("m6", f"u{CONTROL}2", "2024-03-01 10:00"), "orphan_user", send_id="m6")
    f.bad(
        "campaign_sends",
        DAY1,
        send("m7", "u2", "2024-03-01 10:00", variant=f"treat{BROKEN}"),
        "malformed_text",
        send_id="m7",
    )
    f.bad("campaign_sends", DAY1, send("m8", "u2", "2024-03-01 10:00", variant="maybe"), "invalid_code", send_id="m8")
    f.bad(
        "campaign_sends",
        DAY1,
        send("m9", "u2", "2024-03-01 10:00", campaign_id="c404"),
        "orphan_campaign",
        send_id="m9",
    )

    # reviews
    f.add("reviews", DAY3, review("r1", "u1", "o11", "2024-03-03 16:00"))
    f.bad("reviews", DAY3, review("r1", "u1", "o11", "2024-03-03 16:00"), "duplicate", review_id="r1")
    f.bad(
        "reviews",
        DAY3,
        review(None, "u1", "o11", "2024-03-03 16:00", review_text="无编号"),
        "null_key",
        review_text="无编号",
    )
    f.bad("reviews", DAY3, review("r3", "ghost", "o11", "2024-03-03 16:00"), "orphan_user", review_id="r3")
    f.bad("reviews", DAY3, review("r4", "u1", "o11", future), "future_timestamp", review_id="r4")
    f.bad(
        "reviews",
        DAY3,
        review("r5", "u1", "o11", "2024-03-03 16:00", review_text=f"很{BROKEN}好"),
        "malformed_text",
        review_id="r5",
    )
    f.bad("reviews", DAY3, review("r6", "u1", "o404", "2024-03-03 16:00"), "orphan_order", review_id="r6")
    f.bad("reviews", DAY3, review("r7", "u1", "o11", "2024-03-03 16:00", rating=9), "out_of_range", review_id="r7")
    return f


# ── Shaped shops for the tag thresholds (tests/test_tag_cut_points.py) ─────────────────────────
# Real shops the generator's thresholds were never tuned to: customers who buy every 2-4 months
# over more than a year, with or without a behaviour log. Rows go straight into the raw tables
# (with their partition day), which is all the dbt build reads.

SHOP_START = date(2023, 1, 1)


def shaped_shop(kind: str, users: int = 300, days: int = 420, seed: int = 5) -> dict[str, list[dict]]:
    """Raw rows per table of a shop whose buyers purchase every 60-120 days.

    kind `sparse_buyers`: a view and a purchase event on every order day, plus a browse day now
    and then; `purchase_only`: users, products, orders and their lines only (no behaviour log).
    A quarter of the customers buy once and never again. Deterministic per seed.
    """
    import random
    from datetime import timedelta

    if kind not in ("sparse_buyers", "purchase_only"):
        raise ValueError(kind)
    rng = random.Random(seed)
    rows: dict[str, list[dict]] = defaultdict(list)
    products = [f"sp{index}" for index in range(20)]
    for product_id in products:
        rows["products"].append(
            product(product_id, list_price=float(rng.choice((39, 99, 199, 399))), updated_at=local("2023-01-01 08:00"))
        )
    end = SHOP_START + timedelta(days=days - 1)
    for number in range(users):
        user_id = f"s{number:04d}"
        registered = SHOP_START + timedelta(days=rng.randrange(0, 90))
        stamp = f"{registered.isoformat()} {rng.randrange(8, 22):02d}:00"
        rows["users"].append(user(user_id, local(stamp), registered_at=local(stamp)))
        day = registered + timedelta(days=rng.randrange(0, 60))
        one_time = rng.random() < 0.25
        sequence = 0
        while day <= end:
            sequence += 1
            order_id = f"o{user_id}-{sequence}"
            at = f"{day.isoformat()} {rng.randrange(9, 22):02d}:{rng.randrange(60):02d}"
            paid = round(rng.lognormvariate(5.5, 0.7), 2)
            bought = rng.choice(products)
            rows["orders"].append(order(order_id, user_id, at, paid))
            rows["order_items"].append(item(order_id, bought, at, 1, paid))
            if kind == "sparse_buyers":
                rows["events"].append(event(f"e{order_id}-v", user_id, at, "view", product_id=bought))
                rows["events"].append(event(f"e{order_id}-p", user_id, at, "purchase", product_id=bought))
                browse = day + timedelta(days=rng.randrange(10, 40))
                if browse <= end and rng.random() < 0.5:
                    rows["events"].append(event(f"e{order_id}-b", user_id, f"{browse.isoformat()} 12:00"))
            if one_time:
                break
            day += timedelta(days=rng.randrange(60, 121))
    return rows


def load_shop(warehouse: Path, rows: dict[str, list[dict]]) -> None:
    """Insert shaped rows into the raw tables, each row in the partition of its local business day."""
    from huaxiang.warehouse import PARTITION_COLUMN, ensure_raw_table

    day_column = {
        "users": "updated_at", "products": "updated_at", "events": "occurred_at", "orders": "ordered_at",
        "order_items": "ordered_at", "campaigns": "starts_at", "campaign_sends": "sent_at", "reviews": "created_at",
    }  # fmt: skip
    with connect(warehouse) as conn:
        for table in RAW_TABLES:
            ensure_raw_table(conn, table)
            table_rows = rows.get(table, [])
            if not table_rows:
                continue
            batch = pa.Table.from_pylist(table_rows, RAW_TABLES[table].schema)
            days = [row[day_column[table]].astimezone(BUSINESS_TZ).date() for row in table_rows]
            batch = batch.append_column(PARTITION_COLUMN, pa.array(days, pa.date32()))  # noqa: F841 - read by SQL
            conn.execute(f"insert into raw.{table} by name select * from batch")
