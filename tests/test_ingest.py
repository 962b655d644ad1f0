"""`huaxiang ingest` on small files written here: the four shapes' formats, rejects with line
numbers, mapping errors before any write, idempotent re-ingest.

Long because every file shape is written and read back here: splitting it would spread the
shared file writers over several modules."""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib.util
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from huaxiang.commands.ingest import add_ingest_arguments, ingest, run_ingest_command
from huaxiang.contract import EVENT_TYPES, RAW_TABLES
from huaxiang.errors import UserFacingError
from huaxiang.ingest import IngestReport
from huaxiang.landing import landed_days, partition_path
from huaxiang.settings import REPO_ROOT, Settings

MAPPINGS = REPO_ROOT / "mappings"


def make_settings(home: Path, timezone: str = "Asia/Shanghai") -> Settings:
    return Settings(
        home=home,
        timezone=timezone,
        partition_start=date(2016, 1, 1),
        dbt_target="duckdb",
        dbt_threads=1,
        duckdb_memory_limit="1GB",
        duckdb_threads=2,
    )


def landed(settings: Settings, table: str) -> list[dict]:
    """All landed rows of a table, in a stable order."""
    files = sorted((settings.landing_dir / table).glob("date=*/part-0.parquet"))
    rows = pa.concat_tables([pq.read_table(f) for f in files]).to_pylist() if files else []
    return sorted(rows, key=lambda row: [str(row[k]) for k in RAW_TABLES[table].key])


