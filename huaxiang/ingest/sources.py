"""Reading a mapping's sources into DuckDB, each row numbered by where it came from.

Long because CSV, whitespace, Parquet and XLSX are read into the same three relations by one
pipeline whose steps share the relation names, the line numbering and the per-format quirks.

Every source becomes three relations in the ingest connection:

* `__hx_raw_<name>`: the columns as read (text for CSV and XLSX), plus `_file` (path relative to
  the source folder) and `_line` (1-based line in that file, header included; for Parquet the
  row number, for XLSX the sheet row);
* `__hx_malformed_<name>`: lines that are not rows at all (wrong number of fields, broken
  quoting or encoding) with the reason and the line as text;
* the view `<name>` the mapping's SQL sees: the columns parsed as declared, `_file`, `_line`,
  and `_reject`, the first reason the row cannot be used (a parse failure or a `reject` rule).
"""

from __future__ import annotations

import glob
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from pathlib import Path

import duckdb
import pyarrow as pa

from huaxiang.errors import UserFacingError
from huaxiang.ingest.duplicates import IdenticalFile, drop_identical_files
from huaxiang.ingest.mapping import ParseSpec, SourceSpec, mapping_error
from huaxiang.ingest.sql import INTERNAL, first_line, ident, literal

SAMPLE_ROWS = 1000
PATH_COLUMN = f"{INTERNAL}path"
TEXT_COLUMN = f"{INTERNAL}text"
# trim() alone strips spaces only; whitespace-delimited files also pad with tabs.
WHITESPACE = "chr(32) || chr(9) || chr(13) || chr(11) || chr(12)"


@dataclass(frozen=True)
class PreparedSource:
    """A source checked on a sample, with empty relations in place so SQL over it can be bound."""

    name: str
    spec: SourceSpec
    file_format: str
    files: list[Path]
    columns: list[str]
    identical_files: tuple[IdenticalFile, ...] = ()  # copies left out (huaxiang.ingest.duplicates)


@dataclass(frozen=True)
class LoadedSource:
    name: str
    files: list[Path]
    columns: list[str]
    rows: int
    malformed: int

    @property
    def raw(self) -> str:
        return raw_relation(self.name)

    @property
    def malformed_lines(self) -> str:
        return malformed_relation(self.name)


def raw_relation(name: str) -> str:
    return ident(f"{INTERNAL}raw_{name}")


def malformed_relation(name: str) -> str:
    return ident(f"{INTERNAL}malformed_{name}")


def resolve_files(spec: SourceSpec, source_dir: Path) -> list[Path]:
    """The files a source's patterns match, sorted, so every run reads them in the same order."""
    found: set[Path] = set()
    for pattern in spec.files:
        full = pattern if Path(pattern).is_absolute() else str(source_dir / pattern)
        found.update(Path(match).resolve() for match in glob.glob(full, recursive=True) if Path(match).is_file())
    return sorted(found)


def prepare_source(
    con: duckdb.DuckDBPyConnection,
    mapping_path: Path,
    name: str,
    spec: SourceSpec,
    source_dir: Path,
    timezone: str,
) -> PreparedSource:
    """Find the files, check columns and formats on the first rows, create the source's (empty) view."""
    where = f"sources.{name}"
    files = resolve_files(spec, source_dir)
    if not files:
        raise mapping_error(mapping_path, f"{where}.files", f"no file matches {spec.files} in {source_dir}")
    files, identical = drop_identical_files(files, source_dir)
    file_format = spec.file_format()
    try:
        preview = _preview(con, name, spec, files, file_format)
        described = con.execute(f"DESCRIBE SELECT * FROM {preview}").fetchall()
    except duckdb.Error as error:
        raise mapping_error(
            mapping_path,
            where,
            f"cannot read {files[0].name}: {first_line(error)} "
            "(check format, delimiter, quote, encoding and header; an unclosed quote swallows the file)",
        ) from error
    columns = [column for column, *_ in described if column != PATH_COLUMN]
    _check_parse_on_sample(con, mapping_path, name, spec, preview, columns, timezone)
    _register_file_names(con, name, files, source_dir)
    con.execute(
        f"CREATE TABLE {raw_relation(name)} AS SELECT * EXCLUDE ({PATH_COLUMN}), "
        f"NULL::VARCHAR AS _file, NULL::BIGINT AS _line FROM {preview} LIMIT 0"
    )
    _empty_malformed(con, name)
    _create_parsed_view(con, mapping_path, name, spec, timezone)
    return PreparedSource(name, spec, file_format, files, columns, tuple(identical))


