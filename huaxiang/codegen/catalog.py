"""The tag catalog (`dbt_project/tag_catalog.yml`): load and validate the one declaration of every user tag.

What is generated from it is in huaxiang/codegen/tags.py; the audiences (huaxiang/codegen/audiences.py)
read its tags as the fields they may filter on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from huaxiang.settings import DBT_PROJECT_DIR, DBT_PROJECT_FILE, dbt_vars

CATALOG_PATH = DBT_PROJECT_DIR / "tag_catalog.yml"

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
