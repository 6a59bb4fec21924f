"""Accuracy and size knobs of a profile, fixed once a profile is created."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["QUANTILE_RANKS", "ProfileOptions"]

#: Ranks reported under "quantiles" (the median is reported separately as well).
QUANTILE_RANKS: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


@dataclass(frozen=True, slots=True)
class ProfileOptions:
    """Choose the accuracy, and so the size, of every column sketch.

    The defaults give these stated bounds (sizes measured in the ``profiling`` package
    docstring):

    - ``kll_k=1024``: single-quantile normalized rank error 0.27% at 99% confidence
      (``kll_doubles_sketch.get_normalized_rank_error(1024, False)``), well inside the 1% we
      promise, and the k whylogs 1.6.4 uses by default (``large_kll_k``): its quantiles were
      measurably more accurate than ours with the smallest k meeting 1% (269), at the same
      update speed (bench/RESULTS.md). ``kll_k=269`` keeps a numeric column near 13 KB.
    - ``exact_distinct_limit=10_000``: up to this many distinct values a column keeps every
      value's count, so its distinct count and top values (counts included) are exact.
    - ``distinct_lg_k=12``: above the limit, a CPC sketch with about 0.9% relative standard
      error (2.5 KB when full, half of lg_k 13's 5 KB: a dataset of 130 columns must fit one
      Kafka message).
    - ``top_values_lg_max_map_size=7``: above the limit, a frequent-items map of 128 slots (96
      tracked values); every value more frequent than 3.5/128 (2.7%) of the column's values is
      reported, with bounds.

    Reading and size settings, which never stop two profiles from merging:

    - ``flatten_depth=3``: nested objects and arrays down to this level become columns
      (``flatten`` says how); deeper ones stay JSON text.
    - ``datetime_columns``: (column, seconds per unit) pairs: that column's numbers are epoch
      times in that unit (1.0 for seconds, 0.001 for milliseconds).
    - ``max_profile_bytes=768_000``: ``DatasetProfile.to_bytes`` stays within this: over it, the
      largest KLL sketches halve their k down to 256, then the largest exact value tables give
      way to sketches, then k halves further. The default leaves room for the envelopes and
      base64 around a profile in a message under Kafka's default 1 MB limit.
    """

    kll_k: int = 1024
    distinct_lg_k: int = 12
    exact_distinct_limit: int = 10_000
    top_values_lg_max_map_size: int = 7
    top_values_min: int = 10
    histogram_bins: int = 20
    max_value_chars: int = 32
    bound_std_devs: int = 2
    flatten_depth: int = 3
    datetime_columns: tuple[tuple[str, float], ...] = ()
    max_profile_bytes: int = 768_000

    def __post_init__(self) -> None:
        """Reject knobs outside what the sketches support."""
        _check_range("kll_k", self.kll_k, 8, 65535)
        _check_range("distinct_lg_k", self.distinct_lg_k, 4, 21)
        _check_range("exact_distinct_limit", self.exact_distinct_limit, 0, 100_000)
        _check_range("top_values_lg_max_map_size", self.top_values_lg_max_map_size, 3, 16)
        _check_range("top_values_min", self.top_values_min, 0, 1000)
        _check_range("histogram_bins", self.histogram_bins, 1, 1000)
        _check_range("max_value_chars", self.max_value_chars, 1, 10_000)
        _check_range("bound_std_devs", self.bound_std_devs, 1, 3)
        _check_range("flatten_depth", self.flatten_depth, 0, 32)
        _check_range("max_profile_bytes", self.max_profile_bytes, 10_000, 2**31 - 1)
        for column, unit in self.datetime_columns:
            if not isinstance(column, str) or not isinstance(unit, float) or not unit > 0:
                raise ValueError(
                    "ProfileOptions.datetime_columns must be (column name, seconds per unit > 0) "
                    f"pairs, got {(column, unit)!r}"
                )

    def datetime_unit(self, column: str) -> float | None:
        """Return the seconds per unit of a datetime column, or None for other columns."""
        for name, unit in self.datetime_columns:
            if name == column:
                return unit
        return None

    def reading(self) -> tuple[int, tuple[tuple[str, float], ...], int]:
        """Return the reading and size settings (those that never stop a merge)."""
        return self.flatten_depth, self.datetime_columns, self.max_profile_bytes

    def mergeable_with(self, other: ProfileOptions) -> bool:
        """Return whether profiles built with these options and ``other`` can merge.

        Only the sketch sizes that fix a profile's layout must agree; ``kll_k`` may differ
        (KLL sketches of different k merge, with the smaller k's accuracy) and so may the
        reading and size settings.
        """
        return dataclasses.replace(
            other, kll_k=self.kll_k, flatten_depth=self.flatten_depth,
            datetime_columns=self.datetime_columns, max_profile_bytes=self.max_profile_bytes,
        ) == self

    def to_state(self) -> dict[str, Any]:
        """Return the options as a plain dict for serialisation."""
        state = dataclasses.asdict(self)
        state["datetime_columns"] = [list(pair) for pair in self.datetime_columns]
        return state

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ProfileOptions:
        """Rebuild options from ``to_state()`` output; raise TypeError or ValueError if invalid."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(state) - names
        if unknown:
            raise TypeError(f"unknown profile option(s): {sorted(unknown)}")
        values = dict(state)
        pairs = values.pop("datetime_columns", [])
        for name, value in values.items():
            if type(value) is not int:
                raise TypeError(f"profile option {name} must be an int, got {type(value).__name__}")
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise TypeError("profile option datetime_columns must be a list of [name, unit] pairs")
        return cls(**values, datetime_columns=tuple((str(n), float(u)) for n, u in pairs))


def _check_range(name: str, value: int, low: int, high: int) -> None:
    """Raise ValueError unless ``low <= value <= high``."""
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"ProfileOptions.{name} must be an int in [{low}, {high}], got {value!r}")
