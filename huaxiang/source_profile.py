"""What the landed source is and which signals it carries: `landing/_source.json`.

The gates were first written for the generator: a continuous 24-hour feed with every table, every
day. A real export is often not: Olist has days without an order, UCI's shop closes in the evening,
neither has campaigns or demographics. Rather than loosening the gates for everyone, the source
says what it is and each expectation that assumes a property (`when:` in a suite file) is judged
only where the property holds — and reported as *not applicable, because …* where it does not.

* `huaxiang ingest` writes the profile from what it landed: the tables and signals the source
  provides, whether every calendar day between the first and last has orders or events, and the
  rows it landed per table and day (the raw gates reconcile the warehouse against them).
* No file means the strict profile of the generator (every table and signal, every day, whole
  days); `huaxiang generate` removes a profile an earlier ingest left. A landing zone filled by
  hand is judged strictly too: nothing is relaxed without a reason written down.

Facts (flat, so a suite can name them; `FACT_MEANING` says what each means): `kind` (generated /
ingested), `every_day`, `whole_days`, `recorded` (per-day row counts are known),
`reviews_name_products`, and one `provides_<signal>` per signal of `SIGNALS`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

PROFILE_FILE = "_source.json"
GENERATED = "generated"
INGESTED = "ingested"

# Signal → what it is, and what is built on it (the explanation shown where it is missing).
SIGNALS: dict[str, tuple[str, str]] = {
    "campaigns": (
        "campaigns and campaign sends",
        "campaign_performance and the campaign marts are empty; best_channel and campaign_responsiveness "
        "are 'unknown' for every user; campaign gates check that nothing landed",
    ),
    "clickstream": (
        "behaviour events other than purchases (views, searches, carts, favourites)",
        "browsing and funnel tags are built from purchases only; conversion and search shares are "
        "undefined or trivial",
    ),
    "demographics": (
        "gender, birth date or city tier",
        "gender, age band and city tier tags are 'unknown' (or null) for every user",
    ),
    "reviews": ("product reviews", "review-based facts and tags are empty"),
    "consent": (
        "marketing consent",
        "marketing_consent is false for every user (unknown consent is no consent): nobody is reachable",
    ),
}
# Facts a suite's `when:` may name, with the strict (generator) value used when there is no profile.
STRICT_FACTS: dict[str, Any] = {
    "kind": GENERATED,
    "every_day": True,
    "whole_days": True,
    "recorded": False,
    "reviews_name_products": True,
    **{f"provides_{signal}": True for signal in SIGNALS},
    # A master-data table built from the first sightings in an activity log (UCI's products and
    # customers): its daily upserts follow the log's new ids, not a catalog's changes.
    **{f"derived_{table}": False for table in ("users", "products")},
}
FACT_MEANING: dict[str, str] = {
    "kind": "how the data was landed (generated or ingested)",
    "every_day": "every calendar day between the first and the last has orders or events",
    "whole_days": "a day's data runs until late evening (a continuous 24-hour feed)",
    "recorded": "the rows landed per table and day are recorded",
    "reviews_name_products": "every review names a product (not only an order)",
    **{f"provides_{signal}": f"the source provides {what}" for signal, (what, _) in SIGNALS.items()},
    **{
        f"derived_{table}": f"raw.{table} is derived from an activity log (first sightings), not exported"
        for table in ("users", "products")
    },
}


@dataclass(frozen=True)
class SourceProfile:
    name: str
    kind: str
    facts: Mapping[str, Any]
    # table → {day ISO → rows landed}; only days the source wrote.
    day_rows: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    path: Path | None = None  # None: no file, the strict default

    @classmethod
    def strict(cls) -> SourceProfile:
        return cls(name="unknown (no landing/_source.json)", kind=GENERATED, facts=dict(STRICT_FACTS))

    @property
    def missing_signals(self) -> list[str]:
        return [signal for signal in SIGNALS if not self.facts.get(f"provides_{signal}", True)]

    def explanations(self) -> dict[str, str]:
        """Missing signal → what it is and what stays unknown or empty because of it."""
        return {
            signal: f"{self.name} has no {SIGNALS[signal][0]}: {SIGNALS[signal][1]}" for signal in self.missing_signals
        }

    def recorded_rows(self, table: str) -> tuple[list[date], list[int]]:
        """Days and rows the source landed for a raw table (`raw.events`); empty when not recorded."""
        schema, _, name = table.rpartition(".")
        days = self.day_rows.get(name, {}) if schema == "raw" else {}
        ordered = sorted(days)
        return [date.fromisoformat(day) for day in ordered], [int(days[day]) for day in ordered]

    def unmet(self, when: Mapping[str, Any]) -> list[str]:
        """The conditions of `when` this profile does not meet, in words (empty: all met)."""
        unmet = []
        for fact, wanted in when.items():
            actual = self.facts.get(fact, STRICT_FACTS.get(fact))
            if actual != wanted:
                unmet.append(f"{fact} is {json.dumps(actual)}, needs {json.dumps(wanted)}")
        return unmet

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "facts": dict(self.facts),
            "missing_signals": self.explanations(),
            "notes": list(self.notes),
            "day_rows": {table: dict(days) for table, days in self.day_rows.items()},
        }


def profile_path(landing_dir: Path) -> Path:
    return Path(landing_dir) / PROFILE_FILE


def load_source_profile(landing_dir: Path) -> SourceProfile:
    """The landed source's profile, or the strict default when there is none."""
    path = profile_path(landing_dir)
    if not path.is_file():
        return SourceProfile.strict()
    document = json.loads(path.read_text(encoding="utf-8"))
    facts = {**STRICT_FACTS, **document.get("facts", {})}
    return SourceProfile(
        name=str(document.get("name", "unknown")),
        kind=str(document.get("kind", facts["kind"])),
        facts=facts,
        day_rows={t: {d: int(n) for d, n in days.items()} for t, days in document.get("day_rows", {}).items()},
        notes=tuple(document.get("notes", [])),
        path=path,
    )


def write_source_profile(landing_dir: Path, profile: SourceProfile) -> Path:
    """Write atomically (aside, then rename), replacing the previous source's profile."""
    path = profile_path(landing_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(profile.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def remove_source_profile(landing_dir: Path) -> None:
    """Back to the strict default (the generator's data needs no profile)."""
    profile_path(landing_dir).unlink(missing_ok=True)
