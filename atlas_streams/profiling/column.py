"""One column's mergeable profile: exact statistics plus bounded sketches."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from atlas_streams.profiling.canonical import CanonicalBatch, Kind, decode_number
from atlas_streams.profiling.distinct import DistinctCount
from atlas_streams.profiling.frequency import TopValues
from atlas_streams.profiling.moments import LengthStats, Moments
from atlas_streams.profiling.options import QUANTILE_RANKS, ProfileOptions
from atlas_streams.profiling.quantiles import Quantiles

__all__ = ["ColumnCounts", "ColumnProfile"]

_TYPE_NAMES = {Kind.NUMERIC: "numeric", Kind.STRING: "string", Kind.BOOLEAN: "boolean"}


@dataclass(frozen=True, slots=True)
class ColumnCounts:
    """Exact counters of a column that merge by addition (kinds by union)."""

    kinds: Kind = Kind.NONE
    null_count: int = 0
    boolean_count: int = 0
    memory_bytes: int = 0
    integral: bool = True

    def merge(self, other: ColumnCounts) -> ColumnCounts:
        """Return the counters of both inputs together."""
        return ColumnCounts(
            kinds=self.kinds | other.kinds,
            null_count=self.null_count + other.null_count,
            boolean_count=self.boolean_count + other.boolean_count,
            memory_bytes=self.memory_bytes + other.memory_bytes,
            integral=self.integral and other.integral,
        )

    def to_state(self) -> list[int]:
        """Return the counters as a plain list for serialisation."""
        return [int(self.kinds), self.null_count, self.boolean_count, self.memory_bytes,
                int(self.integral)]

    @classmethod
    def from_state(cls, state: list[int]) -> ColumnCounts:
        """Rebuild the counters from ``to_state()`` output."""
        kinds, nulls, booleans, memory, integral = (int(v) for v in state)
        if kinds & ~int(Kind.NUMERIC | Kind.STRING | Kind.BOOLEAN) or min(nulls, booleans,
                                                                           memory) < 0:
            raise ValueError("column counters are out of range")
        return cls(Kind(kinds), nulls, booleans, memory, bool(integral))


@dataclass(slots=True)
class ColumnProfile:
    """Profile of one column: exact counters and moments plus three bounded sketches.

    Exact: counts, nulls, min, max, mean and std (to float rounding), string lengths and
    ``memory_bytes``. Approximate, with the bounds ``report()`` states: quantiles and histogram
    (KLL), distinct count (exact hashes, then CPC) and top values (frequent items).
    Build one with ``zero``; ``update`` and ``add_nulls`` mutate it, ``merge`` never does.
    """

    options: ProfileOptions
    counts: ColumnCounts
    moments: Moments
    lengths: LengthStats
    quantiles: Quantiles
    distinct: DistinctCount
    top_values: TopValues

    @classmethod
    def zero(cls, options: ProfileOptions) -> ColumnProfile:
        """Return the profile of a column with no rows."""
        return cls(
            options,
            counts=ColumnCounts(),
            moments=Moments(),
            lengths=LengthStats(),
            quantiles=Quantiles.zero(options.kll_k),
            distinct=DistinctCount.zero(options.distinct_lg_k, options.exact_distinct_limit),
            top_values=TopValues.zero(options.top_values_lg_max_map_size),
        )

    @property
    def count(self) -> int:
        """Return the number of non-null values."""
        return self.moments.count + self.lengths.count + self.counts.boolean_count

    @property
    def null_count(self) -> int:
        """Return the number of rows where the column was null or missing."""
        return self.counts.null_count

    @property
    def kind(self) -> str:
        """Return "numeric", "string", "boolean", or "mixed" (several kinds, or none yet)."""
        return _TYPE_NAMES.get(self.counts.kinds, "mixed")

    def add_nulls(self, count: int) -> None:
        """Count ``count`` more rows where the column was null or missing."""
        self.counts = replace(self.counts, null_count=self.counts.null_count + count)

    def update(self, batch: CanonicalBatch) -> None:
        """Add one batch of canonical values."""
        kinds = batch.kinds
        self.counts = self.counts.merge(ColumnCounts(
            kinds=kinds,
            null_count=batch.null_count,
            boolean_count=batch.true_count + batch.false_count,
            memory_bytes=batch.memory_bytes,
            integral=batch.integral,
        ))
        if batch.numbers.size:
            self.moments = self.moments.merge(Moments.of(batch.numbers))
            self.quantiles.update(batch.numbers)
        if batch.strings:
            self.lengths = self.lengths.merge(LengthStats.of(batch.strings))
        if kinds:
            values = batch.distinct()
            self.distinct.update(values)
            self.top_values.update(values.tokens(self.options.max_value_chars))

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        """Return a new profile of both inputs' rows; neither input changes.

        With different ``kll_k`` (see ``DatasetProfile.merge``) the smaller one's options win.
        """
        return ColumnProfile(
            min(self.options, other.options, key=lambda options: options.kll_k),
            counts=self.counts.merge(other.counts),
            moments=self.moments.merge(other.moments),
            lengths=self.lengths.merge(other.lengths),
            quantiles=self.quantiles.merge(other.quantiles),
            distinct=self.distinct.merge(other.distinct),
            top_values=self.top_values.merge(other.top_values),
        )

    def report(self) -> dict[str, Any]:
        """Return this column's entry of the profile JSON contract."""
        distinct = self.distinct
        rows = self.count + self.null_count
        lower, upper = distinct.bounds(self.options.bound_std_devs)
        report: dict[str, Any] = {
            "type": self.kind,
            "count": self.count,
            "null_count": self.null_count,
            "null_percent": 100.0 * self.null_count / rows if rows else 0.0,
            "distinct_estimate": distinct.estimate(),
            "distinct_bounds": {"lower": lower, "upper": upper},
        }
        if self.kind == "numeric":
            report.update(self._numeric_report())
        elif self.kind == "string":
            report["string_length"] = {
                "min": self.lengths.minimum,
                "max": self.lengths.maximum,
                "mean": self.lengths.mean,
            }
        integral = self.counts.integral
        report["top_values"] = self.top_values.report(self.options.top_values_min, integral)
        report["memory_bytes"] = self.counts.memory_bytes
        return report

    def to_state(self) -> dict[str, Any]:
        """Return the profile as plain values and sketch bytes for serialisation."""
        return {
            "counts": self.counts.to_state(),
            "moments": self.moments.to_state(),
            "lengths": self.lengths.to_state(),
            "kll": self.quantiles.to_bytes(),
            "distinct": self.distinct.to_state(),
            "top": self.top_values.to_bytes(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], options: ProfileOptions) -> ColumnProfile:
        """Rebuild a profile from ``to_state()`` output; raise on malformed state."""
        return cls(
            options,
            counts=ColumnCounts.from_state(state["counts"]),
            moments=Moments.from_state(state["moments"]),
            lengths=LengthStats.from_state(state["lengths"]),
            quantiles=Quantiles.from_bytes(state["kll"]),
            distinct=DistinctCount.from_state(state["distinct"], options.exact_distinct_limit),
            top_values=TopValues.from_bytes(state["top"]),
        )

    def _numeric_report(self) -> dict[str, Any]:
        """Return the numeric-only fields: moments, quantiles and histogram."""
        quantiles = self.quantiles
        integral = self.counts.integral
        moments = self.moments
        estimates = quantiles.quantiles(QUANTILE_RANKS)
        edges, counts = quantiles.histogram(
            moments.minimum, moments.maximum, self.options.histogram_bins
        )
        return {
            "min": decode_number(moments.minimum, integral),
            "max": decode_number(moments.maximum, integral),
            "mean": moments.mean,
            "std": moments.std,
            "median": decode_number(quantiles.quantiles([0.5])[0], integral),
            "quantiles": {
                str(rank): decode_number(value, integral)
                for rank, value in zip(QUANTILE_RANKS, estimates, strict=True)
            },
            "quantile_rank_error": quantiles.rank_error,
            "histogram": {"edges": edges, "counts": counts},
        }
