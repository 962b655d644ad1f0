"""Bad rows for the quarantine path: each injected row carries exactly one fault.

Faults are listed in `REJECT_REASONS` in precedence order (the staging layer classifies a row by the
first rule it matches). A bad row is always an extra row, never a changed clean row, and is built so
that no earlier rule also matches it and no other row is rejected because of it: injected orders have
no items, injected rows take fresh keys (counted down from the top of the id space) unless they are
duplicates, and an injected order line points at an existing order and product.

`REJECT_REASONS` are the faults the generator injects, in staging's precedence: the var
`reject_precedence` of dbt_project.yml, which the staging classifier writes its rules in the order
of. The generator never writes a non-finite amount (NaN / ±inf are quarantined as
`non_finite_amount`, ahead of `negative_amount`), so its negative amounts stay `negative_amount`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from huaxiang.contract import RAW_TABLES
from huaxiang.generator.clock import US_PER_DAY
from huaxiang.generator.columns import pick, strings
from huaxiang.generator.ids import (
    EVENT_WIDTH,
    ORDER_WIDTH,
    REVIEW_WIDTH,
    SEND_WIDTH,
    format_ids,
    top_down_numbers,
)
from huaxiang.settings import dbt_vars

INJECTED_FAULTS = frozenset(
    {"null_key", "duplicate", "orphan_user", "negative_amount", "future_timestamp", "malformed_text"}
)
REJECT_REASONS: tuple[str, ...] = tuple(
    reason for reason in dbt_vars()["reject_precedence"] if reason in INJECTED_FAULTS
)

FAULTS: dict[str, tuple[str, ...]] = {
    "events": ("null_key", "duplicate", "orphan_user", "future_timestamp", "malformed_text"),
    "orders": ("null_key", "duplicate", "orphan_user", "negative_amount", "future_timestamp"),
    "order_items": ("negative_amount", "duplicate"),
    "products": ("negative_amount", "malformed_text"),
    "reviews": ("orphan_user", "malformed_text"),
    "campaign_sends": ("orphan_user", "duplicate"),
}
TEXT_COLUMN = {"events": "search_query", "products": "title", "reviews": "review_text"}
ID_PREFIX = {"events": "E", "orders": "O", "products": "P", "reviews": "R", "campaign_sends": "CS"}
ID_WIDTH = {
    "events": EVENT_WIDTH,
    "orders": ORDER_WIDTH,
    "reviews": REVIEW_WIDTH,
    "campaign_sends": SEND_WIDTH,
}
FUTURE_SHIFT_DAYS = 400
# C0 control characters a broken export leaves behind (NUL .. BS).
CONTROL_CHARS = strings([chr(code) for code in range(0x00, 0x09)])


def _mangle(texts: pa.Array, rng: np.random.Generator) -> pa.Array:
    """Half the texts end in U+FFFD, as when UTF-8 bytes cut mid-character are decoded with
    errors='replace'; the other half get a control character after the first character."""
    truncated = pc.binary_join_element_wise(pc.utf8_slice_codeunits(texts, 0, -1), "\ufffd", "")
    control = pick(CONTROL_CHARS, rng.integers(0, len(CONTROL_CHARS), len(texts)))
    spliced = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(texts, 0, 1), control, pc.utf8_slice_codeunits(texts, 1), ""
    )
    return pc.if_else(pa.array(rng.random(len(texts)) < 0.5), truncated, spliced)


def _replace(table: pa.Table, column: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(column), column, values.cast(table.schema.field(column).type))


@dataclass
class BadRowInjector:
    rate: float
    user_id_width: int
    product_id_width: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    _fresh_used: dict[str, int] = field(default_factory=dict)

    def inject(self, name: str, table: pa.Table, rng: np.random.Generator, product_pool: pa.Array) -> pa.Table:
        """`table` (one day of clean rows) followed by its bad rows. `product_pool`: ids landed so far."""
        if self.rate == 0 or name not in FAULTS or table.num_rows == 0:
            return table
        faults = FAULTS[name]
        per_fault = rng.multinomial(rng.binomial(table.num_rows, self.rate), [1 / len(faults)] * len(faults))
        injected = [table]
        for fault, count in zip(faults, per_fault, strict=True):
            if count == 0:
                continue
            rows = getattr(self, f"_{fault}")(name, table, int(count), rng, product_pool)
            if rows.num_rows:
                reasons = self.counts.setdefault(name, {})
                reasons[fault] = reasons.get(fault, 0) + rows.num_rows
                injected.append(rows)
        return pa.concat_tables(injected)

    def _sample(self, table: pa.Table, count: int, rng: np.random.Generator, column: str | None = None) -> pa.Table:
        """`count` random clean rows (with a non-null `column`, if given) to build bad rows from."""
        candidates = np.arange(table.num_rows)
        if column is not None:
            candidates = np.flatnonzero(table[column].is_valid().to_numpy(zero_copy_only=False))
        if len(candidates) == 0:
            return table.slice(0, 0)
        return table.take(pa.array(candidates[rng.integers(0, len(candidates), count)]))

    def _fresh(self, name: str, rows: pa.Table) -> pa.Table:
        """The rows under new keys that no clean row will ever use."""
        width = self.product_id_width if name == "products" else ID_WIDTH[name]
        used = self._fresh_used.get(name, 0)
        self._fresh_used[name] = used + rows.num_rows
        keys = format_ids(ID_PREFIX[name], top_down_numbers(width, used, rows.num_rows), width)
        return _replace(rows, RAW_TABLES[name].key[0], keys)

    def _null_key(self, name: str, table: pa.Table, count: int, rng: np.random.Generator, _: pa.Array) -> pa.Table:
        rows = self._fresh(name, self._sample(table, count, rng))
        null_key = np.arange(rows.num_rows) % 2 == 0  # alternately the key or the user is missing
        key = RAW_TABLES[name].key[0]
        rows = _replace(rows, key, pc.if_else(pa.array(null_key), pa.nulls(rows.num_rows, pa.string()), rows[key]))
        return _replace(
            rows,
            "user_id",
            pc.if_else(pa.array(~null_key), pa.nulls(rows.num_rows, pa.string()), rows["user_id"]),
        )

    def _duplicate(self, name: str, table: pa.Table, count: int, rng: np.random.Generator, _: pa.Array) -> pa.Table:
        return self._sample(table, count, rng)

    def _orphan_user(self, name: str, table: pa.Table, count: int, rng: np.random.Generator, _: pa.Array) -> pa.Table:
        """Users 'U9...' one digit longer than real ids, so they can never exist."""
        rows = self._fresh(name, self._sample(table, count, rng))
        users = rng.integers(0, 10**self.user_id_width, rows.num_rows)
        return _replace(rows, "user_id", format_ids("U9", users, self.user_id_width))

    def _future_timestamp(
        self, name: str, table: pa.Table, count: int, rng: np.random.Generator, _: pa.Array
    ) -> pa.Table:
        rows = self._fresh(name, self._sample(table, count, rng))
        column = RAW_TABLES[name].partition_column
        shifted = pc.add(rows[column].cast(pa.int64()), FUTURE_SHIFT_DAYS * US_PER_DAY)
        return _replace(rows, column, shifted)

    def _malformed_text(
        self, name: str, table: pa.Table, count: int, rng: np.random.Generator, _: pa.Array
    ) -> pa.Table:
        column = TEXT_COLUMN[name]
        rows = self._fresh(name, self._sample(table, count, rng, column))
        return _replace(rows, column, _mangle(rows[column].combine_chunks(), rng))

    def _negative_amount(
        self, name: str, table: pa.Table, count: int, rng: np.random.Generator, product_pool: pa.Array
    ) -> pa.Table:
        rows = self._sample(table, count, rng)
        if name == "orders":
            rows = self._fresh(name, rows)
            rows = _replace(rows, "gross_amount", pc.negate(rows["gross_amount"]))
            return _replace(rows, "paid_amount", pc.negate(rows["paid_amount"]))
        if name == "products":
            return _replace(self._fresh(name, rows), "list_price", pc.negate(rows["list_price"]))
        return self._negative_line(table, rows, rng, product_pool)

    def _negative_line(
        self, table: pa.Table, rows: pa.Table, rng: np.random.Generator, product_pool: pa.Array
    ) -> pa.Table:
        """An extra line of an existing order, for a product not yet in it, with a bad price or quantity."""
        rows = _replace(rows, "product_id", pick(product_pool, rng.integers(0, len(product_pool), rows.num_rows)))
        existing = pc.binary_join_element_wise(table["order_id"], table["product_id"], "|")
        candidate = pc.binary_join_element_wise(rows["order_id"], rows["product_id"], "|")
        _, first = np.unique(candidate.to_numpy(zero_copy_only=False), return_index=True)
        fresh_key = np.zeros(rows.num_rows, bool)
        fresh_key[first] = True
        fresh_key &= ~pc.is_in(candidate, value_set=existing.combine_chunks()).to_numpy(zero_copy_only=False)
        rows = rows.filter(pa.array(fresh_key))
        bad_price = pa.array(np.arange(rows.num_rows) % 2 == 0)
        rows = _replace(rows, "unit_price", pc.if_else(bad_price, pc.negate(rows["unit_price"]), rows["unit_price"]))
        quantity = pa.array(-rng.integers(0, 2, rows.num_rows), pa.int32())  # 0 or -1
        return _replace(rows, "quantity", pc.if_else(bad_price, rows["quantity"], quantity))
