"""Validate a suite's small frames with Great Expectations 1.x and return plain dataclasses.

Long because it is the whole Great Expectations adapter: the lazy context, the expectations built
from the suite files and the results turned into plain dataclasses.

GX is imported lazily (seconds and ~200 MB) the first time a suite is validated in a process, into
one cached ephemeral context: no `gx/` project, nothing written to disk, no network. Each frame is
a pandas batch of a whole-DataFrame batch definition; its expectations are built from the suite
file's `type`/`kwargs`/`meta` with `ExpectationConfiguration`, so any GX expectation works.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import pandas as pd

from huaxiang.quality.suites import ERROR, WARN, ExpectationSpec, FrameSpec, Suite, SuiteError
from huaxiang.source_profile import SourceProfile

EXAMPLES = 5
DAY_COLUMN = "day"
_ORDER_META = "huaxiang_order"
# The words a kwarg phrase already says ("values_to_be_between" + "0.5 and 1.8" → "values between 0.5 and 1.8").
_VERBS = (
    ("_to_be_between", ""),
    ("_to_be_in_set", ""),
    ("_to_contain_set", "_contain"),
    ("_to_match_set", "_match"),
    ("_to_equal_set", "_equal"),
    ("_to_be_of_type", ""),
    ("_to_match_regex", ""),
)


@dataclass(frozen=True)
class ExpectationOutcome:
    frame: str
    expectation_type: str
    column: str | None
    expected: str  # the expectation in words, e.g. "between 0.5 and 1.8"
    success: bool
    observed: str  # GX's observed value, else the frame column's value range
    unexpected_count: int | None
    unexpected_percent: float | None
    element_count: int | None
    examples: tuple[str, ...]
    notes: str | None
    # Days the failure is attributed to (rows of a day-indexed frame); None = the whole window.
    failed_days: tuple[date, ...] | None = None
    error: str | None = None
    # Set when the landed source lacks a property the expectation assumes (its `when:`): the
    # expectation was not evaluated and says why (it counts as passed, and is listed as such).
    not_applicable: str | None = None
    severity: str = ERROR  # warn: a failure is reported, never blocks
    # Set when every day the failure falls on has a reviewed exception (`huaxiang quality accept`):
    # the failure is listed with the reason and counts as passed.
    accepted: str | None = None

    @property
    def failed(self) -> bool:
        return not self.success and not self.accepted

    def sentence(self) -> str:
        """The failure in words, for the check's description."""
        subject = f"{self.frame}.{self.column}" if self.column else self.frame
        text = f"{subject}: expected {self.expected}"
        if self.error:
            text += f"; GX raised {self.error}"
        elif self.unexpected_count:
            text += f"; {self.unexpected_count} of {self.element_count} row(s) unexpected"
        elif self.observed:
            text += f"; observed {self.observed}"
        if self.examples:
            text += f", e.g. {self.examples[0]}"
        if self.notes:
            text += f" — {self.notes}"
        return text


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    passed: bool
    outcomes: tuple[ExpectationOutcome, ...]
    frame_rows: Mapping[str, int]
    validation_seconds: float  # GX validation of all frames
    gx_setup_seconds: float  # import + context creation, paid once per process (0.0 when cached)

    source: str = ""  # the source profile the suite was judged against

    @property
    def failures(self) -> list[ExpectationOutcome]:
        """Failed expectations, blocking ones first (warnings after)."""
        failed = [outcome for outcome in self.outcomes if outcome.failed]
        return sorted(failed, key=lambda outcome: outcome.severity != ERROR)

    @property
    def blocking_failures(self) -> list[ExpectationOutcome]:
        return [outcome for outcome in self.failures if outcome.severity == ERROR]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [outcome for outcome in self.failures if outcome.severity == WARN]

    @property
    def accepted(self) -> list[ExpectationOutcome]:
        return [outcome for outcome in self.outcomes if outcome.accepted]

    @property
    def not_applicable(self) -> list[ExpectationOutcome]:
        return [outcome for outcome in self.outcomes if outcome.not_applicable]

    @property
    def first_failure(self) -> ExpectationOutcome | None:
        failures = self.failures
        return failures[0] if failures else None

    @property
    def rows_validated(self) -> int:
        return sum(self.frame_rows.values())

    def failures_on(self, day: date) -> list[ExpectationOutcome]:
        """The failures that concern one day: those with unexpected rows on it, and those that
        cannot be attributed to rows (a table-level expectation fails every day)."""
        return [o for o in self.failures if o.failed_days is None or day in o.failed_days]

    def day_passed(self, days: Sequence[date]) -> dict[date, bool]:
        """Per-day verdict: a day passes when no failure concerns it."""
        return {day: not self.failures_on(day) for day in days}

    def day_blocked(self, day: date) -> bool:
        """A blocking (error) failure concerns the day; warnings alone do not block it."""
        return any(outcome.severity == ERROR for outcome in self.failures_on(day))


