"""The Spark raw views (dbt_project/macros/landing_sources.sql) declare the raw contract's columns and
types: they must stay equal to huaxiang/contract.py."""

from __future__ import annotations

import ast
import re

import pyarrow as pa

from huaxiang.contract import RAW_TABLES
from huaxiang.settings import DBT_PROJECT_DIR

SPARK_TYPES = {
    pa.string(): "string",
    pa.date32(): "date",
    pa.int16(): "smallint",
    pa.int32(): "int",
    pa.float64(): "double",
    pa.bool_(): "boolean",
    pa.timestamp("us", tz="UTC"): "timestamp",
}


def macro_contract() -> dict[str, list[tuple[str, str]]]:
    text = (DBT_PROJECT_DIR / "macros" / "landing_sources.sql").read_text()
    body = re.search(r"macro landing_contract\(\).*?return\((\{.*?\})\)\s*\}\}", text, re.S)
    assert body, "landing_contract() not found"
    return ast.literal_eval(body.group(1))


def test_spark_raw_views_declare_the_raw_contract() -> None:
    declared = macro_contract()
    assert list(declared) == list(RAW_TABLES)
    for name, table in RAW_TABLES.items():
        expected = [(field.name, SPARK_TYPES[field.type]) for field in table.schema]
        assert [tuple(column) for column in declared[name]] == expected, name
