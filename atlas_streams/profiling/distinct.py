"""Distinct counts: exact below a limit, a CPC sketch with stated bounds above it."""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt
from datasketches import cpc_sketch, cpc_union

from atlas_streams.profiling.canonical import DistinctValues

__all__ = ["DistinctCount"]

HashArray = npt.NDArray[np.uint64]


class DistinctCount:
    """Count distinct values: exactly up to ``limit`` of them, then by a CPC sketch.

    The exact part is a sorted array of stable 64-bit hashes, dropped for good once it passes
    ``limit``; the CPC sketch is fed all along, so dropping loses nothing. Merging keeps the
    exact part only while the union still fits, so merge order never changes the answer.
    """

    __slots__ = ("_exact", "_limit", "_sketch")

    def __init__(self, sketch: cpc_sketch, exact: HashArray | None, limit: int) -> None:
        """Wrap a CPC sketch and, while there are at most ``limit``, the exact hashes."""
        self._sketch = sketch
        self._exact = exact
        self._limit = limit

    @classmethod
    def zero(cls, lg_k: int, limit: int) -> DistinctCount:
        """Return an empty counter."""
        return cls(cpc_sketch(lg_k), np.empty(0, dtype=np.uint64), limit)

    @property
    def is_exact(self) -> bool:
        """Return whether the estimate is an exact count."""
        return self._exact is not None

    def update(self, values: DistinctValues) -> None:
        """Add one batch's distinct values."""
        deque(map(self._sketch.update, values.sketch_keys()), maxlen=0)  # the loop runs in C
        if self._exact is not None:
            self._exact = self._bounded(np.union1d(self._exact, values.hashes()))

    def merge(self, other: DistinctCount) -> DistinctCount:
        """Return a new counter of both inputs' values."""
        union = cpc_union(self._sketch.lg_k)
        union.update(self._sketch)
        union.update(other._sketch)
        exact = None
        if self._exact is not None and other._exact is not None:
            exact = self._bounded(np.union1d(self._exact, other._exact))
        return DistinctCount(union.get_result(), exact, self._limit)

    def estimate(self) -> int:
        """Return the distinct count: exact up to the limit, estimated above it."""
        if self._exact is not None:
            return int(self._exact.size)
        return max(round(float(self._sketch.get_estimate())), self._limit + 1)

    def bounds(self, std_devs: int) -> tuple[int, int]:
        """Return (lower, upper) bounds on the distinct count at ``std_devs`` confidence."""
        if self._exact is not None:
            return int(self._exact.size), int(self._exact.size)
        lower = max(int(self._sketch.get_lower_bound(std_devs)), self._limit + 1)
        upper = max(int(np.ceil(self._sketch.get_upper_bound(std_devs))), lower)
        return lower, upper

    def to_state(self) -> dict[str, bytes | None]:
        """Return the sketch and exact hashes as bytes for serialisation."""
        exact = None if self._exact is None else self._exact.astype("<u8").tobytes()
        return {"cpc": bytes(self._sketch.serialize()), "exact": exact}

    @classmethod
    def from_state(cls, state: dict[str, bytes | None], limit: int) -> DistinctCount:
        """Rebuild a counter from ``to_state()`` output."""
        sketch_bytes, exact_bytes = state["cpc"], state["exact"]
        if not isinstance(sketch_bytes, bytes):
            raise TypeError("distinct count state lacks its CPC sketch bytes")
        exact = None
        if exact_bytes is not None:
            exact = np.frombuffer(exact_bytes, dtype="<u8").astype(np.uint64)
            if exact.size > limit or np.any(exact[1:] <= exact[:-1]):
                raise ValueError("exact distinct hashes are over the limit or not sorted")
        return cls(cpc_sketch.deserialize(sketch_bytes), exact, limit)

    def _bounded(self, hashes: HashArray) -> HashArray | None:
        """Return the hashes, or None once there are more than the limit."""
        return hashes if hashes.size <= self._limit else None
