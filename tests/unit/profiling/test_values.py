"""Distinct counts and top values: exact up to the limit, bounded sketches above it."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from atlas_streams.profiling.canonical import canonicalise
from atlas_streams.profiling.options import ProfileOptions
from atlas_streams.profiling.values import ValueSummary

OPTIONS = ProfileOptions()


def summary_of(values: list[object], batch: int = 10_000,
               options: ProfileOptions = OPTIONS) -> ValueSummary:
    """Return a summary fed the values in batches, each batch's summary merged in."""
    total = ValueSummary.zero(options)
    for start in range(0, len(values), batch):
        part = ValueSummary.zero(options)
        part.update(canonicalise(values[start : start + batch]))
        total = total.merge(part)
    return total


@pytest.mark.parametrize("kind", ["float", "int", "string"])
def test_distinct_count_is_exact_for_every_count_up_to_the_limit(kind: str) -> None:
    rng = np.random.default_rng(5)
    for distinct in [0, 1, 2, 59, 1000, 4043, 9_999, 10_000]:
        raw = rng.permutation(np.repeat(np.arange(distinct), 2))
        values: list[object] = {
            "float": [float(v) * 0.37 for v in raw],
            "int": [int(v) for v in raw],
            "string": [f"user-{v}" for v in raw],
        }[kind]
        summary = summary_of(values, batch=997)
        assert summary.is_exact
        assert summary.distinct(len(values), 2) == (distinct, distinct, distinct)


@pytest.mark.parametrize("kind", ["float", "string"])
@pytest.mark.parametrize("distinct", [10_001, 30_000, 200_000])
def test_above_the_limit_the_estimate_is_close_and_bounds_bracket_truth(
    distinct: int, kind: str
) -> None:
    floats: list[object] = [i * 0.1 for i in range(distinct)]
    values = floats if kind == "float" else [f"id-{i}" for i in range(distinct)]
    summary = summary_of(values)
    assert not summary.is_exact
    estimate, lower, upper = summary.distinct(len(values), OPTIONS.bound_std_devs)
    assert abs(estimate - distinct) <= 0.03 * distinct
    assert lower <= distinct <= upper
    assert upper <= len(values)  # never more distinct values than values


def test_distinct_estimate_and_bounds_never_exceed_the_count() -> None:
    # Every value distinct: the sketch's raw estimate and upper bound often overshoot.
    for seed in range(5):
        values: list[object] = [f"{seed}-{i}" for i in range(12_000)]
        summary = summary_of(values, batch=3000)
        estimate, lower, upper = summary.distinct(len(values), 2)
        assert estimate <= len(values) and lower <= upper <= len(values)


def test_numbers_strings_booleans_and_bigints_are_distinct_values() -> None:
    summary = summary_of([1, 1.0, "1", True, False, 0, "true", 2**70, str(2**70)])
    assert summary.distinct(9, 2)[0] == 8  # 1 == 1.0; the rest differ


def test_merge_stays_exact_while_the_union_fits_and_is_order_independent() -> None:
    options = ProfileOptions(exact_distinct_limit=1000)
    a = summary_of([f"a{i}" for i in range(600)], options=options)
    b = summary_of([f"a{i}" for i in range(300, 900)], options=options)
    c = summary_of([f"c{i}" for i in range(200)], options=options)
    ab = a.merge(b)
    assert ab.is_exact and ab.distinct(1200, 2)[0] == 900
    left, right = ab.merge(c), a.merge(b.merge(c))
    assert not left.is_exact and not right.is_exact
    assert left.distinct(1400, 2) == right.distinct(1400, 2)
    estimate, lower, upper = left.distinct(1400, 2)
    assert lower <= 1100 <= upper and lower >= 900  # at least the exact part it left
    assert a.distinct(600, 2)[0] == 600 and b.distinct(600, 2)[0] == 600  # inputs untouched


def test_top_values_are_exact_with_many_distinct_values_like_nycflights_tailnum() -> None:
    # 4,043 tail numbers in 336,776 rows whose top counts differ by a few units: the case the
    # sketches got wrong. Here every count is exact, so the top 5 are exactly right.
    rng = np.random.default_rng(8)
    weights = 1.0 / np.arange(1, 4044) ** 0.6
    picks = rng.choice(4043, size=336_776, p=weights / weights.sum())
    values: list[object] = [f"N{p:04d}" for p in picks.tolist()]
    truth = sorted(Counter(values).items(), key=lambda item: (-item[1], item[0]))
    top = summary_of(values).top_values(5, float)
    assert [(value, count) for value, count, _, _ in top] == truth[:5]
    assert all(low == count == high for _, count, low, high in top)


def test_exact_top_values_are_typed_and_ties_ordered_by_value() -> None:
    values: list[object] = ["a"] * 5 + [2] * 3 + [True] * 2 + [2.5, "b", 2**70]
    top = summary_of(values).top_values(10, float)
    assert [(v, c) for v, c, _, _ in top] == [("a", 5), (2.0, 3), (True, 2), (2.5, 1),
                                              (2**70, 1), ("b", 1)]


def test_heavy_hitters_are_reported_above_the_limit_with_bounds_around_truth() -> None:
    rng = np.random.default_rng(2)
    values = [int(v) for v in rng.zipf(1.3, 300_000) if v < 10**6]
    truth = Counter(values)
    assert len(truth) > OPTIONS.exact_distinct_limit
    summary = summary_of(values)
    assert not summary.is_exact
    top = summary.top_values(OPTIONS.top_values_min, int)
    reported = {value: (count, low, high) for value, count, low, high in top}
    threshold = 3.5 / 2**OPTIONS.top_values_lg_max_map_size * len(values)
    heavy = [value for value, count in truth.items() if count > threshold]
    assert heavy and all(value in reported for value in heavy)
    for value, (_, low, high) in reported.items():
        assert low <= truth[value] <= high
    assert len(top) >= OPTIONS.top_values_min


def test_sketched_form_keeps_answers_within_bounds() -> None:
    values: list[object] = [f"v{i % 3000}" for i in range(20_000)]
    exact = summary_of(values)
    sketched = exact.sketched()
    assert exact.is_exact and not sketched.is_exact
    estimate, lower, upper = sketched.distinct(len(values), 2)
    assert lower == 3000 <= upper  # the exact count it left is its floor
    truth = Counter(values)
    top = sketched.top_values(10, int)
    assert len(top) == 10
    for value, _, low, high in top:
        assert low <= truth[value] <= high


def test_state_round_trips_in_both_forms() -> None:
    for values in ([1, "x", True, 2**70], [f"id-{i}" for i in range(20_000)]):
        summary = summary_of(values)
        copy = ValueSummary.from_state(summary.to_state(), OPTIONS)
        assert copy.is_exact == summary.is_exact
        assert copy.distinct(len(values), 2) == summary.distinct(len(values), 2)
        assert copy.top_values(10, int) == summary.top_values(10, int)


def test_one_update_per_value_counts_like_one_batch() -> None:
    rng = np.random.default_rng(6)
    values: list[object] = [*rng.integers(0, 3_000, 6_000).tolist(), *map(str, range(500))]
    batched, single = summary_of(values), summary_of(values, batch=1)
    truth = len({(type(v), v) for v in values})
    assert batched.distinct(6500, 2) == single.distinct(6500, 2) == (truth, truth, truth)
    assert batched.top_values(50, int) == single.top_values(50, int)
