"""One-line descriptions of model failures: the asset and the cause, never a stack trace alone.

The Dagster assets turn any exception of a fit into a Dagster `Failure(failure_message(...))`, whose
description is the first line `huaxiang run` prints for a failed step (the trace stays in the run log).
"""

from __future__ import annotations

MAX_CAUSE = 300


def cause_of(error: BaseException) -> str:
    """`Type: first line of the message`, following the chain to the innermost explicit cause."""
    while error.__cause__ is not None and not str(error).strip():
        error = error.__cause__
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    return text if len(text) <= MAX_CAUSE else text[: MAX_CAUSE - 1] + "…"


def failure_message(asset: str, error: BaseException, doing: str = "") -> str:
    """E.g. "ml/purchase_propensity failed while fitting the model: ValueError: window shape …"."""
    where = f" while {doing}" if doing else ""
    return f"{asset} failed{where}: {cause_of(error)}"
