"""Small-cell suppression of the report's counts, by the rule of marts.segment_summary (docs/marts.md,
"Privacy"; docs/report.md, "Suppression"), applied to any table of user counts.

* Primary: a cell is hidden when one of its counts is from 1 to k − 1 (zero is shown: it names no
  one), or when the caller forces it (a value segment_summary hides).
* Complementary: cells that add up to a known total form a group (a tag's values within an
  audience, a row or a column of the RFM grid, a tag's values on one day). A group's hidden cells
  must be none, or at least two whose every count sums to 0 or at least k; otherwise its smallest
  visible cells (ties: the caller's order) are hidden too, one at a time, until that holds.
* Linked cells: cells of exactly the same users (the same fingerprint) are one cell, hidden in one,
  hidden in all.

Hiding only ever grows, so repeating the rounds reaches a fixpoint; each round hides at least one
more cell or stops.
"""

from __future__ import annotations

import pandas as pd


def _small(values: pd.Series, k: int) -> pd.Series:
    return (values > 0) & (values < k)


def _safe(hidden_counts: pd.DataFrame, k: int) -> bool:
    if hidden_counts.empty:
        return True
    sums = hidden_counts.sum()
    return len(hidden_counts) >= 2 and bool(((sums == 0) | (sums >= k)).all())


def suppress(
    cells: pd.DataFrame,
    k: int,
    *,
    counts: list[str],
    groups: list[str] = (),
    linked_by: str | None = None,
    forced: str | None = None,
    order: list[str] = (),
) -> pd.Series:
    """The hidden flag of every cell (a boolean Series on `cells`' index).

    counts: the user-count columns to protect; groups: columns each holding an additive group's key
    (null: the cell is in no such group); linked_by: a fingerprint column (null: linked to nothing);
    forced: a boolean column of cells hidden from the start; order: the tie-break columns after the
    first count when picking the smallest visible cell.
    """
    if cells.index.has_duplicates:
        raise ValueError("suppress needs a unique index")
    hidden = pd.Series(False, index=cells.index)
    for column in counts:
        hidden |= _small(cells[column].fillna(0), k)
    if forced:
        hidden |= cells[forced].fillna(False).astype(bool)
    # The order in which visible cells are taken as complements: smallest first, then the caller's order.
    rank = pd.Series(range(len(cells)), index=cells.sort_values([counts[0], *order], kind="stable").index)
    while True:
        before = int(hidden.sum())
        if linked_by:
            fingerprint = cells[linked_by]
            hidden |= fingerprint.notna() & hidden.groupby(fingerprint).transform("any").reindex(cells.index).fillna(
                False
            )
        for key_column in groups:
            keyed = cells.index[cells[key_column].notna()]
            for _, members in rank.loc[keyed].groupby(cells.loc[keyed, key_column], sort=True):
                visible = [index for index in members.sort_values().index if not hidden.loc[index]]
                while visible and not _safe(cells.loc[members.index[hidden.loc[members.index]], counts], k):
                    hidden.loc[visible.pop(0)] = True
        if int(hidden.sum()) == before:
            return hidden