def load_source(con: duckdb.DuckDBPyConnection, mapping_path: Path, source: PreparedSource) -> LoadedSource:
    """Read the whole source, replacing the empty relations its view was bound to."""
    try:
        _LOADERS[source.file_format](con, source.name, source.spec, source.files, source.columns)
    except duckdb.Error as error:
        raise mapping_error(
            mapping_path, f"sources.{source.name}", f"cannot read {source.spec.files}: {first_line(error)}"
        ) from error
    rows = con.execute(f"SELECT count(*) FROM {raw_relation(source.name)}").fetchone()[0]
    malformed = con.execute(f"SELECT count(*) FROM {malformed_relation(source.name)}").fetchone()[0]
    return LoadedSource(source.name, source.files, source.columns, rows, malformed)


# --- parsing ---------------------------------------------------------------------------------


def _text(column: str) -> str:
    return f"nullif(trim(CAST({ident(column)} AS VARCHAR)), '')"


def parse_expression(column: str, spec: ParseSpec, timezone: str) -> str:
    """SQL turning one source column into its declared type; NULL where the text does not parse."""
    text = _text(column)
    if spec.type == "string":
        return f"CAST({ident(column)} AS VARCHAR)"
    if spec.type == "integer":
        return f"TRY_CAST({text} AS BIGINT)"
    if spec.type == "boolean":
        return f"TRY_CAST({text} AS BOOLEAN)"
    if spec.type == "number":
        if spec.thousands:
            text = f"replace({text}, {literal(spec.thousands)}, '')"
        if spec.decimal != ".":
            text = f"replace({text}, {literal(spec.decimal)}, '.')"
        return f"TRY_CAST({text} AS DOUBLE)"
    formats = spec.formats
    if formats == ["epoch"]:
        return f"to_timestamp(TRY_CAST({text} AS DOUBLE))"
    if formats == ["epoch_ms"]:
        return f"to_timestamp(TRY_CAST({text} AS DOUBLE) / 1000)"
    if formats:
        parsed = f"try_strptime({text}, [{', '.join(literal(f) for f in formats)}])"
    else:
        parsed = f"TRY_CAST({text} AS TIMESTAMP)"
    if spec.type == "date":
        return f"CAST({parsed} AS DATE)"
    # Naive timestamps become instants here only when the column names its zone; otherwise the
    # mapping's zone applies when the value lands in a contract column.
    return f"timezone({literal(spec.timezone)}, {parsed})" if spec.timezone else parsed


def _describe_format(spec: ParseSpec) -> str:
    if spec.formats:
        return f"{spec.type} with format {' or '.join(repr(f) for f in spec.formats)}"
    if spec.type == "number" and spec.decimal != ".":
        return f"number with decimal separator {spec.decimal!r}"
    return spec.type


