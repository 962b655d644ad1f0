"""Daily partitions in the business timezone, shared by raw tables and incremental dbt models."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg

from huaxiang.settings import Settings


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(
        start_date=settings.partition_start.isoformat(),
        timezone=settings.timezone,
    )


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """Business days a (possibly multi-partition) run covers; never assumes a single key."""
    window = context.partition_time_window
    first = window.start.date()
    # The window end is exclusive midnight of the following day.
    count = (window.end.date() - first).days
    return [first + timedelta(days=offset) for offset in range(count)]


def window_vars(days: list[date]) -> dict[str, str]:
    """dbt vars for an inclusive business-day window."""
    return {"partition_start": days[0].isoformat(), "partition_end": days[-1].isoformat()}


def partition_key_for(day: date | datetime) -> str:
    return day.strftime("%Y-%m-%d")
