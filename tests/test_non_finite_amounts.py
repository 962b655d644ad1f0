"""NaN and ±inf amounts are quarantined by staging as `non_finite_amount`, finite amounts too large
for money (1e20, a quantity × unit_price beyond it) as `amount_out_of_range` (issue 15).

A DOUBLE amount that is NaN or infinite used to pass staging as clean (`nan < 0` is false, and
-inf was called `negative_amount` at best), and the run then died casting it to DECIMAL(18,2)
with `huaxiang quality` showing no rejected row. Here they arrive both ways a home gets data:

* through the landing writer (tests/dbt_fixtures.py's hand-made raw set plus one non-finite row
  per amount column staging casts: orders gross/discount/paid, order_items unit_price, products
  list_price, campaigns cost_per_send);
* through `huaxiang ingest` of a CSV whose amount column holds `nan`, `NaN`, `inf`, `-Infinity`,
  `1e400` (ingest lands them as non-finite doubles; staging judges them).

One warehouse, one dbt build of the staging layer only (models, their dbt tests — accepted
reasons, raw = clean + rejected — and the reject-precedence unit test).
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest

from huaxiang.commands.ingest import ingest
from huaxiang.commands.quality import QualityReport, read_quarantine
from huaxiang.engines import open_engine
from huaxiang.warehouse import connect, load_partition
from tests.dbt_fixtures import (
    DAY1,
    DAY2,
    DAY3,
    OLD_DAY,
    RawFixture,
    build_fixture,
    campaign,
    create_ml_tables,
    item,
    local,
    order,
    product,
)
from tests.test_dbt_staging import DIMENSIONS, query, run_dbt
from tests.test_ingest import landed, make_settings

NAN, INF = float("nan"), float("inf")
INGEST_DAY = date(2024, 3, 5)  # after the fixture's days: ingest and fixture never share a file

# Ingested orders: one clean amount and five texts of a non-finite one.
SALES_CSV = (
    "order_no,customer,placed,total\n"
    "N1,n1,2024-03-05 10:00,12.50\n"
    "N2,n1,2024-03-05 10:05,nan\n"
    "N3,n2,2024-03-05 10:10,NaN\n"
    "N4,n2,2024-03-05 10:15,inf\n"
    "N5,n2,2024-03-05 10:20,-Infinity\n"
    "N6,n2,2024-03-05 10:25,1e400\n"  # beyond a double: DuckDB reads it as inf
    "N7,n2,2024-03-05 10:30,1e20\n"  # finite, but no DECIMAL(18,2) holds it: amount_out_of_range
)
SALES_MAPPING = """\
name: non_finite
timezone: Asia/Shanghai
sources:
  sales:
    files: "*.csv"
tables:
  orders:
    from: sales
    columns:
      order_id: order_no
      user_id: customer
      ordered_at: placed
      status: {value: paid}
      platform: {value: app}
      gross_amount: total
  users:
    from: sales
    merge: true
    columns:
      user_id: customer
      registered_at: placed
