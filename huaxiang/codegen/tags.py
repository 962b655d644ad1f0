"""What is generated from the tag catalog (huaxiang/codegen/catalog.py).

dbt cannot read an arbitrary file, so the catalog reaches dbt as a generated macro
(`macros/tags_catalog.sql`, a Jinja literal) that `dim_tag`, `dim_tag_value`, `user_tags`, the tag
tests and the history snapshot read, and as doc blocks (`models/marts/_tag_docs.md`) the tag columns
are described with; BI users read the generated `docs/tags.md`. `huaxiang codegen` writes them,
`huaxiang codegen --check` fails when one is stale (the test suite runs the check).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from huaxiang.codegen.catalog import DIMENSION_NAMES_ZH, DIMENSIONS, Catalog, Tag, load_catalog
from huaxiang.settings import DBT_PROJECT_DIR, REPO_ROOT, dbt_vars

MACRO_PATH = DBT_PROJECT_DIR / "macros" / "tags_catalog.sql"
DBT_DOCS_PATH = DBT_PROJECT_DIR / "models" / "marts" / "_tag_docs.md"
DOCS_PATH = REPO_ROOT / "docs" / "tags.md"


# ── the dbt macro ───────────────────────────────────────────────────────────────────────────


def _jinja_literal(value: Any) -> str:
    """A Jinja expression for a JSON-like value (strings as JSON strings, which Jinja reads the same)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_jinja_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_jinja_literal(k)}: {_jinja_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot express {type(value).__name__} in Jinja")


def _tag_record(tag: Tag) -> dict[str, Any]:
    return {
        "code": tag.code,
        "name_en": tag.name_en,
        "name_zh": tag.name_zh,
        "dimension": tag.dimension,
        "kind": tag.kind,
        "value_type": tag.value_type,
        "values": [{"value": v.value, "name_zh": v.name_zh} for v in tag.allowed_values()],
        "values_from": tag.values_from,
        "range_min": tag.range_min,
        "range_max": tag.range_max,
        "multi_valued": tag.multi_valued,
        "column": tag.column,
        "score": tag.score,
        "score_column": tag.score_column,
        "vars": list(tag.vars),
        "ml_table": tag.ml_table,
        "may_be_absent": tag.may_be_absent,
        "tracked_in_history": tag.tracked_in_history,
        "definition": tag.definition,
        "refresh": tag.refresh,
        "owner": tag.owner,
        "status": tag.status,
    }


def render_dbt_macro(catalog: Catalog) -> str:
    records = ",\n".join(f"        {_jinja_literal(_tag_record(tag))}" for tag in catalog.tags)
    domains = _jinja_literal(catalog.value_domains)
    dimensions = _jinja_literal([{"dimension": d, "name_zh": DIMENSION_NAMES_ZH[d]} for d in DIMENSIONS])
    return (
        "{#- GENERATED from dbt_project/tag_catalog.yml by `huaxiang codegen`:\n"
        "    edit the catalog, not this file. -#}\n"
        "\n"
        "{#- Every tag of the catalog, in catalog order. -#}\n"
        "{% macro tag_catalog() -%}\n"
        "    {{ return([\n"
        f"{records},\n"
        "    ]) }}\n"
        "{%- endmacro %}\n"
        "\n"
        "\n"
        "{#- Value domains of text tags: name → description. -#}\n"
        "{% macro tag_value_domains() -%}\n"
        f"    {{{{ return({domains}) }}}}\n"
        "{%- endmacro %}\n"
        "\n"
        "\n"
        "{#- The tag dimensions in display order, with their Chinese names. -#}\n"
        "{% macro tag_dimensions() -%}\n"
        f"    {{{{ return({dimensions}) }}}}\n"
        "{%- endmacro %}\n"
    )


# ── dbt doc blocks ──────────────────────────────────────────────────────────────────────────


def render_dbt_docs(catalog: Catalog) -> str:
    """One `{% docs tag_<code> %}` block per tag, for the column descriptions of the tag marts."""
    blocks = ["{#- GENERATED from dbt_project/tag_catalog.yml by `huaxiang codegen`: edit the catalog. -#}"]
    for tag in catalog.tags:
        status = "" if tag.status == "online" else f" Status: {tag.status}."
        blocks += [
            "",
            f"{{% docs tag_{tag.code} %}}",
            f"Tag `{tag.code}` ({tag.name_zh}; {tag.dimension}, {tag.kind}). {tag.definition} "
            f"Values: {_value_list(tag)}.{status}",
            "{% enddocs %}",
        ]
    return "\n".join(blocks) + "\n"


# ── docs/tags.md ────────────────────────────────────────────────────────────────────────────


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _value_list(tag: Tag) -> str:
    if tag.value_type == "boolean":
        return "`true` 是 · `false` 否"
    if tag.is_numeric:
        low = "…" if tag.range_min is None else f"{tag.range_min:g}"
        high = "…" if tag.range_max is None else f"{tag.range_max:g}"
        return f"{tag.value_type} {low} – {high}"
    parts = [f"`{v.value}` {v.name_zh}" for v in tag.values]
    if tag.values_from:
        parts.insert(0, f"a {tag.values_from.replace('_', ' ')}")
    return " · ".join(parts)


def _emission(tag: Tag) -> str:
    if tag.kind == "model":
        return f"when `ml.{tag.ml_table}` scores users"
    if tag.may_be_absent:
        return "no — not set when the source lacks the input"
    return "yes"


def _format_var(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if str(value).strip().lower() == "auto":
        return "auto ([derived from the shop](#how-the-thresholds-are-chosen))"
    return str(value)


THRESHOLD_ROWS = (
    (
        "`rfm_recency_days`",
        "`rfm_r`",
        "the 20th, 40th, 60th, 80th percentiles of `recency_days` (R 5 at or below the first)",
        "buyers (`orders_total > 0`)",
    ),
    (
        "`rfm_frequency_orders`",
        "`rfm_f`",
        "the first order count above each quintile of `orders_365d` (F 2 from the first)",
        "buyers",
    ),
    (
        "`rfm_monetary_cny`",
        "`rfm_m`",
        "0.01 CNY above each quintile of `revenue_365d` (M 2 from the first)",
        "buyers",
    ),
    (
        "`frequency_band_orders`",
        "`frequency_band`",
        "2 (one order is `one_time`), then one order above the median and the 80th percentile of `orders_365d`",
        "repeat buyers of 365 days",
    ),
    (
        "`aov_band_cny`",
        "`aov_band`",
        "0.01 CNY above the 25th, 75th and 95th percentiles of `aov_365d`",
        "buyers of 365 days",
    ),
    (
        "`activity_level_days`",
        "`activity_level`",
        "1 (no active day is `inactive`), then one day above the median and the 80th percentile of `active_days_30d`",
        "users active in 30 days",
    ),
    (
        "`lifecycle_silent_days`",
        "`lifecycle_stage`",
        "the median gap between consecutive purchase days, at least `lifecycle_silent_days_floor` (14)",
        "gaps of repeat buyers ending in the 365 days to as-of",
    ),
    (
        "`lifecycle_churned_days`",
        "`lifecycle_stage`",
        "the 90th percentile of the same gaps, at least `lifecycle_churned_days_floor` (30) and the silent threshold",
        "the same gaps",
    ),
    (
        "`lifecycle_reactivated_days`",
        "`lifecycle_stage`",
        "the silent threshold",
        "—",
    ),
)


# How `auto` thresholds are derived (dbt_project/macros/tag_cut_points.sql,
# models/intermediate/fct_lifecycle_thresholds.sql); a section of the generated docs/tags.md.
THRESHOLDS_SECTION_TEMPLATE = """\
## How the thresholds are chosen

A rule tag's thresholds are dbt vars (`dbt_project/dbt_project.yml`, listed with each tag above).
The cut points of the RFM scores, the frequency, AOV and activity bands and the lifecycle days
default to **`auto`**: they are derived from the shop's own data as of the run's day, so a shop
whose customers buy every few months gets months where a weekly shop gets days, and no score
piles everyone into one segment. The values chosen on each build, and what they were derived
from, are in the mart [`tag_cut_points`](marts.md#tag_cut_points) — the place to look up why a
user is `at_risk`.

{threshold_table}

* **Quantiles are exact and discrete** (SQL `PERCENTILE_DISC`: the smallest value with at least that
  share of the population at or below it; DuckDB `quantile_disc`, Spark `percentile_disc`, through
  the macro `quantile_disc`), so DuckDB and Spark derive the same cut points from the same data.
  `huaxiang.codegen.cut_points.derive_cut_points` / `derive_lifecycle_thresholds` are the same
  rules in Python (for Python peers of the profile; a test holds them equal to the models).
* **Ties stay together.** A value equal to a quantile stays in the lower group (`>=` cut points are
  the first value above the quantile), so two buyers with the same order count always share an F
  score. When many buyers share a value (most buyers order once), quantiles collapse: the later
  cut point is then raised one step (1 day or order, 0.01 CNY) above the earlier one, so the scores
  still spread — F 1 is one order, F 2 two orders and so on — instead of one score holding everyone.
* **Lifecycle floors.** A shop whose customers come back within days keeps the floors (silent after
  14, churned after 30 days without activity); with fewer than `lifecycle_min_repeat_buyers` (30)
  repeat buyers there is no rhythm to read and the floors are used as they are.
* **Fixing a threshold.** Set the var to a number or an ascending list in `dbt_project.yml` or with
  `--vars`, e.g. `rfm_recency_days: [5, 10, 20, 40]`, `lifecycle_churned_days: 90`: that value is
  used as written and `tag_cut_points` marks it `fixed`. A derived lifecycle threshold bends to a
  fixed one (silent never beyond a fixed churned). The values before `auto`, tuned to the synthetic
  60–90-day shop, were: recency [5, 10, 20, 40] days, frequency [2, 3, 5, 8] orders, monetary
  [300, 1000, 3000, 8000] CNY, frequency band [2, 4, 8], AOV band [200, 500, 1500] CNY, activity
  [1, 4, 10] days, silent 14, churned 30 and reactivated 14 days.
"""


def render_docs(catalog: Catalog, variables: dict[str, Any]) -> str:
    lines = [
        "# User tags (用户标签)",
        "",
        "<!-- GENERATED from dbt_project/tag_catalog.yml by `huaxiang codegen`; edit the catalog. -->",
        "",
        "Every tag huaxiang computes, for BI users and marketers. The catalog "
        "(`dbt_project/tag_catalog.yml`) is the single declaration; this page, the `dim_tag` and "
        "`dim_tag_value` marts and the checks on `user_tags` are generated from it. How the tag marts "
        "fit together: [marts.md](marts.md).",
        "",
        "* **Where to find a tag** — `marts.user_profile` has one column per tag, named by its code "
        "(one row per user; `category_affinity` is the list `category_affinities`); `marts.user_tags` "
        "has one row per user and tag value (`user_id, tag_code, tag_value, score, as_of`); "
        "`marts.user_tag_history` keeps every change of the tags marked *history* below.",
        "* **Kinds** — *fact*: observed or counted; *rule*: a fact cut into labels by thresholds (the "
        "dbt vars listed with the tag, values below); *model*: written by the ML assets.",
        "* **Status** — *online*: in use, checked on every build to be emitted (see *always emitted*) "
        "and within its values; *draft*: emitted, still under evaluation — do not build audiences on it "
        "yet; *retired*: no longer emitted.",
        "* **Windows** — `_30d`/`_90d`/`_365d` are the days ending on the as-of day, inclusive. "
        "Behaviour tags read the last 90 days.",
        "* **Thresholds** — RFM, frequency, AOV, activity and lifecycle cut points are derived from the "
        "shop's own data by default (`auto`, [how](#how-the-thresholds-are-chosen)); the values of each "
        "build are in `marts.tag_cut_points`.",
        "",
        "| dimension | 维度 | tags |",
        "|---|---|---|",
    ]
    for dimension in DIMENSIONS:
        codes = ", ".join(f"`{tag.code}`" for tag in catalog.dimension_tags(dimension))
        lines.append(f"| {dimension} | {DIMENSION_NAMES_ZH[dimension]} | {codes} |")
    lines.append("")
    for dimension in DIMENSIONS:
        lines += [f"## {dimension} · {DIMENSION_NAMES_ZH[dimension]}", ""]
        for tag in catalog.dimension_tags(dimension):
            lines += [f"### `{tag.code}` — {tag.name_en} · {tag.name_zh}", "", tag.definition, ""]
            facts = [
                ("kind", tag.kind),
                ("values", _value_list(tag)),
                ("profile column", f"`{tag.column}`" + (" (comma-separated list)" if tag.multi_valued else "")),
                ("score", tag.score or "—"),
                ("history", "yes" if tag.tracked_in_history else "no (changes continuously or multi-valued)"),
                ("always emitted", _emission(tag)),
                ("refresh · owner · status", f"{tag.refresh} · {tag.owner} · **{tag.status}**"),
            ]
            if tag.vars:
                facts.append(
                    ("thresholds", ", ".join(f"`{name}` = {_format_var(variables[name])}" for name in tag.vars))
                )
            lines += ["| | |", "|---|---|"]
            lines += [f"| {name} | {_cell(value)} |" for name, value in facts]
            lines.append("")
    table = ["| var | tag | `auto` derives | population |", "|---|---|---|---|"]
    table += ["| " + " | ".join(row) + " |" for row in THRESHOLD_ROWS]
    lines += THRESHOLDS_SECTION_TEMPLATE.replace("{threshold_table}", "\n".join(table)).splitlines() + [""]
    lines += [
        "## Value domains",
        "",
        "Text tags take their values from the data; the check on `user_tags` compares them with:",
        "",
    ]
    lines += [f"* `{name}` — {description}" for name, description in catalog.value_domains.items()]
    lines.append("")
    return "\n".join(lines)


def generated_files(catalog: Catalog | None = None) -> dict[Path, str]:
    """Every file derived from the catalog, with its expected content."""
    catalog = catalog or load_catalog()
    return {
        MACRO_PATH: render_dbt_macro(catalog),
        DBT_DOCS_PATH: render_dbt_docs(catalog),
        DOCS_PATH: render_docs(catalog, dbt_vars()),
    }
