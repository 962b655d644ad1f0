"""Small helpers that turn numpy arrays into contract-typed Arrow columns."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from huaxiang.contract import UTC_TS


def timestamps(us: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """UTC timestamps from int64 microseconds; `mask` marks nulls."""
    return pa.array(np.asarray(us, dtype=np.int64), pa.int64(), mask=mask).view(UTC_TS)


def dates(days_since_epoch: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days_since_epoch, dtype=np.int32), pa.int32()).view(pa.date32())


def pick(values: pa.Array, index: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """values[index] as an Arrow array; `mask` marks rows that should be null."""
    return values.take(pa.array(np.asarray(index, dtype=np.int64), pa.int64(), mask=mask))


def strings(values: list[str] | tuple[str, ...]) -> pa.Array:
    return pa.array(list(values), pa.string())
