"""dbt-duckdb connection plugin: hands the PII salt to DuckDB as a session variable.

Declared in dbt_project/profiles.yml; the `hash_pii` macro compiles to `getvariable('huaxiang_pii_salt')`,
so the salt is in no compiled SQL, log line or view definition (huaxiang/pii_salt.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from dbt.adapters.duckdb.plugins import BasePlugin

from huaxiang.pii_salt import SALT_VARIABLE, resolve_salt


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict) -> None:
        self._salt = resolve_salt(Path(os.environ.get("HUAXIANG_HOME", "./.huaxiang")).expanduser().resolve())

    def configure_connection(self, conn) -> None:
        conn.execute(f"SET VARIABLE {SALT_VARIABLE} = ?", [self._salt])

    def configure_cursor(self, cursor) -> None:
        # Each dbt thread works on a cursor, a connection of its own: variables do not carry over.
        cursor.execute(f"SET VARIABLE {SALT_VARIABLE} = ?", [self._salt])