def _check_parse_on_sample(
    con: duckdb.DuckDBPyConnection,
    mapping_path: Path,
    name: str,
    spec: SourceSpec,
    preview: str,
    columns: list[str],
    timezone: str,
) -> None:
    """Unknown columns and formats that parse none of the first rows are mapping errors, not rejects."""
    for column, parse in spec.parse.items():
        where = f"sources.{name}.parse.{column}"
        if column not in columns:
            raise mapping_error(mapping_path, where, f"no such column; the source has {', '.join(columns)}")
        if parse.timezone:
            check_timezone(con, mapping_path, f"{where}.timezone", parse.timezone)
        sample = (
            f"SELECT {_text(column)} AS text, {parse_expression(column, parse, timezone)} AS parsed "
            f"FROM {preview} LIMIT {SAMPLE_ROWS}"
        )
        try:
            present, parsed, examples = con.execute(
                f"SELECT count(text), count(parsed), list(text) FILTER (WHERE parsed IS NULL)[1:3] FROM ({sample})"
            ).fetchone()
        except duckdb.Error as error:
            raise mapping_error(mapping_path, where, first_line(error)) from error
        if present and not parsed:
            raise mapping_error(
                mapping_path,
                where,
                f"none of the first {present} values parse as {_describe_format(parse)} (e.g. {examples})",
            )


def check_timezone(con: duckdb.DuckDBPyConnection, mapping_path: Path, where: str, zone: str) -> None:
    try:
        con.execute(f"SELECT timezone({literal(zone)}, TIMESTAMP '2000-01-01')").fetchone()
    except duckdb.Error as error:
        raise mapping_error(mapping_path, where, f"unknown timezone {zone!r}") from error


def _create_parsed_view(
    con: duckdb.DuckDBPyConnection, mapping_path: Path, name: str, spec: SourceSpec, timezone: str
) -> None:
    parsed_relation = ident(f"{INTERNAL}parsed_{name}")
    replaced = ", ".join(
        f"{parse_expression(column, parse, timezone)} AS {ident(column)}" for column, parse in spec.parse.items()
    )
    failures = " ".join(
        f"WHEN {_text(column)} IS NOT NULL AND ({parse_expression(column, parse, timezone)}) IS NULL "
        f"THEN {literal('bad_' + column)}"
        for column, parse in spec.parse.items()
        if parse.type != "string"
    )
    con.execute(
        f"CREATE VIEW {parsed_relation} AS SELECT * {f'REPLACE ({replaced})' if replaced else ''}, "
        f"{f'CASE {failures} END' if failures else 'NULL'} AS {INTERNAL}parse_reason "
        f"FROM {raw_relation(name)}"
    )
    for reason, condition in spec.reject.items():
        try:
            con.execute(f"DESCRIBE SELECT ({condition}) FROM {parsed_relation}")
        except duckdb.Error as error:
            raise mapping_error(mapping_path, f"sources.{name}.reject.{reason}", first_line(error)) from error
    rules = " ".join(f"WHEN ({condition}) THEN {literal(reason)}" for reason, condition in spec.reject.items())
    rule_reason = f"CASE {rules} END" if rules else "NULL"
    con.execute(
        f"CREATE VIEW {ident(name)} AS SELECT * EXCLUDE ({INTERNAL}parse_reason), "
        f"coalesce({INTERNAL}parse_reason, {rule_reason}) AS _reject FROM {parsed_relation}"
    )


# --- readers ---------------------------------------------------------------------------------


def _register_file_names(con: duckdb.DuckDBPyConnection, name: str, files: list[Path], source_dir: Path) -> None:
    """Rejects name files relative to the source folder, so they read the same on every machine."""
    shown = [
        str(f.relative_to(source_dir.resolve())) if f.is_relative_to(source_dir.resolve()) else str(f) for f in files
    ]
    table = pa.table({PATH_COLUMN: [str(f) for f in files], "_file": shown})
    con.register(f"{INTERNAL}files_arrow_{name}", table)
    con.execute(f"CREATE TABLE {_files_table(name)} AS SELECT * FROM {INTERNAL}files_arrow_{name}")
    con.unregister(f"{INTERNAL}files_arrow_{name}")


def _file_list(files: list[Path]) -> str:
    return "[" + ", ".join(literal(str(f)) for f in files) + "]"


