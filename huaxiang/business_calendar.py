"""The business calendar: the days a shop's volume is expected to differ from an ordinary day.

Shipped as data (`business_calendar.yml` beside this file: 618, 双11, 双12, 年货节, Chinese New Year,
Black Friday …) and extendable per home (`$HUAXIANG_HOME/calendar.yml`, same format; an event of the
same name replaces the shipped one). The raw volume gates judge a calendar day against the same day
of the event in past years and leave it out of the ordinary baseline; the generator's `promotions`
and `cny_dip` scenarios use the same days, so the two always agree on what is special.

    cal = load_calendar()
    cal.special_days(date(2026, 11, 1), date(2026, 11, 30))[date(2026, 11, 11)]
    # CalendarDay(name='double_11', label='双11', kind='promotion', peak=True, offset=0, year=2026)

`offset` is the day's distance from the occurrence's peak (negative in the run-up), so a day can be
matched with the same day of the event in another year.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

SHIPPED_CALENDAR = Path(__file__).with_name("business_calendar.yml")
HOME_CALENDAR = "calendar.yml"
KINDS = ("promotion", "holiday")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Years a recurring event is laid out for: wide enough for any history a shop has.
_FIRST_YEAR, _LAST_YEAR = 2000, 2100


class CalendarError(ValueError):
    """A calendar file is malformed; the message names the file, the event and the field."""


@dataclass(frozen=True)
class CalendarDay:
    name: str  # the event, e.g. double_11
    label: str  # for people, e.g. 双11
    kind: str  # promotion (volume rises) or holiday (volume falls)
    peak: bool  # the main day of the occurrence
    offset: int  # days from the occurrence's peak (negative: before it)
    year: int  # the occurrence's year (its peak's)


@dataclass(frozen=True)
class Occurrence:
    first: date
    last: date
    peak: date


@dataclass(frozen=True)
class Event:
    name: str
    label: str
    kind: str
    occurrences: tuple[Occurrence, ...]

    def days(self) -> Iterator[tuple[date, CalendarDay]]:
        for occurrence in self.occurrences:
            day = occurrence.first
            while day <= occurrence.last:
                offset = (day - occurrence.peak).days
                yield day, CalendarDay(self.name, self.label, self.kind, offset == 0, offset, occurrence.peak.year)
                day += timedelta(days=1)


@dataclass(frozen=True)
class BusinessCalendar:
    events: tuple[Event, ...]
    sources: tuple[str, ...]  # the files it was read from

    def special_days(self, first: date, last: date) -> dict[date, CalendarDay]:
        """Every calendar day in [first, last]. Where events overlap, the one listed first wins
        (events of the home's file come before the shipped ones)."""
        days: dict[date, CalendarDay] = {}
        for event in self.events:
            for day, info in event.days():
                if first <= day <= last:
                    days.setdefault(day, info)
        return days

    def event(self, name: str) -> Event:
        for event in self.events:
            if event.name == name:
                return event
        raise KeyError(name)


def load_calendar(home: Path | None = None) -> BusinessCalendar:
    """The shipped calendar merged with `home`'s `calendar.yml` (default home: $HUAXIANG_HOME)."""
    if home is None:
        home = Path(os.environ.get("HUAXIANG_HOME", ".huaxiang")).expanduser().resolve()
    own = home / HOME_CALENDAR
    own_stamp = own.stat().st_mtime_ns if own.is_file() else None
    return _load(str(own) if own_stamp is not None else None, own_stamp)


@lru_cache(maxsize=8)
def _load(own: str | None, _stamp: int | None) -> BusinessCalendar:
    documents = [(Path(own), _read(Path(own)))] if own else []
    documents.append((SHIPPED_CALENDAR, _read(SHIPPED_CALENDAR)))
    specs: dict[str, tuple[Path, Mapping[str, Any]]] = {}
    for path, document in documents:
        for index, spec in enumerate(document):
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise CalendarError(f"{path}: events[{index}]: needs a name")
            specs.setdefault(spec["name"], (path, spec))  # the home's file comes first and wins
    built: dict[str, Event] = {}
    for name in specs:
        _build(name, specs, built, ())
    return BusinessCalendar(tuple(built[name] for name in specs), tuple(str(path) for path, _ in documents))


def _read(path: Path) -> list[Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise CalendarError(f"{path}: not valid YAML: {error}") from error
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, list):
        raise CalendarError(f"{path}: expected a mapping with a list `events:`")
    return events


def _build(
    name: str, specs: Mapping[str, tuple[Path, Mapping[str, Any]]], built: dict[str, Event], seen: tuple[str, ...]
) -> Event:
    if name in built:
        return built[name]
    path, spec = specs[name]
    where = f"{path}: event {name}"
    if name in seen:
        raise CalendarError(f"{where}: relative_to forms a cycle ({' → '.join((*seen, name))})")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise CalendarError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    rules = [key for key in ("recurring", "relative_to", "nth_weekday", "dates") if key in spec]
    if len(rules) != 1:
        raise CalendarError(f"{where}: needs exactly one of recurring, relative_to, nth_weekday, dates")
    try:
        occurrences = _occurrences(rules[0], spec, specs, built, (*seen, name))
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, CalendarError):
            raise
        raise CalendarError(f"{where}: {rules[0]}: {error}") from error
    event = Event(name, str(spec.get("label", name)), kind, tuple(sorted(occurrences, key=lambda o: o.first)))
    built[name] = event
    return event


