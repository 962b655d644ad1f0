"""Declarative marketing audiences: YAML definitions compiled into one checked-in dbt model.

Long because it is one safety boundary, reviewed as a whole: the whitelists, the parser that
enforces them and the SQL writer that relies on them.

An audience (``dbt_project/audiences/<id>.yml``) names profile fields, operators and values; this
module validates every part against whitelists and writes the SQL itself, so nothing a definition
says is ever pasted into SQL as text:

* fields are columns of ``marts.user_profile``: the tags of the tag catalog (``tag_catalog.yml``,
  with their allowed values or ranges) and a few numeric facts (``FACT_FIELDS``); operators come
  from ``OPERATORS``, actions from ``ACTIONS``, channels from the raw contract;
* a value must have the field's type: codes must be one of the field's allowed values (lower-case
  identifiers), numbers are rendered from Python ints/floats within the field's range, booleans
  as ``true``/``false``;
* identifiers (audience ids) and display names are checked against strict patterns.

``huaxiang codegen`` rewrites ``models/marts/marketing/mkt_audience_candidates.sql`` (with the
tag catalog's files); ``--check`` only reports whether it is up to date (the tests run the check).

Condition language (``where`` and each action's ``when``)::

    {field: propensity_decile, op: ">=", value: 9}      # a profile field compared with a value
    {field: value_tier, op: in, value: [high, mid]}
    {field: best_channel, op: is_null}
    {activity: active, days_ago: [30, 90]}             # >= 1 active day 30..90 days before as_of
    {all: [<condition>, ...]}  {any: [...]}  {not: <condition>}

A comparison with a missing (null) profile value is false, so ``not`` of it is true.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from huaxiang.codegen.catalog import Catalog, load_catalog
from huaxiang.contract import CHANNELS
from huaxiang.settings import DBT_PROJECT_DIR

AUDIENCE_DIR = DBT_PROJECT_DIR / "audiences"
GENERATED_MODEL = DBT_PROJECT_DIR / "models" / "marts" / "marketing" / "mkt_audience_candidates.sql"

IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,62}")
CODE_VALUE = re.compile(r"[a-z0-9_]{1,64}")
# Display names: letters (any script), digits, spaces and a little punctuation — never a quote or brace.
DISPLAY_NAME = re.compile(r"[\w\u3000-\u303f\uff00-\uffef][\w \-&/()+,.·\u3000-\u303f\uff00-\uffef]{0,79}")
MAX_PRIORITY = 1000
MAX_DAYS_AGO = 3660
# Limits that keep a hostile definition from crashing the compiler (RecursionError, OverflowError):
# conditions nest at most MAX_CONDITION_DEPTH levels (all/any/not), and a number has at most
# MAX_NUMBER_DIGITS digits before the decimal point (no profile field needs more).
MAX_CONDITION_DEPTH = 32
MAX_NUMBER_DIGITS = 15


class AudienceError(ValueError):
    """An audience definition is invalid; the message names the file and the offending part."""


@dataclass(frozen=True)
class Field:
    """A user_profile column an audience may test. `kind` is code, boolean, integer or number."""

    column: str
    kind: str
    values: tuple[str, ...] = ()  # allowed codes (kind code)
    minimum: float | None = None
    maximum: float | None = None


# Facts of user_profile that are not tags but make useful conditions (counts and amounts as of the day).
FACT_FIELDS: dict[str, Field] = {
    **{
        name: Field(name, "integer", minimum=0)
        for name in (
            "recency_days",
            "tenure_days",
            "days_inactive",
            "active_days_30d",
            "orders_30d",
            "orders_90d",
            "orders_365d",
            "orders_total",
        )
    },
    **{
        name: Field(name, "number", minimum=0)
        for name in ("revenue_30d", "revenue_90d", "revenue_365d", "revenue_total", "aov")
    },
}
TAG_KINDS = {"category": "code", "boolean": "boolean", "integer": "integer", "number": "number"}


def load_fields(catalog: Catalog | None = None) -> dict[str, Field]:
    """The whitelist: every single-valued tag of the catalog with fixed values or a numeric type
    (text tags such as cluster_name take values from data, so they cannot be checked), plus FACT_FIELDS."""
    catalog = catalog or load_catalog()
    fields = dict(FACT_FIELDS)
    for tag in catalog.tags:
        if tag.status == "retired" or tag.multi_valued or tag.value_type not in TAG_KINDS:
            continue
        values = tuple(value.value for value in tag.values)
        if not all(CODE_VALUE.fullmatch(value) for value in values):
            raise AudienceError(f"tag {tag.code}: values must match {CODE_VALUE.pattern} to be used in audiences")
        fields[tag.code] = Field(
            tag.column or tag.code, TAG_KINDS[tag.value_type], values, tag.range_min, tag.range_max
        )
    return fields


OPERATORS: dict[str, str] = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
LIST_OPERATORS = {"in": "in", "not_in": "not in"}
RANGE_OPERATOR = "between"
NULL_OPERATORS = {"is_null": "is null", "is_not_null": "is not null"}
ORDERED_KINDS = {"integer", "number"}

# What activation should do with a member; labels in docs/marts.md.
ACTIONS = (
    "member_perks",
    "targeted_promotion",
    "new_user_coupon",
    "winback_offer",
    "coupon_push",
    "reminder",
    "nurture_content",
)
ACTIVITY_KINDS = {"active": "is_active", "ordered": "has_paid_order"}


# ── the definition tree ─────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Comparison:
    field: Field
    op: str
    value: Any = None


@dataclass(frozen=True)
class Activity:
    kind: str
    first_day: int  # days before as_of, inclusive (0 = the as-of day)
    last_day: int


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Comparison | Activity | AllOf | AnyOf | Not


@dataclass(frozen=True)
class ActionRule:
    action: str
    when: Condition | None  # None: the default (last) rule


@dataclass(frozen=True)
class Audience:
    audience_id: str
    name: str
    name_zh: str
    description: str
    priority: int
    channel: str  # used when the member's best channel is unknown
    where: Condition
    actions: tuple[ActionRule, ...]


# ── parsing and validation ──────────────────────────────────────────────────────────────────


def _fail(where: str, message: str) -> AudienceError:
    return AudienceError(f"{where}: {message}")


def _keys(data: Any, where: str, required: set[str], optional: Collection[str] = ()) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _fail(where, f"expected a mapping, got {type(data).__name__}")
    unknown = set(data) - required - set(optional)
    if unknown:
        raise _fail(where, f"unknown key(s) {sorted(map(str, unknown))}; allowed: {sorted(required | set(optional))}")
    missing = required - set(data)
    if missing:
        raise _fail(where, f"missing key(s) {sorted(missing)}")
    return data


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_too_large(value: Any) -> bool:
    """An int (or finite float) beyond MAX_NUMBER_DIGITS digits: a float cannot hold it exactly (or at all)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value.bit_length() > math.ceil(MAX_NUMBER_DIGITS * math.log2(10))
    return isinstance(value, float) and math.isfinite(value) and abs(value) >= 10.0**MAX_NUMBER_DIGITS


