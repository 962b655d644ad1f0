"""The insight report (docs/report.md): offline HTML pages built from the published snapshot."""

from huaxiang.report.build import REPORT_DIR, BuiltReport, CheckResult, QuarantineCount, build_report

__all__ = ["REPORT_DIR", "BuiltReport", "CheckResult", "QuarantineCount", "build_report"]
