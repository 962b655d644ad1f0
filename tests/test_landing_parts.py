"""A landing day is a folder of Parquet parts: every part is loaded, a day with any part is landed,
anything else in the folder is refused with one line naming it (hidden `.`/`_` names are ignored)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from huaxiang.contract import RAW_TABLES
from huaxiang.landing import (
    LandingFileError,
    landed_days,
    partition_dir,
    partition_parts,
    partition_path,
    write_partition,
)
from huaxiang.settings import _earliest_landed_day
from huaxiang.warehouse import LandingSchemaError, load_partition, load_partitions
from tests.conftest import huaxiang_home

DAY = date(2026, 6, 10)


def _orders(ids: list[str], day: date = DAY) -> pa.Table:
    """Contract-typed orders rows (values beyond the key do not matter to the loader)."""
    schema = RAW_TABLES["orders"].schema
    at = datetime(day.year, day.month, day.day, 4, tzinfo=UTC)
    columns = {field.name: pa.nulls(len(ids), field.type) for field in schema}
    columns["order_id"] = pa.array(ids, pa.string())
    columns["ordered_at"] = pa.array([at] * len(ids), schema.field("ordered_at").type)
    return pa.table(columns, schema=schema)


def _write_part(landing: Path, name: str, data: pa.Table, table: str = "orders", day: date = DAY) -> Path:
    path = partition_dir(landing, table, day) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(data, path)
    return path


def _raw_order_ids(conn: duckdb.DuckDBPyConnection, day: date = DAY) -> list[str]:
    rows = conn.execute("select order_id from raw.orders where _partition_date = ? order by 1", [day]).fetchall()
    return [row[0] for row in rows]


def test_a_day_with_two_parts_loads_both(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_partition(landing, "orders", DAY, _orders(["a1", "a2", "a3"]))
    _write_part(landing, "part-1.parquet", _orders(["b1", "b2"]))
    with duckdb.connect() as conn:
        result = load_partition(conn, landing, "orders", DAY)
        assert result.rows == 5 and result.files == 2 and result.found_file
        assert result.file_bytes == sum(p.stat().st_size for p in partition_parts(landing, "orders", DAY))
        assert _raw_order_ids(conn) == ["a1", "a2", "a3", "b1", "b2"]
        # Reloading replaces the day: still the sum, not twice it.
        assert load_partition(conn, landing, "orders", DAY).replaced_rows == 5
        assert len(_raw_order_ids(conn)) == 5


def test_a_range_of_days_loads_in_one_go_and_a_bad_day_is_refused_alone(tmp_path: Path) -> None:
    """Three days: two parts on the first, an empty folder on the second (an empty partition), and on
    the third a part whose pages are damaged (its footer reads, so only DuckDB's read fails): the
    first two days load, the third is refused naming its file and keeps what it held."""
    landing = tmp_path / "landing"
    first, second, third = DAY, date(2026, 6, 11), date(2026, 6, 12)
    write_partition(landing, "orders", first, _orders(["a1", "a2"], first))
    _write_part(landing, "part-1.parquet", _orders(["b1"], first), day=first)
    partition_dir(landing, "orders", second).mkdir(parents=True)
    write_partition(landing, "orders", third, _orders(["c1"], third))
    with duckdb.connect() as conn:
        results, refused = load_partitions(conn, landing, "orders", [third, first, second])
        assert refused == {} and [(r.day, r.rows, r.files) for r in results] == [
            (first, 3, 2),
            (second, 0, 0),
            (third, 1, 1),
        ]
        assert _raw_order_ids(conn, first) == ["a1", "a2", "b1"] and _raw_order_ids(conn, third) == ["c1"]

        damaged = partition_dir(landing, "orders", third) / "part-1.parquet"
        pq.write_table(_orders([f"d{i}" for i in range(2000)], third), damaged, compression="none")
        data = bytearray(damaged.read_bytes())
        data[4:300] = b"\xff" * 296
        damaged.write_bytes(bytes(data))
        write_partition(landing, "orders", first, _orders(["a9"], first))  # re-landed: replaces both parts
        results, refused = load_partitions(conn, landing, "orders", [first, second, third])
        assert [(r.day, r.rows, r.replaced_rows) for r in results] == [(first, 1, 3), (second, 0, 0)]
        assert list(refused) == [third] and str(damaged) in str(refused[third])
        assert "not a readable Parquet file" in str(refused[third])
        assert _raw_order_ids(conn, first) == ["a9"] and _raw_order_ids(conn, third) == ["c1"]


def test_parts_are_read_in_name_order_and_hidden_files_are_ignored(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    for name in ("part-2.parquet", "part-0.parquet", "extra.parquet"):
        _write_part(landing, name, _orders([name]))
    folder = partition_dir(landing, "orders", DAY)
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-3.parquet.tmp").write_bytes(b"half a file")
    assert [p.name for p in partition_parts(landing, "orders", DAY)] == [
        "extra.parquet",
        "part-0.parquet",
        "part-2.parquet",
    ]
    with duckdb.connect() as conn:
        assert load_partition(conn, landing, "orders", DAY).rows == 3


def test_a_day_holding_only_part_1_is_landed(tmp_path: Path) -> None:
    from huaxiang.commands.run import select_days

    with huaxiang_home(tmp_path) as settings:
        _write_part(settings.landing_dir, "part-1.parquet", _orders(["x"]), day=DAY)
        # An empty day folder (its part removed by hand) is not a landed day.
        partition_dir(settings.landing_dir, "orders", date(2026, 6, 11)).mkdir(parents=True)
        assert landed_days(settings.landing_dir) == [DAY]
        assert landed_days(settings.landing_dir, "orders") == [DAY]
        assert landed_days(settings.landing_dir, "events") == []
        assert _earliest_landed_day(tmp_path) == DAY
        assert select_days(settings, None, None) == [DAY]
        with duckdb.connect() as conn:
            result = load_partition(conn, settings.landing_dir, "orders", DAY)
            assert (result.rows, result.found_file) == (1, True)


def test_earliest_landed_day_sees_any_part(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _write_part(landing, "part-7.parquet", _orders(["old"], date(2009, 3, 1)), day=date(2009, 3, 1))
    _write_part(landing, "part-0.parquet", _orders(["new"]))
    (landing / "_rejects" / "date=2000-01-01").mkdir(parents=True)  # not a landing table
    assert _earliest_landed_day(tmp_path) == date(2009, 3, 1)


@pytest.mark.parametrize("junk", ["part-0.csv", "notes.txt", "PART-1.PARQUET", "part-2.parquet.tmp"])
def test_a_file_that_is_not_a_parquet_part_is_refused_naming_it(tmp_path: Path, junk: str) -> None:
    landing = tmp_path / "landing"
    write_partition(landing, "orders", DAY, _orders(["a1", "a2"]))
    with duckdb.connect() as conn:
        load_partition(conn, landing, "orders", DAY)
        stray = partition_dir(landing, "orders", DAY) / junk
        stray.write_text("order_id\nz9\n")
        with pytest.raises(LandingSchemaError) as refused:
            load_partition(conn, landing, "orders", DAY)
        message = str(refused.value)
        assert str(stray) in message and "\n" not in message
        assert message.startswith(f"raw.orders {DAY}: ")
        assert _raw_order_ids(conn) == ["a1", "a2"]  # the day keeps its previous rows
    with pytest.raises(LandingFileError):
        partition_parts(landing, "orders", DAY)


def test_a_day_holding_only_junk_counts_as_landed_so_it_is_refused_loudly(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    folder = partition_dir(landing, "orders", DAY)
    folder.mkdir(parents=True)
    (folder / "part-0.csv").write_text("order_id\nz9\n")
    (folder / "subfolder").mkdir()
    assert landed_days(landing) == [DAY]
    with duckdb.connect() as conn, pytest.raises(LandingSchemaError, match="part-0.csv"):
        load_partition(conn, landing, "orders", DAY)


def test_a_folder_inside_a_day_is_refused(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_partition(landing, "orders", DAY, _orders(["a1"]))
    (partition_dir(landing, "orders", DAY) / "part-1.parquet").mkdir()
    with duckdb.connect() as conn, pytest.raises(LandingSchemaError, match="is a folder"):
        load_partition(conn, landing, "orders", DAY)


def test_an_unreadable_part_is_refused_naming_it(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_partition(landing, "orders", DAY, _orders(["a1"]))
    broken = partition_dir(landing, "orders", DAY) / "part-1.parquet"
    broken.write_bytes(b"")
    with duckdb.connect() as conn, pytest.raises(LandingSchemaError) as refused:
        load_partition(conn, landing, "orders", DAY)
    assert str(broken) in str(refused.value) and "\n" not in str(refused.value)


def test_every_part_is_checked_against_the_contract(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_partition(landing, "orders", DAY, _orders(["a1"]))
    bad = _write_part(landing, "part-1.parquet", _orders(["b1"]).drop_columns(["user_id"]))
    with duckdb.connect() as conn, pytest.raises(LandingSchemaError) as refused:
        load_partition(conn, landing, "orders", DAY)
    assert "missing column 'user_id'" in str(refused.value) and str(bad) in str(refused.value)


def test_relanding_a_day_replaces_every_part(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _write_part(landing, "part-0.parquet", _orders(["a1"]))
    _write_part(landing, "part-1.parquet", _orders(["b1"]))
    folder = partition_dir(landing, "orders", DAY)
    (folder / "_SUCCESS").write_text("")
    write_partition(landing, "orders", DAY, _orders(["c1", "c2"]))
    assert partition_parts(landing, "orders", DAY) == [partition_path(landing, "orders", DAY)]
    assert sorted(p.name for p in folder.iterdir()) == ["_SUCCESS", "part-0.parquet"]  # no temporary left
    with duckdb.connect() as conn:
        assert load_partition(conn, landing, "orders", DAY).rows == 2


def test_the_raw_asset_fails_its_contract_check_on_a_junk_file(tmp_path: Path) -> None:
    """In the graph, the refusal is the blocking `contract_schema` check's one-line description."""
    import dagster as dg

    from orchestration.assets.sources import CONTRACT_CHECK, build_raw_asset
    from orchestration.partitions import daily_partitions
    from orchestration.resources import WarehouseResource

    with huaxiang_home(tmp_path) as settings:
        write_partition(settings.landing_dir, "orders", DAY, _orders(["a1"]))
        _write_part(settings.landing_dir, "part-1.parquet", _orders(["b1", "b2"]))
        stray = partition_dir(settings.landing_dir, "orders", DAY) / "part-0.csv"
        stray.write_text("order_id\n")
        orders = build_raw_asset(RAW_TABLES["orders"], daily_partitions(settings))
        result = dg.materialize(
            [orders],
            partition_key=DAY.isoformat(),
            resources={"warehouse": WarehouseResource.from_settings(settings)},
            raise_on_error=False,
        )
        (check,) = result.get_asset_check_evaluations()
        assert check.check_name == CONTRACT_CHECK and not check.passed
        assert str(stray) in check.description and "\n" not in check.description

        stray.unlink()
        result = dg.materialize(
            [orders],
            partition_key=DAY.isoformat(),
            resources={"warehouse": WarehouseResource.from_settings(settings)},
        )
        (check,) = result.get_asset_check_evaluations()
        assert check.passed
        (materialization,) = result.asset_materializations_for_node(orders.node_def.name)
        assert materialization.metadata["dagster/row_count"].value == 3
