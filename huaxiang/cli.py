"""The `huaxiang` command line: generate data, run the asset graph, open the UI."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from huaxiang.commands.bench import add_bench_arguments
from huaxiang.errors import UserFacingError
from huaxiang.settings import REPO_ROOT, Settings


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-06-01, got '{text}'") from error


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 0.5:
        raise argparse.ArgumentTypeError("--bad-rate must be in [0, 0.5)")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


# huaxiang.generator.scenarios.SCENARIOS, named here so that the parser stays quick to import.
SCENARIO_NAMES = ("promotions", "weekly", "cny_dip", "acquisition_stops", "sparse_buyers", "purchase_only")


def _scenarios(text: str) -> str:
    from huaxiang.generator.scenarios import parse_scenarios

    try:
        parse_scenarios([text])
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return text


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from huaxiang.generator import GeneratorConfig, generate

    settings.ensure_dirs()
    config = GeneratorConfig(
        users=args.users,
        days=args.days,
        start=args.start,
        seed=args.seed,
        holdout_days=args.holdout_days,
        bad_rate=args.bad_rate,
        timezone=settings.timezone,
        scenarios=tuple(args.scenario),
    )
    report = generate(config, settings.landing_dir, settings.truth_dir, progress=not args.quiet)
    print(f"Landed {len(report.days)} day(s) {report.days[0]} .. {report.days[-1]} into {settings.landing_dir}")
    if config.scenarios:
        print(f"Scenarios: {', '.join(config.scenarios)}")
    for table, rows in report.rows_per_table.items():
        print(f"  {table:<16}{rows:>12,}")
    injected = sum(sum(reasons.values()) for reasons in report.bad_rows.values())
    print(f"Bad rows injected: {injected:,}; ground truth in {settings.truth_dir} ({report.seconds:.1f}s)")
    return 0


def cmd_prepare(args: argparse.Namespace, settings: Settings) -> int:
    from huaxiang.dbt_manifest import prepare_manifest

    ran = prepare_manifest(settings, force=True)
    print("dbt manifest prepared" if ran else "dbt manifest up to date")
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from huaxiang.commands.run import run_pipeline

    summary = run_pipeline(settings, first_day=args.from_day, last_day=args.to_day, progress=not args.quiet)
    print(summary.render())
    return 0 if summary.success else 1


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from huaxiang.commands.ingest import run_ingest_command

    settings.ensure_dirs()
    return run_ingest_command(args, settings)


def cmd_quality(args: argparse.Namespace, settings: Settings) -> int:
    from huaxiang.commands.quality import quality_report

    print(quality_report(settings, first_day=args.from_day, last_day=args.to_day).render())
    return 0


def cmd_quality_accept(args: argparse.Namespace, settings: Settings) -> int:
    from huaxiang.quality.accepted import accept, accepted_path
    from huaxiang.quality.suites import discover_suites

    names = sorted(suite.name for suite in discover_suites())
    if args.check not in names:
        raise UserFacingError(f"{args.check!r} is not a quality check; checks: {', '.join(names)}")
    try:
        exception = accept(settings.home, args.check, args.day, args.why)
    except ValueError as error:
        raise UserFacingError(str(error)) from error
    print(
        f"Accepted {exception.check} on {exception.day}: {exception.why} ({exception.accepted_by}, "
        f"{exception.accepted_at}). The next run passes that day; recorded in {accepted_path(settings.home)} "
        "and listed in the published manifest."
    )
    return 0


def cmd_codegen(args: argparse.Namespace, settings: Settings) -> int:
    from huaxiang.codegen.generate import codegen

    return codegen(check=args.check)


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from huaxiang.commands.evaluate import evaluate

    report = evaluate(settings, reference=args.reference)
    print(report.render())
    return 0 if report.passed else 1


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from huaxiang.commands.export import export_audience

    result = export_audience(
        settings,
        args.audience,
        channel=args.channel,
        file_format=args.format,
        output=args.output,
        max_contacts=args.max_contacts,
    )
    print(result.render())
    return 0


def cmd_dev(args: argparse.Namespace, settings: Settings) -> int:
    from huaxiang.dbt_manifest import prepare_manifest
    from huaxiang.instance import ensure_instance_config

    ensure_instance_config(settings)
    prepare_manifest(settings)
    command = ["dagster", "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-p", str(args.port)]
    if args.host:
        command += ["-h", args.host]
    print(f"Dagster UI on http://{args.host or '127.0.0.1'}:{args.port} (DAGSTER_HOME={settings.dagster_home})")
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    command[0] = dagster if os.path.exists(dagster) else "dagster"
    return subprocess.call(command, cwd=REPO_ROOT)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="huaxiang",
        description="User profiles (用户画像) and precision-marketing marts from raw e-commerce data. "
        "All state lives under $HUAXIANG_HOME (default ./.huaxiang).",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="land synthetic e-commerce data (the embedded default)")
    generate.add_argument("--users", type=_positive, default=5000, help="number of users (default 5000)")
    generate.add_argument("--days", type=_positive, default=60, help="days to land (default 60)")
    generate.add_argument("--start", type=_parse_day, default=date(2026, 6, 1), help="first day (YYYY-MM-DD)")
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument(
        "--holdout-days", type=int, default=0, help="simulate more days without landing them (ground truth)"
    )
    generate.add_argument("--bad-rate", type=_fraction, default=0.0, help="fraction of bad rows to inject")
    generate.add_argument(
        "--scenario",
        action="append",
        default=[],
        type=_scenarios,
        metavar="NAME[,NAME]",
        help=f"make the shop behave like a real one; repeatable or comma-separated: {', '.join(SCENARIO_NAMES)} "
        "(docs/data-contract.md)",
    )
    generate.set_defaults(handler=cmd_generate)

    prepare = commands.add_parser("prepare", help="parse the dbt project into its manifest")
    prepare.set_defaults(handler=cmd_prepare)

    run = commands.add_parser("run", help="materialize the whole asset graph for the landed days")
    run.add_argument("--from", dest="from_day", type=_parse_day, help="first day (default: first landed)")
    run.add_argument("--to", dest="to_day", type=_parse_day, help="last day (default: last landed)")
    run.set_defaults(handler=cmd_run)

    ingest = commands.add_parser("ingest", help="land your own exports (CSV/Parquet/XLSX) through a mapping file")
    from huaxiang.commands.ingest import add_ingest_arguments

    add_ingest_arguments(ingest)
    ingest.set_defaults(handler=cmd_ingest)

    quality = commands.add_parser("quality", help="quarantined rows by table, day and reason; latest check results")
    quality.add_argument("--from", dest="from_day", type=_parse_day, help="first partition day")
    quality.add_argument("--to", dest="to_day", type=_parse_day, help="last partition day")
    quality.set_defaults(handler=cmd_quality)
    accept = quality.add_subparsers(dest="quality_command").add_parser(
        "accept", help="record a reviewed exception: CHECK's failures on DAY pass from the next run on"
    )
    accept.add_argument("check", help="the check (a suite name, e.g. raw__orders)")
    accept.add_argument("--day", type=_parse_day, required=True, help="the business day (YYYY-MM-DD)")
    accept.add_argument("--why", required=True, help="what was reviewed and why the data is right")
    accept.set_defaults(handler=cmd_quality_accept)

    codegen = commands.add_parser(
        "codegen",
        help="generate the dbt SQL and docs of the tag catalog and the audience definitions (docs/marts.md)",
    )
    from huaxiang.codegen.generate import add_codegen_arguments

    add_codegen_arguments(codegen)
    codegen.set_defaults(handler=cmd_codegen)

    evaluate = commands.add_parser(
        "evaluate", help="the ML acceptance figures against the generator's ground truth (docs/ml.md)"
    )
    evaluate.add_argument(
        "--reference",
        action="store_true",
        help="also compute the best propensity reachable from the history (about a minute)",
    )
    evaluate.set_defaults(handler=cmd_evaluate)

    bench = commands.add_parser(
        "bench", help="benchmark the pipeline against the DuckDB floor and a pandas peer (docs/benchmarks.md)"
    )
    add_bench_arguments(bench)

    export = commands.add_parser(
        "export", help="write an audience's send list from the published snapshot (docs/operations.md)"
    )
    export.add_argument("audience", help="audience id (dbt_project/audiences/<id>.yml)")
    export.add_argument("--channel", help="only the members on this channel: sms, email, push or in_app")
    export.add_argument("--format", choices=("csv", "parquet"), default="csv")
    export.add_argument("-o", "--output", type=Path, help="file to write (default $HUAXIANG_HOME/exports/...)")
    export.add_argument(
        "--max-contacts",
        type=_positive,
        help="fatigue rule: most contacts of a user in 7 days (default $HUAXIANG_EXPORT_MAX_CONTACTS_7D or 2)",
    )
    export.set_defaults(handler=cmd_export)

    dev = commands.add_parser("dev", help="open the Dagster UI on this project")
    dev.add_argument("--port", type=int, default=3000)
    dev.add_argument("--host", default=None)
    dev.set_defaults(handler=cmd_dev)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args, Settings.from_env())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except UserFacingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
