"""Publishing marts for BI tools as an atomic snapshot.

Readers never open the working warehouse. A snapshot is built aside (a new DuckDB file and
Parquet folder), scanned for personal data, and only then swapped in by rename, so a BI tool
holding the previous file open keeps a consistent view and a new connection sees the new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from huaxiang.errors import UserFacingError

SNAPSHOT_FILE = "marts.duckdb"
PARQUET_DIR = "parquet"
MANIFEST_FILE = "manifest.json"
SCHEMA_VERSION = 1
MARTS_SCHEMA = "marts"

# Contact data never leaves the warehouse unless explicitly configured (hashes only, then).
CONTACT_COLUMN = re.compile(r"^(phone|email|mobile)(_hash)?$|_hash$")
# Patterns of raw personal data, the common mainland forms (docs/quality.md, "Published snapshot: no
# PII"). RE2 syntax: they run inside DuckDB (`regexp_matches`), one pass per table.
#
# A number is only a phone when it is not glued to other letters or digits: inside a hex hash
# (Olist's customer ids, `olist_19488640175c43…`) an 11-digit run is not one; after a separator
# (`shop_13812345678`, `手机13812345678`, `call 13912345678`) it is. A digit run after a decimal
# point (`0.13912345678`) is a fraction, not a phone.
_BEFORE = r"(^|[^0-9A-Za-z.]|[^0-9]\.)"
_AFTER = r"([^0-9A-Za-z.]|\.[^0-9]|\.?$)"
# +86 / 86 / 0086, optionally in parentheses, then at most one separator.
_COUNTRY = r"(\(?(\+|00)?86\)?[ .\-]?)?"
# 1[3-9]x xxxx xxxx, glued or split 3-4-4 by spaces or dashes (the first group may be in
# parentheses), or by two dots (one dot alone is a
# decimal number such as 1391234.5678, not a phone).
_MOBILE = r"\(?1[3-9][0-9]\)?([ \-]?[0-9]{4}[ \-]?|\.[0-9]{4}\.)[0-9]{4}"
# Landlines: an area code (010, 02x, 0xxx; without its 0 after +86/0086) that is set apart — in
# parentheses or followed by a space or dash — then a 7-8 digit number. A glued 0xxx12345678 is
# left alone: it cannot be told from a zero-padded id.
_AREA = r"(010|02[0-9]|0[3-9][0-9]{2})"
_LANDLINE = (
    rf"(\({_AREA}\) ?|{_AREA}[ \-]|(\+|00)86[ \-]?\(?(10|2[0-9]|[3-9][0-9]{{2}})\)?[ \-]?)"
    r"[1-9][0-9]{2,3}[ \-]?[0-9]{4}"
)
# Resident ID candidates (18 characters: region 6, birth date 8, sequence 3, check digit or X;
# groups may be split 6-8-4 by spaces); each is then validated in Python (`is_resident_id`).
_RESIDENT_ID = r"[1-8][0-9]{5} ?(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01]) ?[0-9]{3}[0-9Xx]"
_DIGITS = r"0-9０-９"
PII_PATTERNS = {
    "phone": rf"{_BEFORE}{_COUNTRY}{_MOBILE}{_AFTER}",
    "landline": rf"(^|[^0-9A-Za-z]){_LANDLINE}([^0-9A-Za-z]|$)",
    "resident_id": rf"(^|[^0-9A-Za-z])({_RESIDENT_ID})([^0-9A-Za-z]|$)",
    "email": r"[A-Za-z0-9._%+-]+[@＠][A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    # Street addresses: a road or street name with a house number (中山路100号, 南京东路8-10號,
    # 长安街1号), a lane with a number (1234弄5号, 88弄…), a room number with 室 (1201室), a
    # building with a unit or room (3号楼2单元, 5栋1201室), or in English a Room/No./Flat with a number
    # followed by a road (Room 1201, No. 88 Nanjing Road). A bare 道 counts only after a city or
    # district (河西区解放南道100号: `知道3号` is not an address). Province, city and district names
    # alone (广东省深圳市南山区, published in `province`/`city`) are not addresses.
    "address": (
        rf"\p{{Han}}{{2}}(路|街|大道|大街|巷|胡同)[{_DIGITS}]+(-[{_DIGITS}]+)?[号號]"
        rf"|[市区區县縣]\p{{Han}}{{1,8}}道[{_DIGITS}]+(-[{_DIGITS}]+)?[号號]"
        rf"|[{_DIGITS}]+弄([{_DIGITS}]+[号號]|[^{_DIGITS}]{{0,6}}[{_DIGITS}]{{3,5}}室)"
        rf"|[{_DIGITS}]{{3,5}}室"
        rf"|[{_DIGITS}]+(号楼|號樓|栋|棟|幢)[{_DIGITS}]+(单元|單元|室)"
        r"|(?i:\b(room|rm\.?|flat|unit|no\.)) ?[0-9]+[A-Za-z]?[ ,]+([A-Za-z0-9.']+[ ,]+){0,4}"
        r"(Road|ROAD|Rd|RD|Street|STREET|St|ST|Avenue|AVENUE|Ave|Lane|LANE|Ln|Boulevard|Blvd|Lu|LU|Jie|Dadao|Hutong)\b"
    ),
}
# Which regexp_extract_all group holds the candidate of a pattern validated in Python.
_VALIDATED = {"resident_id": 2}
# Mainland province codes: the first two digits of a resident ID.
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54}
    | {61, 62, 63, 64, 65, 71, 81, 82, 83}
)
ID_COLUMN_MIN_CANDIDATES = 20  # see _validated_rows
_ID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]  # ISO 7064 MOD 11-2: 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, …


def is_resident_id(text: str, today: date | None = None) -> bool:
    """An 18-character mainland resident ID: a province code, a real birth date from 1900 to
    today, and the ISO 7064 MOD 11-2 check digit (X for 10)."""
    value = text.replace(" ", "").upper()
    if len(value) != 18 or not value[:17].isascii() or not value[:17].isdigit() or int(value[:2]) not in _PROVINCES:
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not date(1900, 1, 1) <= born <= (today or date.today()):
        return False
    remainder = sum(int(digit) * weight for digit, weight in zip(value[:17], _ID_WEIGHTS, strict=True)) % 11
    return value[17] == "10X98765432"[remainder]


class PublishError(UserFacingError):
    """The snapshot could not be written (no space, no permission): one line naming the folder and
    the OS error. The half-built `.staging-*` folder is removed; the previous snapshot stays."""


def _os_reason(error: BaseException) -> str:
    """The OS error in one line: `[Errno 28] No space left on device` or DuckDB's first line."""
    if isinstance(error, OSError) and error.strerror:
        return f"[Errno {error.errno}] {error.strerror}" + (f": {error.filename}" if error.filename else "")
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _publish_error(published_dir: Path, action: str, error: BaseException) -> PublishError:
    return PublishError(
        f"cannot {action} in {published_dir} ({_os_reason(error)}): free space on that disk or make the folder "
        "writable for this user, then run again; the previous snapshot stays in place"
    )


