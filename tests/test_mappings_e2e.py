"""Every mapping shipped in mappings/ runs end to end: `ingest` then `run` to a published snapshot.

Olist and UCI Online Retail run on real samples in tests/test_real_pipeline.py. The other shapes get a
small seeded file of their own shape here (a few hundred rows, so CI stays quick):

* clv_transactions — a CDNOW-style customer / date / quantity / amount log (whitespace, no header);
* taobao_user_behavior — a Taobao UserBehavior event log (user, item, category, pv/fav/cart/buy,
  epoch seconds; no header, no prices).

What each asserts is what a user of that shape needs: the whole graph green with nothing blocking,
a snapshot published, one profile per customer, and the signals the source lacks named in the manifest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import numpy as np
import pytest

from huaxiang.commands.ingest import ingest
from huaxiang.commands.run import RunSummary, run_pipeline
from huaxiang.ingest import IngestReport
from huaxiang.settings import REPO_ROOT, Settings
from tests.conftest import huaxiang_home

pytestmark = pytest.mark.slow

MAPPINGS = REPO_ROOT / "mappings"


@dataclass(frozen=True)
class MappingRun:
    settings: Settings
    report: IngestReport
    summary: RunSummary
    source_users: int


def _ingest_and_run(home: Path, mapping: str, source: Path, source_users: int) -> Iterator[MappingRun]:
    with huaxiang_home(home):
        report = ingest(MAPPINGS / mapping, source, Settings.from_env(), progress=False)
        assert report.success, report.render()
        settings = Settings.from_env()  # the partitions start at the earliest landed day
        settings.export()
        summary = run_pipeline(settings, progress=False)
        yield MappingRun(settings, report, summary, source_users)


def write_clv_log(directory: Path, customers: int = 60, first: date = date(1997, 1, 1), days: int = 45) -> int:
    """About 300 purchases: each customer's first on a day of the period, repeats every few weeks,
    at least one purchase every day; returns the number of customers."""
    rng = np.random.default_rng(20)
    lines = []
    for customer in range(1, customers + 1):
        day = int(rng.integers(0, days // 2))
        while day < days:
            quantity = int(rng.integers(1, 5))
            amount = round(float(rng.gamma(2.0, 12.0)) * quantity, 2)
            lines.append((day, f"{customer:05d} {first + timedelta(days=day):%Y%m%d} {quantity} {amount:.2f}"))
            day += int(rng.integers(1, 12))
    covered = {day for day, _ in lines}
    for day in sorted(set(range(days)) - covered):  # a daily feed: no day without a purchase
        lines.append((day, f"{customers:05d} {first + timedelta(days=day):%Y%m%d} 1 9.99"))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "transactions.txt").write_text("\n".join(text for _, text in sorted(lines)) + "\n")
    return customers


def write_taobao_log(directory: Path, users: int = 50, first: date = date(2017, 11, 25), days: int = 9) -> int:
    """About 500 behaviour events in sessions (pv mostly, some fav/cart, a buy after a cart), in
    Beijing daytime hours, every day; returns the number of users with an event."""
    rng = np.random.default_rng(21)
    items = rng.integers(100_000, 5_000_000, 80)
    category = {int(item): int(rng.integers(1_000, 1_010)) for item in items}
    beijing = timezone(timedelta(hours=8))
    rows = []
    for user in range(1, users + 1):
        for day in range(days):
            if rng.random() > 0.4 and user > 2:  # users 1 and 2 visit every day
                continue
            start = datetime.combine(first + timedelta(days=day), datetime.min.time(), beijing)
            moment = start + timedelta(hours=int(rng.integers(8, 22)), minutes=int(rng.integers(0, 60)))
            for _ in range(int(rng.integers(1, 6))):
                item = int(items[rng.integers(0, len(items))])
                behaviour = str(rng.choice(["pv", "fav", "cart"], p=[0.8, 0.08, 0.12]))
                steps = [behaviour, "buy"] if behaviour == "cart" and rng.random() < 0.5 else [behaviour]
                for step in steps:
                    moment += timedelta(seconds=int(rng.integers(20, 300)))
                    rows.append(f"{user},{item},{category[item]},{step},{int(moment.timestamp())}")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "UserBehavior_sample.csv").write_text("\n".join(rows) + "\n")
    return len({row.split(",")[0] for row in rows})


@pytest.fixture(scope="module")
def clv(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Iterator[MappingRun]:
    source = tmp_path_factory.mktemp("clv-source")
    customers = write_clv_log(source)
    yield from _ingest_and_run(tmp_path_factory.mktemp("clv-run"), "clv_transactions.yml", source, customers)


@pytest.fixture(scope="module")
def taobao(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Iterator[MappingRun]:
    source = tmp_path_factory.mktemp("taobao-source")
    users = write_taobao_log(source)
    yield from _ingest_and_run(tmp_path_factory.mktemp("taobao-run"), "taobao_user_behavior.yml", source, users)


def assert_published_green(run: MappingRun) -> dict:
    summary = run.summary
    assert summary.success, summary.render()
    assert not summary.failed_steps and not summary.skipped_steps, summary.render()
    assert not [c for c in summary.failed_checks if c.blocking], summary.render()
    assert summary.published, summary.render()
    manifest = json.loads((run.settings.published_dir / "manifest.json").read_text())
    assert manifest["run_id"] == summary.run_id
    with duckdb.connect(str(run.settings.published_dir / "marts.duckdb"), read_only=True) as marts:
        assert marts.sql("select count(*) from user_profile").fetchone()[0] == run.source_users
    return manifest


def test_clv_transactions_ingest_and_run_publish(clv: MappingRun) -> None:
    landed = {table.table: table.landed for table in clv.report.tables}
    assert landed["orders"] == landed["events"] > 250
    manifest = assert_published_green(clv)
    missing = manifest["source"]["missing_signals"]
    assert {"campaigns", "clickstream", "demographics", "reviews", "consent"} <= set(missing)


def test_taobao_user_behavior_ingest_and_run_publish(taobao: MappingRun) -> None:
    landed = {table.table: table.landed for table in taobao.report.tables}
    assert landed["events"] > 300 and landed["orders"] > 10
    manifest = assert_published_green(taobao)
    missing = manifest["source"]["missing_signals"]
    assert "campaigns" in missing and "clickstream" not in missing
