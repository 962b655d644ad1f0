"""The tag catalog (`dbt_project/tag_catalog.yml`): load, validate, and generate what derives from it.

The YAML file is the one declaration of every user tag. dbt cannot read an arbitrary file, so the
catalog reaches dbt as a generated macro (`macros/tags_catalog.sql`, a Jinja literal) that
`dim_tag`, `dim_tag_value`, `user_tags`, the tag tests and the history snapshot read, and as doc
blocks (`models/marts/_tag_docs.md`) the tag columns are described with; BI users read the
generated `docs/tags.md`. `python -m huaxiang.tags` writes both, `--check` fails when either
is stale (the test suite runs the check).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from huaxiang.settings import DBT_PROJECT_DIR, REPO_ROOT

CATALOG_PATH = DBT_PROJECT_DIR / "tag_catalog.yml"
DBT_PROJECT_FILE = DBT_PROJECT_DIR / "dbt_project.yml"
MACRO_PATH = DBT_PROJECT_DIR / "macros" / "tags_catalog.sql"
DBT_DOCS_PATH = DBT_PROJECT_DIR / "models" / "marts" / "_tag_docs.md"
DOCS_PATH = REPO_ROOT / "docs" / "tags.md"

DIMENSIONS = ("demographic", "consumption", "interest", "behaviour", "lifecycle", "marketing", "model")
KINDS = ("fact", "rule", "model")
VALUE_TYPES = ("category", "text", "boolean", "integer", "number")
STATUSES = ("draft", "online", "retired")
REFRESH_CADENCES = ("daily", "weekly", "monthly")
DIMENSION_NAMES_ZH = {
    "demographic": "人口属性",
    "consumption": "消费特征",
    "interest": "兴趣偏好",
    "behaviour": "行为特征",
    "lifecycle": "生命周期",
    "marketing": "营销特征",
    "model": "模型预测",
}
BOOLEAN_VALUES = (("true", "是"), ("false", "否"))

CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
REQUIRED_FIELDS = ("code", "name_en", "name_zh", "dimension", "kind", "value_type", "definition", "refresh", "owner")
OPTIONAL_FIELDS = (
    "status", "values", "values_from", "range", "multi_valued", "column", "score", "score_column", "vars", "ml_table",
    "may_be_absent",
)  # fmt: skip


class CatalogError(ValueError):
    """The catalog file breaks a rule of its format."""


@dataclass(frozen=True)
class TagValue:
    value: str
    name_zh: str


@dataclass(frozen=True)
class Tag:
    code: str
    name_en: str
    name_zh: str
    dimension: str
    kind: str
    value_type: str
    definition: str
    refresh: str
    owner: str
    status: str
    values: tuple[TagValue, ...] = ()
    values_from: str | None = None
    range_min: float | None = None
    range_max: float | None = None
    multi_valued: bool = False
    column: str = ""
    score: str | None = None
    score_column: str | None = None
    vars: tuple[str, ...] = ()
    ml_table: str | None = None
    may_be_absent: bool = False

    @property
    def is_numeric(self) -> bool:
        return self.value_type in ("integer", "number")

    @property
    def tracked_in_history(self) -> bool:
        """Snapshotted in user_tag_history: one value per user that changes by steps, not daily."""
        return not self.multi_valued and self.value_type != "number"

    def allowed_values(self) -> tuple[TagValue, ...]:
        """The fixed values a user_tags row may hold (booleans included); domain values come from dbt."""
        if self.value_type == "boolean":
            return tuple(TagValue(value, label) for value, label in BOOLEAN_VALUES)
        return self.values


@dataclass(frozen=True)
class Catalog:
    tags: tuple[Tag, ...]
    value_domains: dict[str, str]

    def by_code(self, code: str) -> Tag:
        for tag in self.tags:
            if tag.code == code:
                return tag
        raise KeyError(code)

    def dimension_tags(self, dimension: str) -> list[Tag]:
        return [tag for tag in self.tags if tag.dimension == dimension]


def dbt_vars(project_file: Path = DBT_PROJECT_FILE) -> dict[str, Any]:
    """The vars declared in dbt_project.yml with their default values."""
    return yaml.safe_load(project_file.read_text(encoding="utf-8")).get("vars", {})


def _text(entry: dict, key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: '{key}' must be a non-empty string")
    return " ".join(value.split())


def _choice(entry: dict, key: str, choices: Iterable[str], where: str, default: str | None = None) -> str:
    value = entry.get(key, default)
    if value not in choices:
        raise CatalogError(f"{where}: '{key}' is {value!r}, expected one of {', '.join(choices)}")
    return value


def _values(entry: dict, where: str) -> tuple[TagValue, ...]:
    raw = entry.get("values") or []
    if not isinstance(raw, list):
        raise CatalogError(f"{where}: 'values' must be a list of {{value, name_zh}}")
    values = []
    for item in raw:
        if not isinstance(item, dict) or set(item) != {"value", "name_zh"}:
            raise CatalogError(f"{where}: each value needs exactly 'value' and 'name_zh', got {item!r}")
        values.append(TagValue(str(item["value"]), _text(item, "name_zh", where)))
    codes = [v.value for v in values]
    if len(set(codes)) != len(codes):
        raise CatalogError(f"{where}: repeated values")
    return tuple(values)


def _range(entry: dict, where: str) -> tuple[float | None, float | None]:
    bounds = entry.get("range")
    if not isinstance(bounds, dict) or set(bounds) != {"min", "max"}:
        raise CatalogError(f"{where}: numeric tags need 'range: {{min: …, max: …}}' (null = open)")
    low, high = bounds["min"], bounds["max"]
    for bound in (low, high):
        if bound is not None and not isinstance(bound, int | float):
            raise CatalogError(f"{where}: range bounds must be numbers or null")
    if low is not None and high is not None and low > high:
        raise CatalogError(f"{where}: range min is above max")
    return low, high


def _parse_tag(entry: dict, domains: dict[str, str], known_vars: set[str]) -> Tag:
    if not isinstance(entry, dict):
        raise CatalogError(f"every tag must be a mapping, got {entry!r}")
    where = f"tag {entry.get('code', '?')!r}"
    unknown = set(entry) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS)
    if unknown:
        raise CatalogError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    code = _text(entry, "code", where)
    if not CODE_PATTERN.fullmatch(code):
        raise CatalogError(f"{where}: code must be lower snake case")
    dimension = _choice(entry, "dimension", DIMENSIONS, where)
    kind = _choice(entry, "kind", KINDS, where)
    if (kind == "model") != (dimension == "model"):
        raise CatalogError(f"{where}: model tags (kind model) and the model dimension go together")
    value_type = _choice(entry, "value_type", VALUE_TYPES, where)
    values = _values(entry, where)
    values_from = entry.get("values_from")
    range_min = range_max = None
    if value_type == "category" and (not values or values_from):
        raise CatalogError(f"{where}: a category tag lists its 'values' and has no 'values_from'")
    if value_type == "text" and values_from not in domains:
        raise CatalogError(f"{where}: a text tag takes 'values_from' one of the value_domains")
    if value_type in ("boolean", "integer", "number") and (values or values_from):
        raise CatalogError(f"{where}: {value_type} tags take no 'values' or 'values_from'")
    if value_type in ("integer", "number"):
        range_min, range_max = _range(entry, where)
    elif "range" in entry:
        raise CatalogError(f"{where}: only integer and number tags take a 'range'")
    multi_valued = entry.get("multi_valued", False)
    if not isinstance(multi_valued, bool) or (multi_valued and value_type not in ("category", "text")):
        raise CatalogError(f"{where}: multi_valued is a boolean, for category and text tags only")
    tag_vars = tuple(entry.get("vars") or ())
    missing_vars = [name for name in tag_vars if name not in known_vars]
    if missing_vars:
        raise CatalogError(f"{where}: vars not declared in dbt_project.yml: {', '.join(missing_vars)}")
    ml_table = entry.get("ml_table")
    if (kind == "model") != isinstance(ml_table, str):
        raise CatalogError(f"{where}: model tags, and only they, name the 'ml_table' (source ml) they come from")
    may_be_absent = entry.get("may_be_absent", False)
    if not isinstance(may_be_absent, bool) or (may_be_absent and kind == "model"):
        raise CatalogError(f"{where}: may_be_absent is a boolean; model tags are expected when their ml_table has rows")
    score = entry.get("score")
    score_column = entry.get("score_column")
    if score_column is not None and score is None:
        raise CatalogError(f"{where}: a score_column needs a 'score' description")
    return Tag(
        code=code,
        name_en=_text(entry, "name_en", where),
        name_zh=_text(entry, "name_zh", where),
        dimension=dimension,
        kind=kind,
        value_type=value_type,
        definition=_text(entry, "definition", where),
        refresh=_choice(entry, "refresh", REFRESH_CADENCES, where),
        owner=_text(entry, "owner", where),
        status=_choice(entry, "status", STATUSES, where, default="draft"),
        values=values,
        values_from=values_from,
        range_min=range_min,
        range_max=range_max,
        multi_valued=multi_valued,
        column=entry.get("column", code),
        score=" ".join(score.split()) if score else None,
        score_column=score_column,
        vars=tag_vars,
        ml_table=ml_table,
        may_be_absent=may_be_absent,
    )


def parse_catalog(document: Any, known_vars: set[str]) -> Catalog:
    if not isinstance(document, dict) or document.get("version") != 1:
        raise CatalogError("the catalog must be a mapping with 'version: 1'")
    domains = document.get("value_domains") or {}
    if not isinstance(domains, dict) or not all(isinstance(v, str) for v in domains.values()):
        raise CatalogError("'value_domains' maps a domain name to its description")
    tags = tuple(_parse_tag(entry, domains, known_vars) for entry in document.get("tags") or [])
    codes = [tag.code for tag in tags]
    repeated = sorted({code for code in codes if codes.count(code) > 1})
    if repeated:
        raise CatalogError(f"repeated tag codes: {', '.join(repeated)}")
    return Catalog(tags=tags, value_domains=dict(domains))


def load_catalog(path: Path = CATALOG_PATH, project_file: Path = DBT_PROJECT_FILE) -> Catalog:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise CatalogError(f"not valid YAML: {error}") from error
    return parse_catalog(document, set(dbt_vars(project_file)))


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
        "{#- GENERATED from dbt_project/tag_catalog.yml by `python -m huaxiang.tags`:\n"
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
    blocks = ["{#- GENERATED from dbt_project/tag_catalog.yml by `python -m huaxiang.tags`: edit the catalog. -#}"]
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
  `huaxiang.tags.derive_cut_points` / `derive_lifecycle_thresholds` are the same rules in Python
  (for Python peers of the profile; a test holds them equal to the models).
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
        "<!-- GENERATED from dbt_project/tag_catalog.yml by `python -m huaxiang.tags`; edit the catalog. -->",
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


# ── Derived cut points: a Python reference of the dbt derivation ──────────────────────────────
# The same rules as dbt_project/macros/tag_cut_points.sql (tag_cut_point_specs) and
# models/intermediate/fct_lifecycle_thresholds.sql, for Python peers of the profile (bench/peer.py)
# and as an independent check of the SQL (tests/test_tag_cut_points.py compares them).


@dataclass(frozen=True)
class CutPointSpec:
    """How the `auto` cut points of one var are derived (see the macro tag_cut_point_specs)."""

    var: str
    metric: str
    population: Callable[[Any], Any]  # a row mask over the user facts (a pandas DataFrame)
    levels: tuple[float | None, ...]  # a quantile per cut point; None = `first`
    bound: str  # at_most: the quantile itself; at_least: one step above it
    step: Decimal
    first: Decimal | None = None


QUINTILES, MEDIAN_AND_P80 = (0.2, 0.4, 0.6, 0.8), (None, 0.5, 0.8)
ONE, CENT = Decimal(1), Decimal("0.01")


def _buyers(facts: Any) -> Any:
    return facts.orders_total > 0


def _buyers_365d(facts: Any) -> Any:
    return facts.orders_365d > 0


def _repeat_buyers(facts: Any) -> Any:
    return facts.orders_365d >= 2


def _active_30d(facts: Any) -> Any:
    return facts.active_days_30d > 0


CUT_POINT_SPECS = {
    spec.var: spec
    for spec in (
        CutPointSpec("rfm_recency_days", "recency_days", _buyers, QUINTILES, "at_most", ONE),
        CutPointSpec("rfm_frequency_orders", "orders_365d", _buyers, QUINTILES, "at_least", ONE),
        CutPointSpec("rfm_monetary_cny", "revenue_365d", _buyers, QUINTILES, "at_least", CENT),
        CutPointSpec("frequency_band_orders", "orders_365d", _repeat_buyers, MEDIAN_AND_P80, "at_least", ONE, 2 * ONE),
        CutPointSpec("aov_band_cny", "aov_365d", _buyers_365d, (0.25, 0.75, 0.95), "at_least", CENT),
        CutPointSpec("activity_level_days", "active_days_30d", _active_30d, MEDIAN_AND_P80, "at_least", ONE, ONE),
    )
}  # fmt: skip


def quantile_disc(values: Iterable[Any], level: float) -> Decimal | None:
    """SQL PERCENTILE_DISC: the smallest value with at least `level` of the values at or below it."""
    ordered = sorted(Decimal(str(value)) for value in values)
    if not ordered:
        return None
    position = math.ceil(Fraction(str(level)) * len(ordered))  # exact: 0.6 × 10 is 6, not 6.000…1
    return ordered[max(position, 1) - 1]


def _greatest(*values: Decimal | None) -> Decimal | None:
    """SQL greatest: nulls are skipped, null only when every value is."""
    present = [value for value in values if value is not None]
    return max(present) if present else None


def derive_cut_points(facts: Any, var: str) -> list[Decimal | None]:
    """The `auto` cut points of `var` from the user facts (fct_user_facts columns, a DataFrame)."""
    spec = CUT_POINT_SPECS[var]
    values = facts.loc[spec.population(facts), spec.metric].dropna().tolist()
    cuts: list[Decimal | None] = []
    for level in spec.levels:
        if level is None:
            raw = spec.first
        else:
            quantile = quantile_disc(values, level)
            raw = None if quantile is None else quantile + (spec.step if spec.bound == "at_least" else 0)
        previous = cuts[-1] + spec.step if cuts and cuts[-1] is not None else None
        cuts.append(raw if not cuts else _greatest(raw, previous))
    return cuts


def derive_lifecycle_thresholds(
    purchase_days: Iterable[tuple[str, date]], as_of: date, variables: Mapping[str, Any]
) -> dict[str, int]:
    """silent / churned / reactivated days from (user, purchase day) pairs, as fct_lifecycle_thresholds."""
    days_by_user: dict[str, set[date]] = defaultdict(set)
    for user_id, day in purchase_days:
        if day <= as_of:
            days_by_user[user_id].add(day)
    gaps: list[int] = []
    repeat_buyers = 0
    for days in days_by_user.values():
        ordered = sorted(days)
        pairs = zip(ordered, ordered[1:], strict=False)
        recent = [(later - earlier).days for earlier, later in pairs if (as_of - later).days < 365]
        gaps += recent
        repeat_buyers += bool(recent)

    def fixed(name: str) -> int | None:
        value = variables[name]
        return None if str(value).strip().lower() == "auto" else int(value)

    silent_floor, churned_floor = (
        int(variables["lifecycle_silent_days_floor"]),
        int(variables["lifecycle_churned_days_floor"]),
    )
    enough = repeat_buyers >= int(variables["lifecycle_min_repeat_buyers"])
    auto_silent = max(int(quantile_disc(gaps, 0.5)), silent_floor) if enough else silent_floor
    auto_churned = max(int(quantile_disc(gaps, 0.9)), churned_floor) if enough else churned_floor
    fixed_silent, fixed_churned = fixed("lifecycle_silent_days"), fixed("lifecycle_churned_days")
    if fixed_silent is not None:
        silent = fixed_silent
    else:
        silent = auto_silent if fixed_churned is None else min(auto_silent, fixed_churned)
    churned = fixed_churned if fixed_churned is not None else max(auto_churned, silent)
    reactivated = fixed("lifecycle_reactivated_days")
    return {
        "silent_days": silent,
        "churned_days": churned,
        "reactivated_days": silent if reactivated is None else reactivated,
    }


# ── command line ────────────────────────────────────────────────────────────────────────────


def generated_files(catalog: Catalog | None = None) -> dict[Path, str]:
    """Every file derived from the catalog, with its expected content."""
    catalog = catalog or load_catalog()
    return {
        MACRO_PATH: render_dbt_macro(catalog),
        DBT_DOCS_PATH: render_dbt_docs(catalog),
        DOCS_PATH: render_docs(catalog, dbt_vars()),
    }


def stale_files() -> list[Path]:
    return [
        path
        for path, content in generated_files().items()
        if not path.is_file() or path.read_text(encoding="utf-8") != content
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m huaxiang.tags", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a generated file is out of date")
    args = parser.parse_args(argv)
    try:
        files = generated_files()
    except CatalogError as error:
        print(f"error: {CATALOG_PATH.name}: {error}", file=sys.stderr)
        return 2
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"out of date: {path.relative_to(REPO_ROOT)} (run `python -m huaxiang.tags`)", file=sys.stderr)
        return 1 if stale else 0
    for path, content in files.items():
        path.write_text(content, encoding="utf-8")
        print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