# What a failed write raises: the OS's errors, and DuckDB's for its own files (a full disk while it
# writes marts.duckdb or a Parquet file).
_WRITE_ERRORS = (OSError, duckdb.IOException)


@dataclass(frozen=True)
class PiiFinding:
    """A kind of personal data found in a column: where and how often, never the value itself."""

    table: str
    column: str
    pattern: str
    rows: int


@dataclass(frozen=True)
class StagedSnapshot:
    folder: Path
    row_counts: dict[str, int]
    dropped_columns: dict[str, list[str]]
    as_of: str | None

    @property
    def database(self) -> Path:
        return self.folder / SNAPSHOT_FILE


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _published_columns(columns: list[str], keep_contact_hashes: bool) -> tuple[list, list]:
    """The columns to publish and the contact columns left out."""
    dropped = [c for c in columns if CONTACT_COLUMN.search(c) and not (keep_contact_hashes and c.endswith("_hash"))]
    return [c for c in columns if c not in dropped], dropped


def build_snapshot(
    warehouse: Path,
    published_dir: Path,
    tables: list[str],
    *,
    run_id: str,
    keep_contact_hashes: bool = False,
    source: Any | None = None,
) -> StagedSnapshot:
    """Copy `marts.<table>` for each table into a new snapshot folder beside the published one.

    `source`: a huaxiang.engines engine to read the marts from instead of the DuckDB `warehouse`
    (the Spark target: the marts come over as Arrow tables, all in one engine call).
    """
    folder = published_dir / f".staging-{run_id}"
    try:
        return _build_snapshot(folder, warehouse, tables, keep_contact_hashes=keep_contact_hashes, source=source)
    except _WRITE_ERRORS as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise _publish_error(published_dir, "write the new snapshot", error) from error
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _build_snapshot(
    folder: Path, warehouse: Path, tables: list[str], *, keep_contact_hashes: bool, source: Any | None
) -> StagedSnapshot:
    shutil.rmtree(folder, ignore_errors=True)
    (folder / PARQUET_DIR).mkdir(parents=True)
    row_counts: dict[str, int] = {}
    dropped_columns: dict[str, list[str]] = {}
    as_of_values: list[str] = []
    conn = duckdb.connect(str(folder / SNAPSHOT_FILE))
    try:
        if source is None:
            quoted = str(warehouse).replace("'", "''")
            conn.execute(f"attach '{quoted}' as warehouse (read_only)")
        else:
            from huaxiang.engines import read_queries

            fetched = read_queries(source, {table: f"select * from {MARTS_SCHEMA}.{table}" for table in tables})
        for table in tables:
            if source is None:
                names = [row[0] for row in conn.execute(f"describe warehouse.{MARTS_SCHEMA}.{table}").fetchall()]
            else:
                names = fetched[table].column_names
            columns, dropped = _published_columns(names, keep_contact_hashes)
            if dropped:
                dropped_columns[table] = dropped
            select = ", ".join(f'"{c}"' for c in columns)
            if source is None:
                conn.execute(f"create table main.{table} as select {select} from warehouse.{MARTS_SCHEMA}.{table}")
            else:
                conn.register("source_table", fetched[table])
                conn.execute(f"create table main.{table} as select {select} from source_table")
                conn.unregister("source_table")
            row_counts[table] = conn.execute(f"select count(*) from main.{table}").fetchone()[0]
            if "as_of" in columns:
                latest = conn.execute(f"select max(as_of)::varchar from main.{table}").fetchone()[0]
                as_of_values += [latest] if latest else []
            conn.execute(
                f"copy main.{table} to ? (format parquet, compression zstd)",
                [str(folder / PARQUET_DIR / f"{table}.parquet")],
            )
        if source is None:
            conn.execute("detach warehouse")
        conn.execute("checkpoint")
    finally:
        conn.close()
    return StagedSnapshot(
        folder=folder,
        row_counts=row_counts,
        dropped_columns=dropped_columns,
        as_of=max(as_of_values) if as_of_values else None,
    )


