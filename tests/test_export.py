"""`huaxiang export` on a hand-made home: a published snapshot (user_profile, audience_members) and a
warehouse holding only the contact hashes (staging.stg_users). Consent, contact hashes by channel,
the daily frequency cap, the 7-day fatigue rule across days, idempotent re-exports, both formats
and the errors."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from huaxiang.cli import main
from huaxiang.commands.export import LEDGER_FILE, MAX_CONTACTS_ENV, export_audience
from huaxiang.errors import UserFacingError
from tests.conftest import huaxiang_home

DAY = date(2026, 6, 10)
# user: (consent, channel, send_hour, phone_hash, email_hash)
USERS = {
    "u1": (True, "sms", 10, "ph1", "em1"),
    "u2": (True, "email", 20, "ph2", "em2"),
    "u3": (True, "push", 14, "ph3", None),
    "u4": (False, "sms", 10, "ph4", "em4"),  # no consent: never exported, whatever the mart says
    "u5": (True, "sms", 21, None, "em5"),  # an sms member without a phone hash
}


def publish(home: Path, day: date, members: dict[str, list[str]]) -> None:
    """A published snapshot of `day`: the profile of USERS, and `members` (audience → users)."""
    folder = home / "published"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "marts.duckdb").unlink(missing_ok=True)
    with duckdb.connect(str(folder / "marts.duckdb")) as conn:
        conn.execute("create table user_profile (user_id varchar, marketing_consent boolean, as_of date)")
        conn.executemany(
            "insert into user_profile values (?, ?, ?)", [(user, row[0], day) for user, row in USERS.items()]
        )
        conn.execute(
            "create table audience_members (as_of date, audience_id varchar, user_id varchar, audience_rank integer, "
            "recommended_action varchar, channel varchar, send_hour integer, recommended_products varchar)"
        )
        conn.executemany(
            "insert into audience_members values (?, ?, ?, 1, 'reminder', ?, ?, ?)",
            [
                (day, audience, user, USERS[user][1], USERS[user][2], f"p-{user}")
                for audience, users in members.items()
                for user in users
            ],
        )


@pytest.fixture
def home(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        conn.execute("create schema staging")
        conn.execute("create table staging.stg_users (user_id varchar, phone_hash varchar, email_hash varchar)")
        conn.executemany(
            "insert into staging.stg_users values (?, ?, ?)", [(user, row[3], row[4]) for user, row in USERS.items()]
        )
    publish(tmp_path, DAY, {"ready_to_buy": list(USERS)})
    with huaxiang_home(tmp_path) as settings:
        yield settings


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def ledger_rows(home: Path) -> list[tuple]:
    with duckdb.connect(str(home / "exports" / LEDGER_FILE), read_only=True) as conn:
        return conn.execute("select user_id, day, audience_id, channel from contacts order by all").fetchall()


def test_consent_contact_hashes_by_channel_and_the_list_order(home) -> None:
    result = export_audience(home, "ready_to_buy")
    assert result.path == home.home / "exports" / "ready_to_buy" / "2026-06-10.csv"
    assert result.rows == 3 and result.excluded == {"no_consent": 1, "no_contact": 1}
    rows = read_csv(result.path)
    assert [(r["user_id"], r["channel"], r["contact_hash"], r["send_hour"]) for r in rows] == [
        ("u1", "sms", "ph1", "10"),  # sms: the phone hash
        ("u3", "push", "", "14"),  # push: the user id is the address, no contact
        ("u2", "email", "em2", "20"),  # email: the e-mail hash
    ]
    assert rows[0]["recommended_products"] == "p-u1" and rows[0]["day"] == "2026-06-10"
    assert ledger_rows(home.home) == [
        ("u1", DAY, "ready_to_buy", "sms"),
        ("u2", DAY, "ready_to_buy", "email"),
        ("u3", DAY, "ready_to_buy", "push"),
    ]
    assert "Excluded: no consent 1, no contact 1, frequency cap 0, fatigue 0" in result.render()


def test_channel_selection_and_parquet(home) -> None:
    result = export_audience(home, "ready_to_buy", channel="sms", file_format="parquet")
    assert result.path.name == "2026-06-10-sms.parquet"
    table = pq.read_table(result.path).to_pylist()
    assert [(r["user_id"], r["contact_hash"]) for r in table] == [("u1", "ph1")]
    # u2 (email) and u3 (push) belong to other lists; u4 and u5 are excluded
    assert (result.rows, result.other_channels, result.excluded) == (1, 2, {"no_consent": 1, "no_contact": 1})


def test_fatigue_across_days_counts_seven_days_and_reexports_once(home) -> None:
    first = export_audience(home, "ready_to_buy")
    again = export_audience(home, "ready_to_buy")  # the same export: replaces, does not count twice
    assert again.path.read_bytes() == first.path.read_bytes() and len(ledger_rows(home.home)) == 3

    publish(home.home, DAY + timedelta(days=1), {"ready_to_buy": list(USERS)})
    assert export_audience(home, "ready_to_buy").rows == 3  # one contact so far: below N = 2
    publish(home.home, DAY + timedelta(days=2), {"ready_to_buy": list(USERS)})
    third = export_audience(home, "ready_to_buy")
    assert (third.rows, third.excluded["fatigue"]) == (0, 3)
    assert read_csv(third.path) == []
    assert export_audience(home, "ready_to_buy", max_contacts=3).rows == 3  # N is configurable

    # Day 8 after the first export: only days 2 and 3 are in the 7 days up to it (with N = 3, 2 < 3).
    publish(home.home, DAY + timedelta(days=7), {"ready_to_buy": list(USERS)})
    assert export_audience(home, "ready_to_buy", max_contacts=3).rows == 3
    assert export_audience(home, "ready_to_buy", max_contacts=2).excluded["fatigue"] == 3


def test_max_contacts_from_the_environment(home, monkeypatch: pytest.MonkeyPatch) -> None:
    export_audience(home, "ready_to_buy")
    publish(home.home, DAY + timedelta(days=1), {"ready_to_buy": list(USERS)})
    monkeypatch.setenv(MAX_CONTACTS_ENV, "1")
    assert export_audience(home, "ready_to_buy").excluded["fatigue"] == 3
    monkeypatch.setenv(MAX_CONTACTS_ENV, "many")
    with pytest.raises(UserFacingError, match=f"{MAX_CONTACTS_ENV} must be a positive integer"):
        export_audience(home, "ready_to_buy")


def test_frequency_cap_counts_the_days_other_exports(home) -> None:
    # u1 is in three audiences that day (a snapshot built with a larger cap): the third export stops at 2.
    publish(home.home, DAY, {"ready_to_buy": ["u1"], "coupon_lovers": ["u1"], "long_shots": ["u1"]})
    assert export_audience(home, "ready_to_buy", max_contacts=5).rows == 1
    assert export_audience(home, "coupon_lovers", max_contacts=5).rows == 1
    capped = export_audience(home, "long_shots", max_contacts=5)
    assert (capped.rows, capped.excluded) == (0, {"frequency_cap": 1})


def test_unknown_audience_channel_and_missing_snapshot_are_one_line_errors(home, capsys) -> None:
    assert main(["export", "nope"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: unknown audience 'nope'; audiences: ") and "ready_to_buy" in error
    assert "\n" not in error
    assert main(["export", "ready_to_buy", "--channel", "fax"]) == 2
    assert capsys.readouterr().err.strip() == "error: unknown channel 'fax'; channels: sms, email, push, in_app"
    with duckdb.connect(str(home.published_dir / "marts.duckdb")) as conn:
        conn.execute("alter table audience_members drop column recommended_products")  # an older release's
    assert main(["export", "ready_to_buy"]) == 2
    error = capsys.readouterr().err
    assert "recommended_products" in error and "run `huaxiang run` to publish a current one" in error
    (home.published_dir / "marts.duckdb").unlink()
    assert main(["export", "ready_to_buy"]) == 2
    assert "nothing published yet" in capsys.readouterr().err
    assert not (home.home / "exports" / LEDGER_FILE).exists()


def test_cli_prints_rows_and_exclusions(home, capsys) -> None:
    assert main(["export", "ready_to_buy", "--format", "parquet", "-o", str(home.home / "list.parquet")]) == 0
    out = capsys.readouterr().out
    assert f"Exported 3 member(s) of ready_to_buy (2026-06-10) to {home.home / 'list.parquet'}" in out
    assert "Excluded: no consent 1, no contact 1, frequency cap 0, fatigue 0" in out
    assert pq.read_table(home.home / "list.parquet").num_rows == 3
