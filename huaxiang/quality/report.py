"""Human-readable renderings of a `SuiteResult` (markdown for the Dagster UI, one-line summaries)."""

from __future__ import annotations

from datetime import date

from huaxiang.quality.suites import ERROR
from huaxiang.quality.validate import ExpectationOutcome, SuiteResult


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _unexpected(outcome: ExpectationOutcome) -> str:
    if outcome.unexpected_count is None:
        return ""
    percent = "" if outcome.unexpected_percent is None else f" ({outcome.unexpected_percent:.1f}%)"
    return f"{outcome.unexpected_count}{percent}"


def _verdict(outcome: ExpectationOutcome) -> str:
    if outcome.not_applicable:
        return "n/a"
    if outcome.accepted:
        return "accepted"
    if outcome.success:
        return "✅"
    return "❌" if outcome.severity == ERROR else "⚠️ warn"


def expectations_markdown(result: SuiteResult) -> str:
    """One row per expectation, blocking failures first, then warnings, accepted, passed."""
    lines = [
        "| frame | column | expectation | ok | observed | unexpected | examples |",
        "|---|---|---|---|---|---|---|",
    ]
    ordered = sorted(
        result.outcomes, key=lambda o: (not o.failed, o.severity != ERROR, not o.accepted)
    )
    for outcome in ordered:
        examples = "; ".join(outcome.examples)
        if outcome.error:
            examples = f"GX error: {outcome.error}"
        lines.append(
            "| "
            + " | ".join(
                _cell(text)
                for text in (
                    outcome.frame,
                    outcome.column or "",
                    outcome.expected,
                    _verdict(outcome),
                    outcome.not_applicable or outcome.accepted or outcome.observed,
                    _unexpected(outcome),
                    examples,
                )
            )
            + " |"
        )
    return "\n".join(lines)


def summary(result: SuiteResult) -> str:
    """The check's description: the first failing expectation in words (a blocking one before a
    warning, which is prefixed "warning:"), or what passed."""
    if result.failures:
        return _first_of(result.failures)
    accepted = result.accepted
    suffix = f"; {len(accepted)} accepted ({accepted[0].accepted})" if accepted else ""
    skipped = result.not_applicable
    if not skipped:
        return f"All {len(result.outcomes) - len(accepted)} expectations passed{suffix}."
    return (
        f"All {len(result.outcomes) - len(skipped) - len(accepted)} applicable expectations passed{suffix}; "
        f"{len(skipped)} not applicable ({skipped[0].not_applicable}: {skipped[0].frame}."
        f"{skipped[0].column or ''} {skipped[0].expected})"
    )


def day_summary(result: SuiteResult, day: date) -> str | None:
    """One day's verdict in words (None when the day passed), for its partition's status."""
    failures = result.failures_on(day)
    return _first_of(failures) if failures else None


def _first_of(failures: list[ExpectationOutcome]) -> str:
    more = f" (+{len(failures) - 1} more failing)" if len(failures) > 1 else ""
    prefix = "" if failures[0].severity == ERROR else "warning: "
    return prefix + failures[0].sentence() + more
