"""The mapping file: how a source's files become the raw contract tables.

A mapping has three parts (docs/bring-your-own-data.md walks through them):

* `sources` — the files, how to read them and how to parse their text columns into types. A
  source row that cannot be parsed is rejected from every table built from it.
* `views` — optional SQL over sources (aggregates to join, lookups), DuckDB dialect.
* `tables` — one entry per raw contract table: the primary source (`from`), optional joins, and a
  DuckDB SQL expression (or constant, or value map) per contract column. `merge` collapses rows
  that share the table's key, which is how tables the source does not have are derived.

Everything here is checked before any data is read; `UserFacingError`s name the file and field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from huaxiang.contract import RAW_TABLES
from huaxiang.errors import UserFacingError

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
EPOCH_FORMATS = ("epoch", "epoch_ms")
FILE_FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".xlsx": "xlsx"}

# Contract columns a source rarely has, filled from the other columns of the same row when the
# mapping leaves them out. SQL over the contract-typed columns (unmapped ones are NULL).
DERIVED_DEFAULTS: dict[str, dict[str, str]] = {
    "users": {
        "gender": "'unknown'",
        # Unknown consent is no consent.
        "marketing_consent": "FALSE",
        # A user seen once has one version: the day it was first seen.
        "updated_at": "registered_at",
    },
    "products": {
        "category_l1": "'unknown'",
        "category_l2": "coalesce(category_l1, 'unknown')",
        "brand": "'unknown'",
    },
    "orders": {"paid_amount": "gross_amount - coalesce(discount_amount, 0)"},
}


def required_columns(table: str) -> list[str]:
    """Columns without which a row cannot be landed: the key and the partition column."""
    spec = RAW_TABLES[table]
    return [*spec.key, *([spec.partition_column] if spec.partition_column not in spec.key else [])]


def mapping_error(path: Path, where: str, message: str) -> UserFacingError:
    return UserFacingError(f"mapping {path}: {where}: {message}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ParseSpec(_Strict):
    """How one text column of a source becomes a typed value."""

    type: Literal["string", "integer", "number", "boolean", "date", "timestamp"]
    # strptime format(s) for dates/timestamps (tried in order), or epoch / epoch_ms.
    format: str | list[str] | None = None
    decimal: str = "."
    thousands: str | None = None
    # Zone of naive timestamps in this column; default: the mapping's `timezone`.
    timezone: str | None = None

    @property
    def formats(self) -> list[str]:
        if self.format is None:
            return []
        return [self.format] if isinstance(self.format, str) else list(self.format)

    @model_validator(mode="after")
    def _options_fit_type(self) -> ParseSpec:
        if self.format is not None and self.type not in ("date", "timestamp"):
            raise ValueError(f"format applies to date and timestamp columns, not {self.type}")
        if any(f in EPOCH_FORMATS for f in self.formats) and (
            self.type != "timestamp" or len(self.formats) > 1
        ):
            raise ValueError("epoch / epoch_ms is the only format of a timestamp column")
        if (self.decimal != "." or self.thousands) and self.type != "number":
            raise ValueError("decimal and thousands apply to number columns")
        if len(self.decimal) != 1:
            raise ValueError("decimal is one character")
        if self.timezone and self.type != "timestamp":
            raise ValueError("timezone applies to timestamp columns")
        return self


class SourceSpec(_Strict):
    """Files of one shape, read together; `_file` and `_line` say where each row came from."""

    files: list[str]
    format: Literal["csv", "whitespace", "parquet", "xlsx"] | None = None
    header: bool = True
    delimiter: str = ","
    quote: str = '"'
    encoding: str = "utf-8"
    skip: int = Field(0, ge=0)
    # Names of the columns: required without a header; with one, they rename it in order.
    columns: list[str] | None = None
    sheet: str | None = None
    # Extra spellings of NULL (an empty field is always NULL).
    null_values: list[str] = Field(default_factory=list)
    parse: dict[str, ParseSpec] = Field(default_factory=dict)
    # reason: SQL condition over the parsed columns; a matching row is rejected with that reason.
    reject: dict[str, str] = Field(default_factory=dict)
    # Rows equal in every column to an earlier row (the export doubled): collapsed into the first
    # (default), or kept when the source's rows may legitimately repeat. Counted in the report
    # either way (huaxiang.ingest.duplicates).
    duplicate_rows: Literal["collapse", "keep"] = "collapse"

    @field_validator("files", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("parse", mode="before")
    @classmethod
    def _bare_types(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                column: {"type": spec} if isinstance(spec, str) else spec for column, spec in value.items()
            }
        return value

    def file_format(self) -> str:
        if self.format:
            return self.format
        suffixes = {FILE_FORMATS.get(Path(pattern).suffix.lower()) for pattern in self.files}
        if len(suffixes) == 1 and None not in suffixes:
            return suffixes.pop()
        raise ValueError(
            "cannot tell the format from the file names; set format: csv | whitespace | parquet | xlsx"
        )


class ColumnSpec(_Strict):
    """One contract column: an expression or a constant, optionally through a value map."""

    expr: str | None = None
    value: Any = None
    map: dict[str, Any] | None = None
    # What a value missing from `map` becomes: a reject (default), itself, or NULL.
    unmapped: Literal["reject", "keep", "null"] = "reject"
    # Used when the expression yields NULL.
    default: Any = None
    # A value that cannot be cast to the contract type rejects the row, or becomes NULL.
    on_error: Literal["reject", "null"] = "reject"

    @field_validator("map", mode="before")
    @classmethod
    def _string_keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(key): target for key, target in value.items()}
        return value

    @model_validator(mode="after")
    def _expr_or_value(self) -> ColumnSpec:
        if (self.expr is None) == ("value" not in self.model_fields_set):
            raise ValueError("give either expr (SQL over the source columns) or value (a constant)")
        return self


class TableSpec(_Strict):
    """One raw contract table built from a primary source."""

    from_: str = Field(alias="from")
    # JOIN clauses appended after the primary source, e.g. "LEFT JOIN customers USING (customer_id)".
    join: str | None = None
    # Rows for which this is not true are left out (counted as filtered, not rejected).
    where: str | None = None
    columns: dict[str, ColumnSpec]
    reject: dict[str, str] = Field(default_factory=dict)
    # Collapse rows sharing the table's key into one: `aggregate` says how per column, the rest
    # take the earliest row's non-null value.
    merge: bool = False
    aggregate: dict[str, str] = Field(default_factory=dict)

    @field_validator("columns", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """`col: SQL` is an expression, `col: 3` / `col: true` a constant."""
        if not isinstance(value, dict):
            return value
        return {
            column: spec
            if isinstance(spec, dict)
            else {"expr": spec}
            if isinstance(spec, str)
            else {"value": spec}
            for column, spec in value.items()
        }

    @property
    def merges(self) -> bool:
        return self.merge or bool(self.aggregate)


class Mapping(_Strict):
    name: str
    description: str = ""
    # Zone of naive source timestamps; default: the business timezone (HUAXIANG_TIMEZONE).
    timezone: str | None = None
    # Put in front of every *_id value, so several sources can share one warehouse.
    id_prefix: str = ""
    # Where the files are, relative to the mapping file; `--source` overrides it.
    source_dir: str | None = None
    # Above this share of rejected rows in any table nothing is landed: the mapping is wrong.
    max_rejected_fraction: float = Field(0.5, ge=0.0, le=1.0)
    # The source is a continuous 24-hour feed (a clickstream): a day whose last row is early is a
    # truncated day. Historical exports of shops with opening hours are not (the default).
    whole_days: bool = False
    sources: dict[str, SourceSpec]
    views: dict[str, str] = Field(default_factory=dict)
    tables: dict[str, TableSpec]


class _Yaml12Loader(yaml.SafeLoader):
    """Only true/false are booleans, so value maps may use keys such as `yes`, `no`, `on`, `Y`."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file against the contract; raises UserFacingError on any problem."""
    if not path.is_file():
        raise UserFacingError(f"mapping file {path} not found")
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12Loader)
    except yaml.YAMLError as error:
        raise UserFacingError(f"mapping {path}: not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise UserFacingError(f"mapping {path}: expected a YAML mapping with name, sources and tables")
    try:
        mapping = Mapping.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or '(top)'}: {issue['msg']}"
            for issue in error.errors()
        )
        raise UserFacingError(f"mapping {path}: {problems}") from error
    _check_names(mapping, path)
    for table, spec in mapping.tables.items():
        _check_table(path, table, spec, mapping)
    return mapping