def _scalar(field_name: str, field: Field, value: Any, where: str) -> Any:
    """The value checked against the field's type and range (codes: against the allowed values)."""
    if field.kind == "code":
        if not isinstance(value, str) or value not in field.values:
            raise _fail(where, f"{field_name} must be one of {list(field.values)}, got {value!r}")
        return value
    if field.kind == "boolean":
        if not isinstance(value, bool):
            raise _fail(where, f"{field_name} is a boolean: use true or false, got {value!r}")
        return value
    if _is_number(value) and _number_too_large(value):
        raise _fail(
            where,
            f"{field_name}: the value is a number too large (more than {MAX_NUMBER_DIGITS} digits); "
            "use a number within the field's range",
        )
    if not _is_number(value) or not math.isfinite(value):
        raise _fail(where, f"{field_name} is a {field.kind}: expected a number, got {value!r}")
    if field.kind == "integer" and value != int(value):
        raise _fail(where, f"{field_name} is an integer, got {value!r}")
    if (field.minimum is not None and value < field.minimum) or (field.maximum is not None and value > field.maximum):
        raise _fail(where, f"{field_name} must be within [{field.minimum}, {field.maximum}], got {value!r}")
    return int(value) if field.kind == "integer" else float(value)


def _comparison(data: Mapping[str, Any], where: str, fields: Mapping[str, Field]) -> Comparison:
    op = data.get("op")
    if not isinstance(op, str):
        raise _fail(where, f"'op' must be an operator name, got {op!r}")
    null_test = op in NULL_OPERATORS
    _keys(data, where, {"field", "op"} if null_test else {"field", "op", "value"})
    name = data["field"]
    if not isinstance(name, str) or name not in fields:
        raise _fail(where, f"unknown field {name!r}; known fields: {sorted(fields)}")
    field = fields[name]
    if null_test:
        return Comparison(field, op)
    value = data["value"]
    if op in OPERATORS:
        if op not in ("=", "!=") and field.kind not in ORDERED_KINDS:
            raise _fail(where, f"operator {op!r} needs a numeric field; {name} is a {field.kind}")
        return Comparison(field, op, _scalar(name, field, value, where))
    if op in LIST_OPERATORS:
        if not isinstance(value, list) or not value:
            raise _fail(where, f"operator {op!r} needs a non-empty list of values")
        return Comparison(field, op, tuple(_scalar(name, field, item, where) for item in value))
    if op == RANGE_OPERATOR:
        if field.kind not in ORDERED_KINDS:
            raise _fail(where, f"operator 'between' needs a numeric field; {name} is a {field.kind}")
        if not isinstance(value, list) or len(value) != 2:
            raise _fail(where, "operator 'between' needs [low, high]")
        low, high = (_scalar(name, field, item, where) for item in value)
        if low > high:
            raise _fail(where, f"between [{low}, {high}] is empty")
        return Comparison(field, op, (low, high))
    allowed = [*OPERATORS, *LIST_OPERATORS, RANGE_OPERATOR, *NULL_OPERATORS]
    raise _fail(where, f"unknown operator {op!r}; allowed: {allowed}")


