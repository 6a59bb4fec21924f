"""A column's distinct count and top values: exact while few, then sketches with bounds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from atlas_streams.profiling.canonical import CanonicalBatch
from atlas_streams.profiling.distinct import DistinctSketch
from atlas_streams.profiling.exact import BatchValues, ExactCounts
from atlas_streams.profiling.frequency import FrequentValues
from atlas_streams.profiling.keys import Decoder, decode_token, string_keys
from atlas_streams.profiling.options import ProfileOptions

__all__ = ["TopValue", "ValueSummary"]

#: One reported top value: (value, count, lower bound, upper bound).
TopValue = tuple[str | bool | int | float, int, int, int]


class ValueSummary:
    """Distinct count and most frequent values of one column.

    While the column has at most ``exact_distinct_limit`` distinct values every value's count is
    kept (``ExactCounts``): the distinct count and the top values, counts included, are exact.
    The first update or merge that passes the limit feeds the table into a CPC sketch and a
    frequent-items sketch and drops it; from then on both answers carry bounds. Merging keeps
    the table only while the union fits, so merge order never changes an exact answer.
    """

    __slots__ = ("_distinct", "_exact", "_frequent", "_options")

    def __init__(self, options: ProfileOptions, exact: ExactCounts | None,
                 distinct: DistinctSketch | None, frequent: FrequentValues | None) -> None:
        """Hold the exact table, or else the two sketches."""
        self._options = options
        self._exact = exact
        self._distinct = distinct
        self._frequent = frequent

    @classmethod
    def zero(cls, options: ProfileOptions) -> ValueSummary:
        """Return the summary of no values."""
        return cls(options, ExactCounts(), None, None)

    @property
    def is_exact(self) -> bool:
        """Return whether the distinct count and top values are exact."""
        return self._exact is not None

    def update(self, batch: CanonicalBatch) -> None:
        """Add one batch of canonical values."""
        if not batch.kinds:
            return
        strings = string_keys(batch.strings, self._options.max_value_chars)
        if self._exact is not None:
            self._exact.add(batch, strings)
            if self._exact.size > self._options.exact_distinct_limit:
                self._leave_exact()
            return
        values = BatchValues.of(batch, strings)
        self._feed(values, floor=values.counts.size)

    def merge(self, other: ValueSummary) -> ValueSummary:
        """Return a new summary of both inputs' values."""
        if self._exact is not None and other._exact is not None:
            merged = ValueSummary(self._options, self._exact.merge(other._exact), None, None)
            if merged._exact is not None and merged._exact.size > self._options.exact_distinct_limit:
                merged._leave_exact()
            return merged
        if self._exact is not None:  # put the sketches first: they absorb the table
            return other.merge(self)
        assert self._distinct is not None and self._frequent is not None
        if other._exact is not None:
            merged = ValueSummary(self._options, None, self._distinct.copy(), self._frequent.copy())
            merged._feed(other._exact.values(), floor=other._exact.size)
            return merged
        assert other._distinct is not None and other._frequent is not None
        return ValueSummary(self._options, None, self._distinct.merge(other._distinct),
                            self._frequent.merge(other._frequent))

    def sketched(self) -> ValueSummary:
        """Return this summary in sketch form (a smaller state; answers then carry bounds)."""
        if self._exact is None:
            return self
        summary = ValueSummary(self._options, ExactCounts().merge(self._exact), None, None)
        summary._leave_exact()
        return summary

    def distinct(self, count: int, std_devs: int) -> tuple[int, int, int]:
        """Return (estimate, lower, upper) of the distinct count of ``count`` values."""
        if self._exact is not None:
            size = self._exact.size
            return size, size, size
        assert self._distinct is not None
        return (self._distinct.estimate(count), *self._distinct.bounds(std_devs, count))

    def top_values(self, count: int, number: Decoder) -> list[TopValue]:
        """Return up to ``count`` most frequent values, most first.

        Exact: the ``count`` most frequent, ties broken by value, with exact counts. Sketched:
        see ``FrequentValues.top``. ``number`` decodes numbers (ints, floats or ISO times).
        """
        chars = self._options.max_value_chars
        if self._exact is not None:
            return [(decode_token(token, number, chars), value_count, value_count, value_count)
                    for token, value_count in self._exact.top(count)]
        assert self._frequent is not None
        return [(decode_token(token, number, chars), value_count, lower, upper)
                for token, value_count, lower, upper in self._frequent.top(count)]

    def frequent_tokens(self) -> list[str]:
        """Return the tokens surely more frequent than any value left out, most frequent first.

        While exact that is every value. Tokens are the top-value tokens of ``keys``.
        """
        if self._exact is not None:
            return [token for token, _ in self._exact.top(self._exact.size)]
        assert self._frequent is not None
        error = self._frequent.maximum_error
        return [token for token, _, lower, _ in self._frequent.top(2**31) if lower > error]

    def token_counts(self, tokens: Sequence[str]) -> tuple[list[int], list[int], list[int]]:
        """Return (estimates, lowers, uppers) of each token's count; a value never seen: 0s.

        Exact while the table is kept; else the frequent-items sketch's bounds, which hold every
        count (an untracked value occurred at most the sketch's maximum error times).
        """
        if self._exact is not None:
            counts = [self._exact.count_of(token) for token in tokens]
            return counts, counts, counts
        assert self._frequent is not None
        bounds = [self._frequent.bounds(token) for token in tokens]
        return [b[0] for b in bounds], [b[1] for b in bounds], [b[2] for b in bounds]

    def to_state(self) -> dict[str, Any]:
        """Return the exact table or the two sketches as plain values and bytes."""
        if self._exact is not None:
            return {"exact": self._exact.to_state()}
        assert self._distinct is not None and self._frequent is not None
        return {"cpc": self._distinct.to_state(), "frequent": self._frequent.to_state()}

    @classmethod
    def from_state(cls, state: dict[str, Any], options: ProfileOptions) -> ValueSummary:
        """Rebuild a summary from ``to_state()`` output."""
        if "exact" in state:
            exact = ExactCounts.from_state(state["exact"])
            if exact.size > options.exact_distinct_limit:
                raise ValueError("the exact value table is over its limit")
            return cls(options, exact, None, None)
        return cls(options, None, DistinctSketch.from_state(state["cpc"]),
                   FrequentValues.from_state(state["frequent"]))

    def _leave_exact(self) -> None:
        """Feed the exact table into new sketches and drop it."""
        assert self._exact is not None
        table, self._exact = self._exact, None
        self._distinct = DistinctSketch.zero(self._options.distinct_lg_k)
        self._frequent = FrequentValues.zero(self._options.top_values_lg_max_map_size)
        self._feed(table.values(), floor=table.size)

    def _feed(self, values: BatchValues, floor: int) -> None:
        """Add distinct values with counts to both sketches."""
        assert self._distinct is not None and self._frequent is not None
        self._distinct.update(values.sketch_keys(), floor)
        capacity = int(0.75 * 2**self._options.top_values_lg_max_map_size)
        self._frequent.update(values.counts, values.tokens, capacity)
