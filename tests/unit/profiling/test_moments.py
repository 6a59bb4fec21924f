"""Exact moments and string lengths: match numpy and merge like the whole."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from atlas_streams.profiling.moments import LengthStats, Moments

FLOATS = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


def close(a: float | None, b: float | None, scale: float) -> bool:
    """Return whether two optional floats agree to 1e-9 relative to ``scale``."""
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * scale)


@given(st.lists(FLOATS, max_size=50), st.lists(FLOATS, max_size=50))
def test_merge_of_parts_equals_moments_of_whole(left: list[float], right: list[float]) -> None:
    merged = Moments.of(np.array(left)).merge(Moments.of(np.array(right)))
    whole = Moments.of(np.array(left + right))
    scale = max([1.0, *map(abs, left + right)])
    assert merged.count == whole.count
    assert (merged.minimum, merged.maximum) == (whole.minimum, whole.maximum)
    assert close(merged.mean, whole.mean, scale)
    assert close(merged.std, whole.std, scale)


def test_matches_numpy_sample_std_and_is_stable_far_from_zero() -> None:
    rng = np.random.default_rng(7)
    values = 1e9 + rng.normal(0.0, 1.0, 100_000)
    moments = Moments()
    for chunk in np.array_split(values, 100):
        moments = moments.merge(Moments.of(chunk))
    assert math.isclose(moments.mean, float(values.mean()), rel_tol=1e-12)
    assert moments.std is not None
    assert math.isclose(moments.std, float(values.std(ddof=1)), rel_tol=1e-6)


def test_std_needs_two_values_and_zero_is_identity() -> None:
    one = Moments.of(np.array([3.0]))
    assert one.std is None
    assert one.merge(Moments()) == one == Moments().merge(one)


def test_length_stats_are_exact_and_merge() -> None:
    left = LengthStats.of({"a": 2, "abc": 1})
    right = LengthStats.of({"": 1})
    merged = left.merge(right)
    assert (merged.count, merged.total, merged.minimum, merged.maximum) == (4, 5, 0, 3)
    assert merged.mean == 1.25
    assert LengthStats().mean is None
    assert LengthStats.from_state(merged.to_state()) == merged


def test_length_stats_stay_exact_past_float_precision() -> None:
    # "All exact integers": counts past 2**53, where a float would round, still add up exactly
    # (mutation check, docs/testing.md: float arrays here passed every other test).
    stats = LengthStats.of({"ab": 2**53 + 1, "c": 1})
    assert (stats.count, stats.total) == (2**53 + 2, 2 * (2**53 + 1) + 1)