def _check_names(mapping: Mapping, path: Path) -> None:
    for kind, names in (("sources", mapping.sources), ("views", mapping.views)):
        for name in names:
            if not NAME_PATTERN.match(name) or name.startswith("__"):
                raise mapping_error(
                    path, f"{kind}.{name}", "names are letters, digits and _ (usable in SQL unquoted)"
                )
    shared = set(mapping.sources) & set(mapping.views)
    if shared:
        raise mapping_error(path, f"views.{sorted(shared)[0]}", "a view cannot have the name of a source")
    for name, source in mapping.sources.items():
        try:
            source.file_format()
        except ValueError as error:
            raise mapping_error(path, f"sources.{name}", str(error)) from error
        if not source.header and not source.columns and source.file_format() in ("csv", "whitespace"):
            raise mapping_error(
                path, f"sources.{name}.columns", "a file without a header needs its column names"
            )


def _check_table(path: Path, table: str, spec: TableSpec, mapping: Mapping) -> None:
    where = f"tables.{table}"
    if table not in RAW_TABLES:
        raise mapping_error(path, where, f"unknown table; the raw contract has {', '.join(RAW_TABLES)}")
    if spec.from_ not in mapping.sources:
        raise mapping_error(
            path, f"{where}.from", f"'{spec.from_}' is not one of the sources {sorted(mapping.sources)}"
        )
    contract = RAW_TABLES[table]
    for column in [*spec.columns, *spec.aggregate]:
        if column not in contract.schema.names:
            raise mapping_error(
                path,
                f"{where}.columns.{column}",
                f"not a column of {table}; it has {', '.join(contract.schema.names)}",
            )
    for column in spec.aggregate:
        if column in contract.key:
            raise mapping_error(
                path, f"{where}.aggregate.{column}", "key columns are what rows are merged by"
            )
    defaults = DERIVED_DEFAULTS.get(table, {})
    for column in required_columns(table):
        if column in spec.columns:
            continue
        fallback = defaults.get(column)
        if fallback is None or fallback not in spec.columns:
            hint = f" (or map {fallback}, which it defaults to)" if fallback else ""
            raise mapping_error(path, f"{where}.columns.{column}", f"required and not mapped{hint}")
