"""Top values: heavy hitters always reported, count bounds bracket the truth."""

from __future__ import annotations

from collections import Counter

import numpy as np

from atlas_streams.profiling.canonical import canonicalise
from atlas_streams.profiling.frequency import TopValues
from atlas_streams.profiling.options import ProfileOptions

OPTIONS = ProfileOptions()


def top_values_of(values: list[object], batch: int = 10_000) -> TopValues:
    """Return a frequent-items sketch fed the values in batches, merged pairwise."""
    total = TopValues.zero(OPTIONS.top_values_lg_max_map_size)
    for start in range(0, len(values), batch):
        part = TopValues.zero(OPTIONS.top_values_lg_max_map_size)
        part.update(canonicalise(values[start : start + batch]).distinct().tokens(32))
        total = total.merge(part)
    return total


def test_every_value_above_the_error_threshold_is_reported_with_true_bounds() -> None:
    rng = np.random.default_rng(2)
    values = [int(v) for v in rng.zipf(1.3, 300_000) if v < 10**6]
    truth = Counter(values)
    report = top_values_of(values).report(OPTIONS.top_values_min, integral=True)
    reported = {entry["value"]: entry for entry in report}
    threshold = 3.5 / 2**OPTIONS.top_values_lg_max_map_size * len(values)
    heavy = [value for value, count in truth.items() if count > threshold]
    assert heavy and all(value in reported for value in heavy)
    for value, entry in reported.items():
        assert entry["count_bounds"]["lower"] <= truth[value] <= entry["count_bounds"]["upper"]
    counts = [entry["count"] for entry in report]
    assert counts == sorted(counts, reverse=True)
    assert len(report) >= OPTIONS.top_values_min


def test_counts_are_exact_and_typed_with_few_distinct_values() -> None:
    values: list[object] = ["a"] * 5 + [2] * 3 + [True] * 2 + [2.5]
    report = top_values_of(values).report(10, integral=False)
    assert [(e["value"], e["count"]) for e in report] == [("a", 5), (2.0, 3), (True, 2), (2.5, 1)]
    assert all(e["count_bounds"] == {"lower": e["count"], "upper": e["count"]} for e in report)


def test_at_least_the_minimum_is_reported_when_no_value_is_heavy() -> None:
    values: list[object] = [f"v{i}" for i in range(5000)] * 2
    report = top_values_of(values).report(10, integral=False)
    assert len(report) >= 10


def test_long_strings_are_truncated() -> None:
    report = top_values_of(["x" * 100]).report(10, integral=False)
    assert report[0]["value"] == "x" * 32


def test_one_update_per_distinct_value_with_its_count_equals_one_per_value() -> None:
    rng = np.random.default_rng(5)
    values: list[object] = [f"v{v % 60}" for v in rng.zipf(1.5, 20_000).tolist()]
    values += rng.integers(0, 20, 5_000).tolist() + [True] * 7 + [2.5] * 3
    lg_size = OPTIONS.top_values_lg_max_map_size
    weighted, single = TopValues.zero(lg_size), TopValues.zero(lg_size)
    weighted.update(canonicalise(values).distinct().tokens(32))
    for value in values:
        single.update(canonicalise([value]).distinct().tokens(32))
    assert weighted.report(100, integral=True) == single.report(100, integral=True)
    distinct = {(type(value), value) for value in values}  # True == 1, but they are two values
    assert len(weighted.report(100, integral=True)) == len(distinct)  # exact: all fit
