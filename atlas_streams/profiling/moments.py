"""Exact summary statistics that merge: numeric moments and string lengths."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["LengthStats", "Moments"]


@dataclass(frozen=True, slots=True)
class Moments:
    """Count, min, max, mean and sum of squared deviations (M2) of a set of numbers.

    Batches are summarised with two passes (mean, then squared deviations) and combined with
    Chan et al.'s parallel update, which stays accurate where a running sum of squares would
    cancel catastrophically.
    """

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf

    @classmethod
    def of(cls, numbers: npt.NDArray[np.float64]) -> Moments:
        """Summarise an array of finite numbers."""
        if not numbers.size:
            return cls()
        mean = float(numbers.mean())
        deviations = numbers - mean
        return cls(
            count=int(numbers.size),
            mean=mean,
            m2=float(np.dot(deviations, deviations)),
            minimum=float(numbers.min()),
            maximum=float(numbers.max()),
        )

    def merge(self, other: Moments) -> Moments:
        """Return the moments of both sets of numbers together."""
        if not other.count:
            return self
        if not self.count:
            return other
        count = self.count + other.count
        delta = other.mean - self.mean
        share = other.count / count
        return Moments(
            count=count,
            mean=self.mean + delta * share,
            m2=self.m2 + other.m2 + delta * delta * self.count * share,
            minimum=min(self.minimum, other.minimum),
            maximum=max(self.maximum, other.maximum),
        )

    @property
    def std(self) -> float | None:
        """Return the sample standard deviation (ddof=1), or None below two values."""
        if self.count < 2:
            return None
        return math.sqrt(max(self.m2, 0.0) / (self.count - 1))

    def to_state(self) -> list[float | int]:
        """Return the moments as a plain list for serialisation."""
        return [self.count, self.mean, self.m2, self.minimum, self.maximum]

    @classmethod
    def from_state(cls, state: Sequence[float | int]) -> Moments:
        """Rebuild moments from ``to_state()`` output."""
        count, mean, m2, minimum, maximum = state
        return cls(int(count), float(mean), float(m2), float(minimum), float(maximum))


@dataclass(frozen=True, slots=True)
class LengthStats:
    """Count, total, min and max of string lengths (all exact integers)."""

    count: int = 0
    total: int = 0
    minimum: int = 0
    maximum: int = 0

    @classmethod
    def of(cls, strings: Mapping[str, int]) -> LengthStats:
        """Summarise the lengths, in code points, of distinct strings with their counts."""
        if not strings:
            return cls()
        lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
        counts = np.fromiter(strings.values(), dtype=np.int64, count=len(strings))
        return cls(
            count=int(counts.sum()),
            total=int(np.dot(lengths, counts)),
            minimum=int(lengths.min()),
            maximum=int(lengths.max()),
        )

    def merge(self, other: LengthStats) -> LengthStats:
        """Return the length statistics of both sets of strings together."""
        if not other.count:
            return self
        if not self.count:
            return other
        return LengthStats(
            count=self.count + other.count,
            total=self.total + other.total,
            minimum=min(self.minimum, other.minimum),
            maximum=max(self.maximum, other.maximum),
        )

    @property
    def mean(self) -> float | None:
        """Return the mean length, or None without strings."""
        return self.total / self.count if self.count else None

    def to_state(self) -> list[int]:
        """Return the statistics as a plain list for serialisation."""
        return [self.count, self.total, self.minimum, self.maximum]

    @classmethod
    def from_state(cls, state: Sequence[int]) -> LengthStats:
        """Rebuild the statistics from ``to_state()`` output."""
        count, total, minimum, maximum = state
        return cls(int(count), int(total), int(minimum), int(maximum))
