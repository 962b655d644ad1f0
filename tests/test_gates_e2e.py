"""Blocking gates end to end: generated data, the whole graph, one fault in one landed day.

One clean baseline per module (generated, run once, all gates green, quarantine = the generator's
truth). Each fault test copies it, rewrites ONE landed Parquet file of the last day with pyarrow
(bypassing the landing writer, which would cast), runs that day again with `huaxiang run` from the
command line and checks that it exits non-zero saying which check failed and why, that the named
blocking check failed in the Dagster instance (the quality report), nothing downstream was
materialized in that run, and the published snapshot is byte-identical. (Until 2026-12 each fault
ran the day twice, in process and from the command line: the same runner, twice the time.)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from huaxiang.commands.run import RunSummary, run_pipeline
from huaxiang.landing import partition_path
from huaxiang.settings import REPO_ROOT
from tests.conftest import huaxiang_home

pytestmark = pytest.mark.slow

USERS, DAYS, SEED = 300, 8, 11
START = date(2026, 6, 1)
FAULT_DAY = START + timedelta(days=DAYS - 1)
HUAXIANG = str(Path(sys.executable).parent / "huaxiang")
DOWNSTREAM_OF_RAW = ("staging/stg_events", "facts/int_user_daily", "marts/user_profile", "published/marts_snapshot")


@dataclass(frozen=True)
class Baseline:
    home: Path
    summary: RunSummary


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Baseline:
    from huaxiang.generator import GeneratorConfig, generate

    home = tmp_path_factory.mktemp("gates-baseline")
    with huaxiang_home(home) as settings:
        generate(
            GeneratorConfig(users=USERS, days=DAYS, start=START, seed=SEED, bad_rate=0.02),
            settings.landing_dir,
            settings.truth_dir,
            progress=False,
        )
        summary = run_pipeline(settings, progress=False)
    return Baseline(home, summary)


def published_fingerprint(home: Path) -> dict[str, str]:
    files = [home / "published" / "manifest.json", home / "published" / "marts.duckdb"]
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in files}


def materialized_in_run(run_id: str) -> set[str]:
    """Asset keys materialized by one run, from the instance of the current HUAXIANG_HOME."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.get() as instance:
        records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    return {record.event_log_entry.dagster_event.asset_key.to_user_string() for record in records}


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HUAXIANG_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    return subprocess.run(
        [HUAXIANG, "--quiet", "run", *args], env=env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=900
    )


# --- faults: each rewrites one landed file of FAULT_DAY ---------------------------------------------


def rewrite(home: Path, table: str, change: Callable[[pa.Table], pa.Table]) -> None:
    path = partition_path(home / "landing", table, FAULT_DAY)
    pq.write_table(change(pq.read_table(path)), path)


def empty_day(home: Path) -> None:
    rewrite(home, "events", lambda t: t.slice(0, 0))


def doubled_day(home: Path) -> None:
    rewrite(home, "events", lambda t: pa.concat_tables([t, t]))


def missing_column(home: Path) -> None:
    rewrite(home, "orders", lambda t: t.drop_columns(["status"]))


def amount_as_text(home: Path) -> None:
    def as_text(t: pa.Table) -> pa.Table:
        index = t.schema.get_field_index("gross_amount")
        return t.set_column(index, "gross_amount", pc.cast(t["gross_amount"], pa.string()))

    rewrite(home, "orders", as_text)


def unknown_users(home: Path) -> None:
    """A third of the day's events by users the user master data never had: raw cannot tell,
    staging quarantines them as orphan_user, and its gate stops the facts."""

    def reassign(t: pa.Table) -> pa.Table:
        ghosts = pa.array([f"U-ghost-{i}" if i % 3 == 0 else None for i in range(len(t))], pa.string())
        index = t.schema.get_field_index("user_id")
        return t.set_column(index, "user_id", pc.coalesce(ghosts, t["user_id"]))

    rewrite(home, "events", reassign)


def tier_outside_catalog(home: Path) -> None:
    """The day's user upserts carry city tier 9: the `city_tier` tag's catalog range is 1..5. Raw
    accepts it (a valid SMALLINT), staging's gate refuses it before any tag is computed."""

    def tier_nine(t: pa.Table) -> pa.Table:
        index = t.schema.get_field_index("city_tier")
        return t.set_column(index, "city_tier", pa.array([9] * len(t), pa.int16()))

    rewrite(home, "users", tier_nine)


def propensity_above_one(home: Path) -> None:
    """A broken propensity model version gets approved (a hand-edited registry, a bad library
    upgrade): it scores every user 1.5. The data are clean; the scoring gate must stop the marts."""
    from ml_assets import propensity
    from ml_assets.registry import ModelRecord, ModelRegistry, new_version

    # Picklable without test code, so the `huaxiang run` subprocess can load it too.
    broken = SimpleNamespace(predict_proba=partial(np.full_like, fill_value=1.5, dtype=float))
    model = propensity.PropensityModel(broken, list(propensity.HEURISTIC_INPUTS), horizon_days=30, kind="broken")
    version = new_version()
    record = ModelRecord(propensity.FAMILY, version, "approved", "broken", version, {"roc_auc": 0.9})
    ModelRegistry(home / "models", propensity.FAMILY).save(model, record)


