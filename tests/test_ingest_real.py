"""The shipped mappings on real data: the Olist sample and the UCI Online Retail head.

The data lives beside the repository (`../shared/data`, read-only, never copied in); without it
these tests are skipped.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pytest

from huaxiang.commands.ingest import ingest
from huaxiang.contract import ORDER_STATUSES
from huaxiang.ingest import IngestReport
from huaxiang.settings import REPO_ROOT, Settings
from tests.test_ingest import (
    MAPPINGS,
    assert_every_table_every_day,
    assert_reconciles,
    landed,
    make_settings,
    rejects,
)

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
OLIST = SHARED_DATA / "olist_sample"
UCI = SHARED_DATA / "uci_online_retail_head"


def source_value(sql: str) -> object:
    return duckdb.sql(sql).fetchone()[0]


@pytest.fixture(scope="module")
def olist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, IngestReport]:
    if not OLIST.is_dir():
        pytest.skip(f"{OLIST} not present")
    settings = make_settings(tmp_path_factory.mktemp("olist-home"))
    return settings, ingest(MAPPINGS / "olist.yml", OLIST, settings, progress=False)


@pytest.fixture(scope="module")
def uci(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, IngestReport]:
    if not UCI.is_dir():
        pytest.skip(f"{UCI} not present")
    settings = make_settings(tmp_path_factory.mktemp("uci-home"))
    return settings, ingest(MAPPINGS / "uci_online_retail.yml", UCI, settings, progress=False)


def test_olist_lands_every_table_every_day_in_the_contract(olist: tuple[Settings, IngestReport]) -> None:
    settings, report = olist
    assert report.success, report.render()
    assert_reconciles(report)
    assert_every_table_every_day(settings, report)
    assert all(counts.rejected == 0 for counts in report.tables), report.render()


def test_olist_users_and_orders_match_the_distinct_source_people_and_orders(
    olist: tuple[Settings, IngestReport],
) -> None:
    settings, report = olist
    people = source_value(f"SELECT count(DISTINCT customer_unique_id) FROM '{OLIST}/olist_customers_dataset.csv'")
    orders = source_value(f"SELECT count(DISTINCT order_id) FROM '{OLIST}/olist_orders_dataset.csv'")
    assert (report.counts("users").landed, people) == (8016, 8016)
    assert (report.counts("orders").landed, orders) == (8135, 8135)
    assert report.counts("users").merged == 8135 - 8016  # repeat buyers' other customer ids
    landed_orders = landed(settings, "orders")
    user_ids = {user["user_id"] for user in landed(settings, "users")}
    assert {order["user_id"] for order in landed_orders} <= user_ids
    assert {order["status"] for order in landed_orders} <= set(ORDER_STATUSES)
    cancelled = source_value(
        f"SELECT count(*) FROM '{OLIST}/olist_orders_dataset.csv' "
        "WHERE order_status IN ('canceled', 'unavailable', 'created')"
    )
    assert sum(order["status"] == "cancelled" for order in landed_orders) == cancelled


def test_olist_amounts_vouchers_and_times(olist: tuple[Settings, IngestReport]) -> None:
    settings, _ = olist
    orders = {order["order_id"]: order for order in landed(settings, "orders")}
    total_paid = source_value(f"SELECT sum(payment_value) FROM '{OLIST}/olist_order_payments_dataset.csv'")
    assert sum(order["gross_amount"] for order in orders.values()) == pytest.approx(total_paid, abs=1.0)
    for order in orders.values():
        assert order["paid_amount"] == pytest.approx(order["gross_amount"] - order["discount_amount"], abs=0.011)
        assert (order["coupon_id"] is not None) == (order["discount_amount"] > 0)
    # First order of the file: 2017-07-09 21:57:05 in São Paulo (UTC-3) is 2017-07-10 00:57:05 UTC.
    assert orders["olist_a4591c265e18cb1dcee52889e2d8acc3"]["ordered_at"] == datetime(2017, 7, 10, 0, 57, 5, tzinfo=UTC)


def test_olist_reviews_products_and_lines(olist: tuple[Settings, IngestReport]) -> None:
    settings, report = olist
    reviews = landed(settings, "reviews")
    assert len(reviews) == report.counts("reviews").read == 8225
    assert len({review["review_id"] for review in reviews}) == len(reviews)
    assert {review["rating"] for review in reviews} == {1, 2, 3, 4, 5}
    assert any("\n" in (review["review_text"] or "") for review in reviews)  # multi-line comments kept
    products = landed(settings, "products")
    assert len(products) == 5460
    assert "health_beauty" in {product["category_l1"] for product in products}
    items = landed(settings, "order_items")
    assert sum(item["quantity"] for item in items) == report.counts("order_items").read == 8365
    assert len(items) == source_value(
        f"SELECT count(DISTINCT (order_id, product_id)) FROM '{OLIST}/olist_order_items_dataset.csv'"
    )
    assert report.counts("events").landed == 8365


def test_uci_reconciles_and_rejects_the_line_without_customer(uci: tuple[Settings, IngestReport]) -> None:
    settings, report = uci
    assert report.success, report.render()
    assert_reconciles(report)
    assert_every_table_every_day(settings, report)
    for table in ("orders", "order_items", "users", "products", "events"):
        counts = report.counts(table)
        assert (counts.read, counts.rejected) == (999, 1), counts
    found = rejects(settings, "orders")
    assert [(r["source_file"], r["line"], r["reason"]) for r in found] == [
        ("OnlineRetail_head999.csv", "624", "missing_customer_id")
    ]
    assert '"InvoiceNo":"536414"' in found[0]["raw"]


def test_uci_orders_users_and_cancellations(
    uci: tuple[Settings, IngestReport], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, report = uci
    csv_file = f"'{UCI}/OnlineRetail_head999.csv'"
    invoices = source_value(f"SELECT count(DISTINCT InvoiceNo) FROM {csv_file} WHERE CustomerID IS NOT NULL")
    customers = source_value(f"SELECT count(DISTINCT CustomerID) FROM {csv_file}")
    credit_notes = source_value(f"SELECT count(DISTINCT InvoiceNo) FROM {csv_file} WHERE InvoiceNo LIKE 'C%'")
    orders = landed(settings, "orders")
    assert len(orders) == invoices
    assert len(landed(settings, "users")) == customers == 48
    refunded = [order for order in orders if order["status"] == "refunded"]
    assert len(refunded) == credit_notes > 0
    assert all(order["order_id"].startswith("uci_C") for order in refunded)
    assert all(order["gross_amount"] >= 0 and order["paid_amount"] >= 0 for order in orders)
    assert all(item["quantity"] > 0 for item in landed(settings, "order_items"))
    assert report.counts("events").filtered == source_value(
        f"SELECT count(*) FROM {csv_file} WHERE CustomerID IS NOT NULL AND InvoiceNo LIKE 'C%'"
    )
    # A December 2010 invoice at 8:26 in London is 8:26 UTC.
    first = next(order for order in orders if order["order_id"] == "uci_536365")
    assert first["ordered_at"] == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)
    monkeypatch.setenv("HUAXIANG_HOME", str(settings.home))
    monkeypatch.delenv("HUAXIANG_PARTITION_START", raising=False)
    assert Settings.from_env().partition_start == date(2010, 12, 1)
