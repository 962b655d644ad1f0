"""Send lists for channels: `huaxiang export AUDIENCE [--channel C] [--format csv|parquet]`.

The list is read from the published snapshot (what BI and activation see, never the working
marts): the members of one audience on the snapshot's day with their channel, send hour, action and
recommended products. Only the hashed contact a channel needs comes from the warehouse (staging:
sms → phone hash, email → e-mail hash; push and in-app reach the user by user id), and only for
members who consented. Every exported contact is recorded in a ledger, which the fatigue rule reads:
no user is contacted more than N times in 7 days (docs/operations.md, "Exporting audiences").
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from huaxiang.errors import UserFacingError
from huaxiang.settings import Settings
from huaxiang.snapshot import SNAPSHOT_FILE

CHANNELS = ("sms", "email", "push", "in_app")
# The hashed contact each channel needs (stg_users); push and in_app address the user id in the app.
CONTACT_HASH = {"sms": "phone_hash", "email": "email_hash"}
FORMATS = ("csv", "parquet")
EXPORTS_DIR = "exports"
LEDGER_FILE = "ledger.duckdb"
FATIGUE_DAYS = 7
MAX_CONTACTS_ENV = "HUAXIANG_EXPORT_MAX_CONTACTS_7D"
DEFAULT_MAX_CONTACTS = 2
# Why a member is not on the list, in the order the rules are applied (the first that holds counts).
REASONS = ("no_consent", "no_contact", "frequency_cap", "fatigue")
COLUMNS = (
    "user_id",
    "channel",
    "contact_hash",
    "send_hour",
    "recommended_action",
    "recommended_products",
    "audience_id",
    "day",
)


@dataclass(frozen=True)
class ExportResult:
    audience_id: str
    day: date
    channel: str | None
    path: Path
    rows: int
    excluded: dict[str, int] = field(default_factory=dict)
    other_channels: int = 0

    def render(self) -> str:
        channel = f", channel {self.channel}" if self.channel else ""
        reasons = ", ".join(f"{reason.replace('_', ' ')} {self.excluded.get(reason, 0)}" for reason in REASONS)
        lines = [
            f"Exported {self.rows} member(s) of {self.audience_id} ({self.day}{channel}) to {self.path}",
            f"Excluded: {reasons}",
        ]
        if self.channel:
            lines.append(f"Members on other channels (not in this list): {self.other_channels}")
        return "\n".join(lines)


def max_contacts_setting() -> int:
    """N of the fatigue rule: $HUAXIANG_EXPORT_MAX_CONTACTS_7D, default 2."""
    text = os.environ.get(MAX_CONTACTS_ENV, str(DEFAULT_MAX_CONTACTS))
    if not text.strip().isdigit() or int(text) < 1:
        raise UserFacingError(f"{MAX_CONTACTS_ENV} must be a positive integer, got '{text}'")
    return int(text)


def known_audiences() -> list[str]:
    from huaxiang.codegen.audiences import load_audiences

    return sorted(audience.audience_id for audience in load_audiences())


def frequency_cap() -> int:
    """Most contacts of a user on one day: dbt var audience_max_per_user, the cap audience_members applies."""
    from huaxiang.settings import dbt_vars

    return int(dbt_vars()["audience_max_per_user"])


def export_audience(
    settings: Settings,
    audience_id: str,
    *,
    channel: str | None = None,
    file_format: str = "csv",
    output: Path | None = None,
    max_contacts: int | None = None,
) -> ExportResult:
    """Write the send list of `audience_id` (only `channel`'s members when given) and record it in the ledger.

    Re-exporting the same audience, day and channel replaces that export and its ledger entries, so
    it never counts twice towards the fatigue rule.
    """
    audiences = known_audiences()
    if audience_id not in audiences:
        raise UserFacingError(f"unknown audience '{audience_id}'; audiences: {', '.join(audiences)}")
    if channel is not None and channel not in CHANNELS:
        raise UserFacingError(f"unknown channel '{channel}'; channels: {', '.join(CHANNELS)}")
    if file_format not in FORMATS:
        raise UserFacingError(f"unknown format '{file_format}'; formats: {', '.join(FORMATS)}")
    max_contacts = max_contacts_setting() if max_contacts is None else max_contacts
    if max_contacts < 1:
        raise UserFacingError(f"the most contacts in {FATIGUE_DAYS} days must be at least 1, got {max_contacts}")

    day, members = _published_members(settings.published_dir / SNAPSHOT_FILE, audience_id)
    other_channels = 0
    if channel is not None:
        other_channels = sum(1 for value in members.column("channel").to_pylist() if value != channel)
        members = members.filter(pc.equal(members.column("channel"), channel))
    selected = [channel] if channel else list(CHANNELS)
    contacts = _contact_hashes(settings) if set(selected) & set(CONTACT_HASH) and members.num_rows else None

    name = f"{day}-{channel}" if channel else f"{day}"
    path = output or settings.home / EXPORTS_DIR / audience_id / f"{name}.{file_format}"
    path.parent.mkdir(parents=True, exist_ok=True)
    ledger = settings.home / EXPORTS_DIR / LEDGER_FILE
    ledger.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(ledger)) as conn:
        conn.execute(
            "create table if not exists contacts "
            "(user_id varchar, day date, audience_id varchar, channel varchar, exported_at timestamp)"
        )
        conn.register("members", members)
        conn.register("contact_hashes", contacts if contacts is not None else _NO_CONTACTS)
        conn.execute("begin transaction")
        try:
            # This export replaces its own earlier run: those contacts are not counted against it.
            conn.execute(
                "delete from contacts where day = ? and audience_id = ? and list_contains(?, channel)",
                [day, audience_id, selected],
            )
            conn.execute(
                _DECIDE_SQL,
                {
                    "day": day,
                    "since": day - timedelta(days=FATIGUE_DAYS - 1),
                    "cap": frequency_cap(),
                    "max_contacts": max_contacts,
                },
            )
            excluded = dict(
                conn.execute(
                    "select excluded_reason, count(*) from decided where excluded_reason is not null group by 1"
                ).fetchall()
            )
            rows = conn.execute("select count(*) from decided where excluded_reason is null").fetchone()[0]
            _write(conn, path, file_format)
            conn.execute(
                "insert into contacts select user_id, day, audience_id, channel, current_timestamp "
                "from decided where excluded_reason is null"
            )
            conn.execute("commit")
        except BaseException:
            conn.execute("rollback")
            raise
    return ExportResult(audience_id, day, channel, path, rows, excluded, other_channels)


_NO_CONTACTS = pa.table(
    {
        "user_id": pa.array([], pa.string()),
        "phone_hash": pa.array([], pa.string()),
        "email_hash": pa.array([], pa.string()),
    }
)

# Members with the reason they are left out (null: on the list). Contacts counted are the ledger's
# other exports: today's for the daily frequency cap, the 7 days up to today's for fatigue.
_DECIDE_SQL = f"""
create or replace temp table decided as
with earlier as (
    select
        user_id,
        count(*) filter (where day = $day) as contacts_today,
        count(*) as contacts_7d
    from contacts
    where day between $since and $day
    group by user_id
),

members_with_contact as (
    select
        members.*,
        case members.channel
            {" ".join(f"when '{name}' then contact_hashes.{column}" for name, column in CONTACT_HASH.items())}
        end as contact_hash
    from members
    left join contact_hashes on members.user_id = contact_hashes.user_id and members.consented
)

select
    members_with_contact.*,
    case
        when not members_with_contact.consented then 'no_consent'
        when members_with_contact.channel in ({", ".join(f"'{name}'" for name in CONTACT_HASH)})
            and members_with_contact.contact_hash is null then 'no_contact'
        when coalesce(earlier.contacts_today, 0) >= $cap then 'frequency_cap'
        when coalesce(earlier.contacts_7d, 0) >= $max_contacts then 'fatigue'
    end as excluded_reason
from members_with_contact
left join earlier on members_with_contact.user_id = earlier.user_id
"""


def _published_members(snapshot: Path, audience_id: str) -> tuple[date, pa.Table]:
    """The snapshot's day and the audience's members, with their consent as the profile records it."""
    if not snapshot.is_file():
        raise UserFacingError(f"nothing published yet ({snapshot} is missing): run `huaxiang run` first")
    with duckdb.connect(str(snapshot), read_only=True) as conn:
        try:
            day = conn.execute("select max(as_of) from user_profile").fetchone()[0]
            members = conn.execute(_MEMBERS_SQL, [audience_id]).fetch_arrow_table()
        except (duckdb.CatalogException, duckdb.BinderException) as error:
            # A snapshot published by an older release (no recommended_products), or by hand.
            raise UserFacingError(
                f"the snapshot in {snapshot.parent} lacks what an export reads ({str(error).splitlines()[0]}): "
                "run `huaxiang run` to publish a current one"
            ) from None
    if day is None:
        raise UserFacingError(f"the snapshot in {snapshot.parent} has no profile day: run `huaxiang run` again")
    return day, members


_MEMBERS_SQL = """
select
    members.user_id,
    members.channel,
    members.send_hour,
    members.recommended_action,
    members.recommended_products,
    members.audience_id,
    members.as_of as day,
    coalesce(profile.marketing_consent, false) as consented
from audience_members as members
left join user_profile as profile on members.user_id = profile.user_id
where members.audience_id = ?
order by members.user_id
"""


def _contact_hashes(settings: Settings) -> pa.Table:
    """Every user's phone and e-mail hashes (staging.stg_users), read from the warehouse of the target."""
    from huaxiang.engines import open_engine, read_queries

    try:
        with open_engine(settings, read_only=True) as engine:
            return read_queries(engine, {"users": "select user_id, phone_hash, email_hash from staging.stg_users"})[
                "users"
            ]
    except duckdb.IOException as error:
        raise UserFacingError(
            f"cannot read the contact hashes from {settings.warehouse_path} ({str(error).splitlines()[0]}): "
            "a run is writing the warehouse; export once it ends"
        ) from None


def _write(conn: duckdb.DuckDBPyConnection, path: Path, file_format: str) -> None:
    """The list, ordered by send hour then user, written aside and renamed into place."""
    partial = path.with_name(f".{path.name}.partial")
    options = "format parquet, compression zstd" if file_format == "parquet" else "format csv, header true"
    conn.execute(
        f"copy (select {', '.join(COLUMNS)} from decided where excluded_reason is null "
        f"order by send_hour, user_id) to ? ({options})",
        [str(partial)],
    )
    os.replace(partial, path)
