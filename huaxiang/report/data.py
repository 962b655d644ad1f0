"""What the report shows, read from the published snapshot (read-only) and made safe to show:
every user count goes through the suppression of huaxiang.report.suppression with the k of
marts.segment_summary (its min_group_users column), so no group of fewer than k users shows.

Each function returns a DataFrame with a `hidden` column (True: the cell shows as "< k") and the
count columns of hidden cells set to null, so nothing downstream can show them by mistake.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from huaxiang.errors import UserFacingError
from huaxiang.report.suppression import suppress

# The tags of the overview's charts and trends (the headline tags of a profile).
OVERVIEW_TAGS = ("value_tier", "lifecycle_stage", "rfm_segment")
TREND_TAGS = ("value_tier", "lifecycle_stage")
HISTORY_TABLE = "user_tag_history"
RFM_SCORES = (1, 2, 3, 4, 5)

# Which users a cell holds, as text: size, first and last user_id and the sum of their hashes (the
# fingerprint segment_summary matches identical segments on).
FINGERPRINT = (
    "count(*)::varchar || ':' || min(user_id)::varchar || ':' || max(user_id)::varchar"
    " || ':' || sum(hash(user_id)::hugeint)::varchar"
)


def connect_snapshot(database: str) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(database, read_only=True)
    except duckdb.IOException as error:
        raise UserFacingError(f"cannot open the published snapshot {database}: {error}") from error


def min_users(conn: duckdb.DuckDBPyConnection) -> int:
    """k: segment_summary's smallest group shown (dbt var segment_min_users, published with every row)."""
    k = conn.execute("select max(min_group_users) from segment_summary").fetchone()[0]
    if k is None:
        raise UserFacingError("the published segment_summary is empty: no k to suppress small groups with")
    return int(k)


