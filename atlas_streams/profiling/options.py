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

    The defaults keep one column's serialized state under 40 KB (see the ``profiling`` package
    docstring for measured sizes) and give these stated bounds:

    - ``kll_k=1024``: single-quantile normalized rank error 0.27% at 99% confidence
      (``kll_doubles_sketch.get_normalized_rank_error(1024, False)``), well inside the 1% we
      promise, and the k whylogs 1.6.4 uses by default (``large_kll_k``): its quantiles were
      measurably more accurate than ours with the smallest k meeting 1% (269), at the same
      update speed (bench/RESULTS.md). ``kll_k=269`` keeps a numeric column near 13 KB.
    - ``distinct_lg_k=13``: CPC sketch with about 0.65% relative standard error, so 2% is about
      three standard deviations. Below ``exact_distinct_limit`` distinct values the count is exact.
    - ``top_values_lg_max_map_size=7``: frequent-items map of 128 slots (96 tracked values);
      every value more frequent than 3.5/128 (2.7%) of the column's values is reported.
    """

    kll_k: int = 1024
    distinct_lg_k: int = 13
    exact_distinct_limit: int = 1000
    top_values_lg_max_map_size: int = 7
    top_values_min: int = 10
    histogram_bins: int = 20
    max_value_chars: int = 32
    bound_std_devs: int = 2

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

    def to_state(self) -> dict[str, int]:
        """Return the options as a plain dict for serialisation."""
        return dataclasses.asdict(self)

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ProfileOptions:
        """Rebuild options from ``to_state()`` output; raise TypeError or ValueError if invalid."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(state) - names
        if unknown:
            raise TypeError(f"unknown profile option(s): {sorted(unknown)}")
        for name, value in state.items():
            if type(value) is not int:
                raise TypeError(f"profile option {name} must be an int, got {type(value).__name__}")
        return cls(**state)


def _check_range(name: str, value: int, low: int, high: int) -> None:
    """Raise ValueError unless ``low <= value <= high``."""
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"ProfileOptions.{name} must be an int in [{low}, {high}], got {value!r}")
