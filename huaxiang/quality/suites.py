"""Suite files: `expectations/<asset path with / as __>.yml`, loaded into plain dataclasses.

A suite gates one asset (and, with `also_gates`, the sibling models consumers read instead, e.g. a
dimension's version history). It lists named *frames* — small DataFrames computed in DuckDB by a frame
kind (see `huaxiang.quality.kinds`) — and, per frame, GX 1.x expectations in GX's own JSON shape
(`type`, `kwargs`, optional `meta`). Loading checks everything that can be checked without
importing GX: required fields, frame options, and that every expectation names a column its frame
produces. Errors name the file and the field, e.g.

    expectations/raw__events.yml: frames.volume.expectations[1].kwargs.column: 'ration' is not a
    column of frame 'volume' (columns: day, rows, baseline, baseline_days, baseline_rows, …)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from huaxiang.quality.kinds import KINDS, FrameQuery, KindOptionError
from huaxiang.settings import EXPECTATIONS_DIR, REPO_ROOT
from huaxiang.source_profile import FACT_MEANING

SUITE_SUFFIXES = (".yml", ".yaml")
_SUITE_KEYS = {"asset", "also_gates", "description", "blocking", "table", "partition_column", "frames"}
# Suite-level defaults handed to every frame whose kind has that option.
_INHERITED = ("table", "partition_column")
_FRAME_KEYS = {"kind", "description", "expectations"}
_EXPECTATION_KEYS = {"type", "kwargs", "meta", "when", "severity"}
# An expectation's severity: `error` (default) fails a blocking check and stops downstream; `warn`
# reports a statistical anomaly (a promotion spike, a true drop in volume) without stopping.
ERROR, WARN = "error", "warn"
SEVERITIES = (ERROR, WARN)
_COLUMN_KWARGS = ("column", "column_A", "column_B")


class SuiteError(ValueError):
    """A suite file is malformed; the message names the file and the field."""

    def __init__(self, path: Path, field: str, message: str) -> None:
        self.path = path
        self.field = field
        where = f"{_display(path)}: {field}: " if field else f"{_display(path)}: "
        super().__init__(where + message)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class ExpectationSpec:
    """One GX expectation as written in the file (GX's JSON shape)."""

    type: str
    kwargs: Mapping[str, Any]
    meta: Mapping[str, Any]
    # Source-profile facts the expectation assumes (huaxiang.source_profile), e.g. {every_day: true}:
    # where the landed source does not have them it is reported as not applicable, not judged.
    when: Mapping[str, Any] = field(default_factory=dict)
    severity: str = ERROR

    @property
    def column(self) -> str | None:
        value = self.kwargs.get("column")
        return value if isinstance(value, str) else None

    @property
    def notes(self) -> str | None:
        notes = self.meta.get("notes")
        return str(notes).strip() if notes else None


@dataclass(frozen=True)
class FrameSpec:
    name: str
    kind: str
    options: Mapping[str, Any]
    query: FrameQuery
    description: str
    expectations: tuple[ExpectationSpec, ...]


@dataclass(frozen=True)
class Suite:
    name: str  # the file stem, e.g. raw__events; also the Dagster check name
    path: Path
    asset: tuple[str, ...]  # asset key path, e.g. ("raw", "events")
    description: str
    blocking: bool
    frames: tuple[FrameSpec, ...]

    # Further assets the check sits on: a blocking check only stops the consumers of its asset, so a
    # suite about data several models expose (a dimension's current rows and its versions) gates each.
    also_gates: tuple[tuple[str, ...], ...] = ()

    @property
    def asset_path(self) -> str:
        return "/".join(self.asset)

    @property
    def gated_assets(self) -> tuple[tuple[str, ...], ...]:
        return (self.asset, *self.also_gates)

    @property
    def expectation_count(self) -> int:
        return sum(len(frame.expectations) for frame in self.frames)

    @property
    def day_source(self) -> tuple[str, str] | None:
        """(table, partition column) whose latest day is the window when a run has no partitions."""
        for frame in self.frames:
            if frame.query.table and frame.query.partition_column:
                return frame.query.table, frame.query.partition_column
        return None


def suite_file_stem(asset_path: str) -> str:
    """`raw/events` → `raw__events` (the file is `expectations/raw__events.yml`)."""
    return asset_path.strip("/").replace("/", "__")


def load_suite(path: Path) -> Suite:
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise SuiteError(path, "", f"is not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise SuiteError(path, "", "must be a mapping with asset, description and frames")
    _no_unknown_keys(path, "", document, _SUITE_KEYS)

    asset = _required_str(path, "asset", document)
    parts = _asset_parts(path, "asset", asset)
    also_gates_doc = document.get("also_gates", [])
    if not isinstance(also_gates_doc, list):
        raise SuiteError(path, "also_gates", "must be a list of asset paths")
    also_gates = tuple(_asset_parts(path, f"also_gates[{i}]", item) for i, item in enumerate(also_gates_doc))
    expected_stem = suite_file_stem(asset)
    if path.stem != expected_stem:
        raise SuiteError(path, "asset", f"{asset!r} belongs in {expected_stem}{path.suffix}, not {path.name}")
    description = _required_str(path, "description", document)
    blocking = document.get("blocking", True)
    if not isinstance(blocking, bool):
        raise SuiteError(path, "blocking", f"must be true or false, got {blocking!r}")
    defaults = {key: document[key] for key in _INHERITED if key in document}

    frames_doc = document.get("frames")
    if not isinstance(frames_doc, dict) or not frames_doc:
        raise SuiteError(path, "frames", "must be a non-empty mapping of frame name → frame")
    frames = tuple(_load_frame(path, str(name), spec, defaults) for name, spec in frames_doc.items())
    return Suite(
        name=path.stem,
        path=path,
        asset=parts,
        also_gates=also_gates,
        description=" ".join(description.split()),
        blocking=blocking,
        frames=frames,
    )


def discover_suites(directory: Path = EXPECTATIONS_DIR) -> list[Suite]:
    """Every suite file in `directory`, sorted by name. Adding a file adds a gate."""
    paths = sorted(p for p in Path(directory).glob("*") if p.suffix in SUITE_SUFFIXES and p.is_file())
    suites = [load_suite(path) for path in paths]
    seen: dict[str, Path] = {}
    for suite in suites:
        if suite.name in seen:
            raise SuiteError(suite.path, "asset", f"{suite.asset_path} already has a suite in {seen[suite.name].name}")
        seen[suite.name] = suite.path
    return suites


def _load_frame(path: Path, name: str, spec: Any, defaults: Mapping[str, Any]) -> FrameSpec:
    where = f"frames.{name}"
    if not name.isidentifier():
        raise SuiteError(path, where, "frame names must be identifiers (letters, digits, _)")
    if not isinstance(spec, dict):
        raise SuiteError(path, where, "must be a mapping with kind and expectations")
    kind_name = spec.get("kind")
    if kind_name not in KINDS:
        raise SuiteError(path, f"{where}.kind", f"{kind_name!r} is not a frame kind (kinds: {', '.join(KINDS)})")
    kind = KINDS[kind_name]
    options = {key: value for key, value in spec.items() if key not in _FRAME_KEYS}
    for key, value in defaults.items():
        if key in kind.options:
            options.setdefault(key, value)
    try:
        query = kind.expand(options)
    except KindOptionError as error:
        raise SuiteError(path, f"{where}.{error.option}", str(error)) from error

    expectations_doc = spec.get("expectations")
    if not isinstance(expectations_doc, list) or not expectations_doc:
        raise SuiteError(path, f"{where}.expectations", "must be a non-empty list")
    expectations = tuple(
        _load_expectation(path, f"{where}.expectations[{i}]", item, name, query)
        for i, item in enumerate(expectations_doc)
    )
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise SuiteError(path, f"{where}.description", "must be text")
    return FrameSpec(
        name=name,
        kind=kind_name,
        options=options,
        query=query,
        description=" ".join(description.split()),
        expectations=expectations,
    )


def _load_expectation(path: Path, where: str, item: Any, frame: str, query: FrameQuery) -> ExpectationSpec:
    if not isinstance(item, dict):
        raise SuiteError(path, where, "must be a mapping with type and kwargs")
    _no_unknown_keys(path, where, item, _EXPECTATION_KEYS)
    type_ = item.get("type")
    if not isinstance(type_, str) or not type_.startswith("expect_"):
        raise SuiteError(path, f"{where}.type", f"{type_!r} is not a GX expectation type (expect_…)")
    kwargs = item.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise SuiteError(path, f"{where}.kwargs", "must be a mapping")
    meta = item.get("meta", {})
    if not isinstance(meta, dict):
        raise SuiteError(path, f"{where}.meta", "must be a mapping (e.g. {notes: ...})")
    if query.columns is not None:
        named = [(key, kwargs[key]) for key in _COLUMN_KWARGS if key in kwargs]
        named += [("column_list", column) for column in kwargs.get("column_list", [])]
        for key, column in named:
            if column not in query.columns:
                raise SuiteError(
                    path,
                    f"{where}.kwargs.{key}",
                    f"{column!r} is not a column of frame '{frame}' (columns: {', '.join(query.columns)})",
                )
    when = item.get("when", {})
    if not isinstance(when, dict):
        raise SuiteError(path, f"{where}.when", "must be a mapping of source-profile facts, e.g. {every_day: true}")
    for fact, value in when.items():
        if fact not in FACT_MEANING:
            raise SuiteError(
                path, f"{where}.when.{fact}", f"not a source-profile fact (facts: {', '.join(FACT_MEANING)})"
            )
        if not isinstance(value, (bool, str)):
            raise SuiteError(path, f"{where}.when.{fact}", f"must be true, false or text, got {value!r}")
    severity = item.get("severity", ERROR)
    if severity not in SEVERITIES:
        raise SuiteError(path, f"{where}.severity", f"must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    return ExpectationSpec(type=type_, kwargs=kwargs, meta=meta, when=when, severity=severity)


def _asset_parts(path: Path, field: str, asset: Any) -> tuple[str, ...]:
    parts = tuple(part for part in asset.split("/") if part) if isinstance(asset, str) else ()
    if not parts or asset != "/".join(parts):
        raise SuiteError(path, field, f"{asset!r} is not an asset path like raw/events")
    return parts


def _required_str(path: Path, field: str, document: Mapping[str, Any]) -> str:
    value = document.get(field)
    if not isinstance(value, str) or not value.strip():
        raise SuiteError(path, field, "is required (text)")
    return value.strip()


def _no_unknown_keys(path: Path, where: str, document: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(document) - allowed)
    if unknown:
        field = f"{where}.{unknown[0]}" if where else unknown[0]
        raise SuiteError(path, field, f"unknown key (allowed: {', '.join(sorted(allowed))})")