def _activity(data: Mapping[str, Any], where: str) -> Activity:
    _keys(data, where, {"activity", "days_ago"})
    kind, days = data["activity"], data["days_ago"]
    if not isinstance(kind, str) or kind not in ACTIVITY_KINDS:
        raise _fail(where, f"activity must be one of {sorted(ACTIVITY_KINDS)}, got {kind!r}")
    if isinstance(days, list) and any(_number_too_large(day) for day in days):
        raise _fail(
            where, f"days_ago: a number too large (more than {MAX_NUMBER_DIGITS} digits); at most {MAX_DAYS_AGO}"
        )
    if (
        not isinstance(days, list)
        or len(days) != 2
        or not all(isinstance(day, int) and not isinstance(day, bool) for day in days)
        or not 0 <= days[0] <= days[1] <= MAX_DAYS_AGO
    ):
        raise _fail(where, f"days_ago must be [first, last] with 0 <= first <= last <= {MAX_DAYS_AGO}, got {days!r}")
    return Activity(kind, days[0], days[1])


def parse_condition(data: Any, where: str, fields: Mapping[str, Field], depth: int = 1) -> Condition:
    if depth > MAX_CONDITION_DEPTH:
        raise _fail(
            re.split(r"\.(?:not|all\[|any\[)", where, maxsplit=1)[0],
            f"conditions nest deeper than {MAX_CONDITION_DEPTH} levels (all/any/not); flatten the condition",
        )
    if not isinstance(data, Mapping) or not data:
        raise _fail(where, f"expected a condition mapping, got {data!r}")
    if "all" in data or "any" in data:
        key = "all" if "all" in data else "any"
        _keys(data, where, {key})
        items = data[key]
        if not isinstance(items, list) or not items:
            raise _fail(where, f"'{key}' needs a non-empty list of conditions")
        parsed = tuple(parse_condition(item, f"{where}.{key}[{i}]", fields, depth + 1) for i, item in enumerate(items))
        return AllOf(parsed) if key == "all" else AnyOf(parsed)
    if "not" in data:
        _keys(data, where, {"not"})
        return Not(parse_condition(data["not"], f"{where}.not", fields, depth + 1))
    if "activity" in data:
        return _activity(data, where)
    if "field" in data:
        return _comparison(data, where, fields)
    raise _fail(where, f"a condition is one of field/op/value, activity/days_ago, all, any, not; got {sorted(data)}")


def _text(data: Mapping[str, Any], key: str, where: str, pattern: re.Pattern[str] | None = None) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"'{key}' must be a non-empty text")
    if pattern is not None and not pattern.fullmatch(value):
        raise _fail(where, f"'{key}' {value!r} must match {pattern.pattern}")
    return value.strip()


