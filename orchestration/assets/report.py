"""The insight report (docs/report.md): HTML pages built from the published snapshot on every run."""

import dagster as dg

from huaxiang.commands.quality import read_quarantine
from huaxiang.errors import UserFacingError
from huaxiang.report.build import CheckResult, QuarantineCount, build_report
from orchestration.assets.publish import PUBLISHED_KEY
from orchestration.resources import WarehouseResource

REPORT_KEY = dg.AssetKey(["published", "insight_report"])


def build_report_asset() -> dg.AssetsDefinition:
    @dg.asset(
        key=REPORT_KEY,
        deps=[PUBLISHED_KEY],
        group_name="publish",
        kinds={"html"},
        owners=["team:data-platform"],
        description="Offline insight report for marketers (中文 / English): published/report/index.html "
        "(profile overview, audience insight with TGI, campaigns, cohort retention, data quality) and one "
        "page per audience and cluster, built from the published snapshot with its small cells suppressed.",
    )
    def insight_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        # Reads the warehouse's quarantine counts only (no writer pool), like the snapshot it follows.
        with warehouse.engine(read_only=True) as engine:
            tables, rejects, _ = engine.call(read_quarantine, None, None)
        reasons: dict[str, dict[str, int]] = {}
        for group in rejects:
            by_reason = reasons.setdefault(group.table, {})
            by_reason[group.reason] = by_reason.get(group.reason, 0) + group.rows
        quarantine = [QuarantineCount(t.table, t.rows, t.rejected, reasons.get(t.table, {})) for t in tables]
        try:
            report = build_report(
                warehouse.published_dir, run_id=context.run_id, checks=_run_checks(context), quarantine=quarantine
            )
        except UserFacingError as error:
            raise dg.Failure(description=f"No report: {error}") from None
        context.log.info(f"Insight report: {report.folder / 'index.html'} ({len(report.pages)} pages)")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(report.folder / "index.html")),
                "pages": len(report.pages),
                "build_seconds": round(report.seconds, 2),
            }
        )

    return insight_report


def _run_checks(context: dg.AssetExecutionContext) -> list[CheckResult]:
    """Every asset check evaluated in this run, as plain data for the report's quality section."""
    records = context.instance.get_records_for_run(
        context.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=100_000
    ).records
    checks = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        checks.append(
            CheckResult(
                asset=evaluation.asset_key.to_user_string(),
                check=evaluation.check_name,
                passed=evaluation.passed,
                severity=evaluation.severity.value,
                description=(evaluation.description or "").strip().split("\n")[0],
            )
        )
    return checks
