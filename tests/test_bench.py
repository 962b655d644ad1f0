"""The benchmark harness at a tiny size: every field of the result, and the pandas peer's check.

No timing is asserted here: speed is measured by `huaxiang bench`, never by tests.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from bench.compare import compare_profiles
from bench.harness import BenchPlan
from bench.report import RESULTS_BEGIN, load_results, results_markdown, update_docs, write_result
from bench.rss import TreeSampler
from bench.sizes import Size, parse_size
from bench.stages import STAGES
from huaxiang.commands.bench import bench, render

TINY = "300x3"
ALWAYS_MEASURED = ("generate", "land", "staging", "facts", "marts", "quality", "publish", "orchestration", "total")
ML_STAGES = ("ml_cluster", "ml_propensity_fit", "ml_scoring", "ml_recommendations")


@pytest.fixture(scope="module")
def tiny_bench(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> tuple[dict, Path]:
    home = tmp_path_factory.mktemp("bench") / "home"
    return bench(TINY, repeat=1, settings_home=home, days_after=1), home


def test_parse_size() -> None:
    assert parse_size("m") == Size("M", 100_000, 90)
    assert parse_size("300x5") == Size("300x5", 300, 5)
    with pytest.raises(ValueError):
        parse_size("huge")


def test_the_days_after_follow_the_full_build_one_a_day(tmp_path: Path) -> None:
    # The tiny bench below runs one day after its build (CI time); `--days-after N` runs these N.
    plan = BenchPlan(size=parse_size("300x5"), repeat=1, home=tmp_path, days_after=3)
    assert plan.last_full_day == date(2026, 6, 5)
    assert plan.days_after_build == [date(2026, 6, 6), date(2026, 6, 7), date(2026, 6, 8)]


def test_tree_sampler_sees_the_process() -> None:
    with TreeSampler(interval=0.01) as sampler:
        ballast = bytearray(64 * 1024 * 1024)
        while len(sampler.samples) < 3:
            pass
    assert sampler.peak() >= len(ballast)


@pytest.mark.slow
def test_result_has_every_field(tiny_bench: tuple[dict, Path]) -> None:
    document, _ = tiny_bench
    assert document["size"] == {"name": TINY, "users": 300, "days": 3}
    assert set(document["stages"]) == set(STAGES)
    for stage in ALWAYS_MEASURED:
        assert document["stages"][stage]["seconds"] > 0, stage
        assert document["stages"][stage]["peak_rss_mib"] > 0, stage
    assert all(document["stages"][stage]["seconds"] > 0 for stage in ML_STAGES)
    assert set(document["dbt"]) == {"staging", "facts", "marts"}
    assert document["floor"]["seconds"] > 0 and document["floor"]["row_counts_match"]
    assert document["peer"]["status"] == "completed"
    assert document["incremental"]["seconds"] > 0
    assert document["incremental"]["day"] == "2026-06-04"
    assert [day["day"] for day in document["days_after"]] == ["2026-06-04"]
    assert document["days_after"][0]["seconds"] == document["incremental"]["seconds"]
    assert all(day["stages"]["total"]["seconds"] > 0 for day in document["days_after"])
    # The Dagster event log of a day is bounded by the graph, not by the data: at most the build's.
    assert 0 < document["incremental"]["dagster_events"] <= document["full_build"]["dagster_events"]
    assert document["handwritten_floor"]["seconds"] > 0
    assert all(value > 0 for value in document["ratios"].values())
    assert all(value > 0 for value in document["throughput"].values())
    assert document["data"]["raw_rows"] > 0 and document["data"]["user_daily_rows"] > 0
    assert document["machine"]["cores"] >= 1
    assert document["targets"] == []  # targets belong to the named sizes
    assert TINY in render(document)


@pytest.mark.slow
def test_peer_equals_the_pipeline_on_shared_columns(tiny_bench: tuple[dict, Path]) -> None:
    comparison = tiny_bench[0]["peer"]["comparison"]
    assert comparison["equal"], comparison["mismatches"]
    assert comparison["pipeline_users"] == comparison["peer_users"] > 0
    assert {"rfm_segment", "value_tier", "lifecycle_stage", "revenue_365d"} <= set(comparison["columns_compared"])


@pytest.mark.slow
def test_handwritten_floor_equals_the_pipeline_on_shared_columns(tiny_bench: tuple[dict, Path]) -> None:
    comparison = tiny_bench[0]["handwritten_floor"]["comparison"]
    assert comparison["equal"], comparison["mismatches"]
    assert comparison["pipeline_users"] == comparison["peer_users"] > 0


@pytest.mark.slow
def test_comparison_reports_a_changed_value(tiny_bench: tuple[dict, Path]) -> None:
    # The warehouse has moved on by a day since the comparison (the incremental run): compare the
    # peer with itself, changed in two cells and one user short.
    _, home = tiny_bench
    pipeline = pd.read_parquet(home / "peer" / "profile.parquet")
    peer = pipeline.copy()
    peer.loc[0, "lifecycle_stage"] = "churned" if peer.loc[0, "lifecycle_stage"] != "churned" else "active"
    peer.loc[1, "revenue_total"] += 1  # one cent
    changed = compare_profiles(pipeline, peer.iloc[:-1])
    assert not changed.equal
    assert changed.mismatches["lifecycle_stage"] == 1
    assert changed.mismatches["revenue_total"] == 1
    assert changed.missing_users == 1


@pytest.mark.slow
def test_results_file_and_docs_table(tiny_bench: tuple[dict, Path], tmp_path: Path) -> None:
    # The tiny bench measures one day after its build; the table of several is drawn from two.
    day = tiny_bench[0]["days_after"][0]
    document = {
        **tiny_bench[0],
        "size": {"name": "S", "users": 300, "days": 3},
        "days_after": [day, {**day, "day": "2026-06-05"}],
    }
    path = write_result(document, tmp_path / "results")
    assert load_results(tmp_path / "results") == {"S": document}
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\nIntro.\n\n## Quality-check overhead\n\nKept as written.\n")
    update_docs(load_results(path.parent), docs)
    update_docs(load_results(path.parent), docs)  # idempotent: one generated block
    text = docs.read_text()
    assert text.count(RESULTS_BEGIN) == 1
    assert "## Quality-check overhead\n\nKept as written." in text
    assert results_markdown({"S": document}) in text
    assert "**Days after the full build, S**" in text and "day 2 (2026-06-05)" in text
    assert "pipeline / handwritten floor" in text
