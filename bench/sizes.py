"""Benchmark sizes: users × landed days of generated data."""

from __future__ import annotations

import re
from dataclasses import dataclass

CUSTOM_SIZE = re.compile(r"(?P<users>[0-9]+)x(?P<days>[0-9]+)")


@dataclass(frozen=True)
class Size:
    name: str
    users: int
    days: int  # days of the full build; the benchmark generates `--days-after` more for the one-day runs


SIZES = {
    "S": Size("S", 10_000, 60),
    "M": Size("M", 100_000, 90),
    "L": Size("L", 1_000_000, 90),
}


def parse_size(text: str) -> Size:
    """A named size (S, M, L) or a custom one written `<users>x<days>`, e.g. `300x5`."""
    named = SIZES.get(text.upper())
    if named:
        return named
    match = CUSTOM_SIZE.fullmatch(text)
    if not match or int(match["users"]) < 1 or int(match["days"]) < 1:
        raise ValueError(f"size must be one of {', '.join(SIZES)} or <users>x<days> (e.g. 300x5), got '{text}'")
    return Size(text, int(match["users"]), int(match["days"]))
