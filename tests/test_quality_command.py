"""`huaxiang quality` (the quarantine report) and the check-overhead measurement, on the small
generated home the whole graph ran over once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from huaxiang.commands.quality import NEVER, PASSED, quality_report
from huaxiang.contract import RAW_TABLES
from huaxiang.quality.suites import discover_suites
from huaxiang.settings import Settings
from tests.conftest import huaxiang_home


def test_the_report_lists_exactly_the_injected_bad_rows_and_every_check(small_home: Settings, small_run) -> None:
    assert small_run.success, small_run.render()
    report = quality_report(small_home)

    injected = json.loads((small_home.truth_dir / "bad_rows.json").read_text())
    assert {t.table: report.rejected_rows(t.table) for t in report.tables if t.rejected} == injected
    assert [t.table for t in report.tables] == list(RAW_TABLES)
    events = next(t for t in report.tables if t.table == "events")
    assert 0 < events.share < 0.05 and events.rows > events.rejected
    groups = [g for g in report.rejects if g.table == "events" and g.reason == "duplicate"]
    assert groups and all(1 <= len(g.examples) <= 2 and g.examples[0].startswith("event_id=") for g in groups)

    # Every check of the code location, each with its latest result: all passed after a clean run,
    # except the weekly retrain job's (the propensity fit, the recommender's evaluation), which the
    # daily run does not execute.
    names = {check.name for check in report.checks}
    assert {suite.name for suite in discover_suites()} <= names
    assert {"contract_schema", "no_pii"} <= names
    never_run = {check.asset for check in report.checks if check.status == NEVER}
    assert never_run == {"ml/propensity_model", "ml/recommendation_evaluation"}
    assert {check.status for check in report.checks if check.asset not in never_run} == {PASSED}
    assert not report.failed_checks

    rendered = report.render()
    assert "Rejected rows by table, partition day and reason:" in rendered
    assert "Checks, latest result of each: 3 never run, " in rendered
    assert f"{len(report.checks) - 3} passed" in rendered


def test_the_report_says_when_nothing_has_run(tmp_path: Path) -> None:
    with huaxiang_home(tmp_path) as settings:
        report = quality_report(settings)
    assert not report.tables and not report.checks
    rendered = report.render()
    assert "nothing has run yet" in rendered and "huaxiang run" in rendered


def test_check_overhead_is_read_from_the_run(small_home: Settings, small_run) -> None:
    from dagster import DagsterInstance

    from huaxiang.quality.overhead import measure_run

    with DagsterInstance.get() as instance:
        overhead = measure_run(instance, small_run.run_id, dbt_threads=small_home.dbt_threads)
    assert len(overhead.gx_steps) == sum(len(suite.gated_assets) for suite in discover_suites())
    assert {step.key for step in overhead.dbt_steps} == {"dbt_staging", "dbt_facts", "dbt_marts", "dbt_history"}
    assert overhead.gx_timings["validation_seconds"] > 0 and overhead.dbt_tests_seconds > 0
    assert 0 < overhead.check_seconds < overhead.run_seconds
    assert "GX suites: " in overhead.render()


def test_never_run_checks_are_listed_as_such(small_home: Settings, small_run, tmp_path: Path) -> None:
    """A home with a warehouse but an empty instance (e.g. a copied warehouse): every check is
    'never run', and the report says none has run."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(small_home.warehouse_path, home / "warehouse.duckdb")
    with huaxiang_home(home) as settings:
        report = quality_report(settings)
    assert report.tables and {check.status for check in report.checks} == {NEVER}
    assert "Checks: none has run yet" in report.render()