def _csv_options(spec: SourceSpec, columns: list[str] | None) -> list[str]:
    options = [
        "all_varchar = true",
        f"header = {literal(spec.header)}",
        f"delim = {literal(spec.delimiter)}",
        f"quote = {literal(spec.quote)}",
        f"skip = {spec.skip}",
        f"encoding = {literal(spec.encoding)}",
        f"nullstr = [{', '.join(literal(v) for v in ['', *spec.null_values])}]",
        f"filename = {literal(PATH_COLUMN)}",
        "ignore_errors = true",
    ]
    if columns and spec.header:
        options.append(f"names = [{', '.join(literal(c) for c in columns)}]")
    elif columns:
        options.append("columns = {" + ", ".join(f"{literal(c)}: 'VARCHAR'" for c in columns) + "}")
    return options


def _preview(con: duckdb.DuckDBPyConnection, name: str, spec: SourceSpec, files: list[Path], fmt: str) -> str:
    """A relation over the source's columns (plus the file path) to describe and sample."""
    if fmt == "csv":
        return f"read_csv({_file_list(files)}, {', '.join(_csv_options(spec, spec.columns))})"
    if fmt == "whitespace":
        columns = _whitespace_columns(spec, files)
        split = _whitespace_split(_whitespace_lines(spec, files), columns, spec.null_values)
        return f"(SELECT {', '.join(ident(c) for c in columns)}, {PATH_COLUMN} FROM {split})"
    if fmt == "parquet":
        return f"read_parquet({_file_list(files)}, filename = {literal(PATH_COLUMN)})"
    _read_xlsx(con, name, spec, files)
    return f"(SELECT * EXCLUDE (_line) FROM {ident(INTERNAL + 'xlsx_' + name)})"


def _files_table(name: str) -> str:
    return ident(f"{INTERNAL}files_{name}")