def scan_for_pii(snapshot: StagedSnapshot) -> list[PiiFinding]:
    """Every text column of every published table, searched for the patterns of `PII_PATTERNS`.

    One DuckDB pass per table tests each text value once against all patterns together (one RE2
    alternation: about the cost of a single pattern); only the columns with a hit are counted
    pattern by pattern. A pattern with a Python validation (resident IDs: check digit, birth date)
    then reads back only its candidate rows and counts those holding a valid value. Findings name
    the table, the column, the kind of data and the number of rows, never a value.
    """
    findings = []
    any_pattern = "|".join(f"(?:{pattern})" for pattern in PII_PATTERNS.values())
    with duckdb.connect(str(snapshot.database), read_only=True) as conn:
        text_columns: dict[str, list[str]] = {}
        for table, column in conn.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'main' and data_type = 'VARCHAR' order by table_name, ordinal_position"
        ).fetchall():
            text_columns.setdefault(table, []).append(column)
        for table, columns in text_columns.items():
            hits = _count_matches(conn, table, [(column, any_pattern) for column in columns])
            suspects = [column for column, rows in zip(columns, hits, strict=True) if rows]
            if not suspects:
                continue
            checks = [(column, name) for column in suspects for name in PII_PATTERNS]
            counts = _count_matches(conn, table, [(column, PII_PATTERNS[name]) for column, name in checks])
            for (column, name), rows in zip(checks, counts, strict=True):
                if rows and name in _VALIDATED:
                    rows = _validated_rows(conn, table, column, name)
                if rows:
                    findings.append(PiiFinding(table, column, name, rows))
    return findings


