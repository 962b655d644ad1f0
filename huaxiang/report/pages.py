"""The report's HTML pages: Plotly figures (drawn by the plotly.min.js shipped in the plotly package,
one copy next to the pages, never a CDN) and plain tables, every label in Chinese and English."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

PLOTLY_JS = "plotly.min.js"
# Charts are drawn into divs of this class; the browser test checks each holds a drawn SVG.
CHART_CLASS = "chart"
TGI_TOP = 20  # tag values per group in its TGI chart (the table lists them all)
GOOD, BAD, NEUTRAL, MUTED = "#2e7d32", "#c62828", "#1f5fa8", "#9e9e9e"

STYLE = """
body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", Arial, sans-serif; margin: 0;
       color: #222; background: #f6f7f9; }
header { background: #1f3b5a; color: #fff; padding: 14px 28px; }
header h1 { margin: 0; font-size: 22px; } header p { margin: 4px 0 0; opacity: .85; font-size: 13px; }
nav a { color: #cfe3ff; margin-right: 16px; font-size: 14px; text-decoration: none; }
main { padding: 8px 28px 40px; max-width: 1280px; }
section { background: #fff; border-radius: 6px; padding: 12px 20px; margin: 16px 0;
          box-shadow: 0 1px 2px rgba(0,0,0,.08); }
h2 { font-size: 18px; border-bottom: 2px solid #1f3b5a; padding-bottom: 4px; }
h3 { font-size: 15px; margin-bottom: 4px; }
/* auto-fill, not auto-fit: each chart is drawn as soon as it is parsed, before its neighbours exist,
   and must get its own column's width then */
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 12px; }
.grid > div { min-width: 0; }
.kpis { display: flex; gap: 16px; flex-wrap: wrap; }
.kpi { background: #eef3f9; border-radius: 6px; padding: 8px 16px; min-width: 150px; }
.kpi b { display: block; font-size: 22px; color: #1f3b5a; }
.note { color: #666; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
th, td { border-bottom: 1px solid #e3e6ea; padding: 4px 10px; text-align: left; }
th { background: #f0f2f5; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.hidden-cell { color: #999; } .flag { color: #c62828; font-weight: bold; }
"""


def bi(zh: str, en: str) -> str:
    """A bilingual label: Chinese first, then English."""
    return f"{zh} {en}"


def esc(value: object) -> str:
    return html.escape("" if value is None or value is pd.NA else str(value))


@dataclass
class Page:
    """One HTML page: a title, sections of HTML, and its charts numbered for stable element ids."""

    file: str
    title: str
    subtitle: str
    sections: list[str] = field(default_factory=list)
    charts: int = 0

    def chart(self, figure: go.Figure, height: int = 360) -> str:
        self.charts += 1
        figure.update_layout(
            height=height,
            margin={"l": 60, "r": 20, "t": 40, "b": 50},
            template="plotly_white",
            font={"family": "Noto Sans CJK SC, PingFang SC, Microsoft YaHei, Arial, sans-serif", "size": 12},
        )
        div = figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"chart-{self.charts}",
            config={"displayModeBar": False, "responsive": True},
        )
        return f'<div class="{CHART_CLASS}">{div}</div>'

    def render(self, nav: list[tuple[str, str]]) -> str:
        links = " ".join(f'<a href="{esc(href)}">{esc(label)}</a>' for href, label in nav)
        return (
            '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
            f"<title>{esc(self.title)}</title>"
            f'<script src="{PLOTLY_JS}"></script><style>{STYLE}</style></head><body>'
            f"<header><h1>{esc(self.title)}</h1><p>{esc(self.subtitle)}</p><nav>{links}</nav></header>"
            f"<main>{''.join(self.sections)}</main></body></html>\n"
        )


def section(anchor: str, title: str, *parts: str) -> str:
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{"".join(parts)}</section>'


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def number(value: object, digits: int = 0, suffix: str = "") -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):,.{digits}f}{suffix}"


def table(headers: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def hidden_mark(k: int) -> str:
    return f'<span class="hidden-cell">&lt; {k} {esc(bi("已隐藏", "hidden"))}</span>'


# ── charts ──────────────────────────────────────────────────────────────────────────────────────


def distribution_chart(frame: pd.DataFrame, title: str) -> go.Figure:
    shown = frame[~frame["hidden"]]
    labels = [bi(zh, en) if zh != en else en for zh, en in zip(shown["value_zh"], shown["tag_value"], strict=True)]
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=shown["users"].astype(float),
            marker_color=NEUTRAL,
            text=[f"{int(v):,}" for v in shown["users"]],
            textposition="outside",
        )
    )
    figure.update_layout(title=title, yaxis_title=bi("用户数", "users"))
    return figure


def rfm_heatmap(grid: pd.DataFrame, k: int) -> go.Figure:
    pivot = grid.pivot(index="rfm_r", columns="rfm_f", values="users")
    z = [[None if pd.isna(v) else float(v) for v in row] for row in pivot.to_numpy()]
    text = [["<k" if v is None else f"{int(v):,}" for v in row] for row in z]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"F{f}" for f in pivot.columns],
            y=[f"R{r}" for r in pivot.index],
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            hoverongaps=False,
            colorbar={"title": bi("用户", "users")},
        )
    )
    figure.update_layout(
        title=bi("RFM 最近消费 × 消费频次", f"RFM recency × frequency (buyers; < {k} hidden)"),
        xaxis_title=bi("频次得分", "frequency score F"),
        yaxis_title=bi("最近消费得分", "recency score R"),
    )
    return figure


def trend_chart(trends: pd.DataFrame, tag_code: str, title: str) -> go.Figure:
    figure = go.Figure()
    rows = trends[trends["tag_code"] == tag_code].sort_values(["value_order", "tag_value", "day"])
    for (value, value_zh), points in rows.groupby(["tag_value", "value_zh"], sort=False):
        figure.add_trace(
            go.Scatter(
                x=[f"{day:%Y-%m-%d}" for day in points["day"]],
                y=[None if pd.isna(v) else float(v) for v in points["users"]],
                mode="lines+markers",
                name=bi(value_zh, value) if value_zh != value else value,
                connectgaps=False,
            )
        )
    figure.update_layout(title=title, xaxis_title=bi("日期", "day"), yaxis_title=bi("用户数", "users"))
    # business days, not hours: one tick a day at most, labelled by date
    figure.update_xaxes(type="date", tickformat="%Y-%m-%d", dtick=86_400_000)
    return figure


def groups_chart(groups: pd.DataFrame) -> go.Figure:
    shown = groups[~groups["hidden"]]
    figure = go.Figure()
    for kind, color, label in (
        ("audience", NEUTRAL, bi("人群", "audiences")),
        ("cluster", GOOD, bi("聚类", "clusters")),
    ):
        part = shown[shown["kind"] == kind]
        figure.add_trace(
            go.Bar(
                y=[group_label(row) for row in part.itertuples()],
                x=part["users"].astype(float),
                orientation="h",
                name=label,
                marker_color=color,
            )
        )
    figure.update_layout(
        title=bi("人群与聚类规模", "Audience and cluster sizes"),
        xaxis_title=bi("用户数", "users"),
        yaxis={"autorange": "reversed"},
    )
    return figure


def tgi_chart(cells: pd.DataFrame, title: str) -> go.Figure:
    top = cells[~cells["hidden"] & (cells["group_value_users"] > 0)].head(TGI_TOP)
    labels = [f"{zh}·{value_label(row)}" for zh, row in zip(top["tag_zh"], top.itertuples(), strict=True)]
    tgi = top["tgi"].astype(float)
    figure = go.Figure(
        go.Bar(
            x=tgi,
            y=labels,
            orientation="h",
            marker_color=[GOOD if v >= 100 else BAD for v in tgi],
            text=[f"{v:.0f}" for v in tgi],
            textposition="outside",
        )
    )
    figure.add_vline(x=100, line_dash="dash", line_color=MUTED)
    figure.update_layout(title=title, xaxis_title="TGI", yaxis={"autorange": "reversed"})
    return figure


def lift_chart(campaigns: pd.DataFrame) -> go.Figure:
    shown = campaigns[~campaigns["hidden"]]
    lift = shown["lift"].astype(float)
    figure = go.Figure(
        go.Scatter(
            x=[f"{cid} {name}" for cid, name in zip(shown["campaign_id"], shown["campaign_name"], strict=True)],
            y=lift * 100,
            mode="markers",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (shown["lift_ci_high"].astype(float) - lift) * 100,
                "arrayminus": (lift - shown["lift_ci_low"].astype(float)) * 100,
            },
            marker={"size": 11, "color": [MUTED if flag else NEUTRAL for flag in shown["insufficient_sample"]]},
        )
    )
    figure.add_hline(y=0, line_dash="dash", line_color=MUTED)
    figure.update_layout(
        title=bi("转化率提升及置信区间", "Conversion lift with confidence interval (grey: insufficient sample)"),
        yaxis_title=bi("提升（百分点）", "lift (percentage points)"),
    )
    return figure


def cohort_heatmap(cells: pd.DataFrame, grain: str, k: int) -> go.Figure:
    rows = cells[cells["cohort_grain"] == grain]
    pivot = rows.pivot(index="cohort_start", columns="period_number", values="retention_rate")
    z = [[None if pd.isna(v) else float(v) * 100 for v in row] for row in pivot.to_numpy()]
    text = [["" if v is None else f"{v:.0f}%" for v in row] for row in z]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(p) for p in pivot.columns],
            y=[f"{d:%Y-%m-%d}" for d in pivot.index],
            text=text,
            texttemplate="%{text}",
            colorscale="Greens",
            zmin=0,
            zmax=100,
            hoverongaps=False,
            colorbar={"title": "%"},
        )
    )
    name = {"month": bi("月", "month"), "week": bi("周", "week")}.get(grain, grain)
    figure.update_layout(
        title=bi("同期群留存率", f"Cohort retention by {grain} (cells under {k} users hidden)") + f" · {name}",
        xaxis_title=bi("距获客期数", f"{grain}s since acquisition"),
        yaxis_title=bi("同期群", "cohort"),
        yaxis={"autorange": "reversed", "type": "category"},
    )
    return figure


def group_label(row) -> str:
    if row.kind == "audience":
        return bi(row.name_zh, row.name_en)
    return f"{bi('聚类', 'cluster')} {row.group_id}: {row.name_en}"


def value_label(row) -> str:
    return row.tag_value if row.value_zh == row.tag_value else bi(row.value_zh, row.tag_value)
