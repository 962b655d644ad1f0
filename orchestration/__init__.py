"""The Dagster code location: wiring only; logic lives in `huaxiang`, `ml_assets` and dbt."""