"""
INGESTED_NON_FINITE = ("N2", "N3", "N4", "N5", "N6")
INGESTED_OUT_OF_RANGE = ("N7",)


def add_non_finite_rows(f: RawFixture) -> None:
    """One non-finite row per amount column staging casts to a decimal, each otherwise clean
    (or carrying a later fault, which non_finite_amount must win over)."""
    f.bad("orders", DAY2, order("o41", "u2", "2024-03-02 11:00", 5.0, gross_amount=NAN), "non_finite_amount",
          order_id="o41")  # fmt: skip
    f.bad("orders", DAY2, order("o42", "u2", "2024-03-02 11:01", 5.0, discount_amount=INF), "non_finite_amount",
          order_id="o42")  # fmt: skip
    # -inf < 0: without its own rule this was negative_amount.
    f.bad("orders", DAY2, order("o43", "u2", "2024-03-02 11:02", -INF), "non_finite_amount", order_id="o43")
    # A non-finite amount of an unknown user: orphan_user comes first.
    f.bad("orders", DAY2, order("o44", "ghost", "2024-03-02 11:03", NAN), "orphan_user", order_id="o44")
    f.bad("order_items", DAY3, item("o31", "p2", "2024-03-03 14:05", 1, INF), "non_finite_amount",
          order_id="o31", product_id="p2")  # fmt: skip
    f.bad("order_items", DAY3, item("o32", "p1", "2024-03-03 15:00", 1, NAN), "non_finite_amount",
          order_id="o32", product_id="p1")  # fmt: skip
    f.bad("products", OLD_DAY, product("p7", list_price=-INF), "non_finite_amount", product_id="p7")
    f.bad("products", DAY1, product("p8", list_price=NAN, updated_at=local("2024-03-01 08:00")),
          "non_finite_amount", product_id="p8")  # fmt: skip
    f.bad("campaigns", DAY1, campaign("c7", "2024-03-01 09:00", cost_per_send=NAN), "non_finite_amount",
          campaign_id="c7")  # fmt: skip
    f.bad("campaigns", DAY1, campaign("c8", "2024-03-01 09:00", cost_per_send=INF), "non_finite_amount",
          campaign_id="c8")  # fmt: skip


def add_out_of_range_rows(f: RawFixture) -> None:
    """Finite amounts too large for DECIMAL(18,2) (|x| >= 10^16) or for the staging bound (10^12):
    they used to pass as clean and kill the run with `Could not cast value … to DECIMAL(18,2)`.
    Each is `amount_out_of_range`, right after non_finite_amount and before negative_amount."""
    f.bad("orders", DAY2, order("o45", "u2", "2024-03-02 11:04", 5.0, gross_amount=1e20), "amount_out_of_range",
          order_id="o45")  # fmt: skip
    # Negative and too large: out of range wins over negative_amount.
    f.bad("orders", DAY2, order("o46", "u2", "2024-03-02 11:05", -1e15), "amount_out_of_range", order_id="o46")
    # Just below the bound: clean, and it casts.
    f.add("orders", DAY2, order("o47", "u2", "2024-03-02 11:06", 999_999_999_999.99))
    f.bad("order_items", DAY2, item("o21", "p8", "2024-03-02 09:10", 1, 1e13), "amount_out_of_range",
          order_id="o21", product_id="p8")  # fmt: skip
    # Each factor fits, their product (the line amount) does not.
    f.bad("order_items", DAY2, item("o21", "p9", "2024-03-02 09:10", 1_000_000, 1e7), "amount_out_of_range",
          order_id="o21", product_id="p9")  # fmt: skip
    f.bad("products", DAY1, product("p10", list_price=1e20, updated_at=local("2024-03-01 08:05")),
          "amount_out_of_range", product_id="p10")  # fmt: skip
    f.bad("campaigns", DAY1, campaign("c9", "2024-03-01 09:00", cost_per_send=1e18), "amount_out_of_range",
          campaign_id="c9")  # fmt: skip


@pytest.fixture(scope="module")
def fixture_data() -> RawFixture:
    f = build_fixture()
    add_non_finite_rows(f)
    add_out_of_range_rows(f)
    return f


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, fixture_data: RawFixture) -> Path:
    home = tmp_path_factory.mktemp("non_finite_home")
    source = tmp_path_factory.mktemp("non_finite_source")
    (source / "sales.csv").write_text(SALES_CSV, encoding="utf-8")
    mapping = source.parent / "non_finite.yml"
    mapping.write_text(SALES_MAPPING, encoding="utf-8")
    report = ingest(mapping, source, make_settings(home), progress=False)
    assert report.success, report.render()
    assert report.days == [INGEST_DAY]

    fixture_data.land(home / "landing")
    fixture_data.load(home / "landing", home / "warehouse.duckdb")
    with connect(home / "warehouse.duckdb") as conn:
        for table in ("users", "orders", "order_items"):
            load_partition(conn, home / "landing", table, INGEST_DAY)
    create_ml_tables(home / "warehouse.duckdb")
    run_dbt(home, "build", "--select", "path:models/staging")
    return home


def test_ingest_lands_non_finite_text_as_non_finite_doubles(home: Path) -> None:
    """`nan`, `NaN`, `inf`, `-Infinity`, `1e400` in a CSV amount are not rejected by ingest: they land as
    the doubles they spell, for staging to quarantine (next test). Nothing is lost or made finite."""
    amounts = {row["order_id"]: row["gross_amount"] for row in landed(make_settings(home), "orders")}
    assert amounts["N1"] == 12.5
    assert math.isnan(amounts["N2"]) and math.isnan(amounts["N3"])
    assert amounts["N4"] == INF and amounts["N5"] == -INF and amounts["N6"] == INF


def test_non_finite_amounts_are_quarantined_for_their_own_reason(home: Path, fixture_data: RawFixture) -> None:
    for expected in fixture_data.rejects:
        where = " and ".join(f"{column} = ?" for column in expected.match)
        reasons = query(
            home,
            f"select reject_reason from staging.stg_{expected.table}_rejected where {where}",
            list(expected.match.values()),
        )
        assert reasons == [(expected.reason,)], f"{expected.table} {expected.match}"
    ingested = query(
        home,
        "select order_id, reject_reason from staging.stg_orders_rejected where order_id like 'N%' order by 1",
    )
    assert ingested == [(order_id, "non_finite_amount") for order_id in INGESTED_NON_FINITE] + [
        (order_id, "amount_out_of_range") for order_id in INGESTED_OUT_OF_RANGE
    ]


def test_no_non_finite_amount_reaches_a_clean_model(home: Path) -> None:
    clean = {
        "stg_orders": ["gross_amount", "discount_amount", "paid_amount"],
        "stg_order_items": ["unit_price", "line_amount"],
        "stg_products_versions": ["list_price"],
        "stg_campaigns_versions": ["cost_per_send"],
    }
    for model, columns in clean.items():
        # Decimals cannot hold NaN or inf: reading every amount proves the casts succeed.
        values = query(home, f"select {', '.join(columns)} from staging.{model}")
        assert values, model
        assert all(v is None or math.isfinite(v) for row in values for v in row), model
    orders = {order_id for (order_id,) in query(home, "select order_id from staging.stg_orders")}
    assert {"N1", "o47"} <= orders
    assert not orders & {"o41", "o42", "o43", "o44", "o45", "o46", *INGESTED_NON_FINITE, *INGESTED_OUT_OF_RANGE}
    lines = set(query(home, "select order_id, product_id from staging.stg_order_items"))
    assert not lines & {("o31", "p2"), ("o32", "p1"), ("o21", "p8"), ("o21", "p9")}
    products = {p for (p,) in query(home, "select product_id from staging.stg_products_versions")}
    campaigns = {c for (c,) in query(home, "select campaign_id from staging.stg_campaigns_versions")}
    assert not products & {"p7", "p8", "p10"} and not campaigns & {"c7", "c8", "c9"}
    (largest,) = query(home, "select max(paid_amount) from staging.stg_orders")[0]
    assert str(largest) == "999999999999.99"


def test_raw_equals_clean_plus_rejected_with_non_finite_rows(home: Path) -> None:
    for table in ("orders", "order_items", "products", "campaigns"):
        clean = f"stg_{table}_versions" if table in DIMENSIONS else f"stg_{table}"
        counts = query(
            home,
            f"""
            select
                (select count(*) from raw.{table}),
                (select count(*) from staging.{clean}),
                (select count(*) from staging.stg_{table}_rejected),
                (select count(*) from staging.stg_{table}_rejected where reject_reason = 'non_finite_amount')
            """,
        )
        raw, kept, rejected, non_finite = counts[0]
        assert raw == kept + rejected, table
        assert non_finite >= 2, table
        (out_of_range,) = query(
            home, f"select count(*) from staging.stg_{table}_rejected where reject_reason = 'amount_out_of_range'"
        )[0]
        assert out_of_range >= 1, table


def test_the_quarantine_report_shows_non_finite_amounts(home: Path) -> None:
    """`huaxiang quality` no longer says "No rejected rows": the reason is listed with examples.
    (Its quarantine part only: the check statuses would load the whole code location.)"""
    settings = make_settings(home)
    report = QualityReport(warehouse=settings.warehouse_path)
    with open_engine(settings, read_only=True) as engine:
        report.tables, report.rejects, missing = engine.call(read_quarantine, None, None)
    assert missing == []
    groups = {(g.table, g.day, g.reason): g for g in report.rejects}
    orders = groups[("orders", DAY2, "non_finite_amount")]
    assert orders.rows == 3 and orders.examples[0].startswith("order_id=o4")
    assert groups[("orders", INGEST_DAY, "non_finite_amount")].rows == len(INGESTED_NON_FINITE)
    assert groups[("order_items", DAY3, "non_finite_amount")].rows == 2
    assert ("products", OLD_DAY, "non_finite_amount") in groups
    assert groups[("campaigns", DAY1, "non_finite_amount")].rows == 2
    assert "non_finite_amount" in report.render()
    assert groups[("orders", DAY2, "amount_out_of_range")].rows == 2
    assert groups[("orders", INGEST_DAY, "amount_out_of_range")].rows == len(INGESTED_OUT_OF_RANGE)
    assert groups[("order_items", DAY2, "amount_out_of_range")].rows == 2
    assert "amount_out_of_range" in report.render()
