"""The audience compiler (huaxiang.codegen.audiences): shipped definitions, generated SQL, rejected input.

Membership on generated data (consent, frequency cap, definitions re-checked in pandas) is tested
in tests/test_marketing_marts.py.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from huaxiang.codegen.audiences import (
    ACTIONS,
    AUDIENCE_DIR,
    GENERATED_MODEL,
    AudienceError,
    compile_sql,
    load_audiences,
    load_fields,
    parse_audience,
)
from huaxiang.codegen.generate import main

SHIPPED = {"ready_to_buy", "long_shots", "high_value_at_risk", "dormant_winback", "new_user_nurture", "coupon_lovers"}

VALID = {
    "audience": "test_audience",
    "name": "Test audience",
    "name_zh": "测试人群",
    "description": "For the tests.",
    "priority": 5,
    "channel": "email",
    "where": {
        "all": [
            {"field": "value_tier", "op": "in", "value": ["high", "mid"]},
            {"field": "propensity_score", "op": "between", "value": [0.2, 0.9]},
            {"not": {"field": "coupon_lover", "op": "=", "value": True}},
            {"any": [{"activity": "active", "days_ago": [30, 90]}, {"field": "best_channel", "op": "is_null"}]},
        ]
    },
    "actions": [
        {"when": {"field": "value_tier", "op": "=", "value": "high"}, "action": "member_perks"},
        {"action": "reminder"},
    ],
}


@pytest.fixture(scope="module")
def fields():
    return load_fields()


def with_change(path: list, value) -> dict:
    """VALID with the item at `path` (keys and list indexes) replaced by `value`."""
    data = copy.deepcopy(VALID)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def test_the_shipped_audiences_are_valid_and_the_generated_model_is_up_to_date() -> None:
    audiences = load_audiences()
    assert {audience.audience_id for audience in audiences} == SHIPPED
    assert GENERATED_MODEL.read_text(encoding="utf-8") == compile_sql(audiences), (
        "models/marts/marketing/mkt_audience_candidates.sql is stale: run huaxiang codegen"
    )
    assert main(["--check"]) == 0


def test_a_definition_compiles_to_whitelisted_sql(fields) -> None:
    sql = compile_sql([parse_audience(VALID, "test.yml", fields)])
    assert "profile.value_tier in ('high', 'mid')" in sql
    assert "profile.propensity_score between 0.2 and 0.9" in sql
    assert "not (coalesce(profile.coupon_lover = true, false))" in sql
    assert "days_ago between 30 and 90" in sql
    assert "when coalesce(profile.value_tier = 'high', false) then 'member_perks'" in sql
    assert "'email' as default_channel" in sql and "5 as priority" in sql


def test_text_tags_and_facts_follow_the_catalog(fields) -> None:
    assert fields["rfm_segment"].values  # codes from tag_catalog.yml
    assert fields["propensity_decile"].minimum == 1 and fields["propensity_decile"].maximum == 10
    assert fields["coupon_lover"].kind == "boolean"
    assert "orders_total" in fields and "recency_days" in fields
    assert "cluster_name" not in fields  # text: its values come from data and cannot be whitelisted


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["where", "all", 0, "field"], "favourite_colour", "unknown field 'favourite_colour'"),
        (["where", "all", 0, "field"], "value_tier; drop table marts.user_profile", "unknown field"),
        (["where", "all", 0, "value"], ["high'); drop table marts.user_profile; --"], "value_tier must be one of"),
        (["where", "all", 0, "value"], ["HIGH"], "value_tier must be one of"),
        (["where", "all", 0, "op"], "==", "unknown operator '=='"),
        (["where", "all", 0, "op"], "in (select 1) or 1=1 --", "unknown operator"),
        (["where", "all", 0, "op"], "<", "needs a numeric field"),
        (["where", "all", 0, "op"], ["="], "'op' must be an operator name"),
        (["where", "all", 1, "value"], [0.2, "0.9 or 1=1"], "expected a number"),
        (["where", "all", 1, "value"], [0.2, 1.5], "within [0"),
        (["where", "all", 1, "value"], [0.9, 0.2], "is empty"),
        (["where", "all", 1, "value"], [0.2, float("nan")], "expected a number"),
        (["where", "all", 2, "not", "value"], 1, "boolean"),
        (["where", "all", 3, "any", 0, "days_ago"], [90, 30], "days_ago must be"),
        (["where", "all", 3, "any", 0, "activity"], "purchased; --", "activity must be one of"),
        (["where", "all", 3, "any", 0, "activity"], ["active"], "activity must be one of"),
        (["where", "all", 0, "sql"], "1=1", "unknown key(s) ['sql']"),
        (["where"], {"raw_sql": "1=1"}, "a condition is one of"),
        (["where"], {"all": []}, "non-empty list"),
        (["actions", 0, "action"], "drop_table", "unknown action 'drop_table'"),
        (["actions", 1], {"action": "reminder", "when": {"field": "aov", "op": ">", "value": 1}}, "unknown key(s)"),
        (["audience"], "Robert'); DROP TABLE students;--", "'audience'"),
        (["name"], "Ready' || (select 1) || '", "'name'"),
        (["name_zh"], "{{ run_query('drop table x') }}", "'name_zh'"),
        (["priority"], "10", "'priority' must be an integer"),
        (["channel"], "carrier_pigeon", "'channel' must be one of"),
    ],
)
def test_malicious_or_invalid_definitions_are_rejected(fields, path: list, value, message: str) -> None:
    with pytest.raises(AudienceError) as error:
        parse_audience(with_change(path, value), "bad.yml", fields)
    assert message in str(error.value)
    assert str(error.value).startswith("bad.yml")


def test_a_missing_key_is_named(fields) -> None:
    data = copy.deepcopy(VALID)
    del data["actions"]
    with pytest.raises(AudienceError, match=r"missing key\(s\) \['actions'\]"):
        parse_audience(data, "bad.yml", fields)


def test_the_directory_must_hold_consistent_definitions(tmp_path: Path, fields) -> None:
    (tmp_path / "test_audience.yml").write_text(yaml.safe_dump(VALID, allow_unicode=True), encoding="utf-8")
    assert [a.audience_id for a in load_audiences(tmp_path, fields)] == ["test_audience"]

    (tmp_path / "other.yml").write_text(yaml.safe_dump(VALID, allow_unicode=True), encoding="utf-8")
    with pytest.raises(AudienceError, match="must be named after it"):
        load_audiences(tmp_path, fields)

    (tmp_path / "other.yml").write_text(
        yaml.safe_dump({**VALID, "audience": "other"}, allow_unicode=True), encoding="utf-8"
    )
    with pytest.raises(AudienceError, match="priorities must be unique"):
        load_audiences(tmp_path, fields)

    (tmp_path / "other.yml").write_text("audience: [unclosed", encoding="utf-8")
    with pytest.raises(AudienceError, match="other.yml: not valid YAML"):
        load_audiences(tmp_path, fields)


def test_every_shipped_action_is_documented() -> None:
    docs = (AUDIENCE_DIR.parent.parent / "docs" / "marts.md").read_text(encoding="utf-8")
    for action in ACTIONS:
        assert f"`{action}`" in docs, action
