"""The insight report after a real run: built by the daily graph, safe (no small count), and drawn by a
real browser from disk with the network off (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest

from huaxiang.report import INDEX, REPORT_DIR, REPORT_INFO, data
from huaxiang.report.pages import CHART_CLASS, PLOTLY_JS
from huaxiang.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a headless Chromium in a container as root, that reaches for nothing on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SECTIONS = ("overview", "insight", "campaigns", "cohorts", "quality")


@pytest.fixture(scope="module")
def report(small_home: Settings, small_run) -> Path:
    assert small_run.success, small_run.render()
    return small_home.published_dir / REPORT_DIR


def test_the_daily_run_builds_the_report(small_home: Settings, small_run, report: Path) -> None:
    # `huaxiang run` runs the daily job (huaxiang_all): the report of its run is there.
    info = json.loads((report / REPORT_INFO).read_text())
    assert info["run_id"] == small_run.run_id
    assert small_run.report == str(report / INDEX)
    assert f"Insight report: {report / INDEX}" in small_run.render()
    assert (report / PLOTLY_JS).stat().st_size > 1_000_000  # the library itself, not a link to a CDN
    with data.connect_snapshot(str(small_home.published_dir / "marts.duckdb")) as conn:
        shown = data.insight_groups(conn, data.min_users(conn))
        has_history = data.has_table(conn, data.HISTORY_TABLE)
    pages = {INDEX} | {f"{row.kind}-{row.group_id}.html" for row in shown[~shown["hidden"]].itertuples()}
    assert set(info["pages"]) == pages and all((report / page).is_file() for page in pages)
    index = (report / INDEX).read_text()
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in index
    assert "cdn" not in index.lower() and not re.search(r"""(src|href)=["']https?:""", index)
    assert ("暂无标签历史" in index) != has_history  # trends, or the note that there is no history yet


def test_no_count_under_k_is_shown(small_home: Settings, small_run) -> None:
    """Every user count the report draws from is 0 or at least k (segment_summary's var)."""
    with data.connect_snapshot(str(small_home.published_dir / "marts.duckdb")) as conn:
        k = data.min_users(conn)
        fingerprints = data.suppressed_fingerprints(conn)
        groups = data.insight_groups(conn, k)
        counts = {
            "rfm grid": data.rfm_grid(conn, k, fingerprints)["users"],
            "groups": groups["users"],
            "tgi": data.tgi_cells(conn, k, groups, fingerprints)["group_value_users"],
            "cohorts": data.cohort_cells(conn, k)[["cohort_users", "retained_users", "lapsed_users"]].stack(),
            "campaign arms": data.campaign_lifts(conn, k)[["treatment_users", "control_users"]].stack(),
        }
        for tag_code in data.OVERVIEW_TAGS:
            counts[tag_code] = data.tag_distribution(conn, tag_code)["users"]
    assert k == 10
    for name, values in counts.items():
        shown = values.dropna().astype(float)
        assert (shown.eq(0) | shown.ge(k)).all(), f"{name}: {sorted(shown[shown.between(1, k - 1)])}"
    assert counts["tgi"].isna().any()  # 400 users: some cells are small, and hidden


def test_every_chart_renders_offline_in_chromium(report: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (CI installs Debian's chromium in .ci/run)")
    from playwright.sync_api import sync_playwright

    pages = json.loads((report / REPORT_INFO).read_text())["pages"]
    requested, errors = [], []
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        browser = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:

            def only_files(route) -> None:
                if route.request.url.startswith("file://"):
                    route.continue_()
                else:
                    requested.append(route.request.url)
                    route.abort()

            browser.route("**/*", only_files)
            page = browser.new_page()
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            for name in pages:
                page.goto((report / name).as_uri(), wait_until="load")
                charts = page.eval_on_selector_all(
                    f".{CHART_CLASS}",
                    """charts => charts.map(chart => {
                        const svg = chart.querySelector('svg.main-svg');
                        const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
                        return {drawn: svg ? svg.querySelectorAll('path, rect, text, image').length : 0,
                                width: box.width, height: box.height, room: chart.getBoundingClientRect().width};
                    })""",
                )
                assert charts, f"{name}: no chart"
                for number, chart in enumerate(charts, 1):
                    assert chart["drawn"] > 0 and chart["width"] > 0 and chart["height"] > 0, f"{name} chart {number}"
                    assert chart["width"] <= chart["room"] + 1, f"{name} chart {number} overflows its box: {chart}"
                if name == INDEX:
                    screenshot = tmp_path / "report-overview.png"
                    page.screenshot(path=str(screenshot), full_page=True)
                    assert screenshot.stat().st_size > 10_000
        finally:
            browser.close()
    assert not requested, f"the report asked the network for {requested}"
    assert not errors, errors