def _occurrences(
    rule: str,
    spec: Mapping[str, Any],
    specs: Mapping[str, tuple[Path, Mapping[str, Any]]],
    built: dict[str, Event],
    seen: tuple[str, ...],
) -> list[Occurrence]:
    offset = int(spec.get("peak_offset", 0))
    if rule == "dates":
        ranges = [(date.fromisoformat(str(a)), date.fromisoformat(str(b))) for a, b in spec["dates"]]
        return [Occurrence(a, b, a + timedelta(days=offset)) for a, b in ranges]
    if rule == "relative_to":
        relative = spec["relative_to"]
        anchor = _build(str(relative["anchor"]), specs, built, seen)
        start, end = int(relative["from"]), int(relative["to"])
        return [
            Occurrence(o.peak + timedelta(days=start), o.peak + timedelta(days=end), o.peak + timedelta(start + offset))
            for o in anchor.occurrences
        ]
    occurrences = []
    for year in range(_FIRST_YEAR, _LAST_YEAR + 1):
        if rule == "recurring":
            first = _month_day(spec["recurring"]["from"], year)
            last = _month_day(spec["recurring"]["to"], year)
            if last < first:
                last = _month_day(spec["recurring"]["to"], year + 1)
            peak = _month_day(spec["peak"], year) if "peak" in spec else first + timedelta(days=offset)
            if peak < first:
                peak = _month_day(spec["peak"], year + 1)
        else:
            nth = spec["nth_weekday"]
            first = _nth_weekday(year, int(nth["month"]), str(nth["weekday"]), int(nth["n"]))
            first, last = first + timedelta(days=int(nth.get("from", 0))), first + timedelta(days=int(nth.get("to", 0)))
            peak = first + timedelta(days=offset)
        occurrences.append(Occurrence(first, last, peak))
    return occurrences


def _month_day(text: Any, year: int) -> date:
    month, day = str(text).split("-")
    return date(year, int(month), int(day))


def _nth_weekday(year: int, month: int, weekday: str, n: int) -> date:
    if weekday not in _WEEKDAYS:
        raise ValueError(f"weekday must be one of {', '.join(_WEEKDAYS)}")
    first = date(year, month, 1)
    shift = (_WEEKDAYS.index(weekday) - first.weekday()) % 7
    return first + timedelta(days=shift + 7 * (n - 1))
