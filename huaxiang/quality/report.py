"""Human-readable renderings of a `SuiteResult` (markdown for the Dagster UI, one-line summaries)."""

from __future__ import annotations

from datetime import date

from huaxiang.quality.validate import ExpectationOutcome, SuiteResult


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _unexpected(outcome: ExpectationOutcome) -> str:
    if outcome.unexpected_count is None:
        return ""
    percent = "" if outcome.unexpected_percent is None else f" ({outcome.unexpected_percent:.1f}%)"
    return f"{outcome.unexpected_count}{percent}"


def expectations_markdown(result: SuiteResult) -> str:
    """One row per expectation, failures first."""
    lines = [
        "| frame | column | expectation | ok | observed | unexpected | examples |",
        "|---|---|---|---|---|---|---|",
    ]
    ordered = sorted(result.outcomes, key=lambda outcome: outcome.success)
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
                    "n/a" if outcome.not_applicable else "✅" if outcome.success else "❌",
                    outcome.not_applicable or outcome.observed,
                    _unexpected(outcome),
                    examples,
                )
            )
            + " |"
        )
    return "\n".join(lines)


def summary(result: SuiteResult) -> str:
    """The check's description: the first failing expectation in words, or what passed."""
    if not result.failures:
        skipped = result.not_applicable
        if not skipped:
            return f"All {len(result.outcomes)} expectations passed."
        return (
            f"All {len(result.outcomes) - len(skipped)} applicable expectations passed; {len(skipped)} not "
            f"applicable ({skipped[0].not_applicable}: {skipped[0].frame}.{skipped[0].column or ''} "
            f"{skipped[0].expected})"
        )
    return _first_of(result.failures)


def day_summary(result: SuiteResult, day: date) -> str | None:
    """One day's verdict in words (None when the day passed), for its partition's status."""
    failures = result.failures_on(day)
    return _first_of(failures) if failures else None


def _first_of(failures: list[ExpectationOutcome]) -> str:
    more = f" (+{len(failures) - 1} more failing)" if len(failures) > 1 else ""
    return failures[0].sentence() + more
