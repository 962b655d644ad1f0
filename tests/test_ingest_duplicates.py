"""A source exported twice lands once: identical files are read once, exact duplicate rows are
collapsed before mapping (unless the mapping keeps them), and the report says so.

The UCI cases read the Online Retail head from the shared data folder (read-only, never copied
into the repository; copies go to tmp_path) and are skipped without it.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from huaxiang.commands.ingest import ingest
from huaxiang.errors import UserFacingError
from huaxiang.ingest import IngestReport
from huaxiang.settings import REPO_ROOT, Settings
from tests.test_ingest import assert_reconciles, landed, make_settings, rejects

MAPPINGS = REPO_ROOT / "mappings"
UCI = next(
    (
        path / "uci_online_retail_head"
        for path in (REPO_ROOT.parent / "shared" / "data", Path("/work/shared/data"))
        if (path / "uci_online_retail_head").is_dir()
    ),
    REPO_ROOT.parent / "shared" / "data" / "uci_online_retail_head",
)
UCI_FILE = "OnlineRetail_head999.csv"
needs_uci = pytest.mark.skipif(not (UCI / UCI_FILE).is_file(), reason=f"{UCI} not present")


def _ingest(
    tmp_path: Path, name: str, source: Path, mapping: Path = MAPPINGS / "uci_online_retail.yml"
) -> tuple[Settings, IngestReport]:
    settings = make_settings(tmp_path / f"home-{name}")
    return settings, ingest(mapping, source, settings, progress=False)


def _landing_files(settings: Settings) -> dict[str, bytes]:
    root = settings.landing_dir
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob("*/date=*/*.parquet"))}


def _revenue(settings: Settings) -> float:
    return round(sum(order["paid_amount"] for order in landed(settings, "orders") if order["status"] == "paid"), 2)


def _uci_lines() -> tuple[str, list[str]]:
    header, *lines = (UCI / UCI_FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    return header, lines


@pytest.fixture(scope="module")
def uci_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, IngestReport]:
    if not (UCI / UCI_FILE).is_file():
        pytest.skip(f"{UCI} not present")
    settings, report = _ingest(tmp_path_factory.mktemp("uci-once"), "once", UCI)
    assert report.success, report.render()
    return settings, report


@needs_uci
def test_the_uci_file_twice_in_one_folder_lands_once_and_names_the_skipped_copy(
    tmp_path: Path, uci_once: tuple[Settings, IngestReport]
) -> None:
    once, once_report = uci_once
    source = tmp_path / "twice"
    source.mkdir()
    shutil.copyfile(UCI / UCI_FILE, source / UCI_FILE)
    shutil.copyfile(UCI / UCI_FILE, source / "OnlineRetail_head999_copy.csv")  # sorts after the original
    settings, report = _ingest(tmp_path, "twice", source)
    assert report.success, report.render()
    assert _landing_files(settings) == _landing_files(once)  # byte for byte the same days
    assert _revenue(settings) == _revenue(once)
    assert [c.landed for c in report.tables] == [c.landed for c in once_report.tables]
    (lines,) = report.sources
    assert lines.files == 1 and lines.skipped_files == ["OnlineRetail_head999_copy.csv"]
    assert lines.identical_files[0].identical_to == UCI_FILE
    rendered = report.render()
    assert f"OnlineRetail_head999_copy.csv skipped, identical to {UCI_FILE}" in rendered
    assert "1 identical file(s) skipped" in rendered
    assert_reconciles(report)


@needs_uci
def test_the_uci_file_with_every_line_twice_lands_once_with_the_count_reported(
    tmp_path: Path, uci_once: tuple[Settings, IngestReport]
) -> None:
    once, once_report = uci_once
    header, lines = _uci_lines()
    source = tmp_path / "doubled"
    source.mkdir()
    (source / UCI_FILE).write_text(header + "".join(line + line for line in lines), encoding="utf-8")
    settings, report = _ingest(tmp_path, "doubled", source)
    assert report.success, report.render()
    (counts,) = report.sources
    # The head already repeats 23 lines exactly (same invoice, product, quantity, minute): those
    # are collapsed in the single copy too, so doubling adds exactly one duplicate per line.
    single = once_report.sources[0].duplicate_rows
    assert counts.rows == 2 * len(lines)
    assert counts.duplicate_rows == counts.duplicate_rows_collapsed == len(lines) + single
    for table in ("orders", "order_items", "users", "products", "events"):
        assert report.counts(table).landed == once_report.counts(table).landed, table
        assert report.counts(table).duplicates == counts.duplicate_rows, table
    assert landed(settings, "orders") == landed(once, "orders")  # same orders, same amounts
    assert _revenue(settings) == _revenue(once)
    assert f"{counts.duplicate_rows:,} exact duplicate row(s) (every column equal) collapsed" in report.render()
    # The kept occurrence is the first: its line number is the one the rejects file points at.
    assert [r["line"] for r in rejects(settings, "orders")] == [str(2 * 624 - 2)]
    assert_reconciles(report)


@needs_uci
def test_duplicate_rows_keep_lands_both(tmp_path: Path, uci_once: tuple[Settings, IngestReport]) -> None:
    once, once_report = uci_once
    mapping = yaml.safe_load((MAPPINGS / "uci_online_retail.yml").read_text(encoding="utf-8"))
    mapping["sources"]["lines"]["duplicate_rows"] = "keep"
    keep = tmp_path / "uci_keep.yml"
    keep.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    header, lines = _uci_lines()
    source = tmp_path / "doubled"
    source.mkdir()
    (source / UCI_FILE).write_text(header + "".join(line + line for line in lines), encoding="utf-8")
    settings, report = _ingest(tmp_path, "keep", source, keep)
    assert report.success, report.render()
    (counts,) = report.sources
    assert counts.duplicate_rows > len(lines) and counts.duplicate_rows_collapsed == 0
    events = report.counts("events")
    assert events.read == 2 * len(lines) and events.duplicates == 0
    # Every purchase line lands twice (23 lines of the head are exact repeats already).
    purchases = events.read - events.filtered - events.rejected
    assert events.landed == purchases and events.merged == 0
    assert report.counts("orders").landed == once_report.counts("orders").landed
    assert _revenue(settings) > 2 * _revenue(once) - 0.01  # the export's own repeats are kept too
    assert "kept: the mapping declares them legitimate (duplicate_rows: keep)" in report.render()
    assert_reconciles(report)


# --- small sources written here: no shared data needed ---------------------------------------

ORDERS_MAPPING = """
name: dup_shop
timezone: Asia/Shanghai
sources:
  sales:
    files: "*.{ext}"
    parse:
      placed: timestamp
      total: number
