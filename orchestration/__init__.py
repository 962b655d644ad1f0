"""The Dagster code location: wiring only; logic lives in `huaxiang`, `ml_assets` and dbt."""

import warnings

import dagster as dg

# Single-run backfill policies and pools are the documented way to run dbt over partition ranges;
# their beta/preview labels are noise for users of this code location.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
