"""Read what drift needs from a column profile: the one module that knows the profile's layout.

Drift asks a profile four questions: its counts (values, nulls, distinct with bounds, std); its
CDF at given points, P(X <= x) (bin masses are differences of it); its quantiles (the deciles cut
the bins); and its most frequent values with count bounds, each with the sketch's own error. Everything comes
from the profiling package's public API (a sketch's bytes are public: they are rebuilt here into
DataSketches objects, which answer CDF and bound queries the profile does not expose), so a
change of the profile's internals touches this file only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from datasketches import kll_doubles_sketch

from atlas_streams.profiling import ColumnProfile
from atlas_streams.profiling.values import ValueSummary

__all__ = ["ColumnInput", "NumberSketch", "TokenCounts", "column_input"]

FloatArray = npt.NDArray[np.float64]

#: The type of a column with no non-null value yet: compatible with every other type.
EMPTY = "empty"


class NumberSketch:
    """A column's numbers as a KLL sketch: CDF, quantiles and bin masses with their error.

    Errors are DataSketches' normalized rank errors at 99% confidence for one query: single-sided
    for a CDF value or a quantile's rank, double-sided for a bin's mass. Both are 0 while the
    sketch still holds every value (it then answers exactly).
    """

    __slots__ = ("_sketch",)

    def __init__(self, data: bytes) -> None:
        """Rebuild the sketch from its DataSketches bytes."""
        self._sketch = kll_doubles_sketch.deserialize(data)

    @property
    def count(self) -> int:
        """Return how many numbers the sketch has seen."""
        return int(self._sketch.n)

    @property
    def rank_error(self) -> float:
        """Return the error of one CDF value or quantile rank (0 while exact)."""
        return self._error(pmf=False)

    @property
    def mass_error(self) -> float:
        """Return the error of one bin's mass (0 while exact)."""
        return self._error(pmf=True)

    def quantiles(self, ranks: Sequence[float]) -> FloatArray:
        """Return the smallest value whose inclusive rank reaches each rank (0: min, 1: max)."""
        return np.asarray(self._sketch.get_quantiles(list(ranks)), dtype=np.float64)

    def cdf(self, points: FloatArray) -> FloatArray:
        """Return P(X <= x) at each point of a sorted array of distinct points.

        A difference of two of these is a bin's mass, within ``mass_error`` (DataSketches' PMF
        is computed the same way).
        """
        return np.asarray(self._sketch.get_cdf(points.tolist(), True)[:-1], dtype=np.float64)

    def _error(self, pmf: bool) -> float:
        if not self._sketch.is_estimation_mode():
            return 0.0
        return float(self._sketch.normalized_rank_error(pmf))


class TokenCounts:
    """A column's most frequent values (canonical tokens) with hard bounds on their counts.

    Counts are exact while the column has at most 10,000 distinct values (the profile keeps
    every value's count); above, bounds come from the frequent-items sketch and are
    deterministic: every count lies within them, an untracked value's within [0, max error].
    """

    __slots__ = ("_summary", "_total")

    def __init__(self, summary: ValueSummary, total: int) -> None:
        """Read the column's value summary; ``total`` is its number of non-null values."""
        self._summary = summary
        self._total = total

    @property
    def total(self) -> int:
        """Return how many values the column has."""
        return self._total

    def frequent(self) -> list[str]:
        """Return the tokens surely more frequent than any value left out, most frequent first.

        While the counts are exact that is every value.
        """
        return self._summary.frequent_tokens()

    def bounds(self, tokens: Sequence[str]) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Return (estimate, lower, upper) counts of each token, untracked ones included."""
        estimate, lower, upper = self._summary.token_counts(tokens)
        return (np.asarray(estimate, dtype=np.float64), np.asarray(lower, dtype=np.float64),
                np.asarray(upper, dtype=np.float64))


@dataclass(frozen=True, slots=True)
class ColumnInput:
    """What drift reads of one column: exact counts, and its sketches on demand."""

    kind: str  # "numeric", "string", "boolean", "mixed", or "empty" (no non-null value)
    count: int  # non-null values
    null_count: int
    distinct: int
    distinct_bounds: tuple[int, int]
    std: float | None  # exact sample std (ddof=1) of the numbers; None below two numbers
    profile: ColumnProfile

    @property
    def rows(self) -> int:
        """Return the rows the column was profiled over (values and nulls)."""
        return self.count + self.null_count

    def numbers(self) -> NumberSketch:
        """Return the KLL sketch of the column's numbers."""
        return NumberSketch(self.profile.quantiles.to_bytes())

    def tokens(self) -> TokenCounts:
        """Return the counts of the column's values."""
        return TokenCounts(self.profile.values, self.profile.count)


def column_input(column: ColumnProfile) -> ColumnInput:
    """Return the drift view of a column profile."""
    estimate, lower, upper = column.distinct()
    return ColumnInput(
        kind=column.kind if column.count else EMPTY,
        count=column.count,
        null_count=column.null_count,
        distinct=estimate,
        distinct_bounds=(lower, upper),
        std=column.moments.std,
        profile=column,
    )
