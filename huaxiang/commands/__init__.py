"""The bodies of the `huaxiang` commands, one module each (huaxiang/cli.py parses the arguments).

`run` (the whole graph as one backfill), `ingest` (your exports into the raw contract), `quality`
(the quarantine and the latest checks), `evaluate` (ML figures against the generator's truth),
`export` (an audience's send list) and `bench` (the CLI side of the top-level `bench/` harness).
The domain code they call lives in its own room: huaxiang/ingest/, huaxiang/quality/,
huaxiang/snapshot.py, ml_assets/.
"""
