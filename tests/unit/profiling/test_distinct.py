"""Distinct counts: exact up to the limit, within 2% and bracketed by bounds above it."""

from __future__ import annotations

import numpy as np
import pytest

from atlas_streams.profiling.canonical import canonicalise
from atlas_streams.profiling.distinct import DistinctCount
from atlas_streams.profiling.options import ProfileOptions

OPTIONS = ProfileOptions()


def counter_of(values: list[object], batch: int = 10_000) -> DistinctCount:
    """Return a distinct counter fed the values in batches."""
    counter = DistinctCount.zero(OPTIONS.distinct_lg_k, OPTIONS.exact_distinct_limit)
    for start in range(0, len(values), batch):
        counter.update(canonicalise(values[start : start + batch]).distinct())
    return counter


@pytest.mark.parametrize("kind", ["float", "int", "string"])
def test_exact_for_every_count_up_to_the_limit(kind: str) -> None:
    rng = np.random.default_rng(5)
    for distinct in [*range(0, 60), *range(60, 1001, 47), 999, 1000]:
        raw = rng.permutation(np.repeat(np.arange(distinct), 3))
        values: list[object] = {
            "float": [float(v) * 0.37 for v in raw],
            "int": [int(v) for v in raw],
            "string": [f"user-{v}" for v in raw],
        }[kind]
        counter = counter_of(values, batch=997)
        assert counter.is_exact
        assert counter.estimate() == distinct
        assert counter.bounds(2) == (distinct, distinct)


@pytest.mark.parametrize("kind", ["float", "string"])
@pytest.mark.parametrize("distinct", [1001, 10_000, 100_000])
def test_within_two_percent_above_the_limit_and_bounds_bracket_truth(
    distinct: int, kind: str
) -> None:
    floats: list[object] = [i * 0.1 for i in range(distinct)]
    values = floats if kind == "float" else [f"id-{i}" for i in range(distinct)]
    counter = counter_of(values)
    assert not counter.is_exact
    estimate = counter.estimate()
    lower, upper = counter.bounds(OPTIONS.bound_std_devs)
    assert abs(estimate - distinct) <= 0.02 * distinct
    assert lower <= distinct <= upper
    assert lower > OPTIONS.exact_distinct_limit


def test_numbers_strings_and_booleans_are_distinct_values() -> None:
    counter = counter_of([1, 1.0, "1", True, False, 0, "true"])
    assert counter.estimate() == 6  # 1 == 1.0, but "1", True, 0, False, "true" differ


def test_merge_stays_exact_while_the_union_fits_and_is_order_independent() -> None:
    a = counter_of([f"a{i}" for i in range(600)])
    b = counter_of([f"a{i}" for i in range(300, 900)])
    c = counter_of([f"c{i}" for i in range(200)])
    ab = a.merge(b)
    assert ab.is_exact and ab.estimate() == 900
    left, right = ab.merge(c), a.merge(b.merge(c))
    assert not left.is_exact and not right.is_exact
    assert left.estimate() == right.estimate()
    assert abs(left.estimate() - 1100) <= 22
    assert a.estimate() == 600 and b.estimate() == 600  # inputs untouched


def test_state_round_trips() -> None:
    for counter in (counter_of(["x", "y"]), counter_of([str(i) for i in range(5000)])):
        copy = DistinctCount.from_state(counter.to_state(), OPTIONS.exact_distinct_limit)
        assert copy.estimate() == counter.estimate()
        assert copy.is_exact == counter.is_exact


def test_one_update_per_distinct_value_counts_like_one_per_value() -> None:
    rng = np.random.default_rng(6)
    values: list[object] = [*rng.integers(0, 3_000, 6_000).tolist(), *map(str, range(500))]
    truth = len(set(values))
    for limit in (10_000, 100):  # exact, then the CPC sketch
        weighted = DistinctCount.zero(OPTIONS.distinct_lg_k, limit)
        single = DistinctCount.zero(OPTIONS.distinct_lg_k, limit)
        weighted.update(canonicalise(values).distinct())
        for value in values:
            single.update(canonicalise([value]).distinct())
        if limit > truth:
            assert weighted.estimate() == single.estimate() == truth
        for counter in (weighted, single):
            lower, upper = counter.bounds(OPTIONS.bound_std_devs)
            assert lower <= truth <= upper
