"""Bring your own data: land CSV / whitespace / Parquet / XLSX files into the raw contract via a mapping.

`ingest()` is the whole command; `add_ingest_arguments` and `run_ingest_command` wire it into a CLI.
The mapping format is documented in docs/bring-your-own-data.md; examples live in mappings/.
"""

from huaxiang.ingest.mapping import Mapping, load_mapping
from huaxiang.ingest.report import IngestReport, SourceCounts, TableCounts
from huaxiang.ingest.run import add_ingest_arguments, ingest, run_ingest_command

__all__ = [
    "IngestReport",
    "Mapping",
    "SourceCounts",
    "TableCounts",
    "add_ingest_arguments",
    "ingest",
    "load_mapping",
    "run_ingest_command",
]
