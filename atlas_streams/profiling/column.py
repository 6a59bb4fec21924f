"""One column's mergeable profile: exact statistics plus bounded sketches."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from atlas_streams.profiling.canonical import CanonicalBatch, Kind, format_datetime
from atlas_streams.profiling.keys import Decoder
from atlas_streams.profiling.moments import LengthStats, Moments
from atlas_streams.profiling.options import QUANTILE_RANKS, ProfileOptions
from atlas_streams.profiling.quantiles import Quantiles
from atlas_streams.profiling.values import TopValue, ValueSummary

__all__ = ["ColumnCounts", "ColumnProfile"]

_TYPE_NAMES = {
    Kind.NUMERIC: "numeric", Kind.STRING: "string", Kind.BOOLEAN: "boolean",
    Kind.DATETIME: "datetime", Kind.BIGINT: "bigint",
    # Integers beyond 64 bits among 64-bit numbers: still numeric, with bigint_count.
    Kind.NUMERIC | Kind.BIGINT: "numeric",
}
_ALL_KINDS = int(Kind.NUMERIC | Kind.STRING | Kind.BOOLEAN | Kind.DATETIME | Kind.BIGINT)


@dataclass(frozen=True, slots=True)
class ColumnCounts:
    """Exact counters of a column that merge by addition (kinds by union)."""

    kinds: Kind = Kind.NONE
    null_count: int = 0
    boolean_count: int = 0
    memory_bytes: int = 0
    integral: bool = True
    bigint_count: int = 0
    items: bool = False  # a column of array items: counts items, not rows

    def merge(self, other: ColumnCounts) -> ColumnCounts:
        """Return the counters of both inputs together."""
        return ColumnCounts(
            kinds=self.kinds | other.kinds,
            null_count=self.null_count + other.null_count,
            boolean_count=self.boolean_count + other.boolean_count,
            memory_bytes=self.memory_bytes + other.memory_bytes,
            integral=self.integral and other.integral,
            bigint_count=self.bigint_count + other.bigint_count,
            items=self.items or other.items,
        )

    def to_state(self) -> list[int]:
        """Return the counters as a plain list for serialisation."""
        return [int(self.kinds), self.null_count, self.boolean_count, self.memory_bytes,
                int(self.integral), self.bigint_count, int(self.items)]

    @classmethod
    def from_state(cls, state: list[int]) -> ColumnCounts:
        """Rebuild the counters from ``to_state()`` output."""
        kinds, nulls, booleans, memory, integral, bigints, items = (int(v) for v in state)
        if kinds & ~_ALL_KINDS or min(nulls, booleans, memory, bigints) < 0:
            raise ValueError("column counters are out of range")
        return cls(Kind(kinds), nulls, booleans, memory, bool(integral), bigints, bool(items))


@dataclass(slots=True)
class ColumnProfile:
    """Profile of one column: exact counters and moments plus bounded sketches.

    Exact: counts, nulls, min, max, mean and std (to float rounding), string lengths and
    ``memory_bytes``; distinct count and top values while the column has at most
    ``exact_distinct_limit`` distinct values. Approximate, with the bounds ``report()`` states:
    quantiles and histogram (KLL), and above the limit the distinct count (CPC) and top values
    (frequent items). Build one with ``zero``; ``update`` and ``add_nulls`` mutate it, ``merge``
    never does. What drift metrics read: ``count``, ``null_count``, ``kind``, ``quantiles``
    (a ``Quantiles``: ``cdf``, ``quantiles``, ``rank``, ``rank_error``), ``distinct()`` and
    ``top(n)``.
    """

    options: ProfileOptions
    counts: ColumnCounts
    moments: Moments
    lengths: LengthStats
    quantiles: Quantiles
    values: ValueSummary

    @classmethod
    def zero(cls, options: ProfileOptions, items: bool = False) -> ColumnProfile:
        """Return the profile of a column with no values (``items``: of array items)."""
        return cls(
            options,
            counts=ColumnCounts(items=items),
            moments=Moments(),
            lengths=LengthStats(),
            quantiles=Quantiles.zero(options.kll_k),
            values=ValueSummary.zero(options),
        )

    @property
    def count(self) -> int:
        """Return the number of non-null values."""
        counts = self.counts
        return self.moments.count + self.lengths.count + counts.boolean_count + counts.bigint_count

    @property
    def null_count(self) -> int:
        """Return the number of rows (items, for an item column) where the column was null."""
        return self.counts.null_count

    @property
    def kind(self) -> str:
        """Return "numeric", "string", "boolean", "datetime", "bigint", or "mixed"."""
        return _TYPE_NAMES.get(self.counts.kinds, "mixed")

    def distinct(self) -> tuple[int, int, int]:
        """Return the distinct count as (estimate, lower, upper); all equal while exact."""
        return self.values.distinct(self.count, self.options.bound_std_devs)

    def top(self, count: int) -> list[TopValue]:
        """Return the most frequent values as (value, count, lower, upper), most first."""
        return self.values.top_values(count, self._decoder())

    def add_nulls(self, count: int) -> None:
        """Count ``count`` more rows where the column was null or missing."""
        self.counts = replace(self.counts, null_count=self.counts.null_count + count)

    def update(self, batch: CanonicalBatch) -> None:
        """Add one batch of canonical values."""
        self.counts = self.counts.merge(ColumnCounts(
            kinds=batch.kinds,
            null_count=batch.null_count,
            boolean_count=batch.true_count + batch.false_count,
            memory_bytes=batch.memory_bytes,
            integral=batch.integral,
            bigint_count=batch.bigint_count,
        ))
        if batch.numbers.size:
            self.moments = self.moments.merge(Moments.of(batch.numbers))
            self.quantiles.update(batch.numbers)
        if batch.strings:
            self.lengths = self.lengths.merge(LengthStats.of(batch.strings))
        self.values.update(batch)

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        """Return a new profile of both inputs' values; neither input changes.

        With different ``kll_k`` (see ``DatasetProfile.merge``) the smaller one's options win.
        """
        return ColumnProfile(
            min(self.options, other.options, key=lambda options: options.kll_k),
            counts=self.counts.merge(other.counts),
            moments=self.moments.merge(other.moments),
            lengths=self.lengths.merge(other.lengths),
            quantiles=self.quantiles.merge(other.quantiles),
            values=self.values.merge(other.values),
        )

    def shrunk(self, exact: bool, kll_k: int) -> ColumnProfile:
        """Return a copy with a smaller state: sketched values unless ``exact``, KLL k at most."""
        values = self.values if exact else self.values.sketched()
        return replace(self, quantiles=self.quantiles.shrunk(kll_k), values=values)

    def report(self) -> dict[str, Any]:
        """Return this column's entry of the profile JSON contract.

        A datetime column's ``freshness_seconds`` depends on the time of asking: see
        ``with_freshness``.
        """
        estimate, lower, upper = self.distinct()
        rows = self.count + self.null_count
        report: dict[str, Any] = {
            "type": self.kind,
            "count": self.count,
            "null_count": self.null_count,
            "null_percent": 100.0 * self.null_count / rows if rows else 0.0,
            "distinct_estimate": estimate,
            "distinct_bounds": {"lower": lower, "upper": upper},
        }
        if self.counts.bigint_count:
            report["bigint_count"] = self.counts.bigint_count
        if self.counts.items:
            report["items"] = True
        if self.kind in ("numeric", "datetime") and self.moments.count:
            report.update(self._numeric_report())
        elif self.kind == "string":
            report["string_length"] = {
                "min": self.lengths.minimum,
                "max": self.lengths.maximum,
                "mean": self.lengths.mean,
            }
        report["top_values"] = [
            _top_entry(value, count, low, high)
            # Up to twice the promised minimum, as the sketches always showed (20 by default).
            for value, count, low, high in self.top(2 * self.options.top_values_min)
        ]
        report["memory_bytes"] = self.counts.memory_bytes
        return report

    def to_state(self) -> dict[str, Any]:
        """Return the profile as plain values and sketch bytes for serialisation."""
        return {
            "counts": self.counts.to_state(),
            "moments": self.moments.to_state(),
            "lengths": self.lengths.to_state(),
            "kll": self.quantiles.to_bytes(),
            "values": self.values.to_state(),
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
            values=ValueSummary.from_state(state["values"], options),
        )

    def _decoder(self) -> Decoder:
        """Return how this column's sketched numbers are shown: ISO times, ints or floats."""
        if self.kind == "datetime":
            return format_datetime
        if self.counts.integral:
            return int
        return float

    def _numeric_report(self) -> dict[str, Any]:
        """Return the numeric-only fields: moments, quantiles and histogram."""
        quantiles, moments, show = self.quantiles, self.moments, self._decoder()
        estimates = quantiles.quantiles(QUANTILE_RANKS)
        edges, counts = quantiles.histogram(
            moments.minimum, moments.maximum, self.options.histogram_bins
        )
        report: dict[str, Any] = {
            "min": show(moments.minimum),
            "max": show(moments.maximum),
            "mean": moments.mean,
            "std": moments.std,
            "median": show(quantiles.quantiles([0.5])[0]),
            "quantiles": {
                str(rank): show(value) for rank, value in zip(QUANTILE_RANKS, estimates, strict=True)
            },
            "quantile_rank_error": quantiles.rank_error,
            "histogram": {"edges": edges, "counts": counts},
        }
        if self.kind == "datetime":
            report["mean"] = format_datetime(moments.mean)
            report["std_seconds"] = report.pop("std")
            report["histogram"]["edges"] = [format_datetime(edge) for edge in edges]
        return report


def _top_entry(value: str | bool | int | float, count: int, low: int, high: int) -> dict[str, Any]:
    """Return one top value's report entry; an integer beyond 64 bits as decimal text.

    JSON encoders (orjson among them) refuse integers beyond 64 bits, so such a value is shown
    as its decimal digits with ``"bigint": true``.
    """
    entry: dict[str, Any] = {"value": value, "count": count,
                             "count_bounds": {"lower": low, "upper": high}}
    if type(value) is int and not -(2**63) <= value < 2**64:
        entry["value"], entry["bigint"] = str(value), True
    return entry