tables:
  orders:
    from: sales
    columns:
      order_id: order_no
      user_id: customer
      ordered_at: placed
      status: {{value: paid}}
      platform: {{value: web}}
      gross_amount: total
      discount_amount: {{value: 0}}
"""


def _shop(tmp_path: Path, text: str, ext: str = "csv", extra: str = "") -> tuple[Path, Path]:
    mapping = tmp_path / "shop.yml"
    body = ORDERS_MAPPING.format(ext=ext)
    if extra:
        body = body.replace("    parse:\n", f"    {extra}\n    parse:\n", 1)
    mapping.write_text(textwrap.dedent(body), encoding="utf-8")
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    if text:
        (source / f"orders.{ext}").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return mapping, source


SALES = """
    order_no,customer,placed,total
    A1,c1,2024-03-01 10:00:00,10.00
    A2,c2,2024-03-01 11:00:00,20.00
    A1,c1,2024-03-01 10:00:00,10.00
    A3,c3,2024-03-01 12:00:00,30.00
    A3,c3,2024-03-01 12:00:00,31.00
    A1,c1,2024-03-01 10:00:00,10.00
"""


def test_exact_duplicates_collapse_but_rows_sharing_only_the_key_are_left_to_staging(tmp_path: Path) -> None:
    mapping, source = _shop(tmp_path, SALES)
    settings, report = _ingest(tmp_path, "small", source, mapping)
    assert report.success, report.render()
    orders = report.counts("orders")
    assert (orders.read, orders.merged, orders.duplicates, orders.landed) == (6, 2, 2, 4)
    amounts = sorted((o["order_id"], o["gross_amount"]) for o in landed(settings, "orders"))
    # A3 differs in its amount: not an exact duplicate, both land (staging quarantines `duplicate`).
    assert amounts == [("A1", 10.0), ("A2", 20.0), ("A3", 30.0), ("A3", 31.0)]
    assert "orders.csv line 4 = line 2; orders.csv line 7 = line 2" in report.render()
    assert_reconciles(report)


def test_keep_counts_duplicates_without_collapsing(tmp_path: Path) -> None:
    mapping, source = _shop(tmp_path, SALES, extra="duplicate_rows: keep")
    settings, report = _ingest(tmp_path, "small-keep", source, mapping)
    assert report.success, report.render()
    assert report.counts("orders").landed == 6 and report.sources[0].duplicate_rows == 2
    assert [o["order_id"] for o in landed(settings, "orders")].count("A1") == 3


def test_identical_parquet_files_are_read_once_and_distinct_ones_are_not_hashed_away(tmp_path: Path) -> None:
    mapping, source = _shop(tmp_path, "", ext="parquet")
    rows = pa.table(
        {
            "order_no": ["P1", "P2"],
            "customer": ["c1", "c2"],
            "placed": ["2024-03-01 10:00:00", "2024-03-02 10:00:00"],
            "total": ["1.5", "2.5"],
        }
    )
    pq.write_table(rows, source / "a.parquet")
    shutil.copyfile(source / "a.parquet", source / "b.parquet")
    pq.write_table(rows.slice(0, 1), source / "c.parquet")  # P1 again, in another file: a duplicate row
    settings, report = _ingest(tmp_path, "parquet", source, mapping)
    assert report.success, report.render()
    (sales,) = report.sources
    assert sales.files == 2 and sales.skipped_files == ["b.parquet"]
    assert sales.duplicate_rows == 1 and "c.parquet:1 = a.parquet:1" in report.render()
    assert sorted(o["order_id"] for o in landed(settings, "orders")) == ["P1", "P2"]


def test_a_source_without_duplicates_reports_none(tmp_path: Path) -> None:
    mapping, source = _shop(tmp_path, "order_no,customer,placed,total\nB1,c1,2024-03-01 10:00:00,1\n")
    _, report = _ingest(tmp_path, "clean", source, mapping)
    assert report.success and "Duplicates" not in report.render()
    assert report.sources[0].duplicate_rows == 0 and report.sources[0].skipped_files == []


def test_an_unknown_duplicate_rows_value_is_a_mapping_error(tmp_path: Path) -> None:
    mapping, source = _shop(tmp_path, SALES, extra="duplicate_rows: drop")
    with pytest.raises(UserFacingError, match="duplicate_rows"):
        _ingest(tmp_path, "bad", source, mapping)