@dataclass
class _GxRuntime:
    gx: Any
    configuration_class: Any
    batch_definition: Any
    setup_seconds: float
    lock: threading.Lock = field(default_factory=threading.Lock)


_RUNTIME: _GxRuntime | None = None
_RUNTIME_LOCK = threading.Lock()


def gx_runtime() -> tuple[_GxRuntime, float]:
    """The process-wide GX runtime and the seconds spent creating it now (0.0 if cached)."""
    global _RUNTIME
    with _RUNTIME_LOCK:
        if _RUNTIME is not None:
            return _RUNTIME, 0.0
        started = time.perf_counter()
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        source = context.data_sources.add_pandas("huaxiang_frames")
        batch_definition = source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("whole_frame")
        _RUNTIME = _GxRuntime(
            gx=gx,
            configuration_class=ExpectationConfiguration,
            batch_definition=batch_definition,
            setup_seconds=time.perf_counter() - started,
        )
        return _RUNTIME, _RUNTIME.setup_seconds


def build_gx_suite(suite: Suite, frame: FrameSpec, skip: frozenset[int] = frozenset()) -> Any:
    """The frame's expectations (but those at positions `skip`) as a `gx.ExpectationSuite`; a
    GX-invalid one is a SuiteError."""
    runtime, _ = gx_runtime()
    gx_suite = runtime.gx.ExpectationSuite(name=f"{suite.name}.{frame.name}")
    for order, spec in enumerate(frame.expectations):
        if order in skip:
            continue
        configuration = runtime.configuration_class(
            type=spec.type, kwargs=dict(spec.kwargs), meta={**spec.meta, _ORDER_META: order}
        )
        try:
            # Matched on the success kwargs, not the column alone: a frame may hold a warning and a
            # blocking bound on the same column (GX's default "domain" match would merge them).
            gx_suite.add_expectation_configuration(configuration, match_type="success")
        except Exception as error:  # GX raises several exception types for a bad configuration
            raise SuiteError(
                suite.path, f"frames.{frame.name}.expectations[{order}]", f"GX refuses it: {error}"
            ) from error
    return gx_suite


