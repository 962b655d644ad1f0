"""The insight report (docs/report.md): offline HTML pages built from the published snapshot.

huaxiang.report.build builds it; this module only names where it goes (cheap to import)."""

REPORT_DIR = "report"  # under published/
INDEX = "index.html"
REPORT_INFO = "report.json"  # which run built the report, and its pages