def _empty_malformed(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.execute(f"CREATE TABLE {malformed_relation(name)} (_file VARCHAR, _line BIGINT, reason VARCHAR, raw VARCHAR)")


def _load_csv(
    con: duckdb.DuckDBPyConnection, name: str, spec: SourceSpec, files: list[Path], columns: list[str]
) -> None:
    """Load a CSV whole; DuckDB keeps malformed lines aside, and line numbers are counted back from records.

    DuckDB numbers records, not lines: a quoted field spanning lines is one record, while skipped
    and blank lines count. It stores each malformed record with its number; a good row's record
    number is its position plus the malformed records before it. A physical line is the record
    number plus the line breaks inside the quoted fields of the records before it. The common case
    (no malformed record, no multi-line field) skips the joins and the running sum.
    """
    scan, numbered, bad = (ident(f"{INTERNAL}{part}_{name}") for part in ("scan", "numbered", "bad"))
    errors, scans = f"{INTERNAL}errors_{name}", f"{INTERNAL}scans_{name}"
    reader = [*_csv_options(spec, spec.columns), "store_rejects = true"]
    reader += [f"rejects_table = {literal(errors)}", f"rejects_scan = {literal(scans)}"]
    con.execute(f"CREATE TABLE {scan} AS SELECT * FROM read_csv({_file_list(files)}, {', '.join(reader)})")
    con.execute(f"""
        CREATE TABLE {bad} AS
        WITH errors AS (
            SELECT s.file_path AS {PATH_COLUMN}, e.line AS record,
                   min(lower(replace(e.error_type, ' ', '_'))) AS reason,
                   any_value(ltrim(e.csv_line, chr(13) || chr(10))) AS raw
            FROM {ident(errors)} e JOIN {ident(scans)} s USING (scan_id, file_id)
            GROUP BY ALL
        ),
        ranked AS (
            SELECT *, len(raw) - len(replace(raw, chr(10), '')) AS breaks,
                   row_number() OVER (PARTITION BY {PATH_COLUMN} ORDER BY record) - 1 AS rank
            FROM errors
        )
        SELECT *, record - rank AS gap,
               sum(breaks) OVER (PARTITION BY {PATH_COLUMN} ORDER BY record) AS breaks_through
        FROM ranked
    """)
    has_bad = con.execute(f"SELECT count(*) > 0 FROM {bad}").fetchone()[0]
    multiline = " OR ".join(f"contains({ident(c)}, chr(10))" for c in columns) or "FALSE"
    has_breaks = con.execute(f"SELECT coalesce(bool_or({multiline}), FALSE) FROM {scan}").fetchone()[0]
    breaks = " + ".join(f"coalesce(len({ident(c)}) - len(replace({ident(c)}, chr(10), '')), 0)" for c in columns)
    before, breaks = (
        (
            f"coalesce(sum({breaks}) OVER (PARTITION BY {PATH_COLUMN} ORDER BY s.rowid "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)",
            breaks,
        )
        if has_breaks
        else ("0", "0")
    )
    first = 1 + spec.skip + (1 if spec.header else 0)
    good = f"""
        SELECT s.*, {first} + s.rowid - f.first_rowid AS {INTERNAL}position,
               {before} AS {INTERNAL}before, {breaks} AS {INTERNAL}breaks
        FROM {scan} s JOIN {_first_rowids(scan)} f USING ({PATH_COLUMN})
    """
    if has_bad:
        con.execute(f"""
            CREATE TABLE {numbered} AS
            SELECT g.*, g.{INTERNAL}position + coalesce(b.rank + 1, 0) AS {INTERNAL}record,
                   coalesce(b.breaks_through, 0) AS {INTERNAL}bad_before
            FROM ({good}) g ASOF LEFT JOIN {bad} b
                ON g.{PATH_COLUMN} = b.{PATH_COLUMN} AND g.{INTERNAL}position >= b.gap
        """)
        rows = numbered
    else:
        rows = f"(SELECT *, {INTERNAL}position AS {INTERNAL}record, 0 AS {INTERNAL}bad_before FROM ({good}))"
    helpers = ", ".join(f"{INTERNAL}{h}" for h in ("position", "before", "breaks", "record", "bad_before"))
    con.execute(f"""
        CREATE OR REPLACE TABLE {raw_relation(name)} AS
        SELECT n.* EXCLUDE ({PATH_COLUMN}, {helpers}), f._file,
               n.{INTERNAL}record + n.{INTERNAL}before + n.{INTERNAL}bad_before AS _line
        FROM {rows} n JOIN {_files_table(name)} f USING ({PATH_COLUMN})
    """)
    if has_bad:
        con.execute(f"""
            CREATE OR REPLACE TABLE {malformed_relation(name)} AS
            SELECT f._file,
                   b.record + coalesce(n.{INTERNAL}before + n.{INTERNAL}breaks, 0)
                   + b.breaks_through - b.breaks AS _line,
                   b.reason, b.raw
            FROM {bad} b
            ASOF LEFT JOIN {numbered} n ON b.{PATH_COLUMN} = n.{PATH_COLUMN} AND b.record > n.{INTERNAL}record
            JOIN {_files_table(name)} f ON f.{PATH_COLUMN} = b.{PATH_COLUMN}
        """)
        con.execute(f"DROP TABLE {numbered}")
    for relation in (scan, bad, ident(errors), ident(scans)):
        con.execute(f"DROP TABLE {relation}")


def _first_rowids(table: str) -> str:
    """Where each file starts: files are read in order and keep it, so a file's rows are contiguous."""
    return f"(SELECT {PATH_COLUMN}, min(rowid) AS first_rowid FROM {table} GROUP BY {PATH_COLUMN})"


def _whitespace_columns(spec: SourceSpec, files: list[Path]) -> list[str]:
    if spec.columns:
        return spec.columns
    with files[0].open(encoding=spec.encoding) as handle:
        return next(islice(handle, spec.skip, None), "").split()