def _count_matches(conn: duckdb.DuckDBPyConnection, table: str, checks: list[tuple[str, str]]) -> tuple:
    """For each (column, pattern), the rows of `table` whose column matches: one pass over the table."""
    filters = ", ".join(f"count(*) filter (where regexp_matches({_quote(column)}, ?))" for column, _ in checks)
    return conn.execute(f"select {filters} from main.{_quote(table)}", [pattern for _, pattern in checks]).fetchone()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _validated_rows(conn: duckdb.DuckDBPyConnection, table: str, column: str, name: str) -> int:
    """Rows of `column` holding at least one candidate of pattern `name` that passes validation.

    A column of random 18-digit numbers (order ids, snowflake ids) has about one date-shaped value
    in a thousand, and one in eleven of those passes the check digit by chance; a column holding
    resident IDs passes with nearly all of them. So a column with at least
    `ID_COLUMN_MIN_CANDIDATES` candidates of which fewer than half are valid is a column of
    identifiers, not of resident IDs, and yields no finding.
    """
    pattern = PII_PATTERNS[name]
    candidates = conn.execute(
        f"select regexp_extract_all({_quote(column)}, ?, {_VALIDATED[name]}) from main.{_quote(table)} "
        f"where regexp_matches({_quote(column)}, ?)",
        [pattern, pattern],
    ).fetchall()
    valid = sum(any(is_resident_id(value) for value in values) for (values,) in candidates)
    if len(candidates) >= ID_COLUMN_MIN_CANDIDATES and 2 * valid < len(candidates):
        return 0
    return valid


def discard(snapshot: StagedSnapshot) -> None:
    shutil.rmtree(snapshot.folder, ignore_errors=True)


def swap_in(
    snapshot: StagedSnapshot,
    published_dir: Path,
    *,
    run_id: str,
    source: dict | None = None,
    quality: dict | None = None,
) -> dict:
    """Write the manifest, then rename the Parquet folder, the DuckDB file and the manifest into place.

    Each rename is atomic; the manifest goes last, so it only ever names a complete snapshot.
    `source` says what the data came from and which signals it lacks (why some tags are 'unknown'
    and some marts empty), from the landing zone's source profile; `quality` lists the run's
    warnings and the reviewed exceptions in force (`huaxiang quality accept`).
    """
    tables = list(snapshot.row_counts)
    manifest = {
        "run_id": run_id,
        "as_of": snapshot.as_of,
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "schema_version": SCHEMA_VERSION,
        "source": source or {},
        "quality": quality or {"warnings": [], "accepted_exceptions": []},
        "row_counts": snapshot.row_counts,
        "dropped_columns": snapshot.dropped_columns,
        "checksums": {
            SNAPSHOT_FILE: _sha256(snapshot.database),
            **{f"{PARQUET_DIR}/{t}.parquet": _sha256(snapshot.folder / PARQUET_DIR / f"{t}.parquet") for t in tables},
        },
    }
    try:
        (snapshot.folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    except _WRITE_ERRORS as error:
        discard(snapshot)
        raise _publish_error(published_dir, "write the new snapshot's manifest", error) from error

    target_parquet = published_dir / PARQUET_DIR
    retired = published_dir / f".retired-{run_id}"
    try:
        if target_parquet.exists():
            os.replace(target_parquet, retired)
        try:
            os.replace(snapshot.folder / PARQUET_DIR, target_parquet)
        except OSError:
            if retired.exists() and not target_parquet.exists():
                os.replace(retired, target_parquet)  # the previous Parquet folder goes back
            raise
        os.replace(snapshot.database, published_dir / SNAPSHOT_FILE)
        os.replace(snapshot.folder / MANIFEST_FILE, published_dir / MANIFEST_FILE)
    except OSError as error:
        discard(snapshot)
        raise _publish_error(published_dir, "swap the new snapshot in", error) from error
    shutil.rmtree(retired, ignore_errors=True)
    discard(snapshot)
    return manifest


def clean_leftovers(published_dir: Path) -> None:
    """Remove half-built snapshots of runs that were killed before their swap."""
    for leftover in list(published_dir.glob(".staging-*")) + list(published_dir.glob(".retired-*")):
        shutil.rmtree(leftover, ignore_errors=True)
