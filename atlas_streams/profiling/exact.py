"""Exact count of every distinct value of a column, kept while the column has few of them."""

from __future__ import annotations

import heapq
from collections import Counter
from itertools import repeat
from operator import add
from typing import Any

import numpy as np
import numpy.typing as npt

from atlas_streams.profiling.canonical import CanonicalBatch
from atlas_streams.profiling.keys import FALSE_KEY, TRUE_KEY, bigint_sketch_key, number_tokens

__all__ = ["BatchValues", "ExactCounts"]

FloatArray = npt.NDArray[np.float64]
CountArray = npt.NDArray[np.int64]


class BatchValues:
    """Distinct values of one batch (or of a whole exact table), keyed, each with its count.

    Segments in a fixed order: numbers, strings, big integers, true, false. ``counts`` holds
    every value's count in that order, so a sketch can pick by count and ask for the few
    tokens it needs with ``tokens(indexes)``.
    """

    __slots__ = ("bigints", "counts", "falses", "numbers", "strings", "trues")

    def __init__(self, numbers: FloatArray, number_counts: CountArray, strings: dict[str, int],
                 bigints: dict[str, int], trues: int, falses: int) -> None:
        """Hold one set of distinct values with their counts."""
        self.numbers = numbers
        self.strings = strings
        self.bigints = bigints
        self.trues = trues
        self.falses = falses
        parts = [number_counts.astype(np.int64, copy=False),
                 np.fromiter(strings.values(), dtype=np.int64, count=len(strings)),
                 np.fromiter(bigints.values(), dtype=np.int64, count=len(bigints))]
        parts.append(np.array([c for c in (trues, falses) if c], dtype=np.int64))
        self.counts: CountArray = np.concatenate(parts)

    @classmethod
    def of(cls, batch: CanonicalBatch, strings: dict[str, int]) -> BatchValues:
        """Return a batch's distinct values; ``strings`` are its string counts, keyed."""
        numbers, counts = np.unique(batch.numbers, return_counts=True)
        bigints = {str(n): c for n, c in batch.bigints.items()}
        return cls(numbers, counts, strings, bigints, batch.true_count, batch.false_count)

    def sketch_keys(self) -> list[float | str | int]:
        """Return one distinct-sketch key per value (see ``keys``)."""
        keys: list[float | str | int] = [*self.numbers.tolist(), *self.strings]
        keys += map(bigint_sketch_key, self.bigints)
        keys += [key for key, count in ((TRUE_KEY, self.trues), (FALSE_KEY, self.falses)) if count]
        return keys

    def tokens(self, indexes: npt.NDArray[np.intp]) -> list[str]:
        """Return the top-value token of each value at ``indexes`` (positions in ``counts``)."""
        numbers, strings = self.numbers.size, len(self.strings)
        picked = np.sort(indexes)
        tokens = number_tokens(self.numbers[picked[picked < numbers]])
        rest = picked[picked >= numbers] - numbers
        if rest.size:
            strings_list, bigints_list = list(self.strings), list(self.bigints)
            booleans = [token for token, count in (("btrue", self.trues), ("bfalse", self.falses))
                        if count]
            for i in rest.tolist():
                if i < strings:
                    tokens.append("s" + strings_list[i])
                elif i < strings + len(bigints_list):
                    tokens.append("i" + bigints_list[i - strings])
                else:
                    tokens.append(booleans[i - strings - len(bigints_list)])
        order = np.argsort(np.argsort(indexes, kind="stable"), kind="stable")
        return [tokens[i] for i in order.tolist()]


