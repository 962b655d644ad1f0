"""The same landing gives the same published marts (docs/operations.md, reproducibility).

One small generated home is run through the whole graph; its published Parquet files are compared,
table by table and row by row (sorted by every column), with those of:

* a fresh home on a copy of the same landing zone run with one DuckDB and one dbt thread (the
  default is two: rows come back from DuckDB in another order, float sums are summed differently);
* a rerun of the first home after its last day was landed again (same files, written anew);
* the fingerprint recorded in `tests/published_marts.fingerprint.json`: a hash of every published
  mart of this home. A refactoring must leave it as it is (byte for byte the same marts); a change
  meant to alter what the marts hold records a new one, and the file's diff shows which marts moved
  (`HUAXIANG_RECORD_FINGERPRINT=1 pytest tests/test_reproducible_marts.py`, docs/testing.md).

Only run ids and timestamps are ignored (`VOLATILE_COLUMNS`): the model versions are named after
the time they were fitted. Everything else — every cluster, decile, audience member and segment —
must be identical.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from huaxiang.commands.run import run_pipeline
from tests.conftest import huaxiang_home

pytestmark = pytest.mark.slow

USERS, DAYS, SEED = 300, 10, 9
START = date(2026, 6, 1)
LAST_DAY = START + timedelta(days=DAYS - 1)
# Columns that name a run or a moment, not a result.
VOLATILE_COLUMNS = {"model_version", "published_at", "run_id", "built_at", "created_at", "snapshot_id", "loaded_at"}
# The tag history's build times (dbt snapshot columns; user_tag_changes carries the business days).
VOLATILE_COLUMNS |= {"dbt_valid_from", "dbt_valid_to", "dbt_updated_at", "dbt_scd_id"}


def published_tables(home: Path) -> dict[str, pa.Table]:
    """Every published Parquet mart, volatile columns dropped, rows sorted by every column."""
    tables = {}
    for path in sorted((home / "published" / "parquet").glob("*.parquet")):
        table = pq.read_table(path)
        table = table.drop_columns([name for name in table.column_names if name in VOLATILE_COLUMNS])
        sortable = [name for name in table.column_names if not pa.types.is_nested(table.schema.field(name).type)]
        tables[path.stem] = table.sort_by([(name, "ascending") for name in sortable]) if sortable else table
    return tables


FINGERPRINT = Path(__file__).with_name("published_marts.fingerprint.json")


def fingerprint(tables: dict[str, pa.Table]) -> dict[str, dict[str, object]]:
    """Per mart: its rows and a SHA-256 of its schema and sorted rows (floats by their exact repr)."""
    prints = {}
    for name, table in tables.items():
        digest = hashlib.sha256(str(table.schema).encode())
        for row in table.to_pylist():
            digest.update(json.dumps(row, default=str, ensure_ascii=False).encode())
        prints[name] = {"rows": table.num_rows, "sha256": digest.hexdigest()}
    return prints


def _changed_rows(left: pa.ChunkedArray, right: pa.ChunkedArray) -> str:
    pairs = [(a, b) for a, b in zip(left.to_pylist(), right.to_pylist(), strict=True) if a != b]
    numbers = [abs(a - b) for a, b in pairs if isinstance(a, float) and isinstance(b, float)]
    return f"{len(pairs)} rows" + (f", by at most {max(numbers):.3g}" if numbers else "")


def differences(expected: dict[str, pa.Table], actual: dict[str, pa.Table]) -> list[str]:
    """One line per mart that differs: missing, another schema, another row count, or the first differing column."""
    found = []
    for name in sorted(set(expected) | set(actual)):
        if name not in expected or name not in actual:
            found.append(f"{name}: published in only one run")
            continue
        left, right = expected[name], actual[name]
        if left.schema != right.schema:
            found.append(f"{name}: schema {left.schema} != {right.schema}")
        elif left.num_rows != right.num_rows:
            found.append(f"{name}: {left.num_rows} rows != {right.num_rows}")
        else:
            changed = [
                f"{column} ({_changed_rows(left[column], right[column])})"
                for column in left.column_names
                if not left[column].equals(right[column])
            ]
            if changed:
                found.append(f"{name}: differs in {', '.join(changed)}")
    return found


def _assert_identical(expected: dict[str, pa.Table], actual: dict[str, pa.Table]) -> None:
    assert differences(expected, actual) == []


def _run(home: Path, environment: dict[str, str] | None = None) -> dict[str, pa.Table]:
    with huaxiang_home(home, environment) as settings:
        summary = run_pipeline(settings, progress=False)
    assert summary.success, summary.render()
    return published_tables(home)


@pytest.fixture(scope="module")
def first_home(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> tuple[Path, dict[str, pa.Table]]:
    from huaxiang.generator import GeneratorConfig, generate

    home = tmp_path_factory.mktemp("reproducible-first")
    with huaxiang_home(home) as settings:
        generate(
            GeneratorConfig(users=USERS, days=DAYS, start=START, seed=SEED, bad_rate=0.01),
            settings.landing_dir,
            settings.truth_dir,
            progress=False,
        )
    return home, _run(home, {"HUAXIANG_DUCKDB_THREADS": "2", "HUAXIANG_DBT_THREADS": "2"})


def test_one_thread_on_a_fresh_home_publishes_the_same_marts(
    first_home: tuple[Path, dict[str, pa.Table]], tmp_path: Path
) -> None:
    home, expected = first_home
    assert expected and all(table.num_rows for name, table in expected.items() if name != "campaign_performance")
    fresh = tmp_path / "one-thread"
    fresh.mkdir()
    shutil.copytree(home / "landing", fresh / "landing")  # same landing zone, new warehouse
    actual = _run(fresh, {"HUAXIANG_DUCKDB_THREADS": "1", "HUAXIANG_DBT_THREADS": "1"})
    _assert_identical(expected, actual)


def test_a_rerun_after_landing_a_day_again_publishes_the_same_marts(
    first_home: tuple[Path, dict[str, pa.Table]],
) -> None:
    home, expected = first_home
    day = f"date={LAST_DAY.isoformat()}"
    for folder in sorted((home / "landing").glob(f"*/{day}")):
        saved = folder.with_name(folder.name + ".again")
        shutil.copytree(folder, saved)
        shutil.rmtree(folder)
        saved.rename(folder)  # the day landed again: the same files, written anew
    actual = _run(home, {"HUAXIANG_DUCKDB_THREADS": "2", "HUAXIANG_DBT_THREADS": "2"})
    _assert_identical(expected, actual)


def test_the_marts_match_their_recorded_fingerprint(first_home: tuple[Path, dict[str, pa.Table]]) -> None:
    _, tables = first_home
    actual = fingerprint(tables)
    if os.environ.get("HUAXIANG_RECORD_FINGERPRINT") == "1":
        FINGERPRINT.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    recorded = json.loads(FINGERPRINT.read_text())
    moved = sorted(name for name in set(recorded) | set(actual) if recorded.get(name) != actual.get(name))
    assert moved == [], f"marts that differ from {FINGERPRINT.name}: {moved}"
