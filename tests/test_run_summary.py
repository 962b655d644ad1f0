"""The run summary a person reads after `huaxiang run`: one line per failed step, saying why, and each
failed or warning check listed once."""

from __future__ import annotations

from datetime import date

import dagster as dg

from huaxiang.commands.run import CheckOutcome, RunSummary, step_error_line


def _failed_step_error(exception: Exception):
    @dg.op
    def fails() -> None:
        raise exception

    result = dg.GraphDefinition(name="g", node_defs=[fails]).to_job().execute_in_process(raise_on_error=False)
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    return failure.step_failure_data.error


def test_a_failed_step_is_one_line_naming_the_cause() -> None:
    assert step_error_line(_failed_step_error(ValueError("window shape cannot be larger"))) == (
        "ValueError: window shape cannot be larger"
    )
    failure = dg.Failure(description="ml/purchase_propensity failed while fitting the model: ValueError: x")
    assert step_error_line(_failed_step_error(failure)) == failure.description


def test_checks_are_listed_once_blocking_apart_from_warnings() -> None:
    spike = "warning: volume.robust_z: expected values between -3.5 and 3.5; 1 of 9 row(s) unexpected"
    summary = RunSummary(
        run_id="r",
        first_day=date(2026, 11, 1),
        last_day=date(2026, 11, 11),
        success=True,
        seconds=1.0,
        checks=[
            CheckOutcome("raw/orders", "raw__orders", False, True, spike, severity="WARN"),
            CheckOutcome("raw/orders", "raw__orders", False, True, spike, severity="WARN"),  # its day
            CheckOutcome("raw/events", "raw__events", True, True),
            CheckOutcome("ml/user_clusters", "cluster_drift", False, False, "drifted", severity="WARN"),
        ],
    )
    assert not summary.failed_checks and len(summary.warnings) == 3
    rendered = summary.render()
    assert "Checks: 1 passed, 0 failed, 3 warnings" in rendered
    assert rendered.count("⚠ raw/orders :: raw__orders (warning)") == 1
    assert "⚠ ml/user_clusters :: cluster_drift (warning) — drifted" in rendered
    assert "✗" not in rendered
