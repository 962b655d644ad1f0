"""`huaxiang bench`: how fast the pipeline is, against the DuckDB floor and a pandas peer.

The harness lives in the repository's `bench/` folder (not in the installed package): a benchmark
needs the checkout it measures. docs/benchmarks.md describes what is measured and the results.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from huaxiang.errors import UserFacingError
from huaxiang.settings import REPO_ROOT, Settings


def _harness_importable() -> None:
    if str(REPO_ROOT) not in sys.path:
        sys.path.append(str(REPO_ROOT))


def bench(size: str, repeat: int = 1, settings_home: Path | None = None, days_after: int = 1) -> dict:
    """Run the benchmark at `size` (S, M, L or `<users>x<days>`) and return its result document;
    `days_after` one-day runs follow the full build, each on one more landed day.

    `settings_home` is the benchmark's own HUAXIANG_HOME, wiped first (default:
    `$HUAXIANG_HOME/bench/<size>`); the caller's environment is left as it was.
    """
    _harness_importable()
    from bench.harness import BenchPlan, run_bench
    from bench.report import result_document
    from bench.sizes import parse_size

    try:
        parsed = parse_size(size)
    except ValueError as error:
        raise UserFacingError(str(error)) from error
    home = settings_home or Settings.from_env().home / "bench" / parsed.name
    plan = BenchPlan(size=parsed, repeat=repeat, home=home.resolve(), days_after=days_after)
    return result_document(run_bench(plan))


def render(document: dict) -> str:
    _harness_importable()
    from bench.report import render as render_document

    return render_document(document)


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    _harness_importable()
    from bench.report import load_results, update_docs, write_result

    document = bench(args.size, args.repeat, args.home, args.days_after)
    path = write_result(document)
    update_docs(load_results())
    print(render(document))
    print(f"\nWrote {path} and the results table of docs/benchmarks.md")
    return 0


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `huaxiang bench`; sets `handler=cmd_bench`."""
    parser.add_argument(
        "--size", default="S", help="S (10k users × 60 days), M (100k × 90), L (1M × 90) or <users>x<days>"
    )
    parser.add_argument("--repeat", type=int, default=1, help="full builds, floors and peers to time (median kept)")
    parser.add_argument(
        "--days-after",
        type=int,
        default=1,
        help="one-day runs after the full build, each landing one more generated day (default 1)",
    )
    parser.add_argument(
        "--home", type=Path, default=None, help="benchmark home, wiped first (default $HUAXIANG_HOME/bench/<size>)"
    )
    parser.set_defaults(handler=cmd_bench)


def main(argv: list[str] | None = None) -> int:
    """`python -m huaxiang.commands.bench`: the same command without the main CLI."""
    parser = argparse.ArgumentParser(prog="huaxiang bench", description=__doc__.splitlines()[0])
    add_bench_arguments(parser)
    args = parser.parse_args(argv)
    return args.handler(args, Settings.from_env())


if __name__ == "__main__":
    sys.exit(main())
