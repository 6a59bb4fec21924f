"""Quantiles and histograms of a column's numbers from a KLL sketch."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from datasketches import kll_doubles_sketch

__all__ = ["Quantiles", "largest_remainder"]


class Quantiles:
    """Mergeable KLL sketch of float64 values with a stated normalized rank error."""

    __slots__ = ("_sketch",)

    def __init__(self, sketch: kll_doubles_sketch) -> None:
        """Wrap a KLL doubles sketch (owned by this object from now on)."""
        self._sketch = sketch

    @classmethod
    def zero(cls, k: int) -> Quantiles:
        """Return an empty sketch with accuracy parameter ``k``."""
        return cls(kll_doubles_sketch(k))

    @property
    def count(self) -> int:
        """Return how many values the sketch has seen."""
        return int(self._sketch.n)

    @property
    def rank_error(self) -> float:
        """Return the normalized rank error of a single quantile (99% confidence)."""
        return float(self._sketch.normalized_rank_error(False))

    def update(self, numbers: npt.NDArray[np.float64]) -> None:
        """Add an array of finite numbers."""
        if numbers.size:
            self._sketch.update(numbers)

    def merge(self, other: Quantiles) -> Quantiles:
        """Return a new sketch of both inputs' values."""
        sketch = kll_doubles_sketch.deserialize(self._sketch.serialize())
        if not other._sketch.is_empty():
            sketch.merge(other._sketch)
        return Quantiles(sketch)

    @property
    def k(self) -> int:
        """Return the sketch's accuracy parameter."""
        return int(self._sketch.k)

    def cdf(self, points: Sequence[float]) -> list[float]:
        """Return the estimated fraction of values below each point, then 1.0 (empty: error)."""
        return [float(f) for f in self._sketch.get_cdf(list(points))]

    def rank(self, value: float) -> float:
        """Return the estimated fraction of values at or below ``value``."""
        return float(self._sketch.get_rank(value, True))

    def shrunk(self, k: int) -> Quantiles:
        """Return a copy with accuracy parameter at most ``k`` (smaller and less accurate)."""
        if k >= self.k:
            return self
        sketch = kll_doubles_sketch(k)
        sketch.merge(self._sketch)
        return Quantiles(sketch)

    def quantiles(self, ranks: Sequence[float]) -> list[float]:
        """Return the estimated value at each normalized rank; empty sketches are an error."""
        return [float(q) for q in self._sketch.get_quantiles(list(ranks))]

    def histogram(self, low: float, high: float, bins: int) -> tuple[list[float], list[int]]:
        """Return equal-width bin edges over [low, high] and counts summing exactly to count."""
        edges = np.unique(np.linspace(low, high, bins + 1))
        if edges.size < 2:
            return [low, high], [self.count]
        masses = self._sketch.get_pmf(edges[1:-1].tolist())
        return [float(e) for e in edges], largest_remainder(masses, self.count)

    def to_bytes(self) -> bytes:
        """Return the sketch's DataSketches serialisation."""
        return bytes(self._sketch.serialize())

    @classmethod
    def from_bytes(cls, data: bytes) -> Quantiles:
        """Rebuild a sketch from ``to_bytes()`` output."""
        return cls(kll_doubles_sketch.deserialize(data))


def largest_remainder(weights: Sequence[float], total: int) -> list[int]:
    """Return integers proportional to ``weights`` that sum exactly to ``total``."""
    share = np.asarray(weights, dtype=np.float64)
    if total <= 0 or not share.size:
        return [0] * int(share.size)
    share = np.clip(share, 0.0, None)
    mass = float(share.sum())
    if mass <= 0.0:
        share = np.ones_like(share)
        mass = float(share.size)
    exact = (share / mass) * total
    counts = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    if short > 0:
        # Stable sort: equal remainders go to the lower bins first.
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[:short]] += 1
    elif short < 0:  # only through float rounding of the floors; take from the largest bins
        order = np.argsort(-counts, kind="stable")
        counts[order[: -short]] -= 1
    return [int(c) for c in counts]