def _actions(data: Any, where: str, fields: Mapping[str, Field]) -> tuple[ActionRule, ...]:
    if not isinstance(data, list) or not data:
        raise _fail(where, "'actions' needs a non-empty list; the last rule (without 'when') is the default")
    rules = []
    for i, item in enumerate(data):
        rule_where = f"{where}[{i}]"
        last = i == len(data) - 1
        _keys(item, rule_where, {"action"} if last else {"action", "when"})
        if item["action"] not in ACTIONS:
            raise _fail(rule_where, f"unknown action {item['action']!r}; allowed: {list(ACTIONS)}")
        when = None if last else parse_condition(item["when"], f"{rule_where}.when", fields)
        rules.append(ActionRule(item["action"], when))
    return tuple(rules)


def parse_audience(data: Any, source: str, fields: Mapping[str, Field]) -> Audience:
    _keys(
        data,
        source,
        {"audience", "name", "name_zh", "description", "priority", "where", "actions"},
        {"channel"},
    )
    audience_id = _text(data, "audience", source, IDENTIFIER)
    priority = data["priority"]
    if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= MAX_PRIORITY:
        shown = "a number too large" if _number_too_large(priority) else repr(priority)
        raise _fail(source, f"'priority' must be an integer 1..{MAX_PRIORITY} (1 = kept first), got {shown}")
    channel = data.get("channel", "sms")
    if channel not in CHANNELS:
        raise _fail(source, f"'channel' must be one of {list(CHANNELS)}, got {channel!r}")
    return Audience(
        audience_id=audience_id,
        name=_text(data, "name", source, DISPLAY_NAME),
        name_zh=_text(data, "name_zh", source, DISPLAY_NAME),
        description=_text(data, "description", source),
        priority=priority,
        channel=channel,
        where=parse_condition(data["where"], f"{source}: where", fields),
        actions=_actions(data["actions"], f"{source}: actions", fields),
    )