def has_table(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(conn.execute("select count(*) from duckdb_tables() where table_name = ?", [table]).fetchone()[0])


def _hide(frame: pd.DataFrame, hidden: pd.Series, columns: list[str]) -> pd.DataFrame:
    frame = frame.assign(hidden=hidden)
    for column in columns:
        frame[column] = frame[column].astype("Float64").mask(frame["hidden"])
    return frame


def suppressed_fingerprints(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """The fingerprints of the tag values segment_summary hides: a report cell of exactly those users
    is hidden too (it would give the hidden count away)."""
    rows = conn.execute(
        f"""
        select fingerprint
        from (select tag_code, tag_value, {FINGERPRINT} as fingerprint from user_tags group by tag_code, tag_value)
        inner join segment_summary using (tag_code, tag_value)
        where segment_summary.is_suppressed
        """
    ).fetchall()
    return {row[0] for row in rows}


def headline(conn: duckdb.DuckDBPyConnection) -> dict:
    """The `all` row of segment_summary (never suppressed: everyone) and the as-of day."""
    row = conn.execute(
        "select as_of, users, buyers_30d, orders_30d, revenue_30d from segment_summary where tag_code = 'all'"
    ).fetchone()
    return dict(zip(("as_of", "users", "buyers_30d", "orders_30d", "revenue_30d"), row, strict=True))


def tag_distribution(conn: duckdb.DuckDBPyConnection, tag_code: str) -> pd.DataFrame:
    """Users per value of a tag, straight from segment_summary (null: suppressed there), in catalog order."""
    frame = conn.execute(
        """
        select summary.tag_value, coalesce(labels.name_zh, summary.tag_value) as value_zh,
               summary.users, summary.is_suppressed as hidden
        from segment_summary as summary
        left join dim_tag_value as labels using (tag_code, tag_value)
        where summary.tag_code = ?
        order by labels.value_order nulls last, summary.tag_value
        """,
        [tag_code],
    ).df()
    return frame.assign(users=frame["users"].astype("Float64"))


def rfm_grid(conn: duckdb.DuckDBPyConnection, k: int, hidden_fingerprints: set[str]) -> pd.DataFrame:
    """Users per RFM recency × frequency score (buyers), every one of the 25 cells. Rows and columns add
    up to the rfm_r and rfm_f values of segment_summary: complementary suppression along both, and a
    row or column that segment_summary hides is hidden whole."""
    counted = conn.execute(
        f"""
        select rfm_r, rfm_f, {FINGERPRINT} as fingerprint, count(*) as users
        from user_profile where rfm_r is not null and rfm_f is not null
        group by rfm_r, rfm_f
        """
    ).df()
    hidden_scores = conn.execute(
        "select tag_code, tag_value from segment_summary where tag_code in ('rfm_r', 'rfm_f') and is_suppressed"
    ).fetchall()
    spine = pd.MultiIndex.from_product([RFM_SCORES, RFM_SCORES], names=["rfm_r", "rfm_f"]).to_frame(index=False)
    grid = spine.merge(counted, on=["rfm_r", "rfm_f"], how="left")
    grid["users"] = grid["users"].fillna(0).astype(int)
    grid["forced"] = grid["fingerprint"].isin(hidden_fingerprints)
    for tag_code, tag_value in hidden_scores:
        grid["forced"] |= grid[tag_code].astype(str) == tag_value
    grid["row"], grid["column"] = grid["rfm_r"], grid["rfm_f"]
    hidden = suppress(
        grid,
        k,
        counts=["users"],
        groups=["row", "column"],
        linked_by="fingerprint",
        forced="forced",
        order=["rfm_r", "rfm_f"],
    )
    return _hide(grid[["rfm_r", "rfm_f", "users"]], hidden, ["users"])


def insight_groups(conn: duckdb.DuckDBPyConnection, k: int) -> pd.DataFrame:
    """Every audience and behaviour cluster with its size; a group of fewer than k users (or all but
    fewer than k) is hidden, and so is everything about it."""
    frame = conn.execute(
        """
        with population as (select count(*) as users from user_profile),
        groups as (
            select 'audience' as kind, audience_id as group_id, min(audience_name) as name_en,
                   min(audience_name_zh) as name_zh, count(distinct user_id) as users, min(priority) as sort_key
            from audience_members group by audience_id
            union all
            select 'cluster', cluster_id::varchar, min(cluster_name), min(cluster_name), count(*), cluster_id
            from user_profile where cluster_id is not null group by cluster_id
        )
        select groups.*, groups.users / population.users as share
        from groups cross join population
        order by kind, sort_key, group_id
        """
    ).df()
    population = conn.execute("select count(*) from user_profile").fetchone()[0]
    hidden = (frame["users"] < k) | _small(population - frame["users"], k)
    return _hide(frame.drop(columns="sort_key"), hidden, ["users", "share"])


def _small(values: pd.Series, k: int) -> pd.Series:
    return (values > 0) & (values < k)


def tgi_cells(
    conn: duckdb.DuckDBPyConnection, k: int, groups: pd.DataFrame, hidden_fingerprints: set[str]
) -> pd.DataFrame:
    """For each shown group and every tag value of segment_summary: the group's users with the value,
    its share of the group, the value's share of all users and TGI = group share / overall share × 100.

    A cell is hidden when the group's users with the value or the users with the value outside it are
    fewer than k (the overall count is published, so either gives the other away), when
    segment_summary hides the value, or as a complement among the values of a single-valued tag within
    the group (they add up to the group's size). Sorted by TGI within each group, highest first.
    """
    shown = groups.loc[~groups["hidden"], ["kind", "group_id"]]
    conn.register("shown_groups", shown)
    try:
        cells = conn.execute(
            f"""
            with members as (
                select distinct 'audience' as kind, audience_id as group_id, user_id from audience_members
                union all
                select 'cluster', cluster_id::varchar, user_id from user_profile where cluster_id is not null
            ),
            sizes as (
                select members.kind, members.group_id, count(*) as group_users
                from members inner join shown_groups using (kind, group_id)
                group by members.kind, members.group_id
            ),
            tag_values as (
                select summary.tag_code, summary.tag_value, summary.is_suppressed, tags.is_multi_valued,
                       tags.name_en as tag_en, tags.name_zh as tag_zh, tags.tag_order,
                       coalesce(labels.name_zh, summary.tag_value) as value_zh
                from segment_summary as summary
                inner join dim_tag as tags using (tag_code)
                left join dim_tag_value as labels using (tag_code, tag_value)
            ),
            population as (
                select tag_code, tag_value, count(*) as population_users from user_tags group by tag_code, tag_value
            ),
            inside as (
                select members.kind, members.group_id, user_tags.tag_code, user_tags.tag_value,
                       count(*) as group_value_users,
                       {FINGERPRINT.replace("user_id", "user_tags.user_id")} as fingerprint
                from members
                inner join shown_groups using (kind, group_id)
                inner join user_tags using (user_id)
                group by members.kind, members.group_id, user_tags.tag_code, user_tags.tag_value
            )
            select sizes.kind, sizes.group_id, tag_values.tag_code, tag_values.tag_en, tag_values.tag_zh,
                   tag_values.tag_value, tag_values.value_zh, tag_values.is_multi_valued, tag_values.tag_order,
                   tag_values.is_suppressed, sizes.group_users,
                   coalesce(inside.group_value_users, 0) as group_value_users,
                   population.population_users, (select count(*) from user_profile) as all_users,
                   inside.fingerprint
            from sizes
            cross join tag_values
            inner join population using (tag_code, tag_value)
            left join inside
                on inside.kind = sizes.kind and inside.group_id = sizes.group_id
                and inside.tag_code = tag_values.tag_code and inside.tag_value = tag_values.tag_value
            order by sizes.kind, sizes.group_id, tag_values.tag_order, tag_values.tag_value
            """
        ).df()
    finally:
        conn.unregister("shown_groups")
    return tgi_table(cells, k, hidden_fingerprints)


def tgi_table(cells: pd.DataFrame, k: int, hidden_fingerprints: set[str]) -> pd.DataFrame:
    """TGI and suppression of counted cells (one row per group × tag value: group_users,
    group_value_users, population_users, all_users, is_suppressed, is_multi_valued, fingerprint)."""
    cells = cells.reset_index(drop=True)
    group = cells["kind"] + "/" + cells["group_id"]
    cells["outside_users"] = cells["population_users"] - cells["group_value_users"]
    cells["group_share"] = cells["group_value_users"] / cells["group_users"]
    cells["population_share"] = cells["population_users"] / cells["all_users"]
    cells["tgi"] = cells["group_share"] / cells["population_share"] * 100
    cells["additive"] = (group + "/" + cells["tag_code"]).where(~cells["is_multi_valued"].astype(bool))
    cells["linked"] = (group + "/" + cells["fingerprint"]).where(cells["fingerprint"].notna())
    cells["forced"] = cells["is_suppressed"].astype(bool) | cells["fingerprint"].isin(hidden_fingerprints)
    hidden = suppress(
        cells,
        k,
        counts=["group_value_users", "outside_users"],
        groups=["additive"],
        linked_by="linked",
        forced="forced",
        order=["kind", "group_id", "tag_code", "tag_value"],
    )
    columns = ["group_value_users", "outside_users", "group_share", "population_share", "tgi"]
    shown = _hide(cells, hidden, columns)
    ordered = shown.sort_values(
        ["kind", "group_id", "hidden", "tgi", "tag_order", "tag_value"],
        ascending=[True, True, True, False, True, True],
        kind="stable",
    )
    return ordered.drop(columns=["additive", "linked", "forced", "fingerprint", "outside_users"]).reset_index(drop=True)


def tag_trends(conn: duckdb.DuckDBPyConnection, k: int, hidden_fingerprints: set[str]) -> pd.DataFrame | None:
    """Users per value of the trend tags on each day the tag history was built (None without a
    history in the snapshot). A version counts from its first_seen_as_of up to the day of the build
    that closed it; the values of a tag on a day add up (complementary suppression per tag and day)."""
    if not has_table(conn, HISTORY_TABLE):
        return None
    codes = ", ".join(f"'{code}'" for code in TREND_TAGS)
    counted = conn.execute(
        f"""
        with versions as (
            select user_id, tag_code, tag_value, first_seen_as_of, dbt_valid_from, dbt_valid_to
            from {HISTORY_TABLE} where tag_code in ({codes})
        ),
        builds as (select dbt_valid_from as built_at, max(first_seen_as_of) as as_of from versions group by 1),
        days as (select distinct first_seen_as_of as day from versions),
        spans as (
            select versions.*,
                   (select min(builds.as_of) from builds where builds.built_at >= versions.dbt_valid_to) as ended_as_of
            from versions
        )
        select days.day, spans.tag_code, spans.tag_value, count(*) as users,
               {FINGERPRINT.replace("user_id", "spans.user_id")} as fingerprint
        from spans
        inner join days
            on spans.first_seen_as_of <= days.day and (spans.ended_as_of is null or days.day < spans.ended_as_of)
        group by days.day, spans.tag_code, spans.tag_value
        order by days.day, spans.tag_code, spans.tag_value
        """
    ).df()
    labels = conn.execute(
        f"select tag_code, tag_value, name_zh as value_zh, value_order from dim_tag_value where tag_code in ({codes})"
    ).df()
    counted = counted.merge(labels, on=["tag_code", "tag_value"], how="left")
    counted["value_zh"] = counted["value_zh"].fillna(counted["tag_value"])
    counted["additive"] = counted["day"].astype(str) + "/" + counted["tag_code"]
    counted["forced"] = counted["fingerprint"].isin(hidden_fingerprints)
    hidden = suppress(
        counted,
        k,
        counts=["users"],
        groups=["additive"],
        linked_by="fingerprint",
        forced="forced",
        order=["day", "tag_code", "tag_value"],
    )
    return _hide(counted.drop(columns=["additive", "forced", "fingerprint"]), hidden, ["users"])


def campaign_lifts(conn: duckdb.DuckDBPyConnection, k: int) -> pd.DataFrame:
    """One row per campaign (segment `all`): both arms' sizes, the lift of treatment over control with
    its interval, ROI and the insufficient-sample flag. A campaign with an arm of fewer than k users
    shows neither the arm's size nor the lift (a rate of a tiny arm gives its count away)."""
    frame = conn.execute(
        """
        select treatment.campaign_id, treatment.campaign_name, treatment.channel, treatment.objective,
               treatment.campaign_start_date, treatment.assigned_users as treatment_users,
               control.assigned_users as control_users, treatment.lift, treatment.lift_ci_low,
               treatment.lift_ci_high, treatment.p_value, treatment.roi, treatment.insufficient_sample,
               treatment.window_complete
        from campaign_performance as treatment
        inner join campaign_performance as control
            on treatment.campaign_id = control.campaign_id and control.segment = 'all' and control.variant = 'control'
        where treatment.segment = 'all' and treatment.variant = 'treatment'
        order by treatment.campaign_start_date, treatment.campaign_id
        """
    ).df()
    hidden = _small(frame["treatment_users"], k) | _small(frame["control_users"], k)
    return _hide(frame, hidden, ["treatment_users", "control_users", "lift", "lift_ci_low", "lift_ci_high", "p_value"])


def cohort_cells(conn: duckdb.DuckDBPyConnection, k: int) -> pd.DataFrame:
    """Retention per cohort × period and grain. A cohort of fewer than k users is hidden whole; a
    period's retained users, or the cohort's users not retained, fewer than k hide that cell."""
    frame = conn.execute(
        """
        select cohort_grain, cohort_start, period_number, is_complete_period, cohort_users, retained_users,
               cohort_users - retained_users as lapsed_users, retention_rate
        from cohort_retention
        order by cohort_grain, cohort_start, period_number
        """
    ).df()
    frame["forced"] = _small(frame["cohort_users"], k)
    hidden = suppress(frame, k, counts=["retained_users", "lapsed_users"], forced="forced")
    frame = _hide(frame.drop(columns="forced"), hidden, ["retained_users", "lapsed_users", "retention_rate"])
    frame["cohort_users"] = frame["cohort_users"].astype("Float64").mask(_small(frame["cohort_users"], k))
    return frame