def rejects(settings: Settings, table: str) -> list[dict]:
    with (settings.landing_dir / "_rejects" / f"{table}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def assert_every_table_every_day(settings: Settings, report: IngestReport) -> None:
    """Each contract table has a file with the contract schema for each landed day, and only then."""
    assert report.days
    for table, spec in RAW_TABLES.items():
        assert landed_days(settings.landing_dir, table) == report.days, table
        for day in report.days:
            schema = pq.read_schema(partition_path(settings.landing_dir, table, day))
            assert schema.remove_metadata().equals(spec.schema), (table, day)


def assert_reconciles(report: IngestReport) -> None:
    for counts in report.tables:
        assert counts.read == counts.filtered + counts.rejected + counts.merged + counts.landed, counts


def file_digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# --- shape 3: behaviour event log (Taobao UserBehavior) ------------------------------------------

BEHAVIOR_LINES = [
    "1,2268318,2520377,pv,1511544070",  # line 1: 2017-11-24 17:21:10 UTC = 11-25 01:21 Shanghai
    "1,2333346,2520771,fav,1511561733",
    "1,2576651,149192,buy,1511572885",
    "100,2576651,149192,cart,1511579908",
    "100,2971043,4869428,buy,1511780100",  # line 5: 2017-11-27
    "100,2971043,4869428,teleport,1511780200",  # line 6: not a behaviour type we know
    "7,8,9,pv,yesterday",  # line 7: not a timestamp
    "7,8,9,pv",  # line 8: a field short
    "1,2268318,2520377,pv,1511544999",
]


@pytest.fixture
def behavior_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "taobao"
    folder.mkdir()
    (folder / "UserBehavior.csv").write_text("\n".join(BEHAVIOR_LINES) + "\n", encoding="utf-8")
    return folder


def test_behavior_log_lands_events_users_products_and_orders_from_buys(tmp_path: Path, behavior_dir: Path) -> None:
    settings = make_settings(tmp_path / "home")
    report = ingest(MAPPINGS / "taobao_user_behavior.yml", behavior_dir, settings, progress=False)

    assert report.success, report.render()
    assert_reconciles(report)
    assert_every_table_every_day(settings, report)
    assert report.days == [date(2017, 11, 25), date(2017, 11, 27)]
    events = report.counts("events")
    assert (events.read, events.rejected, events.landed) == (9, 3, 6)
    assert events.reasons == {"bad_timestamp": 1, "missing_columns": 1, "unmapped_event_type": 1}
    assert [(r["line"], r["reason"]) for r in rejects(settings, "events")] == [
        ("6", "unmapped_event_type"),
        ("7", "bad_timestamp"),
        ("8", "missing_columns"),
    ]
    event_rows = landed(settings, "events")
    assert {row["event_type"] for row in event_rows} == {"view", "favorite", "add_to_cart", "purchase"}
    assert set(EVENT_TYPES) >= {row["event_type"] for row in event_rows}
    assert event_rows[0]["occurred_at"] == datetime(2017, 11, 24, 17, 21, 10, tzinfo=UTC)
    assert event_rows[0]["event_id"] == "tb_UserBehavior.csv:1"
    # Sessions end after 30 minutes without activity: line 9 (15 min after line 1) continues it.
    session = {row["event_id"].rsplit(":", 1)[1]: row["session_id"] for row in event_rows}
    assert session["1"] == session["9"] == "tb_1-1"
    assert len({session["1"], session["2"], session["3"], session["4"], session["5"]}) == 5

    orders = landed(settings, "orders")
    assert [(o["user_id"], o["status"], o["gross_amount"]) for o in orders] == [
        ("tb_1", "paid", None),
        ("tb_100", "paid", None),
    ]
    assert report.counts("orders").filtered == 9 - 2 - 2  # all but the two buys and the two unusable rows
    items = landed(settings, "order_items")
    assert {(i["order_id"], i["product_id"], i["quantity"]) for i in items} == {
        (o["order_id"], p, 1) for o, p in zip(orders, ["tb_2576651", "tb_2971043"], strict=True)
    }
    # The users and products the usable rows mention, each once, on the day first seen.
    users = landed(settings, "users")
    assert [u["user_id"] for u in users] == ["tb_1", "tb_100"]
    assert users[0]["registered_at"] == users[0]["updated_at"] == datetime(2017, 11, 24, 17, 21, 10, tzinfo=UTC)
    assert {u["gender"] for u in users} == {"unknown"} and {u["marketing_consent"] for u in users} == {False}
    assert len(landed(settings, "products")) == 4
    for table in ("campaigns", "campaign_sends", "reviews"):
        assert landed(settings, table) == []


# --- shape 4: customer / date / quantity / amount, whitespace-delimited (CDNOW) -------------------

CLV_TEXT = """\
00001 19970101 1 11.77
00002  19970112 1   12.00
\t
00002 19970112 5 77.00
   00003 19970102 2 20.76
00003 19970330 2 lots
00003 19970402
00001 19970101 1 11.77
"""


def test_whitespace_transaction_log_lands_orders_with_line_numbered_rejects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "cdnow"
    source.mkdir()
    (source / "CDNOW_master.txt").write_text(CLV_TEXT, encoding="utf-8")
    settings = make_settings(tmp_path / "home")
    report = ingest(MAPPINGS / "clv_transactions.yml", source, settings, progress=False)

    assert report.success, report.render()
    assert_reconciles(report)
    assert_every_table_every_day(settings, report)
    orders = report.counts("orders")
    # 9 lines: one blank (not a row), 6 usable, a bad amount and a short line rejected.
    assert (orders.read, orders.rejected, orders.landed) == (7, 2, 5)
    assert [(r["line"], r["reason"]) for r in rejects(settings, "orders")] == [
        ("6", "bad_amount"),
        ("7", "wrong_field_count: expected 4, found 2"),
    ]
    rows = landed(settings, "orders")
    assert [(o["order_id"], o["paid_amount"]) for o in rows] == [
        ("clv_00001-1", 11.77),
        ("clv_00001-8", 11.77),  # the same purchase twice is two orders; staging judges duplicates
        ("clv_00002-2", 12.0),
        ("clv_00002-4", 77.0),
        ("clv_00003-5", 20.76),
    ]
    # Dates are business days: midnight in the business timezone, landed on that very day.
    assert report.days == [date(1997, 1, 1), date(1997, 1, 2), date(1997, 1, 12)]
    items = {i["order_id"]: i for i in landed(settings, "order_items")}
    assert (items["clv_00002-4"]["quantity"], items["clv_00002-4"]["unit_price"]) == (5, 15.4)
    assert [u["user_id"] for u in landed(settings, "users")] == ["clv_00001", "clv_00002", "clv_00003"]
    assert [p["product_id"] for p in landed(settings, "products")] == ["clv_unknown"]
    # Partitions follow the data back to 1997 by themselves: no setting to change.
    monkeypatch.setenv("HUAXIANG_HOME", str(settings.home))
    monkeypatch.delenv("HUAXIANG_PARTITION_START", raising=False)
    assert Settings.from_env().partition_start == date(1997, 1, 1)


# --- a CSV with every quirk, mapped by a mapping written here -----------------------------------

QUIRKY_CSV = (
    "order_no;customer;placed;total;note;channel\n"
    'A1;c1;24/01/2017 21:30;"1.234,50";"first line\nsecond line";APP\n'  # lines 2-3
    "A2;c2;25/01/2017 08:00;10,00;plain;WEB;extra\n"  # line 4: a field too many
    'A3;c1;26/01/2017 10:00;5,5;"a\n\nb";WEB\n'  # lines 5-7
    "A4;;27/01/2017 10:00;3,00;no customer;WEB\n"  # line 8
    "A5;c3;32/01/2017 10:00;3,00;bad day;WEB\n"  # line 9
    "A6;c3;28/01/2017 10:00;3,00;;FAX\n"  # line 10
    'A7;c4;28/01/2017 11:00;"";quoted empty total;WEB\n'  # line 11
)

QUIRKY_MAPPING = """\
name: quirky
timezone: America/Sao_Paulo
sources:
  sales:
    files: "*.csv"
    delimiter: ";"
    parse:
      placed: {type: timestamp, format: "%d/%m/%Y %H:%M"}
      total: {type: number, decimal: ",", thousands: "."}
tables:
  orders:
    from: sales
    columns:
      order_id: order_no
      user_id: customer
      ordered_at: placed
      status: {value: paid}
      platform: {expr: lower(channel), map: {app: app, web: web}}
      gross_amount: total
  users:
    from: sales
    merge: true
    columns:
      user_id: customer
      registered_at: placed
"""


@pytest.fixture
def quirky(tmp_path: Path) -> tuple[Path, Path]:
    source = tmp_path / "quirky"
    source.mkdir()
    (source / "sales.csv").write_text(QUIRKY_CSV, encoding="utf-8")
    mapping = tmp_path / "quirky.yml"
    mapping.write_text(QUIRKY_MAPPING, encoding="utf-8")
    return mapping, source


def test_csv_rejects_carry_physical_line_numbers_and_values(tmp_path: Path, quirky: tuple[Path, Path]) -> None:
    mapping, source = quirky
    settings = make_settings(tmp_path / "home")
    report = ingest(mapping, source, settings, progress=False)

    assert report.success, report.render()
    assert_reconciles(report)
    found = rejects(settings, "orders")
    assert [(r["source_file"], r["line"], r["reason"]) for r in found] == [
        ("sales.csv", "4", "too_many_columns"),
        ("sales.csv", "9", "bad_placed"),
        ("sales.csv", "10", "unmapped_platform"),
    ]
    assert found[0]["raw"] == "A2;c2;25/01/2017 08:00;10,00;plain;WEB;extra"
    assert '"placed":"32/01/2017 10:00"' in found[1]["raw"]
    # An order without a user fits the contract (staging quarantines it); a user without an id does not.
    assert [(r["line"], r["reason"]) for r in rejects(settings, "users")] == [
        ("4", "too_many_columns"),
        ("8", "missing_user_id"),
        ("9", "bad_placed"),
    ]


def test_decimal_comma_and_source_timezone_become_utc_amounts_and_business_days(
    tmp_path: Path, quirky: tuple[Path, Path]
) -> None:
    mapping, source = quirky
    settings = make_settings(tmp_path / "home")
    ingest(mapping, source, settings, progress=False)

    orders = {o["order_id"]: o for o in landed(settings, "orders")}
    assert sorted(orders) == ["A1", "A3", "A4", "A7"]
    assert orders["A4"]["user_id"] is None
    assert orders["A7"]["gross_amount"] is None  # an empty amount is missing, not malformed
    first = orders["A1"]
    # 21:30 in São Paulo (UTC-2 in January 2017) is 23:30 UTC, 07:30 next day in Shanghai.
    assert first["ordered_at"] == datetime(2017, 1, 24, 23, 30, tzinfo=UTC)
    first_day = pq.read_table(partition_path(settings.landing_dir, "orders", date(2017, 1, 25)))
    assert first_day.column("order_id").to_pylist() == ["A1"]
    assert (first["gross_amount"], first["discount_amount"], first["paid_amount"]) == (1234.5, None, 1234.5)
    assert (first["platform"], orders["A3"]["gross_amount"]) == ("app", 5.5)
    # Ids stay as in the source (no prefix); a user seen twice lands once, on the first day.
    # c2 is only on the malformed line; c3's first row has a bad date, its second counts.
    users = landed(settings, "users")
    assert [(u["user_id"], u["registered_at"]) for u in users] == [
        ("c1", datetime(2017, 1, 24, 23, 30, tzinfo=UTC)),
        ("c3", datetime(2017, 1, 28, 12, 0, tzinfo=UTC)),
        ("c4", datetime(2017, 1, 28, 13, 0, tzinfo=UTC)),
    ]


def test_ingesting_twice_writes_identical_files(tmp_path: Path, quirky: tuple[Path, Path], behavior_dir: Path) -> None:
    mapping, source = quirky
    settings = make_settings(tmp_path / "home")
    ingest(mapping, source, settings, progress=False)
    ingest(MAPPINGS / "taobao_user_behavior.yml", behavior_dir, settings, progress=False)
    first = file_digests(settings.landing_dir)
    ingest(mapping, source, settings, progress=False)
    ingest(MAPPINGS / "taobao_user_behavior.yml", behavior_dir, settings, progress=False)
    assert file_digests(settings.landing_dir) == first


# --- mapping errors: clear, naming the field, before anything is written -------------------------


def broken(quirky_mapping: str, old: str, new: str) -> str:
    assert old in quirky_mapping
    return quirky_mapping.replace(old, new)


MAPPING_ERRORS = {
    "unknown source column": (
        broken(QUIRKY_MAPPING, "user_id: customer\n      ordered_at", "user_id: client\n      ordered_at"),
        ["tables.orders.columns.user_id", "client"],
    ),
    "date format that parses nothing": (
        broken(QUIRKY_MAPPING, "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M"),
        ["sources.sales.parse.placed", "none of the first 6 values", "24/01/2017 21:30"],
    ),
    "unknown target table": (
        broken(QUIRKY_MAPPING, "  users:\n", "  customers:\n"),
        ["tables.customers", "unknown table"],
    ),
    "unknown target column": (
        broken(QUIRKY_MAPPING, "gross_amount: total", "revenue: total"),
        ["tables.orders.columns.revenue", "not a column of orders"],
    ),
    "required column left out": (
        broken(QUIRKY_MAPPING, "      ordered_at: placed\n", ""),
        ["tables.orders.columns.ordered_at", "required"],
    ),
    "unknown option": (
        broken(QUIRKY_MAPPING, "    delimiter:", "    separator:"),
        ["sources.sales.separator", "Extra inputs"],
    ),
    "invalid format directive": (
        broken(QUIRKY_MAPPING, "%d/%m/%Y %H:%M", "%d/%m/%Q"),
        ["sources.sales.parse.placed", "%Q"],
    ),
    "unknown timezone": (
        broken(QUIRKY_MAPPING, "America/Sao_Paulo", "Mars/Olympus"),
        ["timezone", "Mars/Olympus"],
    ),
    "join that multiplies rows": (
        broken(
            QUIRKY_MAPPING,
            "    from: sales\n    columns:\n      order_id",
            "    from: sales\n    join: CROSS JOIN (SELECT 1 UNION ALL SELECT 2) twice(n)\n"
            "    columns:\n      order_id",
        ),
        ["tables.orders.join", "turns 6 rows of sales into 12"],
    ),
}


@pytest.mark.parametrize("case", list(MAPPING_ERRORS))
def test_mapping_errors_name_file_and_field_and_write_nothing(
    tmp_path: Path, quirky: tuple[Path, Path], case: str
) -> None:
    mapping, source = quirky
    text, expected = MAPPING_ERRORS[case]
    mapping.write_text(text, encoding="utf-8")
    settings = make_settings(tmp_path / "home")
    with pytest.raises(UserFacingError) as raised:
        ingest(mapping, source, settings, progress=False)
    message = str(raised.value)
    assert str(mapping) in message
    for part in expected:
        assert part in message, message
    assert not settings.landing_dir.exists()


def test_a_mapping_that_rejects_most_rows_lands_nothing_but_shows_why(
    tmp_path: Path, quirky: tuple[Path, Path]
) -> None:
    mapping, source = quirky
    # A plausible mistake: the right format for one row only (the sample check passes).
    mapping.write_text(broken(QUIRKY_MAPPING, "%d/%m/%Y %H:%M", "%d/%m/%Y 21:%M"), encoding="utf-8")
    settings = make_settings(tmp_path / "home")
    report = ingest(mapping, source, settings, progress=False)

    assert not report.success
    assert "max_rejected_fraction" in report.render()
    assert landed_days(settings.landing_dir) == []
    assert {r["reason"] for r in rejects(settings, "orders")} >= {"bad_placed"}


# --- other readers ------------------------------------------------------------------------------


def test_parquet_source_numbers_rows_and_reads_naive_times_in_the_mapping_zone(tmp_path: Path) -> None:
    source = tmp_path / "pq"
    source.mkdir()
    table = pa.table(
        {
            "id": ["e1", "e2", None],
            "who": ["u1", "u1", "u2"],
            "happened": [
                datetime(2024, 3, 1, 23, 30),
                datetime(2024, 3, 2, 9, 0),
                datetime(2024, 3, 2, 10, 0),
            ],
        }
    )
    pq.write_table(table, source / "events.parquet")
    mapping = tmp_path / "pq.yml"
    mapping.write_text(
        textwrap.dedent("""\
            name: pq
            timezone: UTC
            sources:
              clicks: {files: "*.parquet"}
            tables:
              events:
                from: clicks
                columns: {event_id: id, user_id: who, event_type: {value: click}, platform: {value: web},
                          occurred_at: happened}
        """),
        encoding="utf-8",
    )
    settings = make_settings(tmp_path / "home")
    report = ingest(mapping, source, settings, progress=False)

    assert [(r["line"], r["reason"]) for r in rejects(settings, "events")] == [("3", "missing_event_id")]
    # 23:30 UTC on March 1st is March 2nd in Shanghai: both events land on one business day.
    assert report.days == [date(2024, 3, 2)]
    assert [e["occurred_at"] for e in landed(settings, "events")][0] == datetime(2024, 3, 1, 23, 30, tzinfo=UTC)


@pytest.mark.skipif(importlib.util.find_spec("openpyxl") is not None, reason="openpyxl is installed")
def test_xlsx_without_openpyxl_says_what_to_install(tmp_path: Path) -> None:
    source = tmp_path / "xl"
    source.mkdir()
    (source / "book.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    mapping = tmp_path / "xl.yml"
    mapping.write_text(
        "name: xl\nsources:\n  sheet: {files: book.xlsx}\n"
        "tables:\n  users:\n    from: sheet\n    columns: {user_id: id, registered_at: joined}\n",
        encoding="utf-8",
    )
    with pytest.raises(UserFacingError, match="openpyxl"):
        ingest(mapping, source, make_settings(tmp_path / "home"), progress=False)


def test_cli_wiring_prints_the_reconciliation_and_exits_zero(
    tmp_path: Path, behavior_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    add_ingest_arguments(parser)
    args = parser.parse_args(["--mapping", str(MAPPINGS / "taobao_user_behavior.yml"), "--source", str(behavior_dir)])
    args.quiet = True
    assert run_ingest_command(args, make_settings(tmp_path / "home")) == 0
    output = capsys.readouterr().out
    assert "events" in output and "unmapped_event_type 1" in output


def test_shipped_mappings_load() -> None:
    from huaxiang.ingest import load_mapping

    names = {load_mapping(path).name for path in MAPPINGS.glob("*.yml")}
    assert names >= {"olist", "uci_online_retail", "taobao_user_behavior", "clv_transactions"}


def test_rejects_file_of_a_clean_table_has_only_the_header(tmp_path: Path, behavior_dir: Path) -> None:
    settings = make_settings(tmp_path / "home")
    (behavior_dir / "UserBehavior.csv").write_text("\n".join(BEHAVIOR_LINES[:5]) + "\n", encoding="utf-8")
    ingest(MAPPINGS / "taobao_user_behavior.yml", behavior_dir, settings, progress=False)
    assert rejects(settings, "events") == []
    assert not (settings.landing_dir / "_rejects" / "reviews.csv").exists()
