"""Build the insight report from the published snapshot and swap it in as `published/report/`.

Long because it gathers every page's data in one read of the snapshot and swaps the report in at
once; the page bodies are huaxiang/report/pages.py.

Reads only `published/marts.duckdb` (read-only: already PII-scanned and small-cell suppressed),
`published/manifest.json` and the run's check results and quarantine counts handed in as plain data.
Pages are written into `published/.staging-report-<run>/` and renamed into place, like the snapshot.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly

from huaxiang.errors import UserFacingError
from huaxiang.report import INDEX, REPORT_DIR, REPORT_INFO, data
from huaxiang.report.pages import (
    PLOTLY_JS,
    Page,
    bi,
    cohort_heatmap,
    distribution_chart,
    esc,
    group_label,
    groups_chart,
    hidden_mark,
    lift_chart,
    note,
    number,
    rfm_heatmap,
    section,
    table,
    tgi_chart,
    trend_chart,
    value_label,
)


@dataclass(frozen=True)
class CheckResult:
    """One asset check evaluation of the run (as huaxiang.commands.run's CheckOutcome, as plain data)."""

    asset: str
    check: str
    passed: bool
    severity: str = "ERROR"
    description: str = ""


@dataclass(frozen=True)
class QuarantineCount:
    """Rows of a raw table held back by staging, by reason (counts of rows, not of users)."""

    table: str
    rows: int
    rejected: int
    reasons: dict[str, int]


@dataclass(frozen=True)
class BuiltReport:
    folder: Path
    pages: list[str]
    seconds: float


def build_report(
    published_dir: Path, *, run_id: str, checks: list[CheckResult], quarantine: list[QuarantineCount]
) -> BuiltReport:
    started = time.monotonic()
    manifest_file = published_dir / "manifest.json"
    database = published_dir / "marts.duckdb"
    if not manifest_file.is_file() or not database.is_file():
        raise UserFacingError(f"no published snapshot in {published_dir}: run `huaxiang run` first")
    manifest = json.loads(manifest_file.read_text())
    with data.connect_snapshot(str(database)) as conn:
        pages = _pages(conn, manifest, checks, quarantine)
    staging = published_dir / f".staging-report-{run_id}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
        shutil.copyfile(Path(plotly.__file__).parent / "package_data" / PLOTLY_JS, staging / PLOTLY_JS)
        nav = [(INDEX + anchor, label) for anchor, label in NAV]
        for page in pages:
            (staging / page.file).write_text(page.render(nav), encoding="utf-8")
        info = {"run_id": run_id, "as_of": manifest.get("as_of"), "pages": [page.file for page in pages]}
        (staging / REPORT_INFO).write_text(json.dumps(info, indent=2, ensure_ascii=False))
        target = published_dir / REPORT_DIR
        retired = published_dir / f".retired-report-{run_id}"
        if target.exists():
            os.replace(target, retired)
        os.replace(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise UserFacingError(f"cannot write the report in {published_dir}: {error}") from error
    return BuiltReport(target, [page.file for page in pages], time.monotonic() - started)


NAV = [
    ("#overview", bi("用户画像概览", "Profile overview")),
    ("#insight", bi("人群洞察", "Audience insight")),
    ("#campaigns", bi("营销活动", "Campaigns")),
    ("#cohorts", bi("同期群留存", "Cohort retention")),
    ("#quality", bi("数据质量", "Data quality")),
]


def group_file(kind: str, group_id: str) -> str:
    """audience-ready_to_buy.html, cluster-3.html (ids made file-safe)."""
    return f"{kind}-{re.sub(r'[^A-Za-z0-9_-]+', '_', group_id)}.html"


def _pages(conn, manifest: dict, checks: list[CheckResult], quarantine: list[QuarantineCount]) -> list[Page]:
    k = data.min_users(conn)
    fingerprints = data.suppressed_fingerprints(conn)
    head = data.headline(conn)
    subtitle = (
        f"{bi('数据截至', 'as of')} {head['as_of']} · {bi('运行', 'run')} {manifest.get('run_id', '')[:8]} · "
        f"少于 {k} 人的分组已隐藏 groups under {k} users are hidden"
    )
    index = Page(INDEX, bi("用户画像洞察报告", "Insight report"), subtitle)
    groups = data.insight_groups(conn, k)
    cells = data.tgi_cells(conn, k, groups, fingerprints)
    index.sections += [
        _overview(index, conn, k, head, fingerprints),
        _insight(index, groups, k),
        _campaigns(index, data.campaign_lifts(conn, k), k),
        _cohorts(index, data.cohort_cells(conn, k), k),
        _quality(manifest, checks, quarantine),
    ]
    group_pages = [
        _group_page(row, cells[(cells["kind"] == row.kind) & (cells["group_id"] == row.group_id)], k, subtitle)
        for row in groups[~groups["hidden"]].itertuples()
    ]
    return [index, *group_pages]


def _overview(page: Page, conn, k: int, head: dict, fingerprints: set[str]) -> str:
    kpis = "".join(
        f'<div class="kpi">{esc(label)}<b>{value}</b></div>'
        for label, value in (
            (bi("用户数", "users"), number(head["users"])),
            (bi("近30天购买用户", "buyers, 30 days"), number(head["buyers_30d"])),
            (bi("近30天订单", "orders, 30 days"), number(head["orders_30d"])),
            (bi("近30天销售额", "revenue, 30 days (CNY)"), number(head["revenue_30d"])),
        )
    )
    titles = {
        "value_tier": bi("价值分层", "Value tier"),
        "lifecycle_stage": bi("生命周期阶段", "Lifecycle stage"),
        "rfm_segment": bi("RFM客户分群", "RFM segment"),
    }
    charts, hidden_notes = [], []
    for tag_code in data.OVERVIEW_TAGS:
        frame = data.tag_distribution(conn, tag_code)
        charts.append(page.chart(distribution_chart(frame, titles[tag_code]), height=340))
        hidden_values = frame.loc[frame["hidden"], "tag_value"].tolist()
        if hidden_values:
            hidden_notes.append(f"{titles[tag_code]}: {', '.join(hidden_values)}")
    parts = [f'<div class="kpis">{kpis}</div>', f'<div class="grid">{"".join(charts)}</div>']
    if hidden_notes:
        parts.append(
            note(
                bi("已隐藏的取值（少于 k 人或为保护其他小组）", f"values hidden (k = {k}, as in segment_summary)")
                + ": "
                + "; ".join(hidden_notes)
            )
        )
    parts.append(page.chart(rfm_heatmap(data.rfm_grid(conn, k, fingerprints), k), height=420))
    parts.append(f"<h3>{esc(bi('标签趋势', 'Tag trends'))}</h3>")
    trends = data.tag_trends(conn, k, fingerprints)
    if trends is None or trends.empty:
        parts.append(
            note(bi("暂无标签历史", "no tag history yet") + " (published user_tag_history is missing or empty)")
        )
    else:
        parts.append(
            '<div class="grid">'
            + "".join(
                page.chart(trend_chart(trends, tag_code, titles[tag_code]), height=340) for tag_code in data.TREND_TAGS
            )
            + "</div>"
        )
    return section("overview", bi("用户画像概览", "Profile overview"), *parts)


def _insight(page: Page, groups: pd.DataFrame, k: int) -> str:
    rows = []
    for row in groups.itertuples():
        name = group_label(row)
        link = name if row.hidden else f'<a href="{group_file(row.kind, row.group_id)}">{esc(name)}</a>'
        rows.append(
            [
                esc(bi("人群", "audience") if row.kind == "audience" else bi("聚类", "cluster")),
                link if not row.hidden else esc(name),
                hidden_mark(k) if row.hidden else number(row.users),
                "" if row.hidden else number(row.share * 100, 1, "%"),
            ]
        )
    return section(
        "insight",
        bi("人群洞察", "Audience insight"),
        note(
            "TGI = "
            + bi("组内占比 ÷ 全体占比 × 100", "share in group / share overall × 100")
            + " · "
            + bi("点击人群查看各标签取值的 TGI", "open a group for the TGI of every tag value")
        ),
        page.chart(groups_chart(groups), height=120 + 26 * int((~groups["hidden"]).sum())),
        table([bi("类型", "kind"), bi("人群", "group"), bi("用户数", "users"), bi("占全体", "share")], rows, {2, 3}),
    )


def _group_page(row, cells: pd.DataFrame, k: int, subtitle: str) -> Page:
    name = group_label(row)
    page = Page(group_file(row.kind, row.group_id), f"{bi('人群洞察', 'Audience insight')}: {name}", subtitle)
    shown = cells[~cells["hidden"]]
    table_rows = [
        [
            esc(bi(c.tag_zh, c.tag_en)),
            esc(value_label(c)),
            number(c.group_value_users),
            number(c.group_share * 100, 1, "%"),
            number(c.population_share * 100, 1, "%"),
            f"<b>{number(c.tgi)}</b>",
        ]
        for c in shown.itertuples()
    ]
    hidden_count = int(cells["hidden"].sum())
    page.sections.append(
        section(
            "tgi",
            f"{name} · {number(row.users)} {bi('人', 'users')} ({number(row.share * 100, 1, '%')})",
            note(
                f"TGI = {bi('组内占比 ÷ 全体占比 × 100', 'share in group / share overall × 100')}; "
                f"{bi('高于100表示该特征在组内更集中', 'above 100: the value is more common in the group')}"
            ),
            page.chart(
                tgi_chart(cells, bi("TGI 最高的标签取值", f"Top {min(len(shown), 20)} tag values by TGI")),
                height=160 + 24 * min(len(shown), 20),
            ),
            table(
                [
                    bi("标签", "tag"),
                    bi("取值", "value"),
                    bi("组内人数", "users in group"),
                    bi("组内占比", "share in group"),
                    bi("全体占比", "share overall"),
                    "TGI",
                ],
                table_rows,
                {2, 3, 4, 5},
            ),
            note(
                f"{hidden_count} "
                + bi("个取值已隐藏", "tag values hidden")
                + f" (k = {k}: "
                + bi(
                    "组内或组外人数少于 k，或为保护其他取值",
                    "fewer than k users in or outside the group, or a complement",
                )
                + ")"
            ),
        )
    )
    return page


def _campaigns(page: Page, campaigns: pd.DataFrame, k: int) -> str:
    if campaigns.empty:
        return section(
            "campaigns", bi("营销活动", "Campaigns"), note(bi("暂无活动数据", "no campaigns in the snapshot"))
        )
    rows = [
        [
            esc(c.campaign_id),
            esc(c.campaign_name),
            esc(c.channel),
            hidden_mark(k) if c.hidden else number(c.treatment_users),
            hidden_mark(k) if c.hidden else number(c.control_users),
            "–" if c.hidden else number(c.lift * 100, 2, " pp"),
            "–" if c.hidden else f"[{number(c.lift_ci_low * 100, 2)}, {number(c.lift_ci_high * 100, 2)}]",
            number(c.roi, 2),
            f'<span class="flag">{esc(bi("样本不足", "insufficient sample"))}</span>' if c.insufficient_sample else "",
        ]
        for c in campaigns.itertuples()
    ]
    return section(
        "campaigns",
        bi("营销活动", "Campaigns"),
        page.chart(lift_chart(campaigns), height=380),
        table(
            [
                bi("活动", "campaign"),
                bi("名称", "name"),
                bi("渠道", "channel"),
                bi("实验组", "treatment users"),
                bi("对照组", "control users"),
                bi("提升", "lift"),
                bi("置信区间", "confidence interval"),
                "ROI",
                bi("标记", "flag"),
            ],
            rows,
            {3, 4, 5, 6, 7},
        ),
        note(
            bi(
                "样本不足：任一组少于阈值或期望转化数少于5，区间不可靠",
                "insufficient sample: an arm under the minimum "
                "size or an expected count under 5; the interval does not hold",
            )
        ),
    )


def _cohorts(page: Page, cells: pd.DataFrame, k: int) -> str:
    if cells.empty:
        return section("cohorts", bi("同期群留存", "Cohort retention"), note(bi("暂无同期群", "no cohorts yet")))
    charts = [
        page.chart(
            cohort_heatmap(cells, grain, k),
            height=200 + 28 * cells[cells["cohort_grain"] == grain]["cohort_start"].nunique(),
        )
        for grain in sorted(cells["cohort_grain"].unique())
    ]
    return section(
        "cohorts",
        bi("同期群留存", "Cohort retention"),
        *charts,
        note(bi("最后一期尚未结束", "the latest period of each cohort is still running")),
    )


def _quality(manifest: dict, checks: list[CheckResult], quarantine: list[QuarantineCount]) -> str:
    passed = sum(check.passed for check in checks)
    warned = [c for c in checks if not c.passed and c.severity == "WARN"]
    failed = [c for c in checks if not c.passed and c.severity != "WARN"]
    quality = manifest.get("quality", {})
    summary = table(
        [
            bi("检查", "checks"),
            bi("通过", "passed"),
            bi("失败", "failed"),
            bi("警告", "warnings"),
            bi("已接受的例外", "accepted exceptions"),
        ],
        [
            [
                number(len(checks)),
                number(passed),
                number(len(failed)),
                number(len(warned)),
                number(len(quality.get("accepted_exceptions", []))),
            ]
        ],
        {0, 1, 2, 3, 4},
    )
    listed = dict.fromkeys((c.asset, c.check, c.description) for c in [*failed, *warned])
    issues = (
        table(
            [bi("资产", "asset"), bi("检查", "check"), bi("说明", "detail")],
            [[esc(a), esc(c), esc(d)] for a, c, d in listed],
        )
        if listed
        else note(bi("本次运行没有失败或警告的检查", "no check failed or warned in this run"))
    )
    quarantine_rows = [
        [
            esc(q.table),
            number(q.rows),
            number(q.rejected),
            number(100 * q.rejected / q.rows if q.rows else 0, 2, "%"),
            esc(", ".join(f"{reason} ({rows:,})" for reason, rows in Counter(q.reasons).most_common(3))),
        ]
        for q in sorted(quarantine, key=lambda q: q.table)
    ]
    held = (
        table(
            [
                bi("表", "table"),
                bi("行数", "rows"),
                bi("隔离行", "quarantined"),
                bi("占比", "share"),
                bi("主要原因", "top reasons"),
            ],
            quarantine_rows,
            {1, 2, 3},
        )
        if quarantine_rows
        else note(bi("没有隔离数据", "no quarantine counts for this run"))
    )
    return section(
        "quality", bi("数据质量", "Data quality"), summary, issues, f"<h3>{esc(bi('隔离区', 'Quarantine'))}</h3>", held
    )
