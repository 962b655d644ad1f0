"""Bring your own data: land CSV / whitespace / Parquet / XLSX files into the raw contract via a mapping.

The command itself (`ingest()`, its arguments) is huaxiang/commands/ingest.py; this package holds
what it is made of. The mapping format is documented in docs/bring-your-own-data.md; examples live
in mappings/.
"""

from huaxiang.ingest.mapping import Mapping, load_mapping
from huaxiang.ingest.report import IngestReport, SourceCounts, TableCounts

__all__ = ["IngestReport", "Mapping", "SourceCounts", "TableCounts", "load_mapping"]
