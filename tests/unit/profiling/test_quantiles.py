"""KLL quantiles stay within their stated rank error; histograms add up exactly."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given
from hypothesis import strategies as st

from atlas_streams.profiling.options import QUANTILE_RANKS, ProfileOptions
from atlas_streams.profiling.quantiles import Quantiles, largest_remainder


def rank_error(data: npt.NDArray[np.float64], estimate: float, rank: float) -> float:
    """Return how far ``rank`` lies from the ranks ``estimate`` occupies (0 inside a tie run)."""
    low = np.searchsorted(data, estimate, side="left") / data.size
    high = np.searchsorted(data, estimate, side="right") / data.size
    return 0.0 if low <= rank <= high else float(min(abs(rank - low), abs(rank - high)))


def sketch_of(data: npt.NDArray[np.float64], chunks: int) -> Quantiles:
    """Return a sketch built from ``chunks`` merged parts of the data."""
    k = ProfileOptions().kll_k
    total = Quantiles.zero(k)
    for part in np.array_split(data, chunks):
        piece = Quantiles.zero(k)
        piece.update(part)
        total = total.merge(piece)
    return total


def test_quantile_rank_error_within_stated_bound_on_continuous_and_tied_data() -> None:
    rng = np.random.default_rng(11)
    datasets = {
        "lognormal": rng.lognormal(0.0, 2.0, 300_000),
        "tied integers": rng.poisson(3.0, 300_000).astype(np.float64),
    }
    for name, data in datasets.items():
        sketch = sketch_of(data, chunks=30)
        bound = sketch.rank_error
        assert bound <= 0.01
        data.sort()
        for rank, estimate in zip(QUANTILE_RANKS, sketch.quantiles(QUANTILE_RANKS), strict=True):
            assert rank_error(data, estimate, rank) <= bound, (name, rank)


def test_histogram_counts_sum_to_count_and_track_the_data() -> None:
    rng = np.random.default_rng(3)
    data = rng.normal(0.0, 1.0, 100_000)
    sketch = sketch_of(data, chunks=10)
    edges, counts = sketch.histogram(float(data.min()), float(data.max()), 20)
    assert len(edges) == 21 and len(counts) == 20
    assert sum(counts) == data.size
    truth, _ = np.histogram(data, bins=np.array(edges))
    assert np.abs(np.array(counts) - truth).max() <= 2 * sketch.rank_error * data.size + 1


def test_constant_column_has_one_bin() -> None:
    sketch = sketch_of(np.full(1000, 7.0), chunks=1)
    assert sketch.histogram(7.0, 7.0, 20) == ([7.0, 7.0], [1000])


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=40),
       st.integers(min_value=0, max_value=10**9))
def test_largest_remainder_sums_exactly_and_rounds_each_share(
    weights: list[float], total: int
) -> None:
    counts = largest_remainder(weights, total)
    assert sum(counts) == total and min(counts) >= 0
    mass = sum(weights)
    if mass > 0:
        for weight, count in zip(weights, counts, strict=True):
            assert abs(count - weight * total / mass) < 1 + 1e-6 * total


def test_merge_does_not_change_inputs_and_round_trips() -> None:
    left, right = Quantiles.zero(269), Quantiles.zero(269)
    left.update(np.arange(100.0))
    right.update(np.arange(100.0, 300.0))
    before = (left.to_bytes(), right.to_bytes())
    merged = left.merge(right)
    assert (left.to_bytes(), right.to_bytes()) == before
    assert merged.count == 300
    assert Quantiles.from_bytes(merged.to_bytes()).to_bytes() == merged.to_bytes()
