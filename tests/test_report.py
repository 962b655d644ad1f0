"""The insight report's arithmetic on hand-built data: small-cell suppression and TGI (docs/report.md)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from huaxiang.report import data
from huaxiang.report.suppression import suppress

K = 3


def test_primary_suppression_hides_counts_from_one_to_k_minus_one_and_shows_zero() -> None:
    cells = pd.DataFrame({"users": [0, 1, 2, 3, 50]})
    assert suppress(cells, K, counts=["users"]).tolist() == [False, True, True, False, False]


def test_a_lone_hidden_cell_takes_the_smallest_visible_one_of_its_group_as_complement() -> None:
    cells = pd.DataFrame(
        {
            "group": ["g", "g", "g", "g", "h", "h"],
            "value": ["a", "b", "c", "d", "a", "b"],
            "users": [1, 40, 5, 5, 20, 30],
        }
    )
    hidden = suppress(cells, K, counts=["users"], groups=["group"], order=["value"])
    # g: a is small; c and d tie at 5, c comes first in the order; h has nothing hidden.
    assert hidden.tolist() == [True, False, True, False, False, False]


def test_hidden_cells_of_a_group_must_hold_at_least_k_users_together() -> None:
    cells = pd.DataFrame({"group": ["g"] * 4, "value": list("abcd"), "users": [1, 1, 2, 50]})
    hidden = suppress(cells, 10, counts=["users"], groups=["group"], order=["value"])
    # a, b and c are small (4 users together, under k = 10): the group's last cell goes too.
    assert hidden.tolist() == [True, True, True, True]


def test_linked_cells_are_hidden_together_and_complements_follow_across_groups() -> None:
    # A 2 × 2 grid whose rows and columns are groups (the RFM grid's rule).
    cells = pd.DataFrame({"row": [1, 1, 2, 2], "column": [1, 2, 1, 2], "users": [2, 30, 40, 50]})
    hidden = suppress(cells, K, counts=["users"], groups=["row", "column"], order=["row", "column"])
    # (1,1) small → row 1 takes (1,2), column 1 takes (2,1), then row 2 and column 2 take (2,2).
    assert hidden.all()
    # Two cells of exactly the same users (one fingerprint): hiding one hides the other.
    twins = pd.DataFrame({"users": [30, 30, 30], "fingerprint": ["x", "x", None], "forced": [True, False, False]})
    assert suppress(twins, K, counts=["users"], linked_by="fingerprint", forced="forced").tolist() == [
        True,
        True,
        False,
    ]


def _snapshot(
    path: Path, suppressed_value: str | None = None, interest_x: tuple[int, ...] = (*range(1, 10), 13, 14)
) -> duckdb.DuckDBPyConnection:
    """40 users. tier: a u01-u20, b u21-u35, c u36-u40; interest (multi-valued): x the users numbered
    `interest_x`, y everyone. Audience aud: u01-u10 (tier a), u21-u24 (b), u36 (c). Clusters: 0 =
    u01-u38, 1 = u39-u40."""
    conn = duckdb.connect(str(path))
    users = [f"u{i:02d}" for i in range(1, 41)]
    tier = {u: "a" if i < 20 else "b" if i < 35 else "c" for i, u in enumerate(users)}
    conn.execute("create table user_profile (user_id varchar, cluster_id integer, cluster_name varchar)")
    conn.executemany(
        "insert into user_profile values (?, ?, ?)",
        [(u, 0 if i < 38 else 1, f"c{0 if i < 38 else 1}") for i, u in enumerate(users)],
    )
    tags = [(u, "tier", tier[u]) for u in users] + [(f"u{i:02d}", "interest", "x") for i in interest_x]
    tags += [(u, "interest", "y") for u in users]
    conn.execute(
        "create table user_tags as select * from (values ('', '', '')) as t(user_id, tag_code, tag_value) limit 0"
    )
    conn.executemany("insert into user_tags values (?, ?, ?)", tags)
    conn.execute(
        """
        create table dim_tag as select * from (values
            ('tier', 'Tier', '层级', false, 1), ('interest', 'Interest', '兴趣', true, 2)
        ) as t(tag_code, name_en, name_zh, is_multi_valued, tag_order)
        """
    )
    conn.execute(
        """
        create table dim_tag_value as select * from (values
            ('tier', 'a', '甲', 1), ('tier', 'b', '乙', 2), ('tier', 'c', '丙', 3)
        ) as t(tag_code, tag_value, name_zh, value_order)
        """
    )
    conn.execute(
        f"""
        create table segment_summary as
        select tag_code, tag_value, count(*) as users, tag_value = '{suppressed_value}' as is_suppressed,
               {K} as min_group_users
        from user_tags group by all
        union all select 'all', 'all', 40, false, {K}
        """
    )
    members = users[:10] + users[20:24] + [users[35]]
    conn.execute(
        "create table audience_members as select 'aud' as audience_id, 'Audience' as audience_name, "
        "'人群' as audience_name_zh, 1 as priority, unnest(?) as user_id",
        [members],
    )
    return conn


def _tgi(conn: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    assert data.min_users(conn) == K
    groups = data.insight_groups(conn, K)
    cells = data.tgi_cells(conn, K, groups, data.suppressed_fingerprints(conn))
    return groups, cells.set_index(["tag_code", "tag_value"])


def test_tgi_is_the_share_in_the_group_over_the_share_overall(tmp_path: Path) -> None:
    with _snapshot(tmp_path / "snapshot.duckdb") as conn:
        groups, cells = _tgi(conn)
    audience = groups.set_index("group_id").loc["aud"]
    assert (audience["users"], audience["share"], audience["hidden"]) == (15, 15 / 40, False)
    a = cells.loc[("tier", "a")]
    assert (a["group_value_users"], a["hidden"]) == (10, False)
    assert a["group_share"] == pytest.approx(10 / 15)
    assert a["population_share"] == pytest.approx(20 / 40)
    assert a["tgi"] == pytest.approx((10 / 15) / (20 / 40) * 100)
    assert cells.loc[("interest", "y"), "tgi"] == pytest.approx(100.0)
    # Sorted by TGI, highest first, the hidden values last.
    assert list(cells.index) == [("tier", "a"), ("interest", "y"), ("tier", "b"), ("tier", "c"), ("interest", "x")]


def test_tgi_cells_are_suppressed_inside_outside_and_as_complements(tmp_path: Path) -> None:
    with _snapshot(tmp_path / "snapshot.duckdb") as conn:
        groups, cells = _tgi(conn)
    # c: 1 user in the audience (< k); b: its complement among tier's values (4 users, the smallest).
    # x: 9 in the audience but only 2 outside (published total 11 − 9); multi-valued, so no complement.
    assert cells.loc[("tier", "c"), "hidden"] and cells.loc[("tier", "b"), "hidden"]
    assert cells.loc[("interest", "x"), "hidden"] and not cells.loc[("interest", "y"), "hidden"]
    hidden = cells[cells["hidden"]]
    assert hidden[["group_value_users", "group_share", "population_share", "tgi"]].isna().all().all()
    # Cluster 1 has 2 users, cluster 0 all but 2: both are hidden whole and get no cells.
    assert groups.set_index("group_id").loc[["0", "1"], "hidden"].all()
    assert set(cells["kind"]) == {"audience"}


def test_a_value_segment_summary_hides_is_hidden_in_every_group(tmp_path: Path) -> None:
    with _snapshot(tmp_path / "snapshot.duckdb", suppressed_value="a") as conn:
        _, cells = _tgi(conn)
    # a is forced; with c hidden as well, the group is safe (two values, 11 users) and b stays visible.
    assert cells.loc[("tier", "a"), "hidden"] and cells.loc[("tier", "c"), "hidden"]
    assert not cells.loc[("tier", "b"), "hidden"]


def test_a_value_of_exactly_the_users_of_a_hidden_one_is_hidden_too(tmp_path: Path) -> None:
    # x = u01-u12: in the audience exactly its tier-a users (u01-u10), and hidden (2 outside).
    with _snapshot(tmp_path / "snapshot.duckdb", interest_x=tuple(range(1, 13))) as conn:
        _, cells = _tgi(conn)
    assert cells.loc[("interest", "x"), "hidden"] and cells.loc[("tier", "a"), "hidden"]
    # a and c hidden hold 11 users in and 14 outside the audience: b needs no hiding.
    assert cells.loc[("tier", "c"), "hidden"] and not cells.loc[("tier", "b"), "hidden"]
