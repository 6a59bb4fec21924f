"""Distinct counts above the exact limit: a CPC sketch whose answers are clipped to what is known."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable

from datasketches import cpc_sketch, cpc_union

__all__ = ["DistinctSketch"]


class DistinctSketch:
    """CPC sketch of a column's distinct values, with a known lower bound (``floor``).

    A column leaves its exact table with ``floor`` distinct values known for sure (the size of
    the table it left); estimates and bounds are clipped to at least that and to at most the
    column's non-null count, which no distinct count can exceed.
    """

    __slots__ = ("_floor", "_sketch")

    def __init__(self, sketch: cpc_sketch, floor: int) -> None:
        """Wrap a CPC sketch (owned from now on) and the distinct count known for sure."""
        self._sketch = sketch
        self._floor = floor

    @classmethod
    def zero(cls, lg_k: int) -> DistinctSketch:
        """Return an empty sketch."""
        return cls(cpc_sketch(lg_k), 0)

    @property
    def floor(self) -> int:
        """Return the number of distinct values known for sure."""
        return self._floor

    def update(self, keys: Iterable[float | str | int], floor: int = 0) -> None:
        """Add distinct-sketch keys (see ``keys``), and raise the known count to ``floor``."""
        deque(map(self._sketch.update, keys), maxlen=0)  # the loop runs in C
        self._floor = max(self._floor, floor)

    def merge(self, other: DistinctSketch) -> DistinctSketch:
        """Return a new sketch of both inputs' values."""
        union = cpc_union(min(self._sketch.lg_k, other._sketch.lg_k))
        union.update(self._sketch)
        union.update(other._sketch)
        return DistinctSketch(union.get_result(), max(self._floor, other._floor))

    def copy(self) -> DistinctSketch:
        """Return an independent copy."""
        return DistinctSketch(cpc_sketch.deserialize(self._sketch.serialize()), self._floor)

    def estimate(self, count: int) -> int:
        """Return the estimate, within [floor, count] for a column of ``count`` values."""
        return _clip(round(float(self._sketch.get_estimate())), self._floor, count)

    def bounds(self, std_devs: int, count: int) -> tuple[int, int]:
        """Return (lower, upper) at ``std_devs`` confidence, clipped like the estimate."""
        lower = _clip(int(self._sketch.get_lower_bound(std_devs)), self._floor, count)
        upper = _clip(math.ceil(self._sketch.get_upper_bound(std_devs)), lower, count)
        return lower, upper

    def to_state(self) -> list[bytes | int]:
        """Return the sketch bytes and the known count."""
        return [bytes(self._sketch.serialize()), self._floor]

    @classmethod
    def from_state(cls, state: list[bytes | int]) -> DistinctSketch:
        """Rebuild from ``to_state()`` output."""
        data, floor = state
        if not isinstance(data, bytes) or type(floor) is not int or floor < 0:
            raise ValueError("distinct sketch state needs CPC bytes and a count >= 0")
        return cls(cpc_sketch.deserialize(data), floor)


def _clip(value: int, low: int, high: int) -> int:
    """Return ``value`` within [low, high] (low wins if they cross)."""
    return max(low, min(value, high))