def _whitespace_lines(spec: SourceSpec, files: list[Path]) -> str:
    """Each physical line as one text value (blank lines included, as NULL, to keep the count)."""
    skip = spec.skip + (1 if spec.header else 0)
    return (
        f"read_csv({_file_list(files)}, columns = {{{literal(TEXT_COLUMN)}: 'VARCHAR'}}, header = false, "
        f"delim = chr(1), quote = '', escape = '', skip = {skip}, encoding = {literal(spec.encoding)}, "
        f"filename = {literal(PATH_COLUMN)})"
    )


def _whitespace_split(relation: str, columns: list[str], null_values: list[str]) -> str:
    fields = f"{INTERNAL}fields"
    nulls = ", ".join(literal(v) for v in null_values)

    def pick(index: int) -> str:
        value = f"{fields}[{index}]"
        return f"CASE WHEN {value} IN ({nulls}) THEN NULL ELSE {value} END" if nulls else value

    picks = ", ".join(f"{pick(i)} AS {ident(c)}" for i, c in enumerate(columns, start=1))
    return (
        f"(SELECT *, {picks} FROM "
        f"(SELECT *, regexp_split_to_array(trim({TEXT_COLUMN}, {WHITESPACE}), '\\s+') AS {fields} "
        f"FROM {relation}))"
    )


def _load_whitespace(
    con: duckdb.DuckDBPyConnection, name: str, spec: SourceSpec, files: list[Path], columns: list[str]
) -> None:
    """Fields separated by runs of spaces or tabs; every non-blank line is one record."""
    scan, numbered = ident(f"{INTERNAL}scan_{name}"), ident(f"{INTERNAL}numbered_{name}")
    first = spec.skip + (1 if spec.header else 0)
    con.execute(f"CREATE TABLE {scan} AS SELECT * FROM {_whitespace_lines(spec, files)}")
    con.execute(f"""
        CREATE TABLE {numbered} AS
        SELECT s.*, {first} + 1 + s.rowid - f.first_rowid AS _line
        FROM {scan} s JOIN {_first_rowids(scan)} f USING ({PATH_COLUMN})
    """)
    split = _whitespace_split(numbered, columns, spec.null_values)
    split = f"{split} s JOIN {_files_table(name)} f USING ({PATH_COLUMN})"
    fields = f"len(s.{INTERNAL}fields)"
    lines = f"trim(coalesce(s.{TEXT_COLUMN}, ''), {WHITESPACE}) <> ''"
    con.execute(f"""
        CREATE OR REPLACE TABLE {raw_relation(name)} AS
        SELECT {", ".join("s." + ident(c) for c in columns)}, f._file, s._line
        FROM {split} WHERE {lines} AND {fields} = {len(columns)}
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE {malformed_relation(name)} AS
        SELECT f._file, s._line, 'wrong_field_count: expected {len(columns)}, found ' || {fields} AS reason,
               s.{TEXT_COLUMN} AS raw
        FROM {split} WHERE {lines} AND {fields} <> {len(columns)}
    """)
    con.execute(f"DROP TABLE {numbered}")
    con.execute(f"DROP TABLE {scan}")


def _load_parquet(
    con: duckdb.DuckDBPyConnection, name: str, spec: SourceSpec, files: list[Path], columns: list[str]
) -> None:
    """Parquet rows are numbered from 1 within each file; there is no malformed line."""
    con.execute(f"""
        CREATE OR REPLACE TABLE {raw_relation(name)} AS
        SELECT r.* EXCLUDE ({PATH_COLUMN}, file_row_number), f._file, r.file_row_number + 1 AS _line
        FROM read_parquet({_file_list(files)}, filename = {literal(PATH_COLUMN)}, file_row_number = true) r
        JOIN {_files_table(name)} f USING ({PATH_COLUMN})
    """)


