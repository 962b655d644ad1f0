"""String identifiers: a stable prefix and a zero-padded number, so that ids sort like numbers.

Clean rows count up from 1; rows injected as bad data count down from the top of the same id
space, so turning bad rows on or off never renumbers clean rows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

EVENT_WIDTH = 12
SESSION_WIDTH = 11
ORDER_WIDTH = 10
SEND_WIDTH = 10
REVIEW_WIDTH = 10
CAMPAIGN_WIDTH = 4


def width_for(count: int, minimum: int) -> int:
    return max(minimum, len(str(count)))


def format_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def top_down_numbers(width: int, already_used: int, count: int) -> np.ndarray:
    """Numbers for injected rows: 10**width - 1, 10**width - 2, ... never met by clean rows."""
    return 10**width - 1 - already_used - np.arange(count, dtype=np.int64)