def validate_suite(
    suite: Suite,
    frames: Mapping[str, pd.DataFrame],
    profile: SourceProfile | None = None,
    accepted: Mapping[date, str] | None = None,
) -> SuiteResult:
    """Validate every frame; an expectation whose `when:` the source `profile` (default: the strict
    generator profile) does not meet is reported as not applicable instead of being evaluated. A
    failure whose days all have a reviewed exception in `accepted` (day → why) is accepted."""
    profile = profile or SourceProfile.strict()
    runtime, setup_seconds = gx_runtime()
    outcomes: list[ExpectationOutcome] = []
    started = time.perf_counter()
    for frame in suite.frames:
        data = frames[frame.name]
        unmet = {order: profile.unmet(spec.when) for order, spec in enumerate(frame.expectations)}
        skip = frozenset(order for order, reasons in unmet.items() if reasons)
        if len(skip) == len(frame.expectations):
            outcomes += [_not_applicable(frame, spec, profile, unmet[o]) for o, spec in enumerate(frame.expectations)]
            continue
        gx_suite = build_gx_suite(suite, frame, skip)
        index = [column for column in frame.query.index if column in data.columns]
        result_format: dict[str, Any] = {"result_format": "COMPLETE", "partial_unexpected_count": EXAMPLES}
        if index:
            result_format["unexpected_index_column_names"] = index
        with runtime.lock:
            batch = runtime.batch_definition.get_batch(batch_parameters={"dataframe": data})
            validation = batch.validate(gx_suite, result_format=result_format)
        by_order = {r.expectation_config.meta.get(_ORDER_META): r for r in validation.results}
        for order, spec in enumerate(frame.expectations):
            if order in skip:
                outcomes.append(_not_applicable(frame, spec, profile, unmet[order]))
            else:
                outcomes.append(_accept(_outcome(frame, spec, by_order[order], data), accepted or {}))
    return SuiteResult(
        suite=suite.name,
        passed=not any(outcome.failed for outcome in outcomes),
        outcomes=tuple(outcomes),
        frame_rows={name: len(data) for name, data in frames.items()},
        validation_seconds=time.perf_counter() - started,
        gx_setup_seconds=setup_seconds,
        source=f"{profile.name} ({profile.kind})",
    )


def _accept(outcome: ExpectationOutcome, accepted: Mapping[date, str]) -> ExpectationOutcome:
    """A failure on days that all have a reviewed exception is accepted; one that also falls on
    other days keeps failing, on those days only. A failure that cannot be pinned on days (the
    schema) is never accepted by a day's exception."""
    if outcome.success or not outcome.failed_days or not accepted:
        return outcome
    remaining = tuple(day for day in outcome.failed_days if day not in accepted)
    if not remaining:
        why = "; ".join(f"{day}: {accepted[day]}" for day in outcome.failed_days)
        return replace(outcome, accepted=f"accepted exception ({why})")
    return replace(outcome, failed_days=remaining)


def _not_applicable(
    frame: FrameSpec, spec: ExpectationSpec, profile: SourceProfile, unmet: list[str]
) -> ExpectationOutcome:
    reason = f"not applicable to source {profile.name}: {'; '.join(unmet)}"
    return ExpectationOutcome(
        frame=frame.name,
        expectation_type=spec.type,
        column=spec.column,
        expected=describe_expected(spec),
        success=True,
        observed="",
        unexpected_count=None,
        unexpected_percent=None,
        element_count=None,
        examples=(),
        notes=spec.notes,
        not_applicable=reason,
        severity=spec.severity,
    )


def _outcome(frame: FrameSpec, spec: ExpectationSpec, result: Any, data: pd.DataFrame) -> ExpectationOutcome:
    details = dict(result.result or {})
    error = None
    exception = result.exception_info or {}
    if exception.get("raised_exception"):
        error = str(exception.get("exception_message") or "an exception")
    column = spec.column
    unexpected_rows = details.get("unexpected_index_list")
    failed_days: tuple[date, ...] | None = None
    if not result.success and unexpected_rows and isinstance(unexpected_rows[0], dict):
        days = {_as_date(row[DAY_COLUMN]) for row in unexpected_rows if DAY_COLUMN in row}
        if days and None not in days:
            failed_days = tuple(sorted(days))  # type: ignore[arg-type]
    percent = details.get("unexpected_percent")
    return ExpectationOutcome(
        frame=frame.name,
        expectation_type=spec.type,
        column=column,
        expected=describe_expected(spec),
        success=bool(result.success),
        observed=_observed(details, data, column),
        unexpected_count=details.get("unexpected_count"),
        unexpected_percent=None if percent is None else float(percent),
        element_count=details.get("element_count"),
        examples=_examples(details, column, frame.query.index),
        notes=spec.notes,
        failed_days=failed_days,
        error=error,
        severity=spec.severity,
    )


