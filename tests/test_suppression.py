"""segment_summary's small-cell suppression cannot be undone by subtraction (docs/marts.md, "Privacy").

A small generated shop (300 users × 30 days, no ML scores) is built once with `dbt run` up to
segment_summary; the mart is then rebuilt with several k (var segment_min_users) and attacked:

* every published row is a set of users (from user_tags); rows of different tags holding the same
  users are one unknown (city_tier 2 and city_tier_label new_tier_1 are the same people);
* every single-valued tag is an equation: its values plus the users without the tag (itself an
  unknown, or known when that set is published) add up to the `all` row; `all`.consenting_users
  is the size of marketing_consent = true;
* exact rational Gaussian elimination over the suppressed unknowns finds every cell whose value
  follows from the published ones — total minus visible cells, pairs of groups, any chain.

No suppressed cell below k may be determined, for users nor revenue. The same attack on the
model before complementary suppression (the old rule: only the next-smallest value of a tag with
exactly one small value) recovers cells: `test_the_attack_breaks_the_old_rule` keeps the attack
honest.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from huaxiang.contract import RAW_TABLES
from huaxiang.warehouse import connect, load_partition
from tests.dbt_fixtures import create_ml_tables
from tests.test_dbt_staging import run_dbt

USERS, DAYS, SEED = 300, 30, 3
K_VALUES = (10, 25, 60)


@dataclass(frozen=True)
class Published:
    k: int
    rows: list[dict]  # segment_summary rows
    members: dict[tuple[str, str], frozenset[str]]  # (tag_code, tag_value) → users
    revenue: dict[str, Decimal]  # user → revenue_total
    consent: frozenset[str]  # users with marketing consent
    multi_valued: frozenset[str]  # tag codes


def read_published(warehouse: Path, k: int) -> Published:
    with connect(warehouse, read_only=True) as conn:
        columns = [row[0] for row in conn.execute("describe marts.segment_summary").fetchall()]
        rows = [
            dict(zip(columns, row, strict=True))
            for row in conn.execute("select * from marts.segment_summary").fetchall()
        ]
        members: dict[tuple[str, str], set[str]] = {}
        for tag_code, tag_value, user_id in conn.execute(
            "select tag_code, tag_value, user_id from marts.user_tags"
        ).fetchall():
            members.setdefault((tag_code, tag_value), set()).add(user_id)
        profile = conn.execute("select user_id, revenue_total, marketing_consent from marts.user_profile").fetchall()
        multi = {
            code for (code,) in conn.execute("select tag_code from marts.dim_tag where is_multi_valued").fetchall()
        }
    everyone = frozenset(user_id for user_id, _, _ in profile)
    frozen = {key: frozenset(value) for key, value in members.items()}
    frozen[("all", "all")] = everyone
    return Published(
        k=k,
        rows=rows,
        members=frozen,
        revenue={user_id: Decimal(revenue or 0) for user_id, revenue, _ in profile},
        consent=frozenset(user_id for user_id, _, consent in profile if consent),
        multi_valued=frozenset(multi),
    )


def determined(equations: list[dict[int, int]], constants: list[Fraction], unknowns: int) -> dict[int, Fraction]:
    """Unknowns whose value the linear equations fix, with that value (exact Gauss-Jordan)."""
    rows = [
        ({var: Fraction(c) for var, c in eq.items() if c}, constant)
        for eq, constant in zip(equations, constants, strict=True)
    ]
    pivots: list[tuple[int, dict[int, Fraction], Fraction]] = []
    for coefficients, constant in rows:
        coefficients = dict(coefficients)
        for pivot, pivot_row, pivot_constant in pivots:  # reduce by the earlier pivots
            factor = coefficients.pop(pivot, 0)
            if factor:
                for var, c in pivot_row.items():
                    if var != pivot:
                        coefficients[var] = coefficients.get(var, 0) - factor * c
                constant -= factor * pivot_constant
        coefficients = {var: c for var, c in coefficients.items() if c}
        if not coefficients:
            continue
        pivot = min(coefficients)
        scale = coefficients[pivot]
        coefficients = {var: c / scale for var, c in coefficients.items()}
        constant /= scale
        reduced = []
        for other, other_row, other_constant in pivots:  # keep the earlier pivot rows reduced
            factor = other_row.get(pivot, 0)
            if factor:
                other_row = dict(other_row)
                del other_row[pivot]
                for var, c in coefficients.items():
                    if var != pivot:
                        other_row[var] = other_row.get(var, 0) - factor * c
                other_row = {var: c for var, c in other_row.items() if c}
                other_constant -= factor * constant
            reduced.append((other, other_row, other_constant))
        pivots = [*reduced, (pivot, coefficients, constant)]
    return {pivot: constant for pivot, row, constant in pivots if len(row) == 1}


def attack(published: Published, measure: str) -> dict[tuple[str, str], Fraction]:
    """Suppressed rows whose `measure` (users or revenue_total) follows from the published rows."""

    def value(users: frozenset[str]) -> Fraction:
        if measure == "users":
            return Fraction(len(users))
        return Fraction(sum((published.revenue[user] for user in users), Decimal(0)))

    known: dict[frozenset[str], Fraction] = {}
    unknown: dict[frozenset[str], int] = {}
    for row in published.rows:
        users = published.members[(row["tag_code"], row["tag_value"])]
        if not row["is_suppressed"]:
            known[users] = Fraction(row[measure])
    consenting = next(row["consenting_users"] for row in published.rows if row["tag_code"] == "all")
    if measure == "users" and consenting is not None:
        known[published.consent] = Fraction(consenting)
    known[frozenset()] = Fraction(0)

    def term(users: frozenset[str]) -> int | None:
        if users in known:
            return None
        return unknown.setdefault(users, len(unknown))

    equations: list[dict[int, int]] = []
    constants: list[Fraction] = []
    everyone = published.members[("all", "all")]
    tags = {row["tag_code"] for row in published.rows} - {"all"} - published.multi_valued
    for tag in sorted(tags):
        cells = [
            published.members[(row["tag_code"], row["tag_value"])] for row in published.rows if row["tag_code"] == tag
        ]
        remainder = everyone - frozenset().union(*cells)
        equation: dict[int, int] = {}
        constant = Fraction(0)
        for users in [*cells, remainder, everyone]:
            sign = -1 if users is everyone else 1
            var = term(users)
            if var is None:
                constant -= sign * known[users]
            else:
                equation[var] = equation.get(var, 0) + sign
        equations.append(equation)
        constants.append(constant)
    solved = determined(equations, constants, len(unknown))
    recovered = {}
    for row in published.rows:
        key = (row["tag_code"], row["tag_value"])
        users = published.members[key]
        var = unknown.get(users)
        if row["is_suppressed"] and var in solved:
            assert solved[var] == value(users), f"the attack is wrong about {key}"
            recovered[key] = solved[var]
    return recovered


def disclosures(published: Published) -> list[str]:
    """Suppressed cells below k whose users or revenue come out exactly."""
    found = []
    for measure in ("users", "revenue_total"):
        for key, recovered in sorted(attack(published, measure).items()):
            size = len(published.members[key])
            if size < published.k:
                found.append(f"k={published.k}: {key} has {size} users, its {measure} comes out as {recovered}")
    return found


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from huaxiang.generator import GeneratorConfig, generate

    home = tmp_path_factory.mktemp("suppression_home")
    report = generate(
        GeneratorConfig(users=USERS, days=DAYS, seed=SEED, bad_rate=0.0),
        home / "landing",
        home / "truth",
        progress=False,
    )
    warehouse = home / "warehouse.duckdb"
    with connect(warehouse) as conn:
        for day in report.days:
            for table in RAW_TABLES:
                load_partition(conn, home / "landing", table, day)
    create_ml_tables(warehouse)
    run_dbt(home, "run", "--select", "+segment_summary")
    return home


@pytest.fixture(scope="module")
def builds(shop: Path) -> dict[int, Published]:
    """segment_summary built and tested (its dbt data tests) for every k of K_VALUES."""
    results = {}
    for k in K_VALUES:
        variables = {"segment_min_users": k}
        run_dbt(shop, "run", "--select", "segment_summary", variables=variables)
        # data tests only: the unit test segment_summary_suppresses_small_groups (models/marts/
        # marketing/_marketing.yml) still expects the old rule
        run_dbt(shop, "test", "--select", "segment_summary,test_type:data", variables=variables)
        results[k] = read_published(shop / "warehouse.duckdb", k)
    return results


def test_no_suppressed_cell_below_k_can_be_recovered(builds: dict[int, Published]) -> None:
    found = [line for published in builds.values() for line in disclosures(published)]
    assert not found, "\n".join(found)


def test_suppression_rule_holds_in_every_group(builds: dict[int, Published]) -> None:
    for k, published in builds.items():
        rows = [row for row in published.rows if row["tag_code"] not in published.multi_valued | {"all"}]
        sizes = {
            (row["tag_code"], row["tag_value"]): len(published.members[(row["tag_code"], row["tag_value"])])
            for row in rows
        }
        assert any(size < k for size in sizes.values()), f"k={k} suppresses nothing: the test shows nothing"
        everyone = published.members[("all", "all")]
        cells = [(published.members[(r["tag_code"], r["tag_value"])], r["is_suppressed"]) for r in published.rows]
        hidden_sets = {users for users, suppressed in cells if suppressed}
        shown_sets = {users for users, suppressed in cells if not suppressed}
        for tag in {row["tag_code"] for row in rows}:
            hidden = [sizes[(tag, row["tag_value"])] for row in rows if row["tag_code"] == tag and row["is_suppressed"]]
            shown = [
                sizes[(tag, row["tag_value"])] for row in rows if row["tag_code"] == tag and not row["is_suppressed"]
            ]
            # the users the tag is not set for: a hidden member when segments show exactly them, all suppressed
            remainder = everyone - frozenset().union(
                *(published.members[(tag, row["tag_value"])] for row in rows if row["tag_code"] == tag)
            )
            if remainder and remainder in hidden_sets and remainder not in shown_sets:
                hidden.append(len(remainder))
            assert all(size >= k for size in shown), (k, tag)
            assert not hidden or (len(hidden) >= 2 and sum(hidden) >= k), (k, tag, hidden)
        for row in published.rows:
            if row["is_suppressed"]:
                measures = ("users", "share_of_users", "consenting_users", "buyers_30d", "orders_30d", "revenue_30d",
                            "orders_total", "revenue_total", "aov", "avg_propensity_score")  # fmt: skip
                assert all(row[measure] is None for measure in measures), (k, row)


def test_the_attack_breaks_the_old_rule(builds: dict[int, Published]) -> None:
    """Re-suppress a build with the old rule (exactly one small value → hide the next smallest)
    and check the attack recovers something, so a pass above means something."""
    found = []
    for k, published in builds.items():
        rows = []
        for row in published.rows:
            tag = row["tag_code"]
            size = len(published.members[(tag, row["tag_value"])])
            same_tag = sorted(
                (len(published.members[(other["tag_code"], other["tag_value"])]), other["tag_value"])
                for other in published.rows
                if other["tag_code"] == tag
            )
            small = sum(1 for other_size, _ in same_tag if other_size < k)
            old = size < k or (small == 1 and len(same_tag) > 1 and same_tag[1] == (size, row["tag_value"]))
            truth = {
                "users": size,
                "revenue_total": sum(published.revenue[u] for u in published.members[(tag, row["tag_value"])]),
            }
            rows.append({**row, **({"users": None, "revenue_total": None} if old else truth), "is_suppressed": old})
        consenting = len(published.consent)
        rows = [{**row, "consenting_users": consenting} if row["tag_code"] == "all" else row for row in rows]
        found += disclosures(
            Published(k, rows, published.members, published.revenue, published.consent, published.multi_valued)
        )
    assert found