def load_audiences(directory: Path = AUDIENCE_DIR, fields: Mapping[str, Field] | None = None) -> list[Audience]:
    """Every `*.yml` in `directory`, validated against `fields` (default: load_fields()); priorities must be unique."""
    fields = load_fields() if fields is None else fields
    audiences = []
    for path in sorted(directory.glob("*.yml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise AudienceError(f"{path.name}: not valid YAML: {error}") from error
        except RecursionError as error:
            raise AudienceError(
                f"{path.name}: nested too deeply to read (conditions nest at most {MAX_CONDITION_DEPTH} levels); "
                "flatten the condition"
            ) from error
        except ValueError as error:  # an integer beyond Python's int-string conversion limit (4,300 digits)
            raise AudienceError(
                f"{path.name}: not readable: a number too large (more than {MAX_NUMBER_DIGITS} digits) "
                f"or a value YAML cannot hold ({str(error).split(':')[0]})"
            ) from error
        audience = parse_audience(data, path.name, fields)
        if audience.audience_id != path.stem:
            raise AudienceError(f"{path.name}: the file of audience '{audience.audience_id}' must be named after it")
        audiences.append(audience)
    if not audiences:
        raise AudienceError(f"no audience definitions (*.yml) in {directory}")
    priorities = [a.priority for a in audiences]
    if len(set(priorities)) != len(priorities):
        raise AudienceError(f"audience priorities must be unique (they order the frequency cap): {priorities}")
    return audiences


# ── SQL generation ──────────────────────────────────────────────────────────────────────────


def _literal(field: Field, value: Any) -> str:
    """A value already checked by `_scalar`, as SQL. Codes are re-checked against the whitelist."""
    if field.kind == "code":
        if value not in field.values or not CODE_VALUE.fullmatch(value):
            raise AssertionError(f"unchecked code {value!r}")
        return f"'{value}'"
    if field.kind == "boolean":
        return "true" if value else "false"
    if field.kind == "integer":
        return str(int(value))
    return repr(float(value))


def _text_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def render_condition(condition: Condition) -> str:
    if isinstance(condition, AllOf | AnyOf):
        joiner = " and " if isinstance(condition, AllOf) else " or "
        return "(" + joiner.join(render_condition(item) for item in condition.items) + ")"
    if isinstance(condition, Not):
        inner = render_condition(condition.item)
        return f"not {inner}" if isinstance(condition.item, AllOf | AnyOf) else f"not ({inner})"
    if isinstance(condition, Activity):
        return (
            f"profile.user_id in (select user_id from activity_days where {ACTIVITY_KINDS[condition.kind]}"
            f" and days_ago between {condition.first_day} and {condition.last_day})"
        )
    field, column = condition.field, f"profile.{condition.field.column}"
    if condition.op in NULL_OPERATORS:
        return f"{column} {NULL_OPERATORS[condition.op]}"
    if condition.op in OPERATORS:
        test = f"{column} {OPERATORS[condition.op]} {_literal(field, condition.value)}"
    elif condition.op in LIST_OPERATORS:
        values = ", ".join(_literal(field, value) for value in condition.value)
        test = f"{column} {LIST_OPERATORS[condition.op]} ({values})"
    else:
        low, high = (_literal(field, value) for value in condition.value)
        test = f"{column} between {low} and {high}"
    # Unknown (null) values never satisfy a comparison, so `not` of one is true.
    return f"coalesce({test}, false)"


def _uses_activity(condition: Condition | None) -> bool:
    if isinstance(condition, AllOf | AnyOf):
        return any(_uses_activity(item) for item in condition.items)
    if isinstance(condition, Not):
        return _uses_activity(condition.item)
    return isinstance(condition, Activity)


HEADER = """\
{#-
    GENERATED by `huaxiang codegen` from dbt_project/audiences/*.yml: do not edit, change
    the definitions and regenerate (tests/test_audiences.py fails when this file is out of date).

    Every user of user_profile with marketing consent matching each audience's conditions, with
    the audience's first matching action rule. Users without consent (false or unknown) are never
    candidates: no published mart carries a contact plan for them. The frequency cap is applied in
    audience_members.
-#}
"""

PROFILE_CTE = """\
with profile as (
    select * from {{ ref('user_profile') }}
    where coalesce(marketing_consent, false)
),
"""

ACTIVITY_CTE = """\
-- Days with activity before the as-of day, counted back from it (0 = the as-of day).
activity_days as (
    select
        daily.user_id,
        {{ dbt.datediff('daily.activity_date', 'profile.as_of', 'day') }} as days_ago,
        daily.is_active,
        daily.orders > 0 as has_paid_order
    from {{ ref('int_user_daily') }} as daily
    inner join profile on daily.user_id = profile.user_id
    where daily.activity_date <= profile.as_of
),
"""


def _where(condition: Condition) -> str:
    """The audience's condition, one line per top-level `all` item."""
    if isinstance(condition, AllOf):
        return "\n        and ".join(render_condition(item) for item in condition.items)
    return render_condition(condition)


def _action(rules: Sequence[ActionRule]) -> str:
    if len(rules) == 1:
        return f"'{rules[0].action}'"
    lines = [
        f"            when {render_condition(rule.when)} then '{rule.action}'"
        if rule.when is not None
        else f"            else '{rule.action}'"
        for rule in rules
    ]
    return "case\n" + "\n".join(lines) + "\n        end"


def _audience_cte(audience: Audience) -> str:
    return f"""\
-- {audience.audience_id} (priority {audience.priority}): {audience.name} / {audience.name_zh}
audience_{audience.audience_id} as (
    select
        profile.user_id,
        '{audience.audience_id}' as audience_id,
        {_text_literal(audience.name)} as audience_name,
        {_text_literal(audience.name_zh)} as audience_name_zh,
        {audience.priority} as priority,
        '{audience.channel}' as default_channel,
        {_action(audience.actions)} as recommended_action
    from profile
    where {_where(audience.where)}
),
"""


def compile_sql(audiences: Sequence[Audience]) -> str:
    """The dbt model text for the audiences (deterministic: same definitions, same text)."""
    uses_activity = any(
        _uses_activity(a.where) or any(_uses_activity(rule.when) for rule in a.actions) for a in audiences
    )
    audiences = sorted(audiences, key=lambda audience: audience.priority)
    parts = [HEADER, PROFILE_CTE, "\n"]
    if uses_activity:
        parts += [ACTIVITY_CTE, "\n"]
    for audience in audiences:
        parts += [_audience_cte(audience), "\n"]
    unions = "\n    union all\n".join(f"    select * from audience_{a.audience_id}" for a in audiences)
    parts.append(f"candidates as (\n{unions}\n)\n\nselect * from candidates\n")
    return "".join(parts)


def generated_files() -> dict[Path, str]:
    """The audience model, with its expected content."""
    return {GENERATED_MODEL: compile_sql(load_audiences())}
