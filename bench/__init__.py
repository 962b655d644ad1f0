"""The benchmark harness behind `huaxiang bench` (docs/benchmarks.md).

* `sizes`    — the named sizes S, M, L (and `<users>x<days>` for tests)
* `rss`      — peak resident memory of a process tree, sampled from /proc
* `stages`   — wall time per stage from the Dagster event log, dbt node times from run_results
* `floor`    — the compiled dbt SQL run directly in one DuckDB connection
* `peer`     — the pandas program a user would write instead, and its comparison with user_profile
* `harness`  — one benchmark run: generate, full build, floor, peer, one more day
* `report`   — targets, the JSON result and the table in docs/benchmarks.md
"""
