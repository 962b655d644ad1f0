"""Shops shaped like real ones publish: the generator's scenarios through the whole graph.

A year and more of a shop with 618 / 双11 / 双12 spikes, weekly seasonality, a Chinese New Year dip
and customer acquisition that stops publishes, with its anomalies reported as warnings; 双11 is
judged against last year's 双11; a day the calendar does not know blocks until a person accepts it.
A purchase log of buyers who come back every few months publishes too, with RFM segments that
spread (the cut points come from the shop, not the generator). Faults that must still block are
in tests/test_gates_e2e.py.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from huaxiang.cli import main as huaxiang_cli
from huaxiang.commands.quality import quality_report
from huaxiang.commands.run import RunSummary, run_pipeline
from huaxiang.landing import partition_path
from huaxiang.quality.frames import Window, run_frames
from huaxiang.quality.suites import discover_suites
from huaxiang.settings import Settings
from huaxiang.warehouse import connect
from tests.conftest import huaxiang_home

pytestmark = pytest.mark.slow

START = date(2025, 11, 1)
DAYS = 377  # through 双11 2026: two 双11s, a 双12, a Chinese New Year, a 618
LAST_DAY = START + timedelta(days=DAYS - 1)


@dataclass(frozen=True)
class ScenarioRun:
    home: Path
    settings: Settings
    summary: RunSummary


def _generate_and_run(home: Path, **config) -> Iterator[ScenarioRun]:
    from huaxiang.generator import GeneratorConfig, generate

    with huaxiang_home(home) as settings:
        generate(GeneratorConfig(**config), settings.landing_dir, settings.truth_dir, progress=False)
        settings = Settings.from_env()  # partitions start at the earliest landed day
        settings.export()
        yield ScenarioRun(home, settings, run_pipeline(settings, progress=False))


@pytest.fixture(scope="module")
def real_year(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Iterator[ScenarioRun]:
    yield from _generate_and_run(
        tmp_path_factory.mktemp("real-year"),
        users=200,
        days=DAYS,
        start=START,
        seed=5,
        bad_rate=0.01,
        scenarios=("promotions", "weekly", "cny_dip", "acquisition_stops"),
    )


@pytest.fixture(scope="module")
def sparse_purchase_log(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Iterator[ScenarioRun]:
    yield from _generate_and_run(
        tmp_path_factory.mktemp("sparse-purchase-log"),
        users=400,
        days=240,  # two or three purchases of each sparse buyer
        start=START,
        seed=6,
        scenarios=("sparse_buyers", "purchase_only"),
    )


def manifest(run: ScenarioRun) -> dict:
    return json.loads((run.home / "published" / "manifest.json").read_text())


def volume(run: ScenarioRun, table: str, day: date) -> dict:
    suite = next(s for s in discover_suites() if s.name == f"raw__{table}")
    with huaxiang_home(run.home), connect(run.settings.warehouse_path, read_only=True) as conn:
        frames = run_frames(conn, suite, Window(day, day, "test"), run.settings.timezone)
    return frames["volume"].data.iloc[0].to_dict()


def test_a_year_with_promotions_a_dip_and_a_stop_publishes_with_warnings(real_year: ScenarioRun) -> None:
    summary = real_year.summary
    assert summary.success and summary.published, summary.render()
    assert not summary.failed_checks
    published = manifest(real_year)
    assert published["run_id"] == summary.run_id
    # Every warning of the run is in the manifest, named by check (per day for a range run).
    warned = {(w["asset"], w["check"]) for w in published["quality"]["warnings"]}
    assert {(c.asset, c.name) for c in summary.warnings} <= warned
    assert published["quality"]["accepted_exceptions"] == []
    # `huaxiang quality` shows the same warnings, as warnings.
    with huaxiang_home(real_year.home) as settings:
        report = quality_report(settings)
    assert not report.failed_checks
    assert {(c.asset, c.name) for c in report.warnings} == {(c.asset, c.name) for c in summary.warnings}


def test_double_11_is_judged_against_last_years_double_11(real_year: ScenarioRun) -> None:
    first, second = volume(real_year, "orders", date(2025, 11, 11)), volume(real_year, "orders", date(2026, 11, 11))
    assert first["calendar_event"] == second["calendar_event"] == "双11"
    assert first["baseline"].startswith("first 双11") and first["ratio"] != first["ratio"]  # NaN: not judged
    assert "1 past year" in second["baseline"] and 0.1 <= second["ratio"] <= 10
    # The spike itself is far above an ordinary day: judged as an ordinary day it would block.
    ordinary = volume(real_year, "orders", date(2026, 10, 28))
    assert second["rows"] > 3 * ordinary["baseline_rows"]


def test_a_day_the_calendar_does_not_know_blocks_until_accepted(real_year: ScenarioRun, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(real_year.home, home)
    # A flash sale nobody declared: thirty times the day's traffic, all of it valid rows.
    landed = partition_path(home / "landing", "events", LAST_DAY)
    day = pq.read_table(landed)
    ids = day.schema.get_field_index("event_id")
    copies = [
        day.set_column(ids, "event_id", pc.binary_join_element_wise(day["event_id"], f"-{i}", "")) for i in range(30)
    ]
    pq.write_table(pa.concat_tables(copies), landed)

    with huaxiang_home(home) as settings:
        blocked = run_pipeline(settings, first_day=LAST_DAY, last_day=LAST_DAY, progress=False)
        assert not blocked.success and blocked.published is None
        (gate,) = {(c.asset, c.name) for c in blocked.failed_checks}
        assert gate == ("raw/events", "raw__events")
        assert any("volume.ratio" in c.description for c in blocked.failed_checks), blocked.render()

        why = "flash sale announced on the app, confirmed with ops"
        assert huaxiang_cli(["quality", "accept", "raw__events", "--day", LAST_DAY.isoformat(), "--why", why]) == 0
        accepted = run_pipeline(settings, first_day=LAST_DAY, last_day=LAST_DAY, progress=False)
    assert accepted.success and accepted.published, accepted.render()
    (exception,) = manifest(ScenarioRun(home, settings, accepted))["quality"]["accepted_exceptions"]
    assert exception["check"] == "raw__events" and exception["day"] == LAST_DAY.isoformat()
    assert exception["why"] == why


def test_a_purchase_log_of_sparse_buyers_publishes_with_spread_segments(sparse_purchase_log: ScenarioRun) -> None:
    summary = sparse_purchase_log.summary
    assert summary.success and summary.published, summary.render()
    assert "clickstream" in manifest(sparse_purchase_log)["source"]["missing_signals"]
    with duckdb.connect(str(sparse_purchase_log.home / "published" / "marts.duckdb"), read_only=True) as conn:
        shares = conn.execute(
            """
            select rfm_segment, count(*) / sum(count(*)) over () as share
            from user_profile where orders_365d > 0 group by 1 order by share desc
            """
        ).fetchall()
    assert len(shares) >= 4, shares
    assert shares[0][1] <= 0.5, shares  # no RFM segment holds more than half of the buyers
