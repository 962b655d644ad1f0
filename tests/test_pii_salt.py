"""The PII salt: a home's own, created once with owner-only permissions, or the configured one."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from huaxiang.errors import UserFacingError
from huaxiang.pii_salt import SALT_ENV, resolve_salt, salt_path, spark_safe_salt


@pytest.fixture(autouse=True)
def no_configured_salt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SALT_ENV, raising=False)


def test_a_new_home_gets_its_own_random_salt_readable_by_the_owner_only(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    salt = resolve_salt(first)
    assert len(salt) == 64 and int(salt, 16) >= 0
    assert stat.S_IMODE(salt_path(first).stat().st_mode) == 0o600
    assert resolve_salt(first) == salt, "the same home keeps its salt"
    assert resolve_salt(second) != salt, "another home gets another"


def test_a_configured_salt_wins_and_a_short_one_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SALT_ENV, "shared-salt-of-two-homes")
    assert resolve_salt(tmp_path) == "shared-salt-of-two-homes"
    assert not salt_path(tmp_path).exists()
    monkeypatch.setenv(SALT_ENV, "short")
    with pytest.raises(UserFacingError, match="at least 16"):
        resolve_salt(tmp_path)


def test_a_salt_others_can_read_or_an_empty_one_is_refused(tmp_path: Path) -> None:
    resolve_salt(tmp_path)
    salt_path(tmp_path).chmod(0o644)
    with pytest.raises(UserFacingError, match="chmod 600"):
        resolve_salt(tmp_path)
    salt_path(tmp_path).write_text("")
    salt_path(tmp_path).chmod(0o600)
    with pytest.raises(UserFacingError, match="is empty"):
        resolve_salt(tmp_path)


def test_spark_takes_only_salts_that_cannot_break_out_of_the_sql_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(spark_safe_salt(tmp_path)) == 64
    monkeypatch.setenv(SALT_ENV, "it's-a-quoted-salt-value")
    with pytest.raises(UserFacingError, match="Spark"):
        spark_safe_salt(tmp_path)
