"""The tag catalog (dbt_project/tag_catalog.yml) and what is generated from it; pure Python, no dbt run."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from huaxiang.codegen.catalog import CATALOG_PATH, DIMENSIONS, CatalogError, load_catalog, parse_catalog
from huaxiang.codegen.generate import stale_files
from huaxiang.codegen.tags import render_dbt_macro
from huaxiang.settings import DBT_PROJECT_DIR, dbt_vars

PROFILE_YML = DBT_PROJECT_DIR / "models" / "marts" / "_user_profile.yml"
# Columns other marts and audiences filter on (the contract with the marketing marts).
CONTRACT_COLUMNS = (
    "user_id", "revenue_total", "age_band", "city_tier", "value_tier", "rfm_segment", "rfm_r", "rfm_f", "rfm_m",
    "frequency_band", "aov_band", "price_sensitivity", "coupon_lover", "top_category_l1", "top_category_l2",
    "best_hour_slot", "best_weekday", "best_channel", "preferred_platform", "lifecycle_stage", "is_cart_abandoner",
    "cluster_id", "cluster_name", "propensity_score", "propensity_decile",
)  # fmt: skip


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load(CATALOG_PATH.read_text(encoding="utf-8"))


def profile_columns() -> dict[str, str]:
    models = yaml.safe_load(PROFILE_YML.read_text(encoding="utf-8"))["models"]
    (profile,) = [model for model in models if model["name"] == "user_profile"]
    return {column["name"]: column["data_type"] for column in profile["columns"]}


def test_generated_files_are_up_to_date() -> None:
    assert stale_files() == [], "run `huaxiang codegen` and commit the result"


def test_catalog_covers_every_dimension_with_at_least_30_tags() -> None:
    catalog = load_catalog()
    assert len(catalog.tags) >= 30
    for dimension in DIMENSIONS:
        assert catalog.dimension_tags(dimension), dimension
    assert {tag.kind for tag in catalog.tags} == {"fact", "rule", "model"}


def test_every_tag_has_its_column_on_the_profile_and_the_contract_columns_exist() -> None:
    columns = profile_columns()
    for tag in load_catalog().tags:
        assert tag.column in columns, tag.code
        if tag.score_column:
            assert tag.score_column in columns, tag.code
        expected_type = {"boolean": "boolean", "integer": "integer", "number": "double"}.get(tag.value_type, "varchar")
        assert columns[tag.column] == expected_type, tag.code
    assert set(CONTRACT_COLUMNS) <= set(columns)


def test_every_threshold_var_has_a_default_in_dbt_project() -> None:
    variables = dbt_vars()
    used = {name for tag in load_catalog().tags for name in tag.vars}
    assert used and used <= set(variables)


def test_the_dbt_macro_is_a_jinja_literal_of_the_catalog() -> None:
    from jinja2 import Environment

    catalog = load_catalog()
    source = render_dbt_macro(catalog)
    returned: list = []
    module = Environment(extensions=["jinja2.ext.do"]).from_string(source).make_module({"return": returned.append})
    module.tag_catalog()
    (records,) = returned
    assert [record["code"] for record in records] == [tag.code for tag in catalog.tags]
    price = next(record for record in records if record["code"] == "price_sensitivity")
    assert price["name_zh"] == "价格敏感度" and price["values"][0] == {"value": "high", "name_zh": "高敏感"}
    assert "what is too expensive for you" in price["definition"]
    assert next(r for r in records if r["code"] == "coupon_lover")["values"][0]["value"] == "true"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda tags: tags.append(copy.deepcopy(tags[0])), "repeated tag codes: gender"),
        (lambda tags: tags[0].update(dimension="psychographic"), "'dimension' is 'psychographic'"),
        (lambda tags: tags[0].update(values=[]), "a category tag lists its 'values'"),
        (lambda tags: tags[0].update(colour="red"), "unknown field(s) colour"),
        (lambda tags: tags[0].update(vars=["no_such_var"]), "vars not declared in dbt_project.yml: no_such_var"),
        (lambda tags: tags[0].update(code="Gender"), "code must be lower snake case"),
        (lambda tags: tags[0].update(kind="model"), "model tags (kind model) and the model dimension go together"),
        (lambda tags: _tag(tags, "city_tier").update(range={"min": 5, "max": 1}), "range min is above max"),
        (lambda tags: _tag(tags, "top_category_l1").update(values_from="colours"), "'values_from' one of"),
        (lambda tags: _tag(tags, "cluster_id").pop("ml_table"), "name the 'ml_table'"),
    ],
)
def test_catalog_errors_name_the_problem(document: dict, change, message: str) -> None:
    broken = copy.deepcopy(document)
    change(broken["tags"])
    with pytest.raises(CatalogError, match=re.escape(message)):
        parse_catalog(broken, set(dbt_vars()))


def _tag(tags: list[dict], code: str) -> dict:
    return next(tag for tag in tags if tag["code"] == code)
