"""`huaxiang codegen [--check]`: write, or check, every file generated from the catalog and the audiences.

The tag catalog's dbt macro, dbt doc blocks and docs/tags.md (huaxiang/codegen/tags.py) and the
audience model (huaxiang/codegen/audiences.py). Everything is computed before anything is written,
so an invalid catalog or audience definition leaves every file as it was.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from huaxiang.codegen import audiences, tags
from huaxiang.codegen.audiences import AudienceError
from huaxiang.codegen.catalog import CATALOG_PATH, CatalogError
from huaxiang.settings import REPO_ROOT

COMMAND = "huaxiang codegen"


def generated_files() -> dict[Path, str]:
    """Every generated file with its expected content."""
    return {**tags.generated_files(), **audiences.generated_files()}


def stale_files(files: dict[Path, str] | None = None) -> list[Path]:
    """The generated files missing or out of date."""
    files = generated_files() if files is None else files
    return [
        path for path, content in files.items() if not path.is_file() or path.read_text(encoding="utf-8") != content
    ]


def _shown(path: Path) -> Path:
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


def codegen(check: bool) -> int:
    """Write the stale files (exit 0), or with `check` name them (exit 1); 2 when a definition is invalid."""
    try:
        files = generated_files()
    except CatalogError as error:
        print(f"error: {CATALOG_PATH.name}: {error}", file=sys.stderr)
        return 2
    except AudienceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stale = stale_files(files)
    if check:
        for path in stale:
            print(f"out of date: {_shown(path)} (run `{COMMAND}`)", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(files[path], encoding="utf-8")
        print(f"wrote {_shown(path)}")
    return 0


def add_codegen_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="only check: exit 1 naming every stale file")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m huaxiang.codegen", description=__doc__.splitlines()[0])
    add_codegen_arguments(parser)
    return codegen(parser.parse_args(argv).check)
