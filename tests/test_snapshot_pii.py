"""The publish-time PII scan (huaxiang.snapshot.scan_for_pii) on small snapshots built in a temp dir.

Each form of personal data that must block a snapshot is caught with its kind, and each
look-alike that must not (hash ids, prices, dates, decimals, random 18-digit ids, province and
city names) is left alone. No pipeline run: a few milliseconds of DuckDB each.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from huaxiang.snapshot import PII_PATTERNS, StagedSnapshot, is_resident_id, scan_for_pii

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def resident_id(first17: str) -> str:
    """`first17` completed with its ISO 7064 MOD 11-2 check character."""
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def wrong_check(first17: str) -> str:
    good = resident_id(first17)
    return first17 + ("0" if good[-1] != "0" else "1")


ID_BEIJING = resident_id("11010519491231002")  # the standard's own example: …002X
ID_SHENZHEN = resident_id("44030519900307123")

# value → the kind of data it must be reported as
CAUGHT = {
    # mobiles: +86 / 86 / 0086, separators, parentheses, glued to a word but not inside a hash
    "+86 138-1234-5678": "phone",
    "+8613912345678": "phone",
    "8613912345678": "phone",
    "0086 139 1234 5678": "phone",
    "(+86) 138 1234 5678": "phone",
    "+86-138.1234.5678": "phone",
    "(138) 1234-5678": "phone",
    "138 1234 5678": "phone",
    "13812345678": "phone",
    "shop_13812345678": "phone",
    "手机13812345678。": "phone",
    "call 13912345678 now": "phone",
    "tel.13712345678": "phone",
    # landlines with an area code set apart
    "010-12345678": "landline",
    "(0755) 1234 5678": "landline",
    "(010)62345678": "landline",
    "021 6123 4567": "landline",
    "0571-8765432": "landline",
    "+86 21 6123 4567": "landline",
    "0086-755-12345678": "landline",
    "座机：(020) 8888-6666 转 801": "landline",
    # resident IDs with a valid check character and birth date
    ID_BEIJING: "resident_id",
    ID_BEIJING.lower(): "resident_id",
    ID_SHENZHEN: "resident_id",
    f"身份证{ID_SHENZHEN}": "resident_id",
    f"{ID_SHENZHEN[:6]} {ID_SHENZHEN[6:14]} {ID_SHENZHEN[14:]}": "resident_id",
    # e-mail
    "a@b.cn": "email",
    "first.last+promo@mail.example.com.cn": "email",
    "zhangsan＠qq.com": "email",
    # street addresses
    "广东省深圳市南山区科技南路18号": "address",
    "上海市徐汇区漕溪北路1200弄3号": "address",
    "88弄6号1201室": "address",
    "南京东路8-10號": "address",
    "北京市东城区长安街1号": "address",
    "朝阳区某小区3号楼2单元501": "address",
    "5栋1201室": "address",
    "天津市河西区解放南道100号": "address",
    "Room 1201, No. 88 Nanjing Road": "address",
    "No. 100 Century Avenue, Pudong": "address",
    "Flat 3B, 8 Queen's Road Central": "address",
}

LEFT_ALONE = [
    # hash ids: an 11-digit run glued to hex letters is not a phone
    "olist_19488640175c4338368535a742d748ca",
    "olist_d0b4bdeef13a17452775286df858068a",
    "a13812345678b",
    # ids, prices, decimals, dates, times
    "U0001234",
    "P000123",
    "13912345678901",
    "0.13912345678",
    "1391234.5678",
    "1,399.00",
    "¥13912.34",
    "59.90",
    "0.000332",
    "2024-03-20",
    "2024-03-20 13:12:45+08",
    "20240320",
    "v1.3.912345678",
    "01012345678",
    "010-1234",
    "10086",
    "95588",
    # 18 digits that are not a resident ID: bad check character, impossible date, no province
    wrong_check("44030519900307123"),
    resident_id("44030519900230123"),  # 30 February
    resident_id("99030519900307123"),  # no province 99
    resident_id("44030530000307123"),  # born in 3000
    "123456789012345678",
    "order 20240320123456789",
    # places without a street, layouts, numbers of days
    "广东省深圳市南山区",
    "深圳市",
    "3室2厅",
    "我知道3号发货",
    "每月5号",
    # text the marts really carry
    "20th percentile (22) of recency_days over 300 buyers (orders_total > 0)",
    "rfm_r = 5 when recency_days <= 3",
    "fixed in dbt_project.yml (var rfm_recency_days)",
    "Room for improvement on the street",
    "No. 1 choice",
    "img@2x",
]


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[tuple[str, str, int]]]:
    """One snapshot, one table per value (a user text column and a harmless code column)."""
    folder = tmp_path_factory.mktemp("snapshot")
    values = list(CAUGHT) + LEFT_ALONE
    with duckdb.connect(str(folder / "marts.duckdb")) as conn:
        for index, value in enumerate(values):
            conn.execute(f'create table t{index} (user_id varchar, "user note" varchar, orders integer)')
            conn.execute(f"insert into t{index} values ('U0000001', ?, 1), ('U0000002', null, 2)", [value])
    by_table: dict[str, set] = {f"t{index}": set() for index in range(len(values))}
    for finding in scan_for_pii(StagedSnapshot(folder, {}, {}, None)):
        by_table[finding.table].add((finding.column, finding.pattern, finding.rows))
    return {value: by_table[f"t{index}"] for index, value in enumerate(values)}


@pytest.mark.parametrize("value", list(CAUGHT))
def test_each_form_is_caught_with_its_kind(findings, value: str) -> None:
    assert ("user note", CAUGHT[value], 1) in findings[value], findings[value]


@pytest.mark.parametrize("value", LEFT_ALONE)
def test_each_look_alike_is_left_alone(findings, value: str) -> None:
    assert findings[value] == set()


def test_a_finding_says_table_column_kind_and_count_never_the_value(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "marts.duckdb")) as conn:
        conn.execute(
            "create table user_profile as select * from (values ('U1', '+86 138-1234-5678', 'x'), "
            "('U2', 'call 13912345678', ?), ('U3', 'none', ?)) as v(user_id, city, note)",
            [ID_BEIJING, "Room 1201, No. 88 Nanjing Road"],
        )
        conn.execute("create table segment_summary as select 'all' as tag_code, 3 as users")
    findings = scan_for_pii(StagedSnapshot(tmp_path, {}, {}, None))
    assert {(f.table, f.column, f.pattern, f.rows) for f in findings} == {
        ("user_profile", "city", "phone", 2),
        ("user_profile", "note", "resident_id", 1),
        ("user_profile", "note", "address", 1),
    }
    for finding in findings:
        assert set(vars(finding)) == {"table", "column", "pattern", "rows"}
        text = repr(finding)
        assert not any(part in text for part in ("138", "139", "1101", "1201", "Nanjing"))


def test_a_column_of_random_18_digit_ids_is_not_resident_ids_but_a_real_id_column_is(tmp_path: Path) -> None:
    """Random 18-digit numbers pass the province, date and check-digit tests about once in 70,000; a column
    of them (order ids) is told from a column of IDs by how few of its candidates are valid."""
    with duckdb.connect(str(tmp_path / "marts.duckdb")) as conn:
        conn.execute("select setseed(0.5)")
        conn.execute(
            "create table orders as select lpad((random() * 1e18)::ubigint::varchar, 18, '0') as order_id "
            "from range(300000)"
        )
        conn.execute(
            "create table users as select ? as id_number from range(30) union all select 'U' || range from range(10)",
            [ID_SHENZHEN],
        )
        candidates = conn.execute(
            "select count(*) from orders where regexp_matches(order_id, ?)", [PII_PATTERNS["resident_id"]]
        ).fetchone()[0]
    assert candidates >= 20  # the seeded column does hold date-shaped values
    findings = scan_for_pii(StagedSnapshot(tmp_path, {}, {}, None))
    assert {(f.table, f.column, f.pattern, f.rows) for f in findings} == {("users", "id_number", "resident_id", 30)}


def test_resident_id_validation() -> None:
    assert is_resident_id("11010519491231002X") and is_resident_id("11010519491231002x")
    assert is_resident_id(ID_SHENZHEN) and is_resident_id(f"{ID_SHENZHEN[:6]} {ID_SHENZHEN[6:14]} {ID_SHENZHEN[14:]}")
    assert not is_resident_id("110105194912310021")  # wrong check character
    assert not is_resident_id(resident_id("11010520300101002"), today=date(2026, 12, 7))  # born in the future
    assert not is_resident_id(resident_id("11010518991231002"))  # before 1900
    assert not is_resident_id(resident_id("00010519491231002"))  # no province 00
    assert not is_resident_id(ID_SHENZHEN[:17])


def test_the_scan_reads_each_table_once_when_nothing_is_found(tmp_path: Path, monkeypatch) -> None:
    """The clean case costs one regex pass per table, whatever the number of patterns."""
    with duckdb.connect(str(tmp_path / "marts.duckdb")) as conn:
        conn.execute("create table a as select 'x' || range as u, 'high' as v, 'n' as w from range(1000)")
        conn.execute("create table b as select 'y' || range as u from range(1000)")
    executed: list[str] = []
    real_connect = duckdb.connect

    class Recording:
        def __init__(self, conn):
            self.conn = conn

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.conn.close()

        def execute(self, sql, *args):
            executed.append(sql)
            return self.conn.execute(sql, *args)

    monkeypatch.setattr(duckdb, "connect", lambda *a, **k: Recording(real_connect(*a, **k)))
    assert scan_for_pii(StagedSnapshot(tmp_path, {}, {}, None)) == []
    table_reads = [sql for sql in executed if "regexp_matches" in sql]
    assert len(table_reads) == 2