@dataclass(frozen=True)
class Fault:
    inject: Callable[[Path], None]  # given the run's HUAXIANG_HOME
    check: tuple[str, str]  # (asset, check name) that must fail
    reason: str  # words the failure's description must contain
    not_materialized: tuple[str, ...] = DOWNSTREAM_OF_RAW
    not_run: tuple[str, str] = ("staging/stg_events", "staging__stg_events")  # a gate downstream


FAULTS = {
    "empty day": Fault(empty_day, ("raw/events", "raw__events"), "An empty day"),
    "duplicated day": Fault(doubled_day, ("raw/events", "raw__events"), "doubled"),
    "missing column": Fault(missing_column, ("raw/orders", "contract_schema"), "missing column 'status'"),
    "amount as text": Fault(
        amount_as_text, ("raw/orders", "contract_schema"), "column 'gross_amount' is string, contract says double"
    ),
    "unknown users": Fault(
        unknown_users,
        ("staging/stg_events", "staging__stg_events"),
        "orphan_user",
        not_materialized=("facts/int_user_daily", "marts/user_profile", "published/marts_snapshot"),
        not_run=("facts/int_user_daily", "facts__int_user_daily"),
    ),
    "propensity score outside [0, 1]": Fault(
        propensity_above_one,
        ("ml/purchase_propensity", "scores_in_unit_range"),
        "scores outside [0, 1]",
        not_materialized=("marts/user_profile", "marts/audience_members", "published/marts_snapshot"),
        not_run=("published/marts_snapshot", "no_pii"),
    ),
    # Only what reads users stops: the marts (and per-user facts, where the facts layer has them);
    # the daily rollup of events and orders does not read users and is built.
    "tag value outside the catalog": Fault(
        tier_outside_catalog,
        ("staging/stg_users", "staging__stg_users"),
        "A city tier above 5",
        not_materialized=("marts/user_profile", "published/marts_snapshot"),
        not_run=("published/marts_snapshot", "no_pii"),
    ),
}


# --- tests ----------------------------------------------------------------------------------------


def test_the_baseline_passes_every_gate_and_quarantines_exactly_the_bad_rows(baseline: Baseline) -> None:
    from huaxiang.commands.quality import quality_report

    summary = baseline.summary
    assert summary.success, summary.render()
    assert not summary.failed_checks
    checked = {(check.asset, check.name) for check in summary.checks}
    assert ("staging/stg_events", "staging__stg_events") in checked
    assert ("facts/int_user_daily", "facts__int_user_daily") in checked
    assert summary.published

    with huaxiang_home(baseline.home) as settings:
        report = quality_report(settings)
    injected = json.loads((baseline.home / "truth" / "bad_rows.json").read_text())
    assert {t.table: report.rejected_rows(t.table) for t in report.tables if t.rejected} == injected
    assert not report.failed_checks


@pytest.mark.parametrize("fault_name", list(FAULTS))
def test_a_fault_in_one_day_fails_its_gate_and_stops_everything_downstream(
    baseline: Baseline, tmp_path: Path, fault_name: str
) -> None:
    """One `huaxiang run` of the faulted day, from the command line: what it prints, then what the
    instance recorded (the run's materializations, the quality report), then the published files."""
    from huaxiang.commands.quality import FAILED, NOT_RUN, quality_report

    assert baseline.summary.success, baseline.summary.render()
    fault = FAULTS[fault_name]
    home = tmp_path / "home"
    shutil.copytree(baseline.home, home)
    before = published_fingerprint(home)
    fault.inject(home)

    completed = run_cli(home, "--from", FAULT_DAY.isoformat(), "--to", FAULT_DAY.isoformat())
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    asset, check = fault.check
    assert f"✗ {asset} :: {check} (blocking)" in completed.stdout, output
    assert fault.reason in completed.stdout, output
    assert "Nothing published." in completed.stdout, output
    run_id = re.search(r"^Run ([0-9a-f-]{36}) ", completed.stdout, re.MULTILINE)
    assert run_id, output

    with huaxiang_home(home) as settings:
        materialized = materialized_in_run(run_id.group(1))
        report = quality_report(settings)
    # The gated asset was materialized in this run (the gate judged this run's data), nothing after it.
    assert fault.check[0] in materialized
    assert not materialized & set(fault.not_materialized), output
    assert published_fingerprint(home) == before

    # The quality report tells the same story from the instance: the gate failed (blocking), and
    # why; the gates after it did not run.
    latest = {(check.asset, check.name): check for check in report.checks}
    assert latest[fault.check].status == FAILED and fault.reason in latest[fault.check].description
    assert latest[fault.not_run].status == NOT_RUN
    assert f"FAILED    {fault.check[0]} :: {fault.check[1]} (blocking)" in report.render()