def describe_expected(spec: ExpectationSpec) -> str:
    """An expectation's kwargs in words: 'between 0.5 and 1.8 for ≥ 95% of rows'."""
    kw = spec.kwargs
    parts: list[str] = []
    low, high = kw.get("min_value"), kw.get("max_value")
    if low is not None and high is not None:
        parts.append(f"between {format_value(low)} and {format_value(high)}")
    elif low is not None:
        parts.append(f"{'>' if kw.get('strict_min') else '≥'} {format_value(low)}")
    elif high is not None:
        parts.append(f"{'<' if kw.get('strict_max') else '≤'} {format_value(high)}")
    if "value_set" in kw:
        label = "in " if spec.type.endswith("_in_set") else ""
        parts.append(f"{label}{{{_short_list(kw['value_set'], 6)}}}")
    if "column_set" in kw:
        parts.append(f"{{{_short_list(kw['column_set'], 6)}}}")
    if "regex" in kw:
        parts.append(f"matching /{kw['regex']}/")
    if "type_" in kw:
        parts.append(f"of type {kw['type_']}")
    if "value" in kw:
        parts.append(f"= {format_value(kw['value'])}")
    if not parts:
        rest = {k: v for k, v in kw.items() if k not in ("column", "mostly")}
        parts.append(", ".join(f"{k}={format_value(v)}" for k, v in rest.items()))
    name = spec.type
    for prefix in ("expect_column_", "expect_table_", "expect_"):
        name = name.removeprefix(prefix)
    for verbose, short in _VERBS:
        name = name.replace(verbose, short)
    text = " ".join([name.replace("_", " "), *parts]).strip()
    mostly = kw.get("mostly")
    if mostly is not None and mostly < 1:
        text += f" for ≥ {mostly:.0%} of rows"
    return text


def format_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "null"
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        value = value.item()  # numpy scalar
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple, set)):
        return f"[{_short_list(value, 8)}]"
    return str(value)


def _short_list(values: Any, limit: int) -> str:
    values = list(values)
    shown = ", ".join(format_value(v) for v in values[:limit])
    return shown + (f", … ({len(values)} in all)" if len(values) > limit else "")


def _observed(details: Mapping[str, Any], data: pd.DataFrame, column: str | None) -> str:
    if "observed_value" in details and details["observed_value"] is not None:
        return format_value(details["observed_value"])
    if column and column in data.columns:
        values = data[column].dropna()
        if values.empty:
            return "all null" if len(data) else "no rows"
        distinct = values.drop_duplicates()
        if len(distinct) <= 3:
            return ", ".join(format_value(v) for v in distinct)
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            return f"{format_value(values.min())} … {format_value(values.max())}"
        return f"{len(distinct)} distinct values"
    return ""


def _examples(details: Mapping[str, Any], column: str | None, index: Sequence[str]) -> tuple[str, ...]:
    rows = details.get("unexpected_index_list") or []
    if rows and isinstance(rows[0], dict):
        examples = []
        for row in rows[:EXAMPLES]:
            where = " ".join(format_value(row[c]) for c in index if c in row and c != column)
            value = format_value(row[column]) if column and column in row else ""
            examples.append(f"{where}: {value}" if where and value else where or value)
        return tuple(examples)
    if details.get("partial_unexpected_list"):
        return tuple(format_value(v) for v in details["partial_unexpected_list"][:EXAMPLES])
    if details.get("partial_missing_list"):
        return tuple(f"missing {format_value(v)}" for v in details["partial_missing_list"][:EXAMPLES])
    mismatched = (details.get("details") or {}).get("mismatched") or {}
    found = [f"missing {format_value(v)}" for v in mismatched.get("missing", [])]
    found += [f"unexpected {format_value(v)}" for v in mismatched.get("unexpected", [])]
    return tuple(found[:EXAMPLES])


def _as_date(value: Any) -> date | None:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None