class ExactCounts:
    """Exact counts of each distinct value, by its exact key (see ``keys``); mutable."""

    __slots__ = ("bigints", "falses", "number_counts", "numbers", "strings", "trues")

    def __init__(self, numbers: FloatArray | None = None, number_counts: CountArray | None = None,
                 strings: dict[str, int] | None = None, bigints: dict[str, int] | None = None,
                 trues: int = 0, falses: int = 0) -> None:
        """Hold sorted unique numbers with their counts, and the other kinds' counts."""
        self.numbers = np.empty(0, dtype=np.float64) if numbers is None else numbers
        self.number_counts = np.empty(0, dtype=np.int64) if number_counts is None else number_counts
        self.strings: Counter[str] = Counter() if strings is None else Counter(strings)
        self.bigints = {} if bigints is None else bigints
        self.trues = trues
        self.falses = falses

    @property
    def size(self) -> int:
        """Return the number of distinct values."""
        return (int(self.numbers.size) + len(self.strings) + len(self.bigints)
                + (self.trues > 0) + (self.falses > 0))

    def update(self, values: BatchValues) -> None:
        """Add a batch's distinct values with their counts."""
        if values.numbers.size:
            count = values.numbers.size
            self.numbers, self.number_counts = _union(
                self.numbers, self.number_counts, values.numbers, values.counts[:count]
            )
        _add_counts(self.strings, values.strings)
        _add_counts(self.bigints, values.bigints)
        self.trues += values.trues
        self.falses += values.falses

    def add(self, batch: CanonicalBatch, strings: dict[str, int]) -> None:
        """Add a batch's values; ``strings`` are its string counts, keyed.

        The batch's numbers go in as they are (one sort of table and batch together), not as
        distinct values first: that saved a sort per numeric column per batch.
        """
        if batch.numbers.size:
            if self.numbers.size:
                merged, inverse = np.unique(np.concatenate([self.numbers, batch.numbers]),
                                            return_inverse=True)
                known = self.numbers.size
                totals = np.bincount(inverse[known:], minlength=merged.size).astype(np.int64)
                totals[inverse[:known]] += self.number_counts  # distinct positions: no clash
                self.numbers, self.number_counts = merged, totals
            else:
                self.numbers, counts = np.unique(batch.numbers, return_counts=True)
                self.number_counts = counts.astype(np.int64)
        plain = batch.plain_strings
        if plain is not None and strings is batch.strings and 8 * len(strings) > len(plain):
            # Many distinct strings: count the values themselves into the table, one C loop
            # (measured: merging 6,000 distinct counts was the top cost of a 10,000-row update).
            self.strings.update(plain)
            self.strings.pop(None, None)  # type: ignore[call-overload]  # nulls were counted too
        else:
            _add_counts(self.strings, strings)
        _add_counts(self.bigints, {str(n): c for n, c in batch.bigints.items()})
        self.trues += batch.true_count
        self.falses += batch.false_count

    def merge(self, other: ExactCounts) -> ExactCounts:
        """Return a new table of both inputs' values."""
        merged = ExactCounts(self.numbers, self.number_counts, self.strings,
                             dict(self.bigints), self.trues, self.falses)
        merged.update(other.values())
        return merged

    def values(self) -> BatchValues:
        """Return the table as distinct values with counts (to feed sketches or another table)."""
        return BatchValues(self.numbers, self.number_counts, self.strings, self.bigints,
                           self.trues, self.falses)

    def count_of(self, token: str) -> int:
        """Return how many times the value a top-value token stands for occurred (0: never)."""
        head = token[:1]
        if head == "s":
            return self.strings.get(token[1:], 0)
        if head == "b":
            return self.trues if token == "btrue" else self.falses
        if head == "i":
            return self.bigints.get(token[1:], 0)
        at = int(np.searchsorted(self.numbers, float(token)))
        found = at < self.numbers.size and self.numbers[at] == float(token)
        return int(self.number_counts[at]) if found else 0

    def top(self, count: int) -> list[tuple[str, int]]:
        """Return the ``count`` most frequent (token, count) pairs, ties by token."""
        values = self.values()
        if not values.counts.size:
            return []
        indexes = np.arange(values.counts.size)
        if values.counts.size > count:  # candidates: every value tied with the count-th
            cut = np.partition(values.counts, values.counts.size - count)[-count]
            indexes = np.flatnonzero(values.counts >= cut)
        pairs = zip(values.tokens(indexes), values.counts[indexes].tolist(), strict=True)
        return heapq.nsmallest(count, pairs, key=lambda pair: (-pair[1], pair[0]))

    def to_state(self) -> dict[str, Any]:
        """Return the table as plain values and little-endian bytes."""
        return {
            "numbers": self.numbers.astype("<f8").tobytes(),
            "number_counts": self.number_counts.astype("<i8").tobytes(),
            "strings": list(self.strings),
            # Counts as one little-endian blob: 10,000 msgpack ints took longer to pack and read.
            "string_counts": np.fromiter(self.strings.values(), dtype="<i8",
                                         count=len(self.strings)).tobytes(),
            "bigints": [[key, count] for key, count in self.bigints.items()],
            "booleans": [self.trues, self.falses],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ExactCounts:
        """Rebuild a table from ``to_state()`` output; raise ValueError if inconsistent."""
        numbers = np.frombuffer(state["numbers"], dtype="<f8").astype(np.float64)
        counts = np.frombuffer(state["number_counts"], dtype="<i8").astype(np.int64)
        keys: list[str] = state["strings"]
        string_counts = np.frombuffer(state["string_counts"], dtype="<i8")
        bigints = {str(key): int(count) for key, count in state["bigints"]}
        trues, falses = (int(v) for v in state["booleans"])
        if numbers.size != counts.size or np.any(numbers[1:] <= numbers[:-1]):
            raise ValueError("exact numbers are not sorted and unique, or lack counts")
        if len(keys) != string_counts.size:
            raise ValueError("exact strings lack counts")
        strings: Counter[str] = Counter()
        dict.update(strings, zip(keys, string_counts.tolist(), strict=True))
        smallest = min([trues, falses, *bigints.values(), *counts[:1], *string_counts[:1]])
        if len(strings) != len(keys) or smallest < 0 or (counts.size and counts.min() < 0) or (
                string_counts.size and string_counts.min() < 0):
            raise ValueError("exact counts are negative or strings repeat")
        table = cls(numbers, counts, None, bigints, trues, falses)
        table.strings = strings
        return table


def _union(keys: FloatArray, counts: CountArray, new: FloatArray,
           new_counts: CountArray) -> tuple[FloatArray, CountArray]:
    """Return the sorted union of two sorted unique key arrays, adding counts of equal keys."""
    if not keys.size:
        return new.copy(), new_counts.astype(np.int64)
    merged, inverse = np.unique(np.concatenate([keys, new]), return_inverse=True)
    totals = np.zeros(merged.size, dtype=np.int64)
    # Each side's keys are unique, so neither fancy-indexed addition meets a key twice
    # (np.add.at, which allows that, is 10x slower).
    totals[inverse[: keys.size]] += counts
    totals[inverse[keys.size :]] += new_counts
    return merged, totals


def _add_counts(table: dict[str, int], counts: dict[str, int]) -> None:
    """Add ``counts`` into ``table`` in place."""
    if not table:
        table.update(counts)
        return
    # Every step a C loop (measured 4x faster than a Python loop over 6,000 distinct values):
    # the keys of ``counts`` are distinct, so reading ``table`` while updating it is safe.
    dict.update(table, zip(counts, map(add, map(table.get, counts, repeat(0)), counts.values()),
                           strict=True))  # dict.update: a Counter would count the pairs
