"""Reviewed exceptions: a person looked at a failed gate on a day and decided the data is right.

`huaxiang quality accept CHECK --day D --why TEXT` records one in the home
(`$HUAXIANG_HOME/quality/accepted.json`); the next run judges that check's failures on that day as
accepted (listed with the reason, counted as passed), so the day publishes, and the published
manifest lists every exception in force. An exception covers one check on one day: a failure that
also falls on other days keeps failing on those, and a failure that cannot be pinned on a day (a
changed schema) is never accepted this way.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

ACCEPTED_FILE = Path("quality") / "accepted.json"


@dataclass(frozen=True)
class AcceptedException:
    check: str
    day: str  # ISO date
    why: str
    accepted_at: str
    accepted_by: str


def accepted_path(home: Path) -> Path:
    return home / ACCEPTED_FILE


def load_accepted(home: Path) -> list[AcceptedException]:
    path = accepted_path(home)
    if not path.is_file():
        return []
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
        return [AcceptedException(**item) for item in items]
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path} is not a list of accepted exceptions ({error}); fix or remove it") from error


def accepted_days(home: Path, check: str) -> dict[date, str]:
    """Day → why, for one check."""
    return {date.fromisoformat(item.day): item.why for item in load_accepted(home) if item.check == check}


def accept(home: Path, check: str, day: date, why: str) -> AcceptedException:
    """Record (or replace) the exception for `check` on `day`; written atomically."""
    if not why.strip():
        raise ValueError("--why must say what was reviewed (e.g. 'Anniversary sale, confirmed with ops')")
    exception = AcceptedException(
        check=check,
        day=day.isoformat(),
        why=" ".join(why.split()),
        accepted_at=datetime.now(UTC).isoformat(timespec="seconds"),
        accepted_by=os.environ.get("HUAXIANG_USER") or _user(),
    )
    kept = [item for item in load_accepted(home) if (item.check, item.day) != (check, exception.day)]
    items = sorted([*kept, exception], key=lambda item: (item.day, item.check))
    path = accepted_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps([asdict(item) for item in items], indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)
    return exception


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
