"""The published snapshot BI tools read: built only when every upstream gate passed."""

import contextlib
import os
from pathlib import Path

import dagster as dg

from huaxiang.quality.accepted import load_accepted
from huaxiang.snapshot import (
    MARTS_SCHEMA,
    PublishError,
    build_snapshot,
    clean_leftovers,
    discard,
    scan_for_pii,
    swap_in,
)
from huaxiang.source_profile import load_source_profile
from orchestration.resources import WarehouseResource

PUBLISHED_KEY = dg.AssetKey(["published", "marts_snapshot"])
PII_CHECK = "no_pii"
# Set to 1 to publish hashed contact columns (e.g. for activation tools matching on hashes).
KEEP_CONTACT_HASHES_ENV = "HUAXIANG_PUBLISH_CONTACT_HASHES"


def build_publish_asset(mart_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    tables = sorted(key.path[-1] for key in mart_keys if key.path[0] == MARTS_SCHEMA)

    @dg.asset(
        key=PUBLISHED_KEY,
        deps=mart_keys,
        group_name="publish",
        kinds={"duckdb", "parquet"},
        owners=["team:data-platform"],
        description="Atomic read-only snapshot of the marts for BI tools: published/marts.duckdb, "
        "published/parquet/<mart>.parquet and published/manifest.json, swapped in by rename. "
        "Contact columns are left out; a snapshot with personal data (phones, resident IDs, e-mails, "
        "addresses) is never swapped in.",
        check_specs=[
            dg.AssetCheckSpec(
                PII_CHECK,
                asset=PUBLISHED_KEY,
                blocking=True,
                description="No text column of the snapshot holds a phone number (mobile or landline, with or "
                "without +86), a resident ID, an e-mail or a street address.",
            )
        ],
    )
    def marts_snapshot(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        # Reads the warehouse only (no writer pool); readers of the previous snapshot are unaffected.
        clean_leftovers(warehouse.published_dir)
        with contextlib.ExitStack() as stack:
            # On Spark the marts live in the Spark catalog: read them through the target's engine.
            source = stack.enter_context(warehouse.engine(read_only=True)) if warehouse.on_spark else None
            try:
                staged = build_snapshot(
                    warehouse.path,
                    warehouse.published_dir,
                    tables,
                    run_id=context.run_id,
                    keep_contact_hashes=os.environ.get(KEEP_CONTACT_HASHES_ENV) == "1",
                    source=source,
                )
            except PublishError as error:  # no space, no permission: one line, no trace
                raise dg.Failure(description=f"Not published: {error}") from None
        findings = scan_for_pii(staged)
        pii_result = dg.AssetCheckResult(
            check_name=PII_CHECK,
            passed=not findings,
            description="; ".join(f"{f.table}.{f.column}: {f.rows} {f.pattern}-like value(s)" for f in findings)
            or None,
            metadata={"findings": dg.MetadataValue.json([f.__dict__ for f in findings])},
        )
        if findings:
            discard(staged)
            yield pii_result
            raise dg.Failure(
                description=f"Not published: personal data in the snapshot ({pii_result.description}). "
                "The previous snapshot stays in place."
            )
        profile = load_source_profile(Path(warehouse.landing_dir))
        source = {
            "name": profile.name,
            "kind": profile.kind,
            "missing_signals": profile.explanations(),
            "notes": list(profile.notes),
        }
        for explanation in source["missing_signals"].values():
            context.log.info(f"Missing signal: {explanation}")
        quality = {
            "warnings": _run_warnings(context),
            "accepted_exceptions": [exception.__dict__ for exception in load_accepted(Path(warehouse.home))],
        }
        for warning in quality["warnings"]:
            context.log.warning(f"Published with a warning: {warning['check']} — {warning['description']}")
        try:
            manifest = swap_in(staged, warehouse.published_dir, run_id=context.run_id, source=source, quality=quality)
        except PublishError as error:
            raise dg.Failure(description=f"Not published: {error}") from None
        yield dg.MaterializeResult(
            metadata={
                "source": f"{profile.name} ({profile.kind})",
                "missing_signals": dg.MetadataValue.json(source["missing_signals"]),
                "quality_warnings": len(quality["warnings"]),
                "accepted_exceptions": len(quality["accepted_exceptions"]),
                "path": dg.MetadataValue.path(str(warehouse.published_dir)),
                "row_counts": dg.MetadataValue.json(manifest["row_counts"]),
                "dropped_columns": dg.MetadataValue.json(manifest["dropped_columns"]),
                "dagster/row_count": sum(manifest["row_counts"].values()),
            },
            check_results=[pii_result],
        )

    return marts_snapshot


def _run_warnings(context: dg.AssetExecutionContext) -> list[dict]:
    """The checks of this run that failed with severity WARN (statistical anomalies: they stopped
    nothing), one entry per check and partition, for the manifest."""
    records = context.instance.get_records_for_run(
        context.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=100_000
    ).records
    warnings = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.passed or evaluation.severity != dg.AssetCheckSeverity.WARN:
            continue
        key = (evaluation.asset_key.to_user_string(), evaluation.check_name, evaluation.partition)
        warnings[key] = {
            "asset": key[0],
            "check": key[1],
            "day": key[2],
            "description": (evaluation.description or "").splitlines()[0] if evaluation.description else "",
        }
    return [warnings[key] for key in sorted(warnings, key=lambda k: (k[0], k[1], k[2] or ""))]