def _load_xlsx(
    con: duckdb.DuckDBPyConnection, name: str, spec: SourceSpec, files: list[Path], columns: list[str]
) -> None:
    """The sheet was read by the preview; here it only gets its file names."""
    sheet = ident(f"{INTERNAL}xlsx_{name}")
    con.execute(f"""
        CREATE OR REPLACE TABLE {raw_relation(name)} AS
        SELECT s.* EXCLUDE ({PATH_COLUMN}, _line), f._file, s._line
        FROM {sheet} s JOIN {_files_table(name)} f USING ({PATH_COLUMN})
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE {malformed_relation(name)} AS
        SELECT f._file, s._line, s.reason, s.raw
        FROM {ident(INTERNAL + "xlsx_malformed_" + name)} s JOIN {_files_table(name)} f USING ({PATH_COLUMN})
    """)


def _cell_text(value: object) -> str | None:
    """XLSX cells arrive typed; they become text like a CSV field, so parsing works the same way."""
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(con: duckdb.DuckDBPyConnection, name: str, spec: SourceSpec, files: list[Path]) -> None:
    """Read every sheet row in Python (openpyxl); a spreadsheet is small enough for that."""
    try:
        from openpyxl import load_workbook
    except ImportError as error:
        raise UserFacingError(
            f"sources.{name}: reading .xlsx needs the optional package openpyxl (pip install openpyxl); "
            "or save the sheet as CSV and set format: csv"
        ) from error
    header = spec.columns
    rows: list[list[str | None]] = []
    malformed: list[list[object]] = []
    for path in files:
        book = load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = book[spec.sheet] if spec.sheet else book.active
        except KeyError as error:
            raise UserFacingError(f"sources.{name}.sheet: {path.name} has no sheet {spec.sheet!r}") from error
        numbered = islice(enumerate(sheet.iter_rows(values_only=True), start=1), spec.skip, None)
        if spec.header:
            names = [_cell_text(cell) for cell in next(numbered, (0, ()))[1]]
            header = header or [n for n in names if n is not None]
        if not header:
            raise UserFacingError(f"sources.{name}: {path.name} has no header row; give columns")
        for number, cells in numbered:
            values = [_cell_text(cell) for cell in cells]
            if all(value is None for value in values):
                continue
            if any(value is not None for value in values[len(header) :]):
                raw = ",".join(value or "" for value in values)
                malformed.append([str(path), number, "too_many_columns", raw])
                continue
            values += [None] * (len(header) - len(values))
            rows.append([*values[: len(header)], str(path), number])
        book.close()
    names = [*header, PATH_COLUMN, "_line"]
    sheet_table = pa.table(
        {column: [row[i] for row in rows] for i, column in enumerate(names)},
        schema=pa.schema([*((c, pa.string()) for c in header), (PATH_COLUMN, pa.string()), ("_line", pa.int64())]),
    )
    malformed_table = pa.table(
        {column: [row[i] for row in malformed] for i, column in enumerate([PATH_COLUMN, "_line", "reason", "raw"])},
        schema=pa.schema(
            [(PATH_COLUMN, pa.string()), ("_line", pa.int64()), ("reason", pa.string()), ("raw", pa.string())]
        ),
    )
    for relation, table in (("xlsx_", sheet_table), ("xlsx_malformed_", malformed_table)):
        con.register(f"{INTERNAL}arrow", table)
        con.execute(f"CREATE TABLE {ident(INTERNAL + relation + name)} AS SELECT * FROM {INTERNAL}arrow")
        con.unregister(f"{INTERNAL}arrow")


_LOADERS: dict[str, Callable[[duckdb.DuckDBPyConnection, str, SourceSpec, list[Path], list[str]], None]] = {
    "csv": _load_csv,
    "whitespace": _load_whitespace,
    "parquet": _load_parquet,
    "xlsx": _load_xlsx,
}
