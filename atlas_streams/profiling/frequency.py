"""Most frequent values of a column from a frequent-items sketch."""

from __future__ import annotations

from collections import deque
from itertools import starmap
from typing import Any

from datasketches import frequent_items_error_type, frequent_strings_sketch

from atlas_streams.profiling.canonical import decode_token

__all__ = ["TopValues"]

_NO_FALSE_NEGATIVES = frequent_items_error_type.NO_FALSE_NEGATIVES


class TopValues:
    """Mergeable frequent-items sketch over canonical value tokens.

    Counts are exact while the column has fewer distinct values than the map tracks. Beyond
    that each count carries bounds, and every value more frequent than the sketch's maximum
    error (at most ``3.5 / 2**lg_max_map_size`` of the values) is guaranteed to be reported.
    """

    __slots__ = ("_sketch",)

    def __init__(self, sketch: frequent_strings_sketch) -> None:
        """Wrap a frequent-strings sketch (owned by this object from now on)."""
        self._sketch = sketch

    @classmethod
    def zero(cls, lg_max_map_size: int) -> TopValues:
        """Return an empty sketch tracking up to 0.75 * 2**lg_max_map_size values."""
        return cls(frequent_strings_sketch(lg_max_map_size))

    def update(self, token_counts: list[tuple[str, int]]) -> None:
        """Add each distinct token of a batch once, with its count."""
        deque(starmap(self._sketch.update, token_counts), maxlen=0)  # the loop runs in C

    def merge(self, other: TopValues) -> TopValues:
        """Return a new sketch of both inputs' values."""
        sketch = frequent_strings_sketch.deserialize(self._sketch.serialize())
        if not other._sketch.is_empty():
            sketch.merge(other._sketch)
        return TopValues(sketch)

    def report(self, minimum: int, integral: bool) -> list[dict[str, Any]]:
        """Return the most frequent values, at least ``minimum`` where the sketch holds them.

        First the values known to be frequent: their lower bound exceeds the sketch's maximum
        error, so each is surely more frequent than any value left out; they carry their
        estimated count. Until the sketch first purges (fewer distinct values than its capacity)
        the error is 0 and these are all values, with exact counts. When fewer than ``minimum``
        are known, values that surely occurred follow, with the count the sketch can vouch for
        (their lower bound), so a column of unique ids never shows noise dressed as counts.
        Each entry is ``{"value", "count", "count_bounds": {"lower", "upper"}}``.
        """
        items = self._sketch.get_frequent_items(_NO_FALSE_NEGATIVES, 0)
        if not items:
            return []
        max_error = max(upper - lower for _, _, lower, upper in items)
        known = sorted((i for i in items if i[2] > max_error), key=lambda i: (-i[1], i[0]))
        report = [_entry(token, estimate, lower, upper, integral)
                  for token, estimate, lower, upper in known[: 2 * minimum]]
        if len(report) < minimum:
            rest = sorted((i for i in items if 0 < i[2] <= max_error), key=lambda i: (-i[2], i[0]))
            report += [_entry(token, lower, lower, upper, integral)
                       for token, _, lower, upper in rest[: minimum - len(report)]]
        return report

    def to_bytes(self) -> bytes:
        """Return the sketch's DataSketches serialisation."""
        return bytes(self._sketch.serialize())

    @classmethod
    def from_bytes(cls, data: bytes) -> TopValues:
        """Rebuild a sketch from ``to_bytes()`` output."""
        return cls(frequent_strings_sketch.deserialize(data))


def _entry(token: str, count: int, lower: int, upper: int, integral: bool) -> dict[str, Any]:
    return {
        "value": decode_token(token, integral),
        "count": int(count),
        "count_bounds": {"lower": int(lower), "upper": int(upper)},
    }
