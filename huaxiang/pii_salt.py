"""The secret salt PII is hashed with: one per home, never in SQL text, logs or the warehouse.

`HUAXIANG_PII_SALT`, when set, is the salt (share one across homes that must hash alike). Otherwise
the home keeps its own: `$HUAXIANG_HOME/pii_salt`, 32 random bytes as hex, created on first use with
owner-only permissions. dbt never sees the value as text: on DuckDB a connection plugin
(huaxiang/duckdb_salt_plugin.py) sets it as a session variable that the `hash_pii` macro reads with
`getvariable`; on Spark it is a session conf substituted at parse time (dbt_project/profiles.yml).
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

from huaxiang.errors import UserFacingError

SALT_ENV = "HUAXIANG_PII_SALT"
# The DuckDB session variable the compiled SQL reads the salt from (macro duckdb__hash_pii).
SALT_VARIABLE = "huaxiang_pii_salt"
SALT_FILE = "pii_salt"
MIN_SALT_LENGTH = 16
# Spark substitutes the salt into the SQL text before parsing: a quote or backslash would break out.
_SPARK_SAFE = re.compile(r"[A-Za-z0-9_\-+/=.:]+")


def salt_path(home: Path) -> Path:
    return home / SALT_FILE


def resolve_salt(home: Path) -> str:
    """The configured salt, else the home's own (created now if the home has none yet)."""
    configured = os.environ.get(SALT_ENV, "")
    if configured:
        if len(configured) < MIN_SALT_LENGTH:
            raise UserFacingError(
                f"{SALT_ENV} is {len(configured)} characters: use at least {MIN_SALT_LENGTH} random ones, "
                f"or unset it to let the home keep its own ({salt_path(home)})"
            )
        return configured
    return _home_salt(home)


def spark_safe_salt(home: Path) -> str:
    salt = resolve_salt(home)
    if not _SPARK_SAFE.fullmatch(salt):
        raise UserFacingError(
            f"{SALT_ENV} holds characters Spark cannot take in a session conf (quotes, spaces, backslashes): "
            "use letters, digits and - _ + / = . : only"
        )
    return salt


def _home_salt(home: Path) -> str:
    path = salt_path(home)
    try:
        return _read_salt(path)
    except FileNotFoundError:
        pass
    home.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: of two first runs started at once, one writes and both read the same salt.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_salt(path)
    except OSError as error:
        raise UserFacingError(f"cannot create the PII salt {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_hex(32) + "\n")
    return _read_salt(path)


def _read_salt(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise UserFacingError(
            f"the PII salt {path} can be read by others (mode {mode:o}): run `chmod 600 {path}`"
        )
    salt = path.read_text().strip()
    if not salt:
        # A salt being written by a concurrent first run reads empty for an instant; an empty file
        # left behind would hash every contact with no secret at all.
        raise UserFacingError(f"the PII salt {path} is empty: delete it to get a new one (hashes will change)")
    return salt
